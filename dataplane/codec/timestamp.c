/* timestamp.c — TIMESTAMP(3) text conversions with no libc time calls (no locale, no time zone
 * database): civil-date arithmetic after Howard Hinnant's days_from_civil / civil_from_days. */
#include "dataplane/codec/timestamp.h"

#include <stdbool.h>
#include <stdio.h>

int64_t timestamp_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void timestamp_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

/* The fraction after '.' at s[*i]: 1 to 9 digits (any number when any_length), as
 * milliseconds in *frac_ms. Returns 0, or -1. */
static int parse_fraction(const char *s, size_t len, size_t *i, bool any_length, int *frac_ms)
{
    size_t start = *i, n;
    int v = 0;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        if (*i - start < 3)
            v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    n = *i - start;
    if (n == 0 || (n > 9 && !any_length))
        return -1;
    for (; n < 3; n++)
        v *= 10;
    *frac_ms = v;
    return 0;
}

/* An optional "Z", "±hh:mm" or "±hhmm" at s[*i], which must end the text, as minutes east of
 * UTC in *offset_min (0 when absent). Returns 0, or -1. */
static int parse_offset(const char *s, size_t len, size_t *i, int *offset_min)
{
    *offset_min = 0;
    if (*i < len && s[*i] == 'Z') {
        (*i)++;
        return 0;
    }
    if (*i >= len || (s[*i] != '+' && s[*i] != '-'))
        return 0;
    int oh, om, sign = s[*i] == '-' ? -1 : 1;
    size_t j = *i + 1;
    if (len - j == 5 && s[j + 2] == ':' && digits(s + j, 2, &oh) && digits(s + j + 3, 2, &om))
        j += 5;
    else if (len - j == 4 && digits(s + j, 2, &oh) && digits(s + j + 2, 2, &om))
        j += 4;
    else
        return -1;
    if (oh > 23 || om > 59)
        return -1;
    *offset_min = sign * (oh * 60 + om);
    *i = j;
    return 0;
}

/* The time of day after the date (s[10] on): "(' '|'T')HH:mm[:ss[.f]]" and an offset; seconds
 * are required unless sql. Returns 0, or -1. */
static int parse_time_of_day(const char *s, size_t len, bool sql, int f[4], int *offset_min, size_t *end)
{
    size_t i = 16;
    if (len < 16 || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || !digits(s + 11, 2, &f[0]) ||
        !digits(s + 14, 2, &f[1]))
        return -1;
    if (i < len && s[i] == ':') {
        if (len < 19 || !digits(s + 17, 2, &f[2]))
            return -1;
        i = 19;
        if (i < len && s[i] == '.') {
            i++;
            if (parse_fraction(s, len, &i, sql, &f[3]) < 0)
                return -1;
        }
    } else if (!sql) {
        return -1;
    }
    if (parse_offset(s, len, &i, offset_min) < 0)
        return -1;
    *end = i;
    return 0;
}

/* The value of the n digits at s (n <= 4), or -1 when one is not a digit. */
static inline int digits_fixed(const char *s, int n)
{
    int v = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        unsigned c = (unsigned)(unsigned char)s[i] - '0';
        bad |= c > 9;
        v = v * 10 + (int)c;
    }
    return bad ? -1 : v;
}

/* "yyyy-MM-dd HH:mm:ss.SSS" exactly (what the engine and datagen write) into *ms: 1, else 0
 * (the general parser decides). */
static int parse_common_form(const char *s, size_t len, int64_t *ms)
{
    if (len != 23 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' || s[19] != '.')
        return 0;
    int y = digits_fixed(s, 4), mo = digits_fixed(s + 5, 2), d = digits_fixed(s + 8, 2), h = digits_fixed(s + 11, 2),
        mi = digits_fixed(s + 14, 2), sec = digits_fixed(s + 17, 2), f = digits_fixed(s + 20, 3);
    if ((y | mo | d | h | mi | sec | f) < 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || sec > 59)
        return 0;
    *ms = ((timestamp_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000 + f;
    return 1;
}

int timestamp_parse_text(const char *s, size_t len, enum timestamp_text form, int64_t *ms)
{
    if (parse_common_form(s, len, ms))
        return 0;
    bool sql = form == TIMESTAMP_TEXT_SQL;
    while (sql && len && s[len - 1] == ' ')
        len--;
    while (sql && len && s[0] == ' ')
        s++, len--;
    int y, mo, d, tod[4] = {0, 0, 0, 0}, offset_min = 0; /* hour, minute, second, milliseconds */
    if (len < 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d))
        return -1;
    size_t i = 10;
    if ((len > 10 || !sql) && parse_time_of_day(s, len, sql, tod, &offset_min, &i) < 0)
        return -1;
    if (i != len || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || tod[0] > 23 || tod[1] > 59 || tod[2] > 59)
        return -1;
    int64_t days = timestamp_days_from_civil(y, mo, d);
    *ms = ((days * 24 + tod[0]) * 60 + tod[1] - offset_min) * 60000 + (int64_t)tod[2] * 1000 + tod[3];
    return 0;
}

int timestamp_parse(const char *s, size_t len, int64_t *ms)
{
    return timestamp_parse_text(s, len, TIMESTAMP_TEXT_FULL, ms);
}

static void put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

size_t timestamp_format(int64_t ms, char out[TIMESTAMP_TEXT_MAX])
{
    int64_t days = ms / 86400000, rem = ms % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    int64_t y;
    int m, d;
    timestamp_civil_from_days(days, &y, &m, &d);
    int h = (int)(rem / 3600000), mi = (int)(rem / 60000 % 60), s = (int)(rem / 1000 % 60), f = (int)(rem % 1000);
    if (y < 0 || y > 9999)
        return (size_t)snprintf(out, TIMESTAMP_TEXT_MAX, "%04lld-%02d-%02d %02d:%02d:%02d.%03d", (long long)y, m, d, h,
                                mi, s, f);
    put2(out, (int)(y / 100));
    put2(out + 2, (int)(y % 100));
    out[4] = '-';
    put2(out + 5, m);
    out[7] = '-';
    put2(out + 8, d);
    out[10] = ' ';
    put2(out + 11, h);
    out[13] = ':';
    put2(out + 14, mi);
    out[16] = ':';
    put2(out + 17, s);
    out[19] = '.';
    out[20] = (char)('0' + f / 100);
    put2(out + 21, f % 100);
    out[23] = '\0';
    return 23;
}
