/* timestamp.h — TIMESTAMP(3) values (epoch milliseconds, UTC) to and from text. */
#ifndef SLUICE_DATAPLANE_CODEC_TIMESTAMP_H
#define SLUICE_DATAPLANE_CODEC_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>

#define TIMESTAMP_TEXT_MAX 32
/* TIMESTAMP(3) range, as in Flink: 0000-01-01 00:00:00.000 to 9999-12-31 23:59:59.999. The one
 * definition of the bounds: JSON decoding, event times, and the SQL time functions check
 * against it. */
#define TIMESTAMP_MIN_MS (-62167219200000LL)
#define TIMESTAMP_MAX_MS 253402300799999LL

/* 1 when ms lies within [TIMESTAMP_MIN_MS, TIMESTAMP_MAX_MS], else 0. */
static inline int timestamp_in_range(int64_t ms) { return ms >= TIMESTAMP_MIN_MS && ms <= TIMESTAMP_MAX_MS; }

/* Which texts a parse accepts. One grammar,
 *   yyyy-MM-dd[(' '|'T')HH:mm[:ss[.f+]][Z|±hh:mm|±hhmm]]
 * of which each form takes a part:
 *   TIMESTAMP_TEXT_FULL  JSON values: the time of day with seconds is required, at most 9
 *                        fraction digits, nothing around the text;
 *   TIMESTAMP_TEXT_SQL   SQL text (CAST, TIMESTAMP literals, TO_TIMESTAMP, comparisons with a
 *                        string): everything FULL accepts, and also a date alone (midnight), a
 *                        time without seconds, any number of fraction digits and blanks around.
 * No offset means UTC. Fractions past milliseconds are truncated. */
enum timestamp_text {
    TIMESTAMP_TEXT_FULL,
    TIMESTAMP_TEXT_SQL,
};

/* Parses s[0..len) in the given form into epoch milliseconds. Returns 0, or -1 when it is not
 * such a timestamp. */
int timestamp_parse_text(const char *s, size_t len, enum timestamp_text form, int64_t *ms);
/* timestamp_parse_text() with TIMESTAMP_TEXT_FULL: "yyyy-MM-dd HH:mm:ss[.f{1,9}]" (Flink SQL) or
 * ISO 8601 "yyyy-MM-ddTHH:mm:ss[.f{1,9}]" with an optional "Z", "±hh:mm" or "±hhmm" offset. */
int timestamp_parse(const char *s, size_t len, int64_t *ms);
/* Writes "yyyy-MM-dd HH:mm:ss.SSS" (UTC) and a NUL into out; returns the length (23 for years
 * 0000-9999). */
size_t timestamp_format(int64_t ms, char out[TIMESTAMP_TEXT_MAX]);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31), and back. */
int64_t timestamp_days_from_civil(int64_t y, int m, int d);
void timestamp_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

#endif
