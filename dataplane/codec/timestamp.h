/* timestamp.h — TIMESTAMP(3) values (epoch milliseconds, UTC) to and from text. */
#ifndef SLUICE_DATAPLANE_CODEC_TIMESTAMP_H
#define SLUICE_DATAPLANE_CODEC_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>

#define TIMESTAMP_TEXT_MAX 32
/* TIMESTAMP(3) range, as in Flink: 0000-01-01 00:00:00.000 to 9999-12-31 23:59:59.999. */
#define TIMESTAMP_MIN_MS (-62167219200000LL)
#define TIMESTAMP_MAX_MS 253402300799999LL

/* Parses "yyyy-MM-dd HH:mm:ss[.f{1,9}]" (Flink SQL) or ISO 8601 "yyyy-MM-ddTHH:mm:ss[.f{1,9}]"
 * with an optional "Z", "±hh:mm" or "±hhmm" offset (none means UTC). Fractions past
 * milliseconds are truncated. Returns 0, or -1 when s[0..len) is not such a timestamp. */
int timestamp_parse(const char *s, size_t len, int64_t *ms);
/* Writes "yyyy-MM-dd HH:mm:ss.SSS" (UTC) and a NUL into out; returns the length (23 for years
 * 0000-9999). */
size_t timestamp_format(int64_t ms, char out[TIMESTAMP_TEXT_MAX]);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31), and back. */
int64_t timestamp_days_from_civil(int64_t y, int m, int d);
void timestamp_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

#endif
