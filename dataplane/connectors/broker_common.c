/* broker_common.c — what the message-broker connectors share; see broker_common.h. */
#include "dataplane/connectors/broker_common.h"

#include <stdlib.h>

int broker_buf_reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 65536;
    while (n < need)
        n *= 2;
    char *b = realloc(*buf, n);
    if (!b)
        return -1;
    *buf = b;
    *cap = n;
    return 0;
}
