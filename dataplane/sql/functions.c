/* functions.c — SQL built-in functions as one table (name, arity, argument types, result
 * type rule, implementation) and their implementations (string, math, JSON and time
 * functions). Text forms of values come from value.h, timestamp texts from the codec. */
#include "dataplane/sql/functions.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <openssl/evp.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wctype.h>
#include <locale.h>

#include "common/arena.h"
#include "common/clock.h"
#include "dataplane/codec/json_encode.h"
#include "dataplane/codec/timestamp.h"
#include "dataplane/sql/parser.h"

/* ---- Time ------------------------------------------------------------------------------*/

struct civil {
    int64_t year;
    int month, day, hour, minute, second, milli;
    int64_t days;
};

static void civil_from_ms(int64_t ms, struct civil *c)
{
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t rem = ms - days * 86400000;
    timestamp_civil_from_days(days, &c->year, &c->month, &c->day);
    c->days = days;
    c->hour = (int)(rem / 3600000);
    c->minute = (int)(rem / 60000 % 60);
    c->second = (int)(rem / 1000 % 60);
    c->milli = (int)(rem % 1000);
}

static int days_in_month(int64_t y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : dm[m - 1];
}

static int civil_valid(const struct civil *c)
{
    return c->month >= 1 && c->month <= 12 && c->day >= 1 && c->day <= days_in_month(c->year, c->month) &&
           c->hour < 24 && c->minute < 60 && c->second < 60;
}

static int64_t civil_to_ms(const struct civil *c)
{
    return timestamp_days_from_civil(c->year, c->month, c->day) * 86400000 + c->hour * 3600000LL + c->minute * 60000LL +
           c->second * 1000LL + c->milli;
}

/* ---- Helpers ---------------------------------------------------------------------------*/

static int set_string(struct eval_ctx *c, const struct expr *e, struct value *out, const char *p, size_t n)
{
    (void)c;
    (void)e;
    out->type = VT_STRING;
    out->u.s.ptr = p;
    out->u.s.len = (uint32_t)n;
    return 0;
}

static char *scratch_alloc(struct eval_ctx *c, size_t n) { return arena_alloc(c->scratch, n ? n : 1); }

/* Room for e's string result of n bytes (NULL, error set, past SQL_STRING_MAX or out of memory). */
static char *result_alloc(struct eval_ctx *c, const struct expr *e, size_t n)
{
    return eval_string_alloc(c, e, NULL, n);
}

/* Byte offset of the character index ci (0-based) in a UTF-8 string. */
static size_t utf8_offset(const char *s, size_t n, int64_t ci)
{
    size_t i = 0;
    while (i < n && ci > 0) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        ci--;
    }
    return i;
}

static int64_t utf8_length(const char *s, size_t n)
{
    int64_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

static double num(const struct value *v) { return v->type == VT_DOUBLE ? v->u.d : (double)v->u.i; }

/* ---- String functions ------------------------------------------------------------------*/

/* UPPER/LOWER map each code point through glibc's towupper_l/towlower_l in the C.UTF-8 locale
 * (made once, never set process-wide): one code point to one, so Java's special cases (German
 * sharp s to "SS") stay as they are. Bytes that are not UTF-8 are copied. */
static locale_t case_locale;
static pthread_once_t case_locale_once = PTHREAD_ONCE_INIT;
static void case_locale_init(void) { case_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); }

/* The code point at s[0..n) and its length in *len; -1 (len 1) when it is not UTF-8. */
static int32_t utf8_decode(const unsigned char *s, size_t n, size_t *len)
{
    int32_t cp;
    size_t k;
    if (s[0] < 0x80) {
        *len = 1;
        return s[0];
    }
    if ((s[0] & 0xE0) == 0xC0)
        cp = s[0] & 0x1F, k = 2;
    else if ((s[0] & 0xF0) == 0xE0)
        cp = s[0] & 0x0F, k = 3;
    else if ((s[0] & 0xF8) == 0xF0)
        cp = s[0] & 0x07, k = 4;
    else
        k = 0, cp = 0;
    *len = 1;
    if (k == 0 || k > n)
        return -1;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    *len = k;
    return cp;
}

static size_t utf8_encode(int32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static int fn_case(const struct value *a, struct eval_ctx *c, const struct expr *e, struct value *out, int upper)
{
    const unsigned char *s = (const unsigned char *)a[0].u.s.ptr;
    size_t n = a[0].u.s.len, k = 0, len;
    char *m = result_alloc(c, e, n + n / 2 + 4); /* a mapping grows a character by half at most */
    if (!m)
        return -1;
    pthread_once(&case_locale_once, case_locale_init);
    for (size_t i = 0; i < n; i += len) {
        int32_t cp = utf8_decode(s + i, n - i, &len);
        if (cp < 0 || (cp < 0x80 && !case_locale)) {
            m[k++] = (char)(cp < 0 ? s[i] : upper ? toupper(cp) : tolower(cp));
            continue;
        }
        wint_t w = upper ? towupper_l((wint_t)cp, case_locale) : towlower_l((wint_t)cp, case_locale);
        k += utf8_encode((int32_t)w, m + k);
    }
    return set_string(c, e, out, m, k);
}

static int fn_upper(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    return fn_case(a, c, e, out, 1);
}

static int fn_lower(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    return fn_case(a, c, e, out, 0);
}

/* Flink's SUBSTRING(s, pos[, len]): pos counts characters from 1, from the end when negative
 * (-1 the last), 0 is 1; before the start or past the end gives ''; a negative len NULL. */
static int fn_substring(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    const char *s = a[0].u.s.ptr;
    size_t n = a[0].u.s.len;
    int64_t pos = a[1].u.i, len = e->nargs > 2 ? a[2].u.i : INT64_MAX / 2, chars = utf8_length(s, n), start;
    if (len < 0) {
        out->type = VT_NULL;
        return 0;
    }
    start = pos > 0 ? pos - 1 : pos < 0 ? chars + pos : 0;
    if (start < 0 || start >= chars)
        return set_string(c, e, out, s, 0);
    size_t b = utf8_offset(s, n, start);
    size_t en = b + utf8_offset(s + b, n - b, len);
    return set_string(c, e, out, s + b, en - b);
}

static int fn_concat(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    struct value parts[FUNCTIONS_MAX_ARGS];
    size_t total = 0;
    for (int i = 0; i < e->nargs; i++) {
        if (value_to_string(&a[i], c->scratch, &parts[i]) < 0)
            return eval_fail(c, e, "out of memory");
        total += parts[i].u.s.len;
    }
    char *m = result_alloc(c, e, total);
    if (!m)
        return -1;
    size_t k = 0;
    for (int i = 0; i < e->nargs; i++) {
        memcpy(m + k, parts[i].u.s.ptr, parts[i].u.s.len);
        k += parts[i].u.s.len;
    }
    return set_string(c, e, out, m, total);
}

/* CONCAT_WS(sep, s1, ...): the non-NULL strings joined by sep; NULL when sep is NULL (Flink). */
static int fn_concat_ws(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    if (a[0].type == VT_NULL) {
        out->type = VT_NULL;
        return 0;
    }
    size_t total = 0, k = 0;
    int n = 0;
    for (int i = 1; i < e->nargs; i++)
        if (a[i].type != VT_NULL)
            total += a[i].u.s.len + (n++ ? a[0].u.s.len : 0);
    char *m = result_alloc(c, e, total);
    if (!m)
        return -1;
    n = 0;
    for (int i = 1; i < e->nargs; i++) {
        if (a[i].type == VT_NULL)
            continue;
        if (n++) {
            memcpy(m + k, a[0].u.s.ptr, a[0].u.s.len);
            k += a[0].u.s.len;
        }
        memcpy(m + k, a[i].u.s.ptr, a[i].u.s.len);
        k += a[i].u.s.len;
    }
    return set_string(c, e, out, m, k);
}

/* MD5(s): the digest of s's bytes as 32 lower-case hex digits (OpenSSL). */
static int fn_md5(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char *m = result_alloc(c, e, 32);
    if (!m)
        return -1;
    if (EVP_Digest(a[0].u.s.ptr, a[0].u.s.len, digest, &n, EVP_md5(), NULL) != 1 || n != 16)
        return eval_fail(c, e, "MD5 failed");
    for (unsigned int i = 0; i < 16; i++) {
        m[2 * i] = "0123456789abcdef"[digest[i] >> 4];
        m[2 * i + 1] = "0123456789abcdef"[digest[i] & 15];
    }
    return set_string(c, e, out, m, 32);
}

static int fn_char_length(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    out->type = VT_BIGINT;
    out->u.i = utf8_length(a[0].u.s.ptr, a[0].u.s.len);
    return 0;
}

static int trim_in(const struct value *chars, char ch) { return memchr(chars->u.s.ptr, ch, chars->u.s.len) != NULL; }

/* TRIM(mode, chars, s) as the parser builds it; LTRIM/RTRIM(s). */
static int fn_trim(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    const struct value *s = &a[2], *chars = &a[1];
    int lead = a[0].u.s.ptr[0] != 'T', trail = a[0].u.s.ptr[0] != 'L';
    size_t b = 0, en = s->u.s.len;
    while (lead && b < en && trim_in(chars, s->u.s.ptr[b]))
        b++;
    while (trail && en > b && trim_in(chars, s->u.s.ptr[en - 1]))
        en--;
    return set_string(c, e, out, s->u.s.ptr + b, en - b);
}

static int fn_ltrim(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    size_t b = 0;
    while (b < a[0].u.s.len && a[0].u.s.ptr[b] == ' ')
        b++;
    return set_string(c, e, out, a[0].u.s.ptr + b, a[0].u.s.len - b);
}

static int fn_rtrim(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    size_t n = a[0].u.s.len;
    while (n > 0 && a[0].u.s.ptr[n - 1] == ' ')
        n--;
    return set_string(c, e, out, a[0].u.s.ptr, n);
}

/* Regular expressions are PCRE2 (close to the Java patterns Flink SQL users write), in UTF
 * mode: a subject is checked once per evaluation (PCRE2_MATCH_INVALID_UTF would make each of
 * REGEXP_REPLACE's matches rescan the rest of it, quadratic). A tenant's pattern runs under a match limit
 * (backtracking steps), a depth limit and a heap limit, so a catastrophic pattern such as
 * `(a*)(a*)(a*)\3\2\1b` fails its row in milliseconds instead of running for minutes. */
#define REGEX_MAX_LENGTH 1024
#define REGEX_MAX_REPETITION 1000
#define REGEX_MATCH_LIMIT 1000000 /* about 25 ms of backtracking */
#define REGEX_DEPTH_LIMIT 100000
#define REGEX_HEAP_LIMIT_KIB 65536
#define REGEX_GROUPS 10 /* $0..$9 */

static pcre2_match_context *regex_limits;
static pthread_once_t regex_limits_once = PTHREAD_ONCE_INIT;

static void regex_limits_init(void)
{
    regex_limits = pcre2_match_context_create(NULL);
    if (regex_limits) {
        pcre2_set_match_limit(regex_limits, REGEX_MATCH_LIMIT);
        pcre2_set_depth_limit(regex_limits, REGEX_DEPTH_LIMIT);
        pcre2_set_heap_limit(regex_limits, REGEX_HEAP_LIMIT_KIB);
    }
}

static void regex_release(void *p) { pcre2_code_free(p); }

/* Counted repetitions of groups are compiled as copies, so `(a{200}){200}` would be large: a
 * tenant's pattern is refused when it is long or the product of its repetition counts is
 * large. Returns a reason, or NULL when the pattern may be compiled. */
static const char *regex_too_complex(const char *pat, size_t len)
{
    if (len > REGEX_MAX_LENGTH)
        return "pattern longer than 1024 bytes";
    long product = 1;
    for (const char *p = pat; p < pat + len; p++) {
        if (*p == '\\' && p + 1 < pat + len) {
            p++;
            continue;
        }
        if (*p != '{')
            continue;
        long lo = 0, hi = 0;
        const char *q = p + 1;
        while (q < pat + len && *q >= '0' && *q <= '9' && lo <= REGEX_MAX_REPETITION)
            lo = lo * 10 + (*q++ - '0');
        hi = lo;
        if (q < pat + len && *q == ',') {
            q++;
            hi = 0;
            while (q < pat + len && *q >= '0' && *q <= '9' && hi <= REGEX_MAX_REPETITION)
                hi = hi * 10 + (*q++ - '0');
            if (hi < lo)
                hi = lo;
        }
        product *= hi > 1 ? hi : 1;
        if (product > REGEX_MAX_REPETITION)
            return "repetition counts too large (their product may be at most 1000)";
    }
    return NULL;
}

/* The compiled pattern, or NULL with msg filled. */
static pcre2_code *regex_compile(const char *pat, size_t len, char *msg, size_t msglen)
{
    const char *why = regex_too_complex(pat, len);
    if (why) {
        snprintf(msg, msglen, "%s", why);
        return NULL;
    }
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, PCRE2_UTF, &code, &offset, NULL);
    if (!re) {
        PCRE2_UCHAR text[120];
        if (pcre2_get_error_message(code, text, sizeof text) < 0)
            snprintf((char *)text, sizeof text, "error %d", code);
        snprintf(msg, msglen, "%s at offset %zu", (const char *)text, (size_t)offset);
    }
    return re;
}

/* Constant pattern (argument 2): compiled once at plan compile time, released with the plan. */
static int prepare_regex(struct expr *e, const struct ast *call, void (**release)(void *), struct sql_error *err)
{
    const struct expr *pat = e->args[1];
    if (pat->type != VT_STRING || pat->args || pat->nargs || pat->func || call->args[1]->kind != AST_LITERAL)
        return 0;
    char msg[200];
    pcre2_code *re = regex_compile(pat->constant.u.s.ptr, pat->constant.u.s.len, msg, sizeof msg);
    if (!re) {
        if (err) {
            err->line = call->args[1]->line;
            err->column = call->args[1]->column;
            snprintf(err->message, sizeof err->message, "invalid regular expression '%s': %s", pat->constant.u.s.ptr,
                     msg);
        }
        return -1;
    }
    e->state = re;
    *release = regex_release;
    return 0;
}

/* One evaluation's pattern and match: the plan's compiled pattern (e->state) or one compiled
 * now from a[1], and match data for REGEX_GROUPS groups. regex_end() releases what is its. */
struct regex_run {
    pcre2_code *re;
    int own_re;
    pcre2_match_data *md;
    uint32_t groups; /* capture groups in the pattern */
};

static int regex_begin(const struct expr *e, const struct value *a, struct eval_ctx *c, struct regex_run *r)
{
    *r = (struct regex_run){.re = e->state};
    pthread_once(&regex_limits_once, regex_limits_init);
    if (!regex_limits)
        return eval_fail(c, e, "out of memory");
    if (!r->re) {
        char msg[200];
        if (!(r->re = regex_compile(a[1].u.s.ptr, a[1].u.s.len, msg, sizeof msg)))
            return eval_fail(c, e, "invalid regular expression '%.*s': %s",
                             (int)(a[1].u.s.len > 200 ? 200 : a[1].u.s.len), a[1].u.s.ptr, msg);
        r->own_re = 1;
    }
    pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &r->groups);
    if (!(r->md = pcre2_match_data_create(REGEX_GROUPS, NULL))) {
        if (r->own_re)
            pcre2_code_free(r->re);
        return eval_fail(c, e, "out of memory");
    }
    return 0;
}

static void regex_end(struct regex_run *r)
{
    pcre2_match_data_free(r->md);
    if (r->own_re)
        pcre2_code_free(r->re);
}

/* Matches the subject s (n bytes) from byte start: 1 on a match, 0 on none, -1 with the error
 * set when a limit was hit or matching failed. options: PCRE2_NO_UTF_CHECK once s was checked. */
static int regex_match(const struct expr *e, struct eval_ctx *c, struct regex_run *r, const char *s, size_t n,
                       size_t start, uint32_t options)
{
    int rc = pcre2_match(r->re, (PCRE2_SPTR)s, n, start, options, r->md, regex_limits);
    if (rc >= 0 || rc == PCRE2_ERROR_NOMATCH)
        return rc >= 0;
    if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21)
        return eval_fail(c, e, "regular expression subject is not valid UTF-8");
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT)
        return eval_fail(c, e, "regular expression exceeded its %s limit",
                         rc == PCRE2_ERROR_MATCHLIMIT   ? "match"
                         : rc == PCRE2_ERROR_DEPTHLIMIT ? "depth"
                                                        : "memory");
    PCRE2_UCHAR text[120];
    if (pcre2_get_error_message(rc, text, sizeof text) < 0)
        snprintf((char *)text, sizeof text, "error %d", rc);
    return eval_fail(c, e, "regular expression failed: %s", (const char *)text);
}

static int fn_regexp_extract(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    int64_t group = e->nargs > 2 ? a[2].u.i : 1;
    struct regex_run r;
    if (regex_begin(e, a, c, &r) < 0)
        return -1;
    int rc = 0;
    out->type = VT_NULL;
    if (group >= 0 && (uint64_t)group <= r.groups && group < REGEX_GROUPS)
        rc = regex_match(e, c, &r, a[0].u.s.ptr, a[0].u.s.len, 0, 0);
    if (rc > 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r.md);
        if (ov[2 * group] != PCRE2_UNSET)
            set_string(c, e, out, a[0].u.s.ptr + ov[2 * group], ov[2 * group + 1] - ov[2 * group]);
    }
    regex_end(&r);
    return rc < 0 ? -1 : 0;
}

/* Java's Character.isWhitespace for ASCII: what an empty separator splits on. */
static int split_is_space(char ch) { return ch == ' ' || (ch >= 9 && ch <= 13) || (ch >= 0x1C && ch <= 0x1F); }

/* Flink's SPLIT_INDEX (commons-lang splitByWholeSeparatorPreserveAllTokens): token `want`
 * (0-based) of s split at every sep, empty tokens kept; an empty sep splits at every
 * whitespace character; an empty s has no tokens. NULL when there is no such token. */
static int fn_split_index(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    const char *s = a[0].u.s.ptr, *sep = a[1].u.s.ptr;
    size_t n = a[0].u.s.len, sn = a[1].u.s.len, b = 0;
    int64_t want = a[2].u.i, k = 0;
    out->type = VT_NULL;
    if (want < 0 || n == 0)
        return 0;
    for (size_t i = 0; i < n && (sn == 0 || i + sn <= n);) {
        size_t hit = sn == 0 ? (size_t)split_is_space(s[i]) : memcmp(s + i, sep, sn) == 0 ? sn : 0;
        if (hit) {
            if (k == want)
                return set_string(c, e, out, s + b, i - b);
            k++;
            i += hit;
            b = i;
        } else {
            i++;
        }
    }
    if (k == want)
        return set_string(c, e, out, s + b, n - b);
    return 0;
}

/* POSITION(needle IN s) / LOCATE(needle, s): 1-based character position, 0 when absent. */
static int fn_position(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    const char *hay = a[1].u.s.ptr, *needle = a[0].u.s.ptr;
    size_t n = a[1].u.s.len, k = a[0].u.s.len;
    out->type = VT_BIGINT;
    out->u.i = 0;
    if (k == 0) {
        out->u.i = 1;
        return 0;
    }
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0) {
            out->u.i = utf8_length(hay, i) + 1;
            break;
        }
    return 0;
}

/* LPAD / RPAD(s, len, pad): s cut or padded (with pad repeated) to len characters; the
 * result's size is computed before it is allocated (at most SQL_STRING_MAX bytes). */
static int pad(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out, int left)
{
    int64_t want = a[1].u.i, have = utf8_length(a[0].u.s.ptr, a[0].u.s.len);
    int64_t padlen = utf8_length(a[2].u.s.ptr, a[2].u.s.len);
    out->type = VT_NULL;
    if (want < 0)
        return 0;
    if ((uint64_t)want > SQL_STRING_MAX) /* a character is one byte at least */
        return eval_fail(c, e, "%s result exceeds the " SQL_STRING_MAX_TEXT " string limit", e->func->name);
    if (want <= have)
        return set_string(c, e, out, a[0].u.s.ptr, utf8_offset(a[0].u.s.ptr, a[0].u.s.len, want));
    if (padlen == 0)
        return 0;
    /* Whole repeats of pad, then a prefix of it: sized from the bytes, never from a guess of
     * bytes per character (invalid UTF-8 can make one "character" any length). */
    size_t fill_chars = (size_t)(want - have), full = fill_chars / (size_t)padlen;
    size_t part = utf8_offset(a[2].u.s.ptr, a[2].u.s.len, (int64_t)(fill_chars % (size_t)padlen));
    if (a[2].u.s.len > SQL_STRING_MAX / (full + 1)) /* full * pad alone past the cap */
        return eval_fail(c, e, "%s result exceeds the " SQL_STRING_MAX_TEXT " string limit", e->func->name);
    size_t bytes = a[0].u.s.len + full * a[2].u.s.len + part;
    char *m = result_alloc(c, e, bytes), *o = m;
    if (!m)
        return -1;
    if (!left) {
        memcpy(o, a[0].u.s.ptr, a[0].u.s.len);
        o += a[0].u.s.len;
    }
    for (size_t i = 0; i < full; i++) {
        memcpy(o, a[2].u.s.ptr, a[2].u.s.len);
        o += a[2].u.s.len;
    }
    memcpy(o, a[2].u.s.ptr, part);
    o += part;
    if (left) {
        memcpy(o, a[0].u.s.ptr, a[0].u.s.len);
        o += a[0].u.s.len;
    }
    return set_string(c, e, out, m, (size_t)(o - m));
}

static int fn_lpad(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    return pad(e, a, c, out, 1);
}

static int fn_rpad(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    return pad(e, a, c, out, 0);
}

/* INITCAP: first letter of each word upper case, the rest lower case (ASCII). */
static int fn_initcap(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    char *m = result_alloc(c, e, a[0].u.s.len);
    if (!m)
        return -1;
    int start = 1;
    for (uint32_t i = 0; i < a[0].u.s.len; i++) {
        unsigned char ch = (unsigned char)a[0].u.s.ptr[i];
        m[i] = (char)(start ? toupper(ch) : tolower(ch));
        start = !isalnum(ch);
    }
    return set_string(c, e, out, m, a[0].u.s.len);
}

/* REVERSE: characters in reverse order (UTF-8 sequences kept whole). */
static int fn_reverse(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    const char *s = a[0].u.s.ptr;
    size_t n = a[0].u.s.len;
    char *m = result_alloc(c, e, n);
    if (!m)
        return -1;
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        while (i + k < n && ((unsigned char)s[i + k] & 0xC0) == 0x80)
            k++;
        memcpy(m + n - i - k, s + i, k);
        i += k;
    }
    return set_string(c, e, out, m, n);
}

/* ASCII(s): code point of the first character (0 for the empty string). */
static int fn_ascii(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    const unsigned char *s = (const unsigned char *)a[0].u.s.ptr;
    size_t n = a[0].u.s.len;
    out->type = VT_BIGINT;
    out->u.i = 0;
    if (n == 0)
        return 0;
    int extra = s[0] >= 0xF0 ? 3 : s[0] >= 0xE0 ? 2 : s[0] >= 0xC0 ? 1 : 0;
    int64_t cp = extra ? s[0] & (0x3F >> extra) : s[0];
    for (int k = 1; k <= extra; k++) {
        if ((size_t)k >= n || (s[k] & 0xC0) != 0x80) { /* invalid UTF-8: the first byte */
            cp = s[0];
            break;
        }
        cp = cp << 6 | (s[k] & 0x3F);
    }
    out->u.i = cp;
    return 0;
}

/* CHR(n): the character of code n & 255 (Flink's rule), "" for a negative n. */
static int fn_chr(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    char *m = scratch_alloc(c, 2);
    if (!m)
        return eval_fail(c, e, "out of memory");
    if (a[0].u.i < 0)
        return set_string(c, e, out, m, 0);
    unsigned cp = (unsigned)(a[0].u.i & 0xFF);
    if (cp < 0x80) {
        m[0] = (char)cp;
        return set_string(c, e, out, m, 1);
    }
    m[0] = (char)(0xC0 | cp >> 6);
    m[1] = (char)(0x80 | (cp & 0x3F));
    return set_string(c, e, out, m, 2);
}

/* REPEAT(s, n): s n times ("" when n <= 0); at most SQL_STRING_MAX bytes. */
static int fn_repeat(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    int64_t n = a[1].u.i;
    size_t len = a[0].u.s.len;
    if (n <= 0 || len == 0)
        return set_string(c, e, out, "", 0);
    if ((uint64_t)n > SQL_STRING_MAX / len)
        return eval_fail(c, e, "REPEAT result exceeds the " SQL_STRING_MAX_TEXT " string limit");
    char *m = result_alloc(c, e, (size_t)n * len);
    if (!m)
        return -1;
    for (int64_t i = 0; i < n; i++)
        memcpy(m + (size_t)i * len, a[0].u.s.ptr, len);
    return set_string(c, e, out, m, (size_t)n * len);
}

/* REGEXP(s, pattern): whether some part of s matches. */
static int fn_regexp(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    struct regex_run r;
    if (regex_begin(e, a, c, &r) < 0)
        return -1;
    int rc = regex_match(e, c, &r, a[0].u.s.ptr, a[0].u.s.len, 0, 0);
    regex_end(&r);
    if (rc < 0)
        return -1;
    out->type = VT_BOOLEAN;
    out->u.b = rc > 0;
    return 0;
}

/* ---- Math ------------------------------------------------------------------------------*/

static int fn_abs(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    *out = a[0];
    if (a[0].type == VT_DOUBLE)
        out->u.d = fabs(a[0].u.d);
    else if (a[0].u.i == INT64_MIN)
        return eval_fail(c, e, "BIGINT overflow in ABS");
    else if (a[0].u.i < 0)
        out->u.i = -a[0].u.i;
    return 0;
}

static int fn_mod(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    if (e->type == VT_BIGINT) {
        if (a[1].u.i == 0)
            return eval_fail(c, e, "division by zero");
        out->type = VT_BIGINT;
        out->u.i = a[1].u.i == -1 ? 0 : a[0].u.i % a[1].u.i;
        return 0;
    }
    if (num(&a[1]) == 0)
        return eval_fail(c, e, "division by zero");
    out->type = VT_DOUBLE;
    out->u.d = fmod(num(&a[0]), num(&a[1]));
    return 0;
}

/* ROUND(x[, d]) (half away from zero) and TRUNCATE(x[, d]) (toward zero) to d decimals;
 * a negative d works on digits left of the point. */
static int round_digits(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out,
                        int truncate)
{
    int64_t digits = e->nargs > 1 ? a[1].u.i : 0;
    *out = a[0];
    if (digits > 300 || digits < -300)
        return eval_fail(c, e, "%s digits out of range", e->func->name);
    if (a[0].type == VT_DOUBLE) {
        double p = pow(10.0, (double)digits);
        out->u.d = (truncate ? trunc(a[0].u.d * p) : round(a[0].u.d * p)) / p;
        if (!isfinite(out->u.d))
            out->u.d = a[0].u.d;
    } else if (digits < 0) {
        int64_t p = 1;
        for (int64_t k = 0; k < -digits && p < INT64_MAX / 10; k++)
            p *= 10;
        int64_t q = a[0].u.i / p, r = a[0].u.i % p;
        if (truncate)
            r = 0;
        if (r >= p - r)
            q++;
        else if (-r >= p + r)
            q--;
        if (__builtin_mul_overflow(q, p, &out->u.i))
            return eval_fail(c, e, "BIGINT overflow in %s", e->func->name);
    }
    return 0;
}

static int fn_round(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    return round_digits(e, a, c, out, 0);
}

static int fn_truncate(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    return round_digits(e, a, c, out, 1);
}

static int fn_floor(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    *out = a[0];
    if (a[0].type == VT_DOUBLE)
        out->u.d = floor(a[0].u.d);
    return 0;
}

static int fn_ceil(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    *out = a[0];
    if (a[0].type == VT_DOUBLE)
        out->u.d = ceil(a[0].u.d);
    return 0;
}

static int fn_power(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    out->type = VT_DOUBLE;
    out->u.d = pow(num(&a[0]), num(&a[1]));
    if (isnan(out->u.d))
        return eval_fail(c, e, "POWER result is not a number");
    return 0;
}

static int fn_sqrt(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    if (num(&a[0]) < 0)
        return eval_fail(c, e, "SQRT of a negative number");
    out->type = VT_DOUBLE;
    out->u.d = sqrt(num(&a[0]));
    return 0;
}

static int fn_sign(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    *out = a[0];
    if (a[0].type == VT_DOUBLE)
        out->u.d = a[0].u.d > 0 ? 1.0 : a[0].u.d < 0 ? -1.0 : a[0].u.d; /* keeps 0.0 and NaN */
    else
        out->u.i = (a[0].u.i > 0) - (a[0].u.i < 0);
    return 0;
}

/* LN, LOG10, LOG(x), LOG(base, x): the logarithm of a positive number (an error otherwise). */
static int fn_log(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    const char *name = e->func->name;
    double x = num(&a[e->nargs - 1]);
    if (!(x > 0))
        return eval_fail(c, e, "%s of a number that is not positive", name);
    out->type = VT_DOUBLE;
    if (strcmp(name, "LOG10") == 0) {
        out->u.d = log10(x);
    } else if (e->nargs == 2) {
        double base = num(&a[0]);
        if (!(base > 0) || base == 1)
            return eval_fail(c, e, "LOG base must be positive and not 1");
        out->u.d = log(x) / log(base);
    } else {
        out->u.d = log(x);
    }
    return 0;
}

static int fn_exp(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    out->type = VT_DOUBLE;
    out->u.d = exp(num(&a[0]));
    return 0;
}

/* ---- Conditional -----------------------------------------------------------------------*/

static int fn_coalesce(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    for (int i = 0; i < e->nargs; i++)
        if (a[i].type != VT_NULL) {
            *out = a[i];
            return 0;
        }
    out->type = VT_NULL;
    return 0;
}

static int fn_if(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    *out = a[0].type == VT_BOOLEAN && a[0].u.b ? a[1] : a[2];
    return 0;
}

/* NULLIF(a, b): NULL when a equals b, else a. */
static int fn_nullif(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    *out = a[0];
    if (a[0].type != VT_NULL && a[1].type != VT_NULL && value_equal(&a[0], &a[1]))
        out->type = VT_NULL;
    return 0;
}

/* GREATEST / LEAST(a, b, ...): arguments promoted to one type; NULL when any is NULL. */
static int fn_greatest(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    int least = e->func->name[0] == 'L';
    *out = a[0];
    for (int i = 1; i < e->nargs; i++) {
        int r = value_compare(&a[i], out);
        if (least ? r < 0 : r > 0)
            *out = a[i];
    }
    return 0;
}

/* ---- Strings built piecewise ----------------------------------------------------------*/

/* A string built in the scratch arena (grows by copying; the old block stays until reset). */
struct scratch_buf {
    struct arena *arena;
    char *p;
    size_t len, cap;
    int oom, too_long; /* too_long: it would pass SQL_STRING_MAX */
};

static void scratch_put(struct scratch_buf *b, const char *d, size_t n)
{
    if (b->oom || b->too_long || n == 0)
        return;
    if (n > SQL_STRING_MAX - b->len) {
        b->too_long = 1;
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2 + 16;
        if (cap > SQL_STRING_MAX)
            cap = SQL_STRING_MAX;
        char *m = arena_alloc(b->arena, cap);
        if (!m) {
            b->oom = 1;
            return;
        }
        if (b->len)
            memcpy(m, b->p, b->len);
        b->p = m;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static int json_query_put(const char *buffer, size_t size, void *data)
{
    struct scratch_buf *b = data;
    scratch_put(b, buffer, size);
    return b->oom || b->too_long ? -1 : 0;
}

/* ---- JSON ------------------------------------------------------------------------------*/

/* The node of root at a JSON path ('$', '.key', '[n]', '['key']'); *out NULL when missing.
 * Returns 0, or -1 with the error set for a malformed path. */
static int json_path_walk(const struct expr *e, const struct value *pathv, struct eval_ctx *c, json_t *root,
                          json_t **out)
{
    const char *path = pathv->u.s.ptr, *pe = path + pathv->u.s.len;
    json_t *cur = root;
    *out = NULL;
    if (path == pe || *path != '$')
        return eval_fail(c, e, "invalid JSON path '%.*s': it must start with '$'", (int)pathv->u.s.len, path);
    path++;
    while (path < pe && cur) {
        char key[256];
        size_t kl = 0;
        if (*path == '.') {
            path++;
            while (path < pe && *path != '.' && *path != '[' && kl < sizeof key - 1)
                key[kl++] = *path++;
            key[kl] = '\0';
            cur = json_is_object(cur) ? json_object_get(cur, key) : NULL;
        } else if (*path == '[') {
            path++;
            if (path < pe && (*path == '\'' || *path == '"')) {
                char q = *path++;
                while (path < pe && *path != q && kl < sizeof key - 1)
                    key[kl++] = *path++;
                key[kl] = '\0';
                if (path < pe)
                    path++;
                cur = json_is_object(cur) ? json_object_get(cur, key) : NULL;
            } else {
                size_t idx = 0;
                int digits = 0;
                while (path < pe && isdigit((unsigned char)*path)) {
                    idx = idx * 10 + (size_t)(*path++ - '0');
                    digits++;
                }
                if (!digits)
                    return eval_fail(c, e, "invalid JSON path: expected an index after '['");
                cur = json_is_array(cur) ? json_array_get(cur, idx) : NULL;
            }
            if (path >= pe || *path != ']')
                return eval_fail(c, e, "invalid JSON path: expected ']'");
            path++;
        } else {
            return eval_fail(c, e, "invalid JSON path: unexpected '%c'", *path);
        }
    }
    *out = cur;
    return 0;
}

/* Parses a[0] as JSON (*root NULL when it is not JSON) and walks the path a[1] to *node. */
static int json_lookup(const struct expr *e, const struct value *a, struct eval_ctx *c, json_t **root, json_t **node)
{
    json_error_t jerr;
    *node = NULL;
    *root = json_loadb(a[0].u.s.ptr, a[0].u.s.len, JSON_DECODE_ANY, &jerr);
    if (!*root)
        return 0;
    if (json_path_walk(e, &a[1], c, *root, node) < 0) {
        json_decref(*root);
        *root = NULL;
        return -1;
    }
    return 0;
}

/* JSON_VALUE(json, '$.a.b[0]'): the scalar at the path as a string; NULL when the input is
 * not JSON, the path is missing or the value is an object or array (Flink's defaults). */
static int fn_json_value(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    json_t *root, *cur;
    out->type = VT_NULL;
    if (json_lookup(e, a, c, &root, &cur) < 0)
        return -1;
    int rc = 0;
    if (!cur || json_is_null(cur) || json_is_object(cur) || json_is_array(cur))
        goto done;
    char buf[64];
    const char *txt = buf;
    size_t n;
    if (json_is_string(cur)) {
        txt = json_string_value(cur);
        n = json_string_length(cur);
    } else if (json_is_integer(cur)) {
        n = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(cur));
    } else if (json_is_real(cur)) {
        n = value_format_double(json_real_value(cur), buf);
    } else {
        txt = json_is_true(cur) ? "true" : "false";
        n = strlen(txt);
    }
    char *m = result_alloc(c, e, n);
    if (!m) {
        rc = -1;
        goto done;
    }
    memcpy(m, txt, n);
    set_string(c, e, out, m, n);
done:
    json_decref(root);
    return rc;
}

/* JSON_EXISTS(json, path): whether the path names a value (FALSE when the input is not JSON). */
static int fn_json_exists(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    json_t *root, *cur;
    if (json_lookup(e, a, c, &root, &cur) < 0)
        return -1;
    out->type = VT_BOOLEAN;
    out->u.b = cur != NULL;
    json_decref(root);
    return 0;
}

/* JSON_QUERY(json, path): the object or array at the path as compact JSON text; NULL when the
 * input is not JSON, the path is missing or names a scalar (Flink's defaults). */
static int fn_json_query(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    json_t *root, *cur;
    out->type = VT_NULL;
    if (json_lookup(e, a, c, &root, &cur) < 0)
        return -1;
    int rc = 0;
    if (cur && (json_is_object(cur) || json_is_array(cur))) {
        /* written straight into the scratch arena, stopping at the cap: numbers can come out
         * longer than they went in (1e99 is 9.9999999999999997e+98) */
        struct scratch_buf b = {.arena = c->scratch};
        json_dump_callback(cur, json_query_put, &b, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        if (b.too_long)
            rc = eval_fail(c, e, "JSON_QUERY result exceeds the " SQL_STRING_MAX_TEXT " string limit");
        else if (b.oom)
            rc = eval_fail(c, e, "out of memory");
        else
            set_string(c, e, out, b.p ? b.p : "", b.len);
    }
    json_decref(root);
    return rc;
}

/* ---- Time functions --------------------------------------------------------------------*/

/* Java-style date patterns: runs of y M d H m s S are fields, 'text' is literal, other
 * characters are literal. One pass either formats a time into buf or parses text s. */
struct date_io {
    const char *s; /* parsing: the text (NULL when formatting) and the position in it */
    size_t sn, si;
    char *buf; /* formatting: the output (cap bytes, NUL-terminated at the end) */
    size_t cap, o;
};

/* A literal character of the pattern: written, or matched against the text. */
static int date_literal(struct date_io *io, char ch)
{
    if (io->s)
        return io->si < io->sn && io->s[io->si++] == ch ? 0 : -1;
    if (io->o + 1 < io->cap)
        io->buf[io->o++] = ch;
    return 0;
}

/* Writes field value val as a run of run letters ch (fraction digits for 'S'). */
static void date_format_field(struct date_io *io, const struct civil *cv, char ch, size_t run, int64_t val)
{
    if (ch == 'S') { /* fraction: first `run` digits of the milliseconds */
        char frac[8];
        snprintf(frac, sizeof frac, "%03d", cv->milli);
        for (size_t k = 0; k < run; k++)
            if (io->o + 1 < io->cap)
                io->buf[io->o++] = k < 3 ? frac[k] : '0';
        return;
    }
    if (ch == 'y' && run == 2)
        val %= 100;
    char digits[24];
    size_t nd = 0;
    if (val < 0) { /* not from a civil date in range; printf's form */
        int n = snprintf(io->buf + io->o, io->cap - io->o, "%0*lld", (int)run, (long long)val);
        io->o += n > 0 ? (size_t)n : 0;
        if (io->o >= io->cap)
            io->o = io->cap - 1;
        return;
    }
    do { /* the hot path of DATE_FORMAT: digits by hand, zero-padded to run */
        digits[nd++] = (char)('0' + val % 10);
        val /= 10;
    } while (val > 0 && nd < sizeof digits);
    for (size_t k = nd; k < run; k++)
        if (io->o + 1 < io->cap)
            io->buf[io->o++] = '0';
    while (nd > 0)
        if (io->o + 1 < io->cap)
            io->buf[io->o++] = digits[--nd];
        else
            nd--;
}

/* Reads the digits of a run of run letters ch into *v: one letter takes up to 4 (year) or 2
 * digits, more letters exactly that many; 'S' is scaled to milliseconds, 'yy' to 20yy. */
static int date_parse_field(struct date_io *io, char ch, size_t run, int64_t *v)
{
    size_t want = run == 1 ? (ch == 'y' ? 4 : 2) : run, got = 0;
    if (ch == 'S')
        want = run;
    if (want > 9)
        return -1;
    *v = 0;
    while (got < want && io->si < io->sn && isdigit((unsigned char)io->s[io->si])) {
        *v = *v * 10 + (io->s[io->si++] - '0');
        got++;
    }
    if (got == 0 || (run > 1 && got != want))
        return -1;
    if (ch == 'S') {
        for (; got < 3; got++)
            *v *= 10;
        for (; got > 3; got--)
            *v /= 10;
    }
    if (ch == 'y' && run == 2)
        *v += 2000;
    return 0;
}

/* One run of the same pattern character: a field of cv formatted or parsed, or literals. */
static int date_run(struct date_io *io, struct civil *cv, char ch, size_t run)
{
    int64_t *wide = NULL, v;
    int *narrow = NULL;
    switch (ch) {
    case 'y':
        wide = &cv->year;
        break;
    case 'M':
        narrow = &cv->month;
        break;
    case 'd':
        narrow = &cv->day;
        break;
    case 'H':
        narrow = &cv->hour;
        break;
    case 'm':
        narrow = &cv->minute;
        break;
    case 's':
        narrow = &cv->second;
        break;
    case 'S':
        narrow = &cv->milli;
        break;
    default:
        if (isalpha((unsigned char)ch))
            return -1;
        for (size_t k = 0; k < run; k++)
            if (date_literal(io, ch) < 0)
                return -1;
        return 0;
    }
    if (!io->s) {
        date_format_field(io, cv, ch, run, wide ? *wide : *narrow);
        return 0;
    }
    if (date_parse_field(io, ch, run, &v) < 0)
        return -1;
    if (wide)
        *wide = v;
    else
        *narrow = (int)v;
    return 0;
}

/* Formats ts by pattern pat into buf (cap bytes; *outlen its length) or, when s is set,
 * parses s[0..sn) into *ms (fields not in the pattern: 1970-01-01 00:00:00.000). Returns -1 on
 * a bad pattern or (parsing) a mismatch. */
static int date_pattern(const char *pat, size_t pn, int64_t ts, char *buf, size_t cap, size_t *outlen, const char *s,
                        size_t sn, int64_t *ms)
{
    struct civil cv = {0};
    struct date_io io = {.s = s, .sn = sn, .buf = buf, .cap = cap};
    if (!s)
        civil_from_ms(ts, &cv);
    else
        cv.year = 1970, cv.month = 1, cv.day = 1;
    for (size_t i = 0; i < pn;) {
        if (pat[i] == '\'') {
            for (i++; i < pn && pat[i] != '\''; i++)
                if (date_literal(&io, pat[i]) < 0)
                    return -1;
            i++;
            continue;
        }
        size_t run = 1;
        while (i + run < pn && pat[i + run] == pat[i])
            run++;
        if (date_run(&io, &cv, pat[i], run) < 0)
            return -1;
        i += run;
    }
    if (s) {
        if (io.si != sn || !civil_valid(&cv))
            return -1;
        *ms = civil_to_ms(&cv);
    } else {
        buf[io.o] = '\0';
        *outlen = io.o;
    }
    return 0;
}

/* CURRENT_TIMESTAMP: the wall clock (UTC milliseconds) when the row is evaluated, as Flink's
 * streaming mode does. */
static int fn_current_timestamp(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    out->type = VT_TIMESTAMP;
    out->u.i = clock_wall_ms();
    return 0;
}

/* PROCTIME(): the processing time of the row (the wall clock, UTC milliseconds). Only a whole
 * column of a SELECT list or a computed column of CREATE TABLE (the compiler checks): it
 * makes the column a processing-time attribute that windows may close on. */
static int fn_proctime(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    out->type = VT_TIMESTAMP;
    out->u.i = clock_wall_ms();
    return 0;
}

/* TO_TIMESTAMP_LTZ(epoch[, precision]): epoch seconds (precision 0) or milliseconds (3, the
 * default) as a TIMESTAMP(3) in UTC. */
static int fn_to_timestamp_ltz(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    int64_t precision = e->nargs > 1 ? a[1].u.i : 3, scale = precision == 0 ? 1000 : 1;
    double ms = a[0].type == VT_DOUBLE ? a[0].u.d * (double)scale : 0;
    if (precision != 0 && precision != 3)
        return eval_fail(c, e, "TO_TIMESTAMP_LTZ precision must be 0 (seconds) or 3 (milliseconds), found %lld",
                         (long long)precision);
    if (a[0].type == VT_DOUBLE ? !(ms >= (double)TIMESTAMP_MIN_MS && ms <= (double)TIMESTAMP_MAX_MS)
                               : (a[0].u.i < TIMESTAMP_MIN_MS / scale || a[0].u.i > TIMESTAMP_MAX_MS / scale))
        return eval_fail(c, e, "TO_TIMESTAMP_LTZ result is outside years 0000 to 9999");
    out->type = VT_TIMESTAMP;
    out->u.i = a[0].type == VT_DOUBLE ? (int64_t)floor(ms) : a[0].u.i * scale;
    return 0;
}

/* One JSON_OBJECT value: strings quoted, numbers and booleans bare, times as their text. */
static int json_object_value(struct json_buf *b, const struct value *v)
{
    char text[48];
    size_t n;
    switch (value_type_base(v->type)) {
    case VT_NULL:
        n = (size_t)snprintf(text, sizeof text, "null");
        break;
    case VT_STRING:
        return json_buf_put_string(b, v->u.s.ptr, v->u.s.len);
    case VT_BIGINT:
        return json_buf_put_int(b, v->u.i);
    case VT_DOUBLE:
        return json_buf_put_double(b, v->u.d);
    case VT_BOOLEAN:
        n = (size_t)snprintf(text, sizeof text, "%s", v->u.b ? "true" : "false");
        break;
    case VT_DECIMAL:
        n = value_format_decimal(v->u.dec, value_decimal_scale(v->type), text);
        break;
    case VT_DATE:
        n = value_format_date(v->u.i, text);
        return json_buf_put_string(b, text, n);
    default:
        n = timestamp_format(v->u.i, text);
        return json_buf_put_string(b, text, n);
    }
    if (json_buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->data + b->len, text, n);
    b->len += n;
    return 0;
}

/* JSON_OBJECT(KEY k VALUE v, ...) as Flink's: args[0] the ON NULL mode ("NULL" keeps null
 * values, "ABSENT" leaves them out), then key, value pairs in order; a NULL key is an error. */
static int fn_json_object(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    struct json_buf b = {0};
    int absent = a[0].type == VT_STRING && a[0].u.s.len == 6, rc = 0, n = 0;
    rc |= json_buf_reserve(&b, 2);
    if (rc == 0)
        b.data[b.len++] = '{';
    for (int i = 1; rc == 0 && i + 1 < e->nargs; i += 2) {
        struct value key;
        if (a[i].type == VT_NULL) {
            json_buf_free(&b);
            return eval_fail(c, e, "JSON_OBJECT key must not be NULL");
        }
        if (absent && a[i + 1].type == VT_NULL)
            continue;
        if (value_to_string(&a[i], c->scratch, &key) < 0)
            rc = -1;
        if (n++ && rc == 0 && (rc = json_buf_reserve(&b, 1)) == 0)
            b.data[b.len++] = ',';
        rc = rc ? rc : json_buf_put_string(&b, key.u.s.ptr, key.u.s.len);
        rc = rc ? rc : json_buf_reserve(&b, 1);
        if (rc == 0)
            b.data[b.len++] = ':';
        rc = rc ? rc : json_object_value(&b, &a[i + 1]);
    }
    rc = rc ? rc : json_buf_reserve(&b, 1);
    char *m = rc ? NULL : result_alloc(c, e, b.len + 1);
    if (m) {
        b.data[b.len++] = '}';
        memcpy(m, b.data, b.len);
        set_string(c, e, out, m, b.len);
    }
    json_buf_free(&b);
    return m ? 0 : rc ? eval_fail(c, e, "out of memory") : -1;
}

static int fn_to_timestamp(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    out->type = VT_TIMESTAMP;
    if (e->nargs == 1) {
        if (timestamp_parse_text(a[0].u.s.ptr, a[0].u.s.len, TIMESTAMP_TEXT_SQL, &out->u.i) < 0)
            out->type = VT_NULL; /* Flink: NULL when the text does not parse */
        return 0;
    }
    if (date_pattern(a[1].u.s.ptr, a[1].u.s.len, 0, NULL, 0, NULL, a[0].u.s.ptr, a[0].u.s.len, &out->u.i) < 0)
        out->type = VT_NULL;
    return 0;
}

static int fn_date_format(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    int64_t ts = a[0].u.i;
    if (a[0].type == VT_STRING && timestamp_parse_text(a[0].u.s.ptr, a[0].u.s.len, TIMESTAMP_TEXT_SQL, &ts) < 0) {
        out->type = VT_NULL;
        return 0;
    }
    size_t cap = (size_t)a[1].u.s.len * 4 + 32, n;
    char *buf = result_alloc(c, e, cap);
    if (!buf)
        return -1;
    if (date_pattern(a[1].u.s.ptr, a[1].u.s.len, ts, buf, cap, &n, NULL, 0, NULL) < 0)
        return eval_fail(c, e, "invalid date format '%.*s'", (int)a[1].u.s.len, a[1].u.s.ptr);
    return set_string(c, e, out, buf, n);
}

/* One field of a timestamp by unit name (EXTRACT's units). */
static int time_part(const struct expr *e, const char *u, int64_t ms, struct eval_ctx *c, struct value *out)
{
    struct civil cv;
    civil_from_ms(ms, &cv);
    out->type = VT_BIGINT;
    static const char *const units[] = {"YEAR",        "MONTH", "DAY", "HOUR",    "MINUTE", "SECOND",
                                        "MILLISECOND", "DOW",   "DOY", "QUARTER", "EPOCH"};
    int64_t vals[] = {cv.year,
                      cv.month,
                      cv.day,
                      cv.hour,
                      cv.minute,
                      cv.second,
                      cv.milli,
                      ((cv.days % 7 + 7 + 4) % 7) + 1,
                      cv.days - timestamp_days_from_civil(cv.year, 1, 1) + 1,
                      (cv.month - 1) / 3 + 1,
                      ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000)};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(u, units[i]) == 0) {
            out->u.i = vals[i];
            return 0;
        }
    return eval_fail(c, e, "EXTRACT of %s is not supported", u);
}

static int fn_extract(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    return time_part(e, a[0].u.s.ptr, a[1].u.i, c, out);
}

/* YEAR(ts), MONTH(ts), DAYOFMONTH(ts), HOUR(ts), MINUTE(ts), SECOND(ts). */
static int fn_time_part(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    const char *name = e->func->name;
    return time_part(e, strcmp(name, "DAYOFMONTH") == 0 ? "DAY" : name, a[0].u.i, c, out);
}

/* UNIX_TIMESTAMP(ts) / UNIX_TIMESTAMP(text[, format]): seconds since 1970-01-01 00:00:00 UTC
 * (rounded down); NULL when the text does not parse. */
static int fn_unix_timestamp(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    int64_t ms = a[0].u.i;
    out->type = VT_BIGINT;
    if (a[0].type == VT_STRING &&
        (e->nargs == 2 ? date_pattern(a[1].u.s.ptr, a[1].u.s.len, 0, NULL, 0, NULL, a[0].u.s.ptr, a[0].u.s.len, &ms)
                       : timestamp_parse_text(a[0].u.s.ptr, a[0].u.s.len, TIMESTAMP_TEXT_SQL, &ms)) < 0) {
        out->type = VT_NULL;
        return 0;
    }
    out->u.i = ms / 1000 - (ms % 1000 < 0); /* rounded down, no overflow at INT64_MIN */
    return 0;
}

/* FROM_UNIXTIME(seconds[, format]): the UTC time as text, 'yyyy-MM-dd HH:mm:ss' by default. */
static int fn_from_unixtime(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    int64_t s = a[0].u.i;
    if (s > TIMESTAMP_MAX_MS / 1000 || s < TIMESTAMP_MIN_MS / 1000)
        return eval_fail(c, e, "FROM_UNIXTIME of %lld is out of range", (long long)s);
    const char *pat = e->nargs > 1 ? a[1].u.s.ptr : "yyyy-MM-dd HH:mm:ss";
    size_t pn = e->nargs > 1 ? a[1].u.s.len : strlen(pat), cap = pn * 4 + 32, n;
    char *buf = result_alloc(c, e, cap);
    if (!buf)
        return -1;
    if (date_pattern(pat, pn, s * 1000, buf, cap, &n, NULL, 0, NULL) < 0)
        return eval_fail(c, e, "invalid date format '%.*s'", (int)pn, pat);
    return set_string(c, e, out, buf, n);
}

/* Units of TIMESTAMPADD / TIMESTAMPDIFF: fixed lengths, or months (0 ms, months > 0). */
static const struct time_unit {
    const char *name;
    int64_t ms, months;
} time_units[] = {
    {"MILLISECOND", 1, 0},  {"SECOND", 1000, 0}, {"MINUTE", 60000, 0}, {"HOUR", 3600000, 0}, {"DAY", 86400000, 0},
    {"WEEK", 604800000, 0}, {"MONTH", 0, 1},     {"QUARTER", 0, 3},    {"YEAR", 0, 12},
};

static const struct time_unit *time_unit_find(const char *name)
{
    for (size_t i = 0; i < sizeof time_units / sizeof time_units[0]; i++)
        if (strcmp(time_units[i].name, name) == 0)
            return &time_units[i];
    return NULL;
}

/* TIMESTAMPADD(unit, n, ts): ts moved by n units; adding months keeps the day of the month
 * when it exists, else the month's last day. */
static int fn_timestampadd(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    const struct time_unit *u = time_unit_find(a[0].u.s.ptr);
    int64_t n = a[1].u.i, ts = a[2].u.i, r;
    if (!u)
        return eval_fail(c, e, "TIMESTAMPADD of %s is not supported", a[0].u.s.ptr);
    if (!timestamp_in_range(ts))
        return eval_fail(c, e, "TIMESTAMPADD of a timestamp out of range");
    if (u->months) {
        struct civil cv;
        civil_from_ms(ts, &cv);
        if (n > 120000 || n < -120000)
            return eval_fail(c, e, "TIMESTAMPADD result is out of range");
        int64_t m = cv.year * 12 + (cv.month - 1) + n * u->months;
        cv.year = m >= 0 ? m / 12 : -((-m + 11) / 12);
        cv.month = (int)(m - cv.year * 12) + 1;
        if (cv.day > days_in_month(cv.year, cv.month))
            cv.day = days_in_month(cv.year, cv.month);
        r = civil_to_ms(&cv);
    } else if (__builtin_mul_overflow(n, u->ms, &r) || __builtin_add_overflow(r, ts, &r)) {
        return eval_fail(c, e, "TIMESTAMPADD result is out of range");
    }
    if (!timestamp_in_range(r))
        return eval_fail(c, e, "TIMESTAMPADD result is out of range");
    out->type = VT_TIMESTAMP;
    out->u.i = r;
    return 0;
}

/* TIMESTAMPDIFF(unit, ts1, ts2): whole units from ts1 to ts2 (negative when ts2 is earlier). */
static int fn_timestampdiff(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    const struct time_unit *u = time_unit_find(a[0].u.s.ptr);
    int64_t t1 = a[1].u.i, t2 = a[2].u.i;
    if (!u)
        return eval_fail(c, e, "TIMESTAMPDIFF of %s is not supported", a[0].u.s.ptr);
    if (!timestamp_in_range(t1) || !timestamp_in_range(t2))
        return eval_fail(c, e, "TIMESTAMPDIFF of a timestamp out of range");
    out->type = VT_BIGINT;
    if (!u->months) {
        out->u.i = (t2 - t1) / u->ms;
        return 0;
    }
    struct civil c1, c2;
    civil_from_ms(t1, &c1);
    civil_from_ms(t2, &c2);
    int64_t months = (c2.year - c1.year) * 12 + (c2.month - c1.month);
    /* the time within the month (day and time of day) decides whether the last month is whole */
    int64_t r1 = t1 - (c1.days - c1.day + 1) * 86400000, r2 = t2 - (c2.days - c2.day + 1) * 86400000;
    if (months > 0 && r2 < r1)
        months--;
    else if (months < 0 && r2 > r1)
        months++;
    out->u.i = months / u->months;
    return 0;
}

/* REPLACE(s, from, to): every occurrence of from (non-empty) replaced. */
static int fn_replace(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    const char *s = a[0].u.s.ptr, *from = a[1].u.s.ptr, *to = a[2].u.s.ptr;
    size_t n = a[0].u.s.len, fn = a[1].u.s.len, tn = a[2].u.s.len, count = 0;
    if (fn == 0)
        return set_string(c, e, out, s, n);
    for (size_t i = 0; i + fn <= n;)
        if (memcmp(s + i, from, fn) == 0) {
            count++;
            i += fn;
        } else {
            i++;
        }
    /* counted first, so the size is checked before anything is allocated (count <= n, so no
     * overflow: both are at most 4 GiB) */
    char *m = result_alloc(c, e, n - count * fn + count * tn);
    if (!m)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n;)
        if (i + fn <= n && memcmp(s + i, from, fn) == 0) {
            memcpy(m + o, to, tn);
            o += tn;
            i += fn;
        } else {
            m[o++] = s[i++];
        }
    return set_string(c, e, out, m, o);
}

/* REGEXP_REPLACE(s, regex, replacement): every match replaced; $0..$9 in the replacement
 * insert the match or its groups. The result is at most SQL_STRING_MAX bytes. */
static int fn_regexp_replace(const struct expr *e, const struct value *a, struct eval_ctx *c, struct value *out)
{
    const char *subject = a[0].u.s.ptr, *rep = a[2].u.s.ptr;
    size_t n = a[0].u.s.len, rn = a[2].u.s.len, pos = 0;
    struct regex_run r;
    if (regex_begin(e, a, c, &r) < 0)
        return -1;
    struct scratch_buf b = {.arena = c->scratch};
    PCRE2_SIZE *g = pcre2_get_ovector_pointer(r.md);
    int rc = 0;
    while (pos <= n && !b.too_long &&
           (rc = regex_match(e, c, &r, subject, n, pos, pos ? PCRE2_NOTBOL | PCRE2_NO_UTF_CHECK : 0)) > 0) {
        scratch_put(&b, subject + pos, g[0] - pos);
        for (size_t k = 0; k < rn; k++) {
            int gi = rep[k] == '$' && k + 1 < rn && isdigit((unsigned char)rep[k + 1]) ? rep[k + 1] - '0' : -1;
            if (gi < 0) {
                scratch_put(&b, &rep[k], 1);
                continue;
            }
            k++;
            if ((uint32_t)gi <= r.groups && g[2 * gi] != PCRE2_UNSET)
                scratch_put(&b, subject + g[2 * gi], g[2 * gi + 1] - g[2 * gi]);
        }
        size_t end = g[1];
        if (g[1] == g[0]) { /* empty match: keep one character and move on */
            size_t step = 1;
            while (end + step < n && ((unsigned char)subject[end + step] & 0xC0) == 0x80)
                step++;
            if (end < n)
                scratch_put(&b, subject + end, end + step <= n ? step : n - end);
            end += step;
        }
        pos = end;
    }
    regex_end(&r);
    if (rc < 0 && !b.too_long)
        return -1;
    if (pos < n)
        scratch_put(&b, subject + pos, n - pos);
    if (b.too_long)
        return eval_fail(c, e, "REGEXP_REPLACE result exceeds the " SQL_STRING_MAX_TEXT " string limit");
    if (b.oom)
        return eval_fail(c, e, "out of memory");
    return set_string(c, e, out, b.p ? b.p : "", b.len);
}

/* ---- The table -------------------------------------------------------------------------*/

#define MANY FUNCTIONS_MAX_ARGS
static const struct sql_function functions_table[] = {
    /* name            min max  args  ret           rule         strict impl              prepare        agg */
    {"UPPER", 1, 1, "S", VT_STRING, RET_FIXED, 1, fn_upper, NULL, AGG_NONE},
    {"LOWER", 1, 1, "S", VT_STRING, RET_FIXED, 1, fn_lower, NULL, AGG_NONE},
    {"SUBSTRING", 2, 3, "SII", VT_STRING, RET_FIXED, 1, fn_substring, NULL, AGG_NONE},
    {"CONCAT", 1, MANY, "A", VT_STRING, RET_FIXED, 1, fn_concat, NULL, AGG_NONE},
    {"CONCAT_WS", 2, MANY, "S", VT_STRING, RET_FIXED, 0, fn_concat_ws, NULL, AGG_NONE},
    {"MD5", 1, 1, "S", VT_STRING, RET_FIXED, 1, fn_md5, NULL, AGG_NONE},
    {"CURRENT_TIMESTAMP", 0, 0, "A", VT_TIMESTAMP, RET_FIXED, 0, fn_current_timestamp, NULL, AGG_NONE},
    {"PROCTIME", 0, 0, "A", VT_TIMESTAMP, RET_FIXED, 0, fn_proctime, NULL, AGG_NONE},
    {"TO_TIMESTAMP_LTZ", 1, 2, "NI", VT_TIMESTAMP, RET_FIXED, 1, fn_to_timestamp_ltz, NULL, AGG_NONE},
    {"JSON_OBJECT", 1, MANY, "SA", VT_STRING, RET_FIXED, 0, fn_json_object, NULL, AGG_NONE},
    {"CHAR_LENGTH", 1, 1, "S", VT_BIGINT, RET_FIXED, 1, fn_char_length, NULL, AGG_NONE},
    {"CHARACTER_LENGTH", 1, 1, "S", VT_BIGINT, RET_FIXED, 1, fn_char_length, NULL, AGG_NONE},
    {"TRIM", 3, 3, "SSS", VT_STRING, RET_FIXED, 1, fn_trim, NULL, AGG_NONE},
    {"LTRIM", 1, 1, "S", VT_STRING, RET_FIXED, 1, fn_ltrim, NULL, AGG_NONE},
    {"RTRIM", 1, 1, "S", VT_STRING, RET_FIXED, 1, fn_rtrim, NULL, AGG_NONE},
    {"REGEXP_EXTRACT", 2, 3, "SSI", VT_STRING, RET_FIXED, 1, fn_regexp_extract, prepare_regex, AGG_NONE},
    {"REGEXP_REPLACE", 3, 3, "SSS", VT_STRING, RET_FIXED, 1, fn_regexp_replace, prepare_regex, AGG_NONE},
    {"REPLACE", 3, 3, "SSS", VT_STRING, RET_FIXED, 1, fn_replace, NULL, AGG_NONE},
    {"POSITION", 2, 2, "S", VT_BIGINT, RET_FIXED, 1, fn_position, NULL, AGG_NONE},
    {"LOCATE", 2, 2, "S", VT_BIGINT, RET_FIXED, 1, fn_position, NULL, AGG_NONE},
    {"LPAD", 3, 3, "SIS", VT_STRING, RET_FIXED, 1, fn_lpad, NULL, AGG_NONE},
    {"RPAD", 3, 3, "SIS", VT_STRING, RET_FIXED, 1, fn_rpad, NULL, AGG_NONE},
    {"INITCAP", 1, 1, "S", VT_STRING, RET_FIXED, 1, fn_initcap, NULL, AGG_NONE},
    {"REVERSE", 1, 1, "S", VT_STRING, RET_FIXED, 1, fn_reverse, NULL, AGG_NONE},
    {"SPLIT_INDEX", 3, 3, "SSI", VT_STRING, RET_FIXED, 1, fn_split_index, NULL, AGG_NONE},
    {"ABS", 1, 1, "N", VT_BIGINT, RET_ARG0, 1, fn_abs, NULL, AGG_NONE},
    {"MOD", 2, 2, "N", VT_BIGINT, RET_NUMERIC, 1, fn_mod, NULL, AGG_NONE},
    {"ROUND", 1, 2, "NI", VT_BIGINT, RET_ARG0, 1, fn_round, NULL, AGG_NONE},
    {"FLOOR", 1, 1, "N", VT_BIGINT, RET_ARG0, 1, fn_floor, NULL, AGG_NONE},
    {"CEIL", 1, 1, "N", VT_BIGINT, RET_ARG0, 1, fn_ceil, NULL, AGG_NONE},
    {"CEILING", 1, 1, "N", VT_BIGINT, RET_ARG0, 1, fn_ceil, NULL, AGG_NONE},
    {"POWER", 2, 2, "N", VT_DOUBLE, RET_FIXED, 1, fn_power, NULL, AGG_NONE},
    {"SQRT", 1, 1, "N", VT_DOUBLE, RET_FIXED, 1, fn_sqrt, NULL, AGG_NONE},
    {"COALESCE", 1, MANY, "A", VT_NULL, RET_ARG1, 0, fn_coalesce, NULL, AGG_NONE},
    {"IF", 3, 3, "BAA", VT_NULL, RET_ARG1, 0, fn_if, NULL, AGG_NONE},
    {"JSON_VALUE", 2, 2, "S", VT_STRING, RET_FIXED, 1, fn_json_value, NULL, AGG_NONE},
    {"TO_TIMESTAMP", 1, 2, "S", VT_TIMESTAMP, RET_FIXED, 1, fn_to_timestamp, NULL, AGG_NONE},
    {"DATE_FORMAT", 2, 2, "XS", VT_STRING, RET_FIXED, 1, fn_date_format, NULL, AGG_NONE},
    {"EXTRACT", 2, 2, "ST", VT_BIGINT, RET_FIXED, 1, fn_extract, NULL, AGG_NONE},
    {"YEAR", 1, 1, "T", VT_BIGINT, RET_FIXED, 1, fn_time_part, NULL, AGG_NONE},
    {"MONTH", 1, 1, "T", VT_BIGINT, RET_FIXED, 1, fn_time_part, NULL, AGG_NONE},
    {"DAYOFMONTH", 1, 1, "T", VT_BIGINT, RET_FIXED, 1, fn_time_part, NULL, AGG_NONE},
    {"HOUR", 1, 1, "T", VT_BIGINT, RET_FIXED, 1, fn_time_part, NULL, AGG_NONE},
    {"MINUTE", 1, 1, "T", VT_BIGINT, RET_FIXED, 1, fn_time_part, NULL, AGG_NONE},
    {"SECOND", 1, 1, "T", VT_BIGINT, RET_FIXED, 1, fn_time_part, NULL, AGG_NONE},
    {"NULLIF", 2, 2, "A", VT_NULL, RET_ARG1, 0, fn_nullif, NULL, AGG_NONE},
    {"GREATEST", 1, MANY, "A", VT_NULL, RET_ARG1, 1, fn_greatest, NULL, AGG_NONE},
    {"LEAST", 1, MANY, "A", VT_NULL, RET_ARG1, 1, fn_greatest, NULL, AGG_NONE},
    {"SIGN", 1, 1, "N", VT_BIGINT, RET_ARG0, 1, fn_sign, NULL, AGG_NONE},
    {"LN", 1, 1, "N", VT_DOUBLE, RET_FIXED, 1, fn_log, NULL, AGG_NONE},
    {"LOG10", 1, 1, "N", VT_DOUBLE, RET_FIXED, 1, fn_log, NULL, AGG_NONE},
    {"LOG", 1, 2, "N", VT_DOUBLE, RET_FIXED, 1, fn_log, NULL, AGG_NONE},
    {"EXP", 1, 1, "N", VT_DOUBLE, RET_FIXED, 1, fn_exp, NULL, AGG_NONE},
    {"TRUNCATE", 1, 2, "NI", VT_BIGINT, RET_ARG0, 1, fn_truncate, NULL, AGG_NONE},
    {"ASCII", 1, 1, "S", VT_BIGINT, RET_FIXED, 1, fn_ascii, NULL, AGG_NONE},
    {"CHR", 1, 1, "I", VT_STRING, RET_FIXED, 1, fn_chr, NULL, AGG_NONE},
    {"REPEAT", 2, 2, "SI", VT_STRING, RET_FIXED, 1, fn_repeat, NULL, AGG_NONE},
    {"REGEXP", 2, 2, "SS", VT_BOOLEAN, RET_FIXED, 1, fn_regexp, prepare_regex, AGG_NONE},
    {"JSON_EXISTS", 2, 2, "S", VT_BOOLEAN, RET_FIXED, 1, fn_json_exists, NULL, AGG_NONE},
    {"JSON_QUERY", 2, 2, "S", VT_STRING, RET_FIXED, 1, fn_json_query, NULL, AGG_NONE},
    {"UNIX_TIMESTAMP", 1, 2, "XS", VT_BIGINT, RET_FIXED, 1, fn_unix_timestamp, NULL, AGG_NONE},
    {"FROM_UNIXTIME", 1, 2, "IS", VT_STRING, RET_FIXED, 1, fn_from_unixtime, NULL, AGG_NONE},
    {"TIMESTAMPADD", 3, 3, "SIT", VT_TIMESTAMP, RET_FIXED, 1, fn_timestampadd, NULL, AGG_NONE},
    {"TIMESTAMPDIFF", 3, 3, "STT", VT_BIGINT, RET_FIXED, 1, fn_timestampdiff, NULL, AGG_NONE},
    {"COUNT", 0, 1, "A", VT_BIGINT, RET_FIXED, 0, NULL, NULL, AGG_COUNT},
    {"SUM", 1, 1, "N", VT_BIGINT, RET_ARG0, 0, NULL, NULL, AGG_SUM},
    {"MIN", 1, 1, "A", VT_BIGINT, RET_ARG0, 0, NULL, NULL, AGG_MIN},
    {"MAX", 1, 1, "A", VT_BIGINT, RET_ARG0, 0, NULL, NULL, AGG_MAX},
    {"AVG", 1, 1, "N", VT_BIGINT, RET_ARG0, 0, NULL, NULL, AGG_AVG},
    {"FIRST_VALUE", 1, 1, "A", VT_BIGINT, RET_ARG0, 0, NULL, NULL, AGG_FIRST_VALUE},
    {"LAST_VALUE", 1, 1, "A", VT_BIGINT, RET_ARG0, 0, NULL, NULL, AGG_LAST_VALUE},
    {"VAR_POP", 1, 1, "N", VT_DOUBLE, RET_FIXED, 0, NULL, NULL, AGG_VAR_POP},
    {"VAR_SAMP", 1, 1, "N", VT_DOUBLE, RET_FIXED, 0, NULL, NULL, AGG_VAR_SAMP},
    {"STDDEV_POP", 1, 1, "N", VT_DOUBLE, RET_FIXED, 0, NULL, NULL, AGG_STDDEV_POP},
    {"STDDEV_SAMP", 1, 1, "N", VT_DOUBLE, RET_FIXED, 0, NULL, NULL, AGG_STDDEV_SAMP},
};

const struct sql_function *functions_find(const char *name)
{
    for (size_t i = 0; i < sizeof functions_table / sizeof functions_table[0]; i++)
        if (strcasecmp(functions_table[i].name, name) == 0)
            return &functions_table[i];
    return NULL;
}

int functions_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63)
        return 99;
    int prev[64], cur[64];
    for (size_t j = 0; j <= m; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            cur[j] = best;
        }
        memcpy(prev, cur, (m + 1) * sizeof *prev);
    }
    return prev[m];
}

const char *functions_suggest(const char *name)
{
    const char *best = NULL;
    int best_d = 3;
    for (size_t i = 0; i < sizeof functions_table / sizeof functions_table[0]; i++) {
        int d = functions_distance(name, functions_table[i].name);
        if (d < best_d) {
            best_d = d;
            best = functions_table[i].name;
        }
    }
    return best;
}
