/* broker_common.h — what the message-broker connectors (mqtt.h, rabbitmq.h, redis_stream.h)
 * share: their connect-timeout option and the growth of a sink's buffer of pending records. */
#ifndef SLUICE_DATAPLANE_CONNECTORS_BROKER_COMMON_H
#define SLUICE_DATAPLANE_CONNECTORS_BROKER_COMMON_H

#include <stddef.h>

#include "common/options.h"

/* The option row "timeout.ms" (the connect timeout, 100 to 600000 ms, 5000 by default), stored in
 * the int member of st (a struct type). */
#define BROKER_TIMEOUT_OPTION(st, member)                                                                              \
    {                                                                                                                  \
        .name = "timeout.ms", .type = OPTION_INT, .def = "5000", .min = 100, .max = 600000, .help = "connect timeout", \
        OPTION_FIELD(st, member)                                                                                       \
    }

/* Grows *buf (of *cap bytes; NULL and 0 at first) to hold at least need bytes, doubling from
 * 64 KiB; what it held stays. 0, or -1 when out of memory (*buf and *cap unchanged). */
int broker_buf_reserve(char **buf, size_t *cap, size_t need);

#endif
