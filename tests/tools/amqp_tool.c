/* amqp_tool.c — an AMQP 0-9-1 client for the rabbitmq connector tests (librabbitmq), as guest
 * on 127.0.0.1.
 *
 *   amqp_tool declare PORT QUEUE  declares a durable queue
 *   amqp_tool pub PORT QUEUE      publishes each line of stdin, persistent, to the queue (the
 *                                 default exchange) with publisher confirms; exits 0 once every
 *                                 message is confirmed (the frames of 1,024 publishes a write,
 *                                 as the sink writes a pass's: amqp_frames.h)
 *   amqp_tool get PORT QUEUE      prints (and acknowledges) every message in the queue, one per
 *                                 line, until it is empty
 * Exits 1 with the reason on stderr when something fails. */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/connectors/amqp_frames.h"

static int tool_fail(const char *what)
{
    fprintf(stderr, "amqp_tool: %s\n", what);
    return 1;
}

static amqp_connection_state_t tool_connect(int port)
{
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    if (!s || amqp_socket_open(s, "127.0.0.1", port) != AMQP_STATUS_OK)
        return NULL;
    if (amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type != AMQP_RESPONSE_NORMAL)
        return NULL;
    amqp_channel_open(c, 1);
    return amqp_get_rpc_reply(c).reply_type == AMQP_RESPONSE_NORMAL ? c : NULL;
}

#define TOOL_PUBLISH_BATCH 1024

static int tool_pub(amqp_connection_state_t c, const char *queue)
{
    amqp_confirm_select(c, 1);
    if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL)
        return tool_fail("confirm.select");
    amqp_basic_properties_t props = {._flags = AMQP_BASIC_DELIVERY_MODE_FLAG, .delivery_mode = 2};
    struct amqp_publish_frames frames;
    if (amqp_publish_frames_init(&frames, c, 1, amqp_empty_bytes, amqp_cstring_bytes(queue), &props) != 0)
        return tool_fail("encoding a publish");
    char *line = NULL, *out = NULL;
    size_t cap = 0, used = 0, outcap = 0;
    ssize_t len;
    uint64_t sent = 0, confirmed = 0;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] == '\n')
            len--;
        if (amqp_publish_frames_put(&frames, &out, &used, &outcap, line, (size_t)len) != 0)
            return tool_fail("out of memory");
        if (++sent % TOOL_PUBLISH_BATCH == 0) {
            if (amqp_publish_frames_send(c, out, used) != 0)
                return tool_fail("publish");
            used = 0;
        }
    }
    if (used > 0 && amqp_publish_frames_send(c, out, used) != 0)
        return tool_fail("publish");
    free(line);
    free(out);
    amqp_publish_frames_free(&frames);
    while (confirmed < sent) {
        amqp_frame_t f;
        if (amqp_simple_wait_frame(c, &f) != AMQP_STATUS_OK)
            return tool_fail("waiting for confirms");
        if (f.frame_type != AMQP_FRAME_METHOD || f.payload.method.id != AMQP_BASIC_ACK_METHOD)
            return tool_fail("a message was not confirmed");
        const amqp_basic_ack_t *ack = f.payload.method.decoded;
        confirmed = ack->multiple ? ack->delivery_tag : confirmed + 1;
    }
    return 0;
}

static int tool_get(amqp_connection_state_t c, const char *queue)
{
    for (;;) {
        amqp_maybe_release_buffers(c);
        amqp_rpc_reply_t r = amqp_basic_get(c, 1, amqp_cstring_bytes(queue), 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL)
            return tool_fail("basic.get");
        if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
            return 0;
        uint64_t tag = ((amqp_basic_get_ok_t *)r.reply.decoded)->delivery_tag;
        amqp_message_t m;
        if (amqp_read_message(c, 1, &m, 0).reply_type != AMQP_RESPONSE_NORMAL)
            return tool_fail("reading a message");
        fwrite(m.body.bytes, 1, m.body.len, stdout);
        fputc('\n', stdout);
        amqp_destroy_message(&m);
        if (amqp_basic_ack(c, 1, tag, 0) != 0)
            return tool_fail("basic.ack");
    }
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return tool_fail("usage: amqp_tool declare|pub|get PORT QUEUE");
    amqp_connection_state_t c = tool_connect(atoi(argv[2]));
    if (!c)
        return tool_fail("cannot connect");
    int rc;
    if (strcmp(argv[1], "declare") == 0) {
        amqp_queue_declare(c, 1, amqp_cstring_bytes(argv[3]), 0, 1, 0, 0, amqp_empty_table);
        rc = amqp_get_rpc_reply(c).reply_type == AMQP_RESPONSE_NORMAL ? 0 : tool_fail("queue.declare");
    } else if (strcmp(argv[1], "pub") == 0)
        rc = tool_pub(c, argv[3]);
    else if (strcmp(argv[1], "get") == 0)
        rc = tool_get(c, argv[3]);
    else
        rc = tool_fail("usage: amqp_tool declare|pub|get PORT QUEUE");
    amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
    return rc;
}
