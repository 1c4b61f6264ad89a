/* amqp_frames.c — basic.publish frames into a buffer (see amqp_frames.h). A frame is its type
 * (1 byte), channel (2), payload size (4), the payload and AMQP_FRAME_END (AMQP 0-9-1, 4.2.3). */
#include "dataplane/connectors/amqp_frames.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dataplane/connectors/broker_common.h"

#define AMQP_FRAME_OVERHEAD 8 /* header (7) and frame end (1) */
#define AMQP_HEAD_MAX 4096    /* the encoded method and properties fit in this */

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* Frame type t on channel ch around the size bytes of payload already at p + 7: its length. */
static size_t frame_wrap(unsigned char *p, uint8_t t, uint16_t ch, size_t size)
{
    p[0] = t;
    put16(p + 1, ch);
    put32(p + 3, (uint32_t)size);
    p[7 + size] = AMQP_FRAME_END;
    return size + AMQP_FRAME_OVERHEAD;
}

int amqp_publish_frames_init(struct amqp_publish_frames *f, amqp_connection_state_t c, uint16_t channel,
                             amqp_bytes_t exchange, amqp_bytes_t routing_key, const amqp_basic_properties_t *props)
{
    memset(f, 0, sizeof *f);
    f->channel = channel;
    f->frame_max = (size_t)amqp_get_frame_max(c);
    if (f->frame_max <= AMQP_FRAME_OVERHEAD || !(f->head = malloc(2 * AMQP_HEAD_MAX)))
        return -1;
    amqp_basic_publish_t m = {.exchange = exchange, .routing_key = routing_key};
    unsigned char *p = f->head;
    put32(p + 7, AMQP_BASIC_PUBLISH_METHOD);
    int n = amqp_encode_method(AMQP_BASIC_PUBLISH_METHOD, &m, (amqp_bytes_t){AMQP_HEAD_MAX - 12, p + 11});
    if (n < 0)
        goto fail;
    f->method_len = frame_wrap(p, AMQP_FRAME_METHOD, channel, (size_t)n + 4);
    p += f->method_len;
    put16(p + 7, AMQP_BASIC_CLASS);
    put16(p + 9, 0);  /* weight */
    put64(p + 11, 0); /* the body's size: patched in each copy */
    amqp_basic_properties_t pr = *props;
    n = amqp_encode_properties(AMQP_BASIC_CLASS, &pr, (amqp_bytes_t){AMQP_HEAD_MAX - 20, p + 19});
    if (n < 0)
        goto fail;
    f->head_len = f->method_len + frame_wrap(p, AMQP_FRAME_HEADER, channel, (size_t)n + 12);
    return 0;
fail:
    amqp_publish_frames_free(f);
    return -1;
}

void amqp_publish_frames_free(struct amqp_publish_frames *f)
{
    free(f->head);
    f->head = NULL;
}

int amqp_publish_frames_put(const struct amqp_publish_frames *f, char **buf, size_t *used, size_t *cap,
                            const void *body, size_t len)
{
    size_t chunk = f->frame_max - AMQP_FRAME_OVERHEAD, nframes = len ? (len + chunk - 1) / chunk : 0;
    if (broker_buf_reserve(buf, cap, *used + f->head_len + len + nframes * AMQP_FRAME_OVERHEAD) != 0)
        return -1;
    unsigned char *p = (unsigned char *)*buf + *used;
    memcpy(p, f->head, f->head_len);
    put64(p + f->method_len + 11, (uint64_t)len);
    p += f->head_len;
    for (size_t at = 0; at < len; at += chunk) {
        size_t n = len - at < chunk ? len - at : chunk;
        memcpy(p + 7, (const char *)body + at, n);
        p += frame_wrap(p, AMQP_FRAME_BODY, f->channel, n);
    }
    *used = (size_t)(p - (unsigned char *)*buf);
    return 0;
}

int amqp_publish_frames_send(amqp_connection_state_t c, const char *buf, size_t len)
{
    int fd = amqp_get_sockfd(c);
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { /* librabbitmq's sockets do not block */
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            if (poll(&pfd, 1, -1) >= 0 || errno == EINTR)
                continue;
            return -1;
        }
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}
