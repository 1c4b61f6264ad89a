/* codec_test.c — unit tests for the record codec (dataplane/codec): the fast JSON decoder is
 * checked against jansson on the same inputs (valid and malformed, hand-written and mutated),
 * the encoder by parsing its output back, timestamps against timegm(). */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "dataplane/codec/json_decode.h"
#include "dataplane/codec/json_encode.h"
#include "dataplane/codec/timestamp.h"
#include "dataplane/connectors/datagen.h"
#include "tests/unit/check_main.h"

static struct field test_fields[] = {
    {"id", VT_BIGINT},    {"name", VT_STRING}, {"price", VT_DOUBLE},  {"ok", VT_BOOLEAN},
    {"ts", VT_TIMESTAMP}, {"skip", VT_STRING}, {"nested", VT_STRING}, {"", VT_BIGINT},
};
static struct schema test_schema = {test_fields, 8, -1, 0, {0}, 0, 0};
/* "skip" is not needed: the decoder must leave it null whatever it holds */
static const unsigned char test_needed[8] = {1, 1, 1, 1, 1, 0, 1, 1};

/* ---------------------------------------------------------------- jansson reference */

/* The decoder's typing rules (json_decode.h), written over a jansson tree. Returns 0 or -1. */
static int ref_convert(const struct field *f, json_t *j, struct value *out, char *strbuf)
{
    if (!j || json_is_null(j)) {
        out->type = VT_NULL;
        return 0;
    }
    switch (f->type) {
    case VT_BIGINT:
        if (!json_is_integer(j))
            return -1;
        out->type = VT_BIGINT;
        out->u.i = json_integer_value(j);
        return 0;
    case VT_DOUBLE:
        if (!json_is_number(j))
            return -1;
        out->type = VT_DOUBLE;
        out->u.d = json_number_value(j);
        return 0;
    case VT_BOOLEAN:
        if (!json_is_boolean(j))
            return -1;
        out->type = VT_BOOLEAN;
        out->u.b = json_is_true(j);
        return 0;
    case VT_STRING:
        out->type = VT_STRING;
        if (json_is_string(j)) {
            size_t n = json_string_length(j);
            memcpy(strbuf, json_string_value(j), n);
            out->u.s.ptr = strbuf;
            out->u.s.len = (uint32_t)n;
        } else {
            out->u.s.ptr = NULL; /* raw JSON text: compared by shape only */
            out->u.s.len = UINT32_MAX;
        }
        return 0;
    case VT_TIMESTAMP:
        out->type = VT_TIMESTAMP;
        if (json_is_integer(j)) {
            out->u.i = json_integer_value(j);
            return out->u.i < TIMESTAMP_MIN_MS || out->u.i > TIMESTAMP_MAX_MS ? -1 : 0;
        }
        if (!json_is_string(j))
            return -1;
        return timestamp_parse(json_string_value(j), json_string_length(j), &out->u.i);
    case VT_NULL:
        return -1;
    default:
        return -1;
    }
}

static char strbufs[8][65536];

/* Decodes input both ways and checks they agree; returns 1 if it decoded. */
static int compare_one(const struct json_decoder *d, const char *in, size_t len)
{
    struct value fast[8], ref[8];
    struct arena *a = arena_new(4096);
    char err[256] = "";
    int rc = json_decode_row(d, in, len, fast, a, err, sizeof err);
    json_error_t je;
    json_t *root = json_loadb(in, len, 0, &je);
    int ref_rc = 0;
    if (!root || !json_is_object(root)) {
        ref_rc = -1;
    } else {
        for (int i = 0; i < test_schema.nfields && ref_rc == 0; i++) {
            if (!test_needed[i]) {
                ref[i].type = VT_NULL;
                continue;
            }
            ref_rc = ref_convert(&test_fields[i], json_object_get(root, test_fields[i].name), &ref[i], strbufs[i]);
        }
    }
    ck_assert_msg(rc == ref_rc, "decoder says %d (%s), jansson says %d (%s) on [%.*s]", rc, err, ref_rc,
                  root ? "typing" : je.text, (int)(len > 200 ? 200 : len), in);
    if (rc == 0) {
        ck_assert_msg(err[0] == '\0', "no error text on success");
        for (int i = 0; i < test_schema.nfields; i++) {
            ck_assert_msg(fast[i].type == ref[i].type, "field %d type %d vs %d on [%.*s]", i, fast[i].type, ref[i].type,
                          (int)len, in);
            switch (fast[i].type) {
            case VT_BIGINT:
            case VT_TIMESTAMP:
                ck_assert_msg(fast[i].u.i == ref[i].u.i, "field %d: %lld vs %lld", i, (long long)fast[i].u.i,
                              (long long)ref[i].u.i);
                break;
            case VT_DOUBLE:
                ck_assert_msg(memcmp(&fast[i].u.d, &ref[i].u.d, sizeof(double)) == 0,
                              "field %d: %.17g vs %.17g on [%.*s]", i, fast[i].u.d, ref[i].u.d, (int)len, in);
                break;
            case VT_BOOLEAN:
                ck_assert(fast[i].u.b == ref[i].u.b);
                break;
            case VT_STRING:
                if (ref[i].u.s.len != UINT32_MAX)
                    ck_assert_msg(fast[i].u.s.len == ref[i].u.s.len &&
                                      memcmp(fast[i].u.s.ptr, ref[i].u.s.ptr, ref[i].u.s.len) == 0,
                                  "field %d: [%.*s] vs [%.*s]", i, (int)fast[i].u.s.len, fast[i].u.s.ptr,
                                  (int)ref[i].u.s.len, ref[i].u.s.ptr);
                else
                    ck_assert_uint_gt(fast[i].u.s.len, 0);
                break;
            default:
                break;
            }
        }
    } else {
        ck_assert_msg(err[0] != '\0', "an error needs a reason");
    }
    json_decref(root);
    arena_free(a);
    return rc == 0;
}

static const char *const cases[] = {
    /* valid */
    "{}",
    " \t\n{ } \r\n",
    "{\"id\":1,\"name\":\"x\",\"price\":2.5,\"ok\":true,\"ts\":\"2024-01-31 12:00:00.123\"}",
    "{\"id\":-9223372036854775808,\"price\":1.7976931348623157e308}",
    "{\"id\":9223372036854775807,\"price\":4.9e-324}",
    "{\"price\":1e-400}",
    "{\"price\":-0.0,\"id\":-0}",
    "{\"price\":0.1}",
    "{\"price\":123456789012345678901234567890.5}",
    "{\"price\":9007199254740993}",
    "{\"price\":0.30000000000000004441}",
    "{\"price\":3.14159265358979323846264338327950288}",
    "{\"price\":12E3,\"id\":0}",
    "{\"price\":1.5e+2}",
    "{\"price\":7}",
    "{\"name\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}",
    "{\"name\":\"\\u00e9\\u4e2d\\ud83d\\ude00\"}",
    "{\"name\":\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\"}",
    "{\"name\":\"first\",\"name\":\"second\"}",
    "{\"id\":1,\"id\":null}",
    "{\"n\\u0061me\":\"escaped key\"}",
    "{\"nested\":{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}}",
    "{\"nested\":[true,false,null,-1.5e-3]}",
    "{\"nested\":12345}",
    "{\"skip\":{\"deep\":[[[[[[1]]]]]]},\"id\":3}",
    "{\"skip\":\"not a timestamp\",\"ts\":1700000000123}",
    "{\"ts\":\"2024-02-29T23:59:59.999Z\"}",
    "{\"ts\":\"2024-02-29T23:59:59+05:30\"}",
    "{\"ts\":\"1969-12-31 23:59:59.5\"}",
    "{\"\":42}",
    "{\"other\":\"\\ud83d\\ude00\",\"ok\":false}",
    /* malformed */
    "",
    "   ",
    "[]",
    "1",
    "\"str\"",
    "null",
    "{",
    "{\"id\"",
    "{\"id\":}",
    "{\"id\":1,}",
    "{\"id\":1 \"x\":2}",
    "{id:1}",
    "{'id':1}",
    "{\"id\":01}",
    "{\"id\":1.}",
    "{\"id\":.5}",
    "{\"id\":+1}",
    "{\"id\":-}",
    "{\"id\":1e}",
    "{\"id\":1e+}",
    "{\"id\":0x10}",
    "{\"id\":NaN}",
    "{\"id\":Infinity}",
    "{\"id\":9223372036854775808}",
    "{\"id\":-9223372036854775809}",
    "{\"price\":1e309}",
    "{\"price\":-1e309}",
    "{\"id\":tru}",
    "{\"id\":truex}",
    "{\"id\":nul}",
    "{\"name\":\"unterminated}",
    "{\"name\":\"bad \\x escape\"}",
    "{\"name\":\"\\u12\"}",
    "{\"name\":\"\\u0000\"}",
    "{\"name\":\"\\ud800\"}",
    "{\"name\":\"\\ud800\\u0041\"}",
    "{\"name\":\"\\udc00\"}",
    "{\"name\":\"tab\there\"}",
    "{\"name\":\"\xc3\"}",
    "{\"name\":\"\xc0\xaf\"}",
    "{\"name\":\"\xed\xa0\x80\"}",
    "{\"name\":\"\xf4\x90\x80\x80\"}",
    "{\"name\":\"\xff\"}",
    "{} {}",
    "{}x",
    "{\"a\":[1,2}",
    "{\"a\":{\"b\":1]}",
    "{\"a\":[1,]}",
    /* typing errors */
    "{\"id\":1.5}",
    "{\"id\":1e3}",
    "{\"id\":\"1\"}",
    "{\"price\":\"1.5\"}",
    "{\"ok\":1}",
    "{\"ts\":\"yesterday\"}",
    "{\"ts\":\"2024-02-30 00:00:00\"}",
    "{\"ts\":1.5}",
    "{\"ts\":17000000000000000}",
    "{\"ts\":-62167219200001}",
    "{\"\":\"x\"}",
};

START_TEST(test_decoder_matches_jansson_on_cases)
{
    struct json_decoder *d = json_decoder_new(&test_schema, test_needed);
    int ok = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ok += compare_one(d, cases[i], strlen(cases[i]));
    ck_assert_int_eq(ok, 31); /* the valid ones above */
    /* a NUL byte inside the buffer is invalid for both */
    compare_one(d, "{\"id\":1}\0", 9);
    compare_one(d, "{\"name\":\"a\0b\"}", 14);
    json_decoder_free(d);
}
END_TEST

static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 2 + 32);
    char *p = s + sprintf(s, "{\"nested\":");
    for (int i = 0; i < depth; i++)
        *p++ = i % 2 ? '[' : '[';
    for (int i = 0; i < depth; i++)
        *p++ = ']';
    strcpy(p, "}");
    return s;
}

START_TEST(test_decoder_depth_limit_matches_jansson)
{
    struct json_decoder *d = json_decoder_new(&test_schema, test_needed);
    int depths[] = {1, 100, 2046, 2047, 2048, 5000};
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        char *s = nested(depths[i]);
        int ok = compare_one(d, s, strlen(s));
        ck_assert_int_eq(ok, depths[i] <= 2047); /* 2047 arrays + the top-level object = 2048 */
        free(s);
    }
    json_decoder_free(d);
}
END_TEST

/* Mutations of real records (byte flips, cuts, insertions) must get the same verdict. */
START_TEST(test_decoder_matches_jansson_on_mutations)
{
    struct field bid_fields[] = {{"auction", VT_BIGINT}, {"bidder", VT_BIGINT}, {"price", VT_DOUBLE},
                                 {"channel", VT_STRING}, {"url", VT_STRING},    {"dateTime", VT_TIMESTAMP},
                                 {"extra", VT_STRING},   {"id", VT_BIGINT}};
    struct schema saved = test_schema;
    memcpy(test_fields, bid_fields, sizeof bid_fields);
    struct json_decoder *d = json_decoder_new(&test_schema, test_needed);
    static const char alphabet[] = "{}[]\":,\\u0123456789.eE+-tfnrl \x80\xc3\xa9\xff";
    uint64_t st = 12345;
    char buf[DATAGEN_RECORD_MAX + 64];
    int valid = 0;
    for (int i = 0; i < 20000; i++) {
        size_t n = datagen_record(DATAGEN_BID, 7, (uint64_t)i, buf);
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        size_t pos = (st >> 33) % n;
        int op = (int)((st >> 20) % 4);
        char c = alphabet[(st >> 8) % (sizeof alphabet - 1)];
        if (op == 0)
            buf[pos] = c;
        else if (op == 1)
            n = pos;
        else if (op == 2) {
            memmove(buf + pos + 1, buf + pos, n - pos);
            buf[pos] = c;
            n++;
        }
        valid += compare_one(d, buf, n);
    }
    ck_assert_int_gt(valid, 1000); /* op 3 leaves records intact */
    json_decoder_free(d);
    memcpy(test_fields,
           (struct field[]){{"id", VT_BIGINT},
                            {"name", VT_STRING},
                            {"price", VT_DOUBLE},
                            {"ok", VT_BOOLEAN},
                            {"ts", VT_TIMESTAMP},
                            {"skip", VT_STRING},
                            {"nested", VT_STRING},
                            {"", VT_BIGINT}},
           sizeof test_fields);
    test_schema = saved;
}
END_TEST

START_TEST(test_decoder_strings_point_into_input_unless_escaped)
{
    struct json_decoder *d = json_decoder_new(&test_schema, NULL);
    struct arena *a = arena_new(1024);
    struct value row[8];
    char err[256];
    const char *in = "{\"name\":\"plain\",\"skip\":\"a\\nb\"}";
    ck_assert_int_eq(json_decode_row(d, in, strlen(in), row, a, err, sizeof err), 0);
    ck_assert(row[1].u.s.ptr >= in && row[1].u.s.ptr < in + strlen(in));
    ck_assert_uint_eq(arena_used(a), 16); /* only the escaped one was copied */
    ck_assert_int_eq(row[5].u.s.len, 3);
    ck_assert(memcmp(row[5].u.s.ptr, "a\nb", 3) == 0);
    /* an error names the field */
    in = "{\"id\":\"seven\"}";
    ck_assert_int_eq(json_decode_row(d, in, strlen(in), row, a, err, sizeof err), -1);
    ck_assert_str_eq(err, "field \"id\": expected an integer");
    in = "{\"id\":7,}";
    ck_assert_int_eq(json_decode_row(d, in, strlen(in), row, a, err, sizeof err), -1);
    ck_assert_str_eq(err, "invalid JSON at byte 8: expected a string as object key");
    arena_free(a);
    json_decoder_free(d);
}
END_TEST

/* ---------------------------------------------------------------- encoder */

/* Significant digits of a number's text (sign, point, exponent, leading/trailing zeros aside). */
static int significant_digits(const char *s)
{
    char d[64];
    int n = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && (n > 0 || *s != '0'))
            d[n++] = *s;
    while (n > 0 && d[n - 1] == '0')
        n--;
    return n;
}

static void encode_double(double v, char *out)
{
    struct json_buf b = {0};
    ck_assert_int_eq(json_buf_put_double(&b, v), 0);
    memcpy(out, b.data, b.len);
    out[b.len] = '\0';
    json_buf_free(&b);
}

START_TEST(test_encoder_doubles_shortest_and_round_trip)
{
    char s[64];
    encode_double(1.0, s);
    ck_assert_str_eq(s, "1.0");
    encode_double(0.1, s);
    ck_assert_str_eq(s, "0.1");
    encode_double(0.908 * 12345, s);
    ck_assert_str_eq(s, "11209.26");
    encode_double(-2.5, s);
    ck_assert_str_eq(s, "-2.5");
    encode_double(0.1 + 0.2, s);
    ck_assert_str_eq(s, "0.30000000000000004");
    encode_double(1e300, s);
    ck_assert_str_eq(s, "1e+300");
    encode_double(NAN, s);
    ck_assert_str_eq(s, "null");
    encode_double(INFINITY, s);
    ck_assert_str_eq(s, "null");
    uint64_t st = 99;
    for (int i = 0; i < 100000; i++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        double v;
        if (i % 2) {
            memcpy(&v, &st, sizeof v);
            if (!isfinite(v))
                continue;
        } else {
            v = (double)(st >> 40) * 0.001 * (i % 3 ? 1 : -0.908);
        }
        encode_double(v, s);
        /* the same text as the shortest of printf's %.15g, %.16g, %.17g that round-trips */
        char ref[40];
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(ref, sizeof ref, "%.*g", prec, v);
            if (prec == 17 || strtod(ref, NULL) == v)
                break;
        }
        /* never more digits than needed (the last digit may differ when two texts of that
         * length both parse back, after rounding the 17-digit text) */
        ck_assert_msg(significant_digits(s) <= significant_digits(ref), "%s has more digits than %s", s, ref);
        if (strchr(ref, 'e')) /* the fast decimal path never applies there */
            ck_assert_msg(significant_digits(s) == significant_digits(ref), "%s vs %s", s, ref);
        double back = strtod(s, NULL);
        ck_assert_msg(memcmp(&back, &v, sizeof v) == 0 || (v == 0 && back == 0), "%.17g -> %s", v, s);
        ck_assert_msg(strlen(s) <= 24, "%s", s);
    }
}
END_TEST

START_TEST(test_encoder_row_parses_back)
{
    struct json_encoder *e = json_encoder_new(&test_schema);
    struct value row[8];
    row[0] = (struct value){.type = VT_BIGINT, .u.i = -42};
    row[1] = (struct value){.type = VT_STRING, .u.s = {"q\"\\\n\x01\xc3\xa9", 7}};
    row[2] = (struct value){.type = VT_DOUBLE, .u.d = 2.5};
    row[3] = (struct value){.type = VT_BOOLEAN, .u.b = true};
    row[4] = (struct value){.type = VT_TIMESTAMP, .u.i = 1700000000123};
    row[5] = (struct value){.type = VT_NULL};
    row[6] = (struct value){.type = VT_STRING, .u.s = {"", 0}};
    row[7] = (struct value){.type = VT_BIGINT, .u.i = INT64_MIN};
    struct json_buf b = {0};
    ck_assert_int_eq(json_encode_row(e, row, &b), 0);
    ck_assert_int_eq(json_buf_reserve(&b, 1), 0);
    b.data[b.len] = '\0';
    ck_assert_str_eq(b.data,
                     "{\"id\":-42,\"name\":\"q\\\"\\\\\\n\\u0001\xc3\xa9\",\"price\":2.5,\"ok\":true,"
                     "\"ts\":\"2023-11-14 22:13:20.123\",\"skip\":null,\"nested\":\"\",\"\":-9223372036854775808}");
    /* and the decoder reads it back to the same row */
    struct json_decoder *d = json_decoder_new(&test_schema, NULL);
    struct arena *a = arena_new(1024);
    struct value back[8];
    char err[256];
    ck_assert_msg(json_decode_row(d, b.data, b.len, back, a, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(back[0].u.i, -42);
    ck_assert(back[1].u.s.len == 7 && memcmp(back[1].u.s.ptr, row[1].u.s.ptr, 7) == 0);
    ck_assert(back[2].u.d == 2.5 && back[3].u.b && back[4].u.i == 1700000000123 && back[5].type == VT_NULL);
    ck_assert(back[7].u.i == INT64_MIN);
    arena_free(a);
    json_decoder_free(d);
    json_buf_free(&b);
    json_encoder_free(e);
}
END_TEST

/* DECIMAL fields read the number's text exactly (no trip through a double), round half up to
 * the scale, fail beyond the precision; DATE fields read "yyyy-MM-dd"; both write back. */
START_TEST(test_decimal_and_date_fields)
{
    struct field fields[] = {{"p", 0}, {"big", 0}, {"day", VT_DATE}};
    fields[0].type = value_decimal_type(10, 2);
    fields[1].type = value_decimal_type(38, 0);
    struct schema s = {.fields = fields, .nfields = 3, .rowtime_field = -1};
    struct json_decoder *d = json_decoder_new(&s, NULL);
    struct json_encoder *e = json_encoder_new(&s);
    struct arena *a = arena_new(1024);
    struct value row[3];
    char err[256];
    const char *in = "{\"p\":0.1e1,\"big\":12345678901234567890123456789012345678.4,\"day\":\"2024-02-29\"}";
    ck_assert_msg(json_decode_row(d, in, strlen(in), row, a, err, sizeof err) == 0, "%s", err);
    ck_assert(row[0].type == fields[0].type && row[0].u.dec == 100);
    ck_assert(row[1].u.dec / 1000000000000000000LL == (value_int128)12345678901234567890ULL);
    ck_assert_int_eq(row[2].u.i, 19782); /* days from 1970-01-01 to 2024-02-29 */
    struct json_buf b = {0};
    ck_assert_int_eq(json_encode_row(e, row, &b), 0);
    ck_assert_int_eq(json_buf_reserve(&b, 1), 0);
    b.data[b.len] = '\0';
    ck_assert_str_eq(b.data, "{\"p\":1.00,\"big\":12345678901234567890123456789012345678,\"day\":\"2024-02-29\"}");
    /* half up at the scale, from the text: 0.125 -> 0.13, -0.125 -> -0.13, "2.345" (a string) -> 2.35 */
    const char *halves[] = {"{\"p\":0.125}", "{\"p\":-0.125}", "{\"p\":\"2.345\"}"};
    long long want[] = {13, -13, 235};
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(json_decode_row(d, halves[i], strlen(halves[i]), row, a, err, sizeof err) == 0, "%s", err);
        ck_assert(row[0].u.dec == want[i]);
    }
    const char *bad[] = {"{\"p\":123456789.5}", "{\"p\":true}", "{\"day\":\"2024-02-30\"}", "{\"day\":20240101}"};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(json_decode_row(d, bad[i], strlen(bad[i]), row, a, err, sizeof err), -1);
    ck_assert(strstr(err, "day") != NULL);
    json_buf_free(&b);
    arena_free(a);
    json_encoder_free(e);
    json_decoder_free(d);
}
END_TEST

/* ---------------------------------------------------------------- timestamps */

START_TEST(test_timestamps_match_timegm)
{
    uint64_t st = 5;
    for (int i = 0; i < 20000; i++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        int64_t ms = (int64_t)(st >> 20) % 253402300800000LL; /* years 1970..9999 */
        if (i % 4 == 0)
            ms = -ms / 100; /* some before 1970 */
        char text[TIMESTAMP_TEXT_MAX];
        ck_assert_uint_eq(timestamp_format(ms, text), 23);
        struct tm tm = {0};
        ck_assert_ptr_nonnull(strptime(text, "%Y-%m-%d %H:%M:%S", &tm));
        int64_t secs = (int64_t)timegm(&tm);
        ck_assert_int_eq(secs * 1000 + atoi(text + 20), ms);
        int64_t back;
        ck_assert_int_eq(timestamp_parse(text, 23, &back), 0);
        ck_assert_int_eq(back, ms);
    }
    int64_t v;
    ck_assert_int_eq(timestamp_parse("2024-01-01T00:00:00+01:00", 25, &v), 0);
    ck_assert_int_eq(v, 1704063600000LL);
    ck_assert_int_eq(timestamp_parse("2024-01-01 00:00:00.123456789", 29, &v), 0);
    ck_assert_int_eq(v, 1704067200123LL);
    ck_assert_int_eq(timestamp_parse("2024-01-01 00:00:00.5", 21, &v), 0);
    ck_assert_int_eq(v, 1704067200500LL);
    const char *bad[] = {
        "2024-01-01",          "2024-13-01 00:00:00",           "2023-02-29 00:00:00",   "2024-01-01 24:00:00",
        "2024-01-01 00:60:00", "2024-01-01 00:00:00.",          "2024-01-01 00:00:00Zx", "2024-01-01 00:00:00+1",
        "2024/01/01 00:00:00", "2024-01-01 00:00:00.1234567890"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(timestamp_parse(bad[i], strlen(bad[i]), &v) == -1, "%s", bad[i]);
}
END_TEST

/* SQL text (CAST, literals) reads every text JSON decoding reads, and a little more. */
START_TEST(test_timestamp_sql_text_is_a_superset)
{
    const char *full[] = {"2024-01-01 00:00:00", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00+01:00",
                          "2024-01-01 00:00:00.123456789", "2023-12-31 23:00:00-0100"};
    for (size_t i = 0; i < sizeof full / sizeof full[0]; i++) {
        int64_t a, b;
        ck_assert_msg(timestamp_parse_text(full[i], strlen(full[i]), TIMESTAMP_TEXT_FULL, &a) == 0, "%s", full[i]);
        ck_assert_msg(timestamp_parse_text(full[i], strlen(full[i]), TIMESTAMP_TEXT_SQL, &b) == 0, "%s", full[i]);
        ck_assert_int_eq(a, b);
        ck_assert_int_eq(a, 1704067200000LL + (i == 3 ? 123 : 0));
    }
    const char *sql_only[] = {"2024-01-01", " 2024-01-01 00:00 ", "2024-01-01T00:00Z",
                              "2024-01-01 00:00:00.1234567890"};
    for (size_t i = 0; i < sizeof sql_only / sizeof sql_only[0]; i++) {
        int64_t v;
        ck_assert_msg(timestamp_parse_text(sql_only[i], strlen(sql_only[i]), TIMESTAMP_TEXT_FULL, &v) == -1, "%s",
                      sql_only[i]);
        ck_assert_msg(timestamp_parse_text(sql_only[i], strlen(sql_only[i]), TIMESTAMP_TEXT_SQL, &v) == 0, "%s",
                      sql_only[i]);
        ck_assert_int_eq(v, 1704067200000LL + (i == 3 ? 123 : 0));
    }
    const char *neither[] = {"2024-01-01T", "2024-01-01 00", "2024-01-01 00:00:00+1", "2024-01-01Z", "2024-1-01"};
    for (size_t i = 0; i < sizeof neither / sizeof neither[0]; i++) {
        int64_t v;
        ck_assert_msg(timestamp_parse_text(neither[i], strlen(neither[i]), TIMESTAMP_TEXT_FULL, &v) == -1, "%s",
                      neither[i]);
        ck_assert_msg(timestamp_parse_text(neither[i], strlen(neither[i]), TIMESTAMP_TEXT_SQL, &v) == -1, "%s",
                      neither[i]);
    }
    ck_assert(timestamp_in_range(TIMESTAMP_MIN_MS) && timestamp_in_range(TIMESTAMP_MAX_MS));
    ck_assert(!timestamp_in_range(TIMESTAMP_MIN_MS - 1) && !timestamp_in_range(TIMESTAMP_MAX_MS + 1));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_decoder_matches_jansson_on_cases);
    tcase_add_test(tc, test_decoder_depth_limit_matches_jansson);
    tcase_add_test(tc, test_decoder_matches_jansson_on_mutations);
    tcase_add_test(tc, test_decoder_strings_point_into_input_unless_escaped);
    tcase_add_test(tc, test_encoder_doubles_shortest_and_round_trip);
    tcase_add_test(tc, test_encoder_row_parses_back);
    tcase_add_test(tc, test_decimal_and_date_fields);
    tcase_add_test(tc, test_timestamps_match_timegm);
    tcase_add_test(tc, test_timestamp_sql_text_is_a_superset);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
