/* amqp_frames.h — basic.publish frames encoded into a buffer, so that many publishes go out in
 * one write: librabbitmq's amqp_basic_publish sends the method, the content header and the body
 * with three send() calls a message. The frames are librabbitmq's own encodings (the method and
 * the properties through amqp_encode_method and amqp_encode_properties), formatted once and then
 * copied with the body's size patched in. Shared by the RabbitMQ sink and the bench's raw
 * publisher (amqp_tool pub). */
#ifndef SLUICE_DATAPLANE_CONNECTORS_AMQP_FRAMES_H
#define SLUICE_DATAPLANE_CONNECTORS_AMQP_FRAMES_H

#include <amqp.h>
#include <amqp_framing.h>
#include <stddef.h>

struct amqp_publish_frames {
    unsigned char *head; /* the method frame, then the content header frame (body size 0) */
    size_t method_len, head_len;
    size_t frame_max;
    uint16_t channel;
};

/* Encodes, for channel of c (logged in: its negotiated frame size), the frames of a publish to
 * exchange with routing_key and props: 0, or -1 (an encoding error, or out of memory). Free
 * with amqp_publish_frames_free. */
int amqp_publish_frames_init(struct amqp_publish_frames *f, amqp_connection_state_t c, uint16_t channel,
                             amqp_bytes_t exchange, amqp_bytes_t routing_key, const amqp_basic_properties_t *props);
void amqp_publish_frames_free(struct amqp_publish_frames *f);

/* Appends a publish of body[0..len) to *buf (of *used bytes, *cap allocated; grown as needed):
 * 0, or -1 when out of memory. */
int amqp_publish_frames_put(const struct amqp_publish_frames *f, char **buf, size_t *used, size_t *cap,
                            const void *body, size_t len);

/* Writes buf[0..len) to c's socket: 0, or -1 (the connection is then broken; errno says why). */
int amqp_publish_frames_send(amqp_connection_state_t c, const char *buf, size_t len);

#endif
