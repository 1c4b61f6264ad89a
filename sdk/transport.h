/* transport.h — what the libsluice modules share beyond the public sluice.h: the error helpers,
 * percent-encoding and the streaming call used by logs. Not installed; not for SDK users. */
#ifndef SLUICE_SDK_TRANSPORT_H
#define SLUICE_SDK_TRANSPORT_H

#include <stddef.h>

#include "sdk/sluice.h"

/* Fills *err (may be NULL) with a local error; always returns -1. */
int sdk_error_set(struct sluice_error *err, enum sluice_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends `text` percent-encoded for a URL path segment or query value to dst (NUL-terminated,
 * capacity cap). Returns 0, or -1 when it does not fit. */
int sdk_url_escape(char *dst, size_t cap, const char *text);

/* Milliseconds on the monotonic clock. */
long sdk_now_ms(void);

/* What an event stream told about itself: the last "id:" seen (kept when none came) and
 * whether an "end" event arrived (the server closed the stream on purpose). */
struct sdk_stream {
    long long last_id;
    bool ended;
};

/* GET path, calling fn per line: a text/event-stream answer calls fn with each event's data
 * as it arrives (no total timeout when follow is set; JSON objects formatted as below, "end"
 * events noted in *stream, which may be NULL); any other success body is split into lines,
 * or, when it is JSON, into one line per item of "items" (strings as they are, objects as
 * "ts level message" when they have those fields, else compact JSON). */
int sdk_call_lines(sluice_client *client, const char *path, int follow, sluice_line_fn fn, void *user,
                   struct sdk_stream *stream, struct sluice_error *err);

#endif
