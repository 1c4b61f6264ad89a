/* mqtt_tool.c — an MQTT client for the mqtt connector tests (libmosquitto, QoS 1).
 *
 *   mqtt_tool pub PORT TOPIC         publishes each line of stdin to 127.0.0.1:PORT at QoS 1 and
 *                                    exits 0 once the broker acknowledged every one
 *   mqtt_tool sub PORT TOPIC ID SEC  prints each message's payload as a line, in a persistent
 *                                    session of client id ID, until SEC seconds pass with no
 *                                    message; exits 0
 * Both use clean_session false; a refused connection exits 1 with the reason on stderr. */
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tool_state {
    long acked, quiet_since;
    const char *topic;
    int connack;
};

static long now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec;
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    struct tool_state *st = obj;
    st->connack = rc;
    if (rc == 0 && st->topic)
        mosquitto_subscribe(m, NULL, st->topic, 1);
}

static void on_publish(struct mosquitto *m, void *obj, int mid) { ((struct tool_state *)obj)->acked++; }

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    fwrite(msg->payload, 1, (size_t)msg->payloadlen, stdout);
    fputc('\n', stdout);
    ((struct tool_state *)obj)->quiet_since = now_s();
}

static struct mosquitto *tool_connect(const char *id, int port, struct tool_state *st)
{
    struct mosquitto *m = mosquitto_new(id, id == NULL, st);
    if (!m)
        return NULL;
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_publish_callback_set(m, on_publish);
    mosquitto_message_callback_set(m, on_message);
    st->connack = -1;
    if (mosquitto_connect(m, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "mqtt_tool: cannot connect to port %d\n", port);
        return NULL;
    }
    while (st->connack < 0 && mosquitto_loop(m, 100, 1) == MOSQ_ERR_SUCCESS)
        ;
    if (st->connack != 0) {
        fprintf(stderr, "mqtt_tool: %s\n", mosquitto_connack_string(st->connack));
        return NULL;
    }
    return m;
}

static int tool_pub(int port, const char *topic)
{
    struct tool_state st = {0};
    struct mosquitto *m = tool_connect(NULL, port, &st);
    if (!m)
        return 1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long sent = 0;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] == '\n')
            len--;
        if (mosquitto_publish(m, NULL, topic, (int)len, line, 1, false) != MOSQ_ERR_SUCCESS)
            return 1;
        sent++;
        while (sent - st.acked > 500)
            if (mosquitto_loop(m, 100, 1) != MOSQ_ERR_SUCCESS)
                return 1;
    }
    while (st.acked < sent)
        if (mosquitto_loop(m, 100, 1) != MOSQ_ERR_SUCCESS)
            return 1;
    free(line);
    mosquitto_disconnect(m);
    mosquitto_destroy(m);
    return 0;
}

static int tool_sub(int port, const char *topic, const char *id, long quiet)
{
    struct tool_state st = {.topic = topic, .quiet_since = now_s()};
    struct mosquitto *m = tool_connect(id, port, &st);
    if (!m)
        return 1;
    while (now_s() - st.quiet_since < quiet)
        if (mosquitto_loop(m, 100, 1) != MOSQ_ERR_SUCCESS)
            return 1;
    fflush(stdout);
    mosquitto_disconnect(m);
    mosquitto_destroy(m);
    return 0;
}

int main(int argc, char **argv)
{
    mosquitto_lib_init();
    if (argc == 4 && strcmp(argv[1], "pub") == 0)
        return tool_pub(atoi(argv[2]), argv[3]);
    if (argc == 6 && strcmp(argv[1], "sub") == 0)
        return tool_sub(atoi(argv[2]), argv[3], argv[4], atol(argv[5]));
    fprintf(stderr, "usage: mqtt_tool pub PORT TOPIC | sub PORT TOPIC ID SECONDS\n");
    return 2;
}
