/* postgres_cdc_test.c — the pure parts of the postgres-cdc source: pgoutput messages (built
 * byte by byte as the protocol documentation lays them out) decoded, column values as JSON,
 * offsets from LSNs, and options refused before anything connects. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "dataplane/connectors/pgoutput.h"
#include "dataplane/connectors/postgres_cdc.h"
#include "dataplane/stream.h"

/* a message under construction */
struct msg {
    char b[1024];
    size_t n;
};

static void put_int(struct msg *m, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        m->b[m->n++] = (char)(v >> (8 * i) & 0xff);
}

static void put_str(struct msg *m, const char *s)
{
    size_t len = strlen(s) + 1;
    memcpy(m->b + m->n, s, len);
    m->n += len;
}

static void put_text_col(struct msg *m, const char *s)
{
    m->b[m->n++] = 't';
    put_int(m, strlen(s), 4);
    memcpy(m->b + m->n, s, strlen(s));
    m->n += strlen(s);
}

/* Relation 16384 public.orders (identity default): id int8 (key), item text, price numeric,
 * at timestamptz */
static struct msg relation_message(void)
{
    struct msg m = {.n = 0};
    m.b[m.n++] = 'R';
    put_int(&m, 16384, 4);
    put_str(&m, "public");
    put_str(&m, "orders");
    m.b[m.n++] = 'd';
    put_int(&m, 4, 2);
    const char *names[] = {"id", "item", "price", "at"};
    uint32_t types[] = {20, 25, 1700, 1184};
    for (int i = 0; i < 4; i++) {
        m.b[m.n++] = i == 0 ? 1 : 0;
        put_str(&m, names[i]);
        put_int(&m, types[i], 4);
        put_int(&m, 0xffffffffu, 4);
    }
    return m;
}

static const char *tuple_json(const struct pgoutput_relation *rel, const struct pgoutput_tuple *t, struct json_buf *b)
{
    b->len = 0;
    ck_assert_int_eq(pgoutput_tuple_json(rel, t, b), 0);
    ck_assert_int_eq(json_buf_reserve(b, 1), 0);
    b->data[b->len] = '\0';
    return b->data;
}

START_TEST(test_decode_changes)
{
    struct pgoutput_decoder *d = pgoutput_decoder_new();
    struct pgoutput_message pm;
    char err[256];
    struct json_buf b = {0};
    struct msg m = {.n = 0};
    /* a change before its relation was described */
    m.b[m.n++] = 'I';
    put_int(&m, 16384, 4);
    ck_assert_int_eq(pgoutput_decode(d, m.b, m.n, &pm, err, sizeof err), -1);
    ck_assert_str_eq(err, "pgoutput: a change of relation 16384, which no Relation message described");
    m = relation_message();
    ck_assert_int_eq(pgoutput_decode(d, m.b, m.n, &pm, err, sizeof err), 0);
    ck_assert_int_eq(pm.type, PGOUTPUT_RELATION);
    ck_assert_str_eq(pm.rel->relname, "orders");
    ck_assert_int_eq(pm.rel->ncols, 4);
    ck_assert(pm.rel->cols[0].key && !pm.rel->cols[1].key);
    pm.rel->pk[0] = 0;
    pm.rel->npk = 1;
    /* Begin: final LSN 0/16B3748, a timestamp, xid 771 */
    m = (struct msg){.n = 0};
    m.b[m.n++] = 'B';
    put_int(&m, 0x16B3748, 8);
    put_int(&m, 1, 8);
    put_int(&m, 771, 4);
    ck_assert_int_eq(pgoutput_decode(d, m.b, m.n, &pm, err, sizeof err), 0);
    ck_assert(pm.type == PGOUTPUT_BEGIN && pm.lsn == 0x16B3748 && pm.xid == 771);
    /* Insert: a quote in the text, a null, timestamptz with "+00" */
    m = (struct msg){.n = 0};
    m.b[m.n++] = 'I';
    put_int(&m, 16384, 4);
    m.b[m.n++] = 'N';
    put_int(&m, 4, 2);
    put_text_col(&m, "7");
    put_text_col(&m, "say \"hi\"");
    m.b[m.n++] = 'n';
    put_text_col(&m, "2026-01-02 03:04:05.678+00");
    ck_assert_int_eq(pgoutput_decode(d, m.b, m.n, &pm, err, sizeof err), 0);
    ck_assert_int_eq(pm.type, PGOUTPUT_INSERT);
    ck_assert_str_eq(tuple_json(pm.rel, &pm.new_tuple, &b),
                     "{\"id\":7,\"item\":\"say \\\"hi\\\"\",\"price\":null,\"at\":\"2026-01-02 03:04:05.678+00:00\"}");
    /* Update with the key changed: 'K' old key, then 'N' with an unchanged TOASTed value */
    m = (struct msg){.n = 0};
    m.b[m.n++] = 'U';
    put_int(&m, 16384, 4);
    m.b[m.n++] = 'K';
    put_int(&m, 4, 2);
    put_text_col(&m, "7");
    m.b[m.n++] = 'n';
    m.b[m.n++] = 'n';
    m.b[m.n++] = 'n';
    m.b[m.n++] = 'N';
    put_int(&m, 4, 2);
    put_text_col(&m, "8");
    m.b[m.n++] = 'u';
    put_text_col(&m, "NaN");
    put_text_col(&m, "2026-01-02 03:04:05+05:30");
    ck_assert_int_eq(pgoutput_decode(d, m.b, m.n, &pm, err, sizeof err), 0);
    ck_assert(pm.type == PGOUTPUT_UPDATE && pm.old_kind == 'K');
    ck_assert_str_eq(tuple_json(pm.rel, &pm.old_tuple, &b), "{\"id\":7,\"item\":null,\"price\":null,\"at\":null}");
    ck_assert_str_eq(tuple_json(pm.rel, &pm.new_tuple, &b),
                     "{\"id\":8,\"price\":\"NaN\",\"at\":\"2026-01-02 03:04:05+05:30\"}");
    ck_assert_int_eq(pgoutput_same_key(pm.rel, &pm.old_tuple, &pm.new_tuple), 0);
    ck_assert_int_eq(pgoutput_same_key(pm.rel, &pm.new_tuple, &pm.new_tuple), 1);
    /* Delete without an old tuple is malformed; cut short too */
    m = (struct msg){.n = 0};
    m.b[m.n++] = 'D';
    put_int(&m, 16384, 4);
    m.b[m.n++] = 'N';
    ck_assert_int_eq(pgoutput_decode(d, m.b, m.n, &pm, err, sizeof err), -1);
    ck_assert_str_eq(err, "pgoutput: a malformed change of table public.orders");
    m.b[m.n - 1] = 'K';
    put_int(&m, 4, 2);
    put_text_col(&m, "8");
    m.n -= 1; /* the last byte of the value missing */
    ck_assert_int_eq(pgoutput_decode(d, m.b, m.n, &pm, err, sizeof err), -1);
    /* Commit */
    m = (struct msg){.n = 0};
    m.b[m.n++] = 'C';
    m.b[m.n++] = 0;
    put_int(&m, 0x16B3748, 8);
    put_int(&m, 0x16B3778, 8);
    put_int(&m, 1, 8);
    ck_assert_int_eq(pgoutput_decode(d, m.b, m.n, &pm, err, sizeof err), 0);
    ck_assert(pm.type == PGOUTPUT_COMMIT && pm.lsn == 0x16B3748 && pm.end_lsn == 0x16B3778);
    ck_assert_int_eq(pgoutput_decode(d, m.b, 10, &pm, err, sizeof err), -1);
    ck_assert_str_eq(err, "pgoutput: a Commit message cut short");
    /* a relation described again replaces the first */
    m = relation_message();
    ck_assert_int_eq(pgoutput_decode(d, m.b, m.n, &pm, err, sizeof err), 0);
    ck_assert_int_eq(pm.rel->npk, 0);
    /* Origin, Type, Truncate: not changes */
    ck_assert_int_eq(pgoutput_decode(d, "T\0\0\0\1\0\0\0@\0", 10, &pm, err, sizeof err), 0);
    ck_assert_int_eq(pm.type, PGOUTPUT_OTHER);
    json_buf_free(&b);
    pgoutput_decoder_free(d);
}
END_TEST

static const char *value_json(uint32_t type, const char *text, struct json_buf *b)
{
    b->len = 0;
    ck_assert_int_eq(pgoutput_value_json(type, text, strlen(text), b), 0);
    ck_assert_int_eq(json_buf_reserve(b, 1), 0);
    b->data[b->len] = '\0';
    return b->data;
}

START_TEST(test_values)
{
    struct json_buf b = {0};
    ck_assert_str_eq(value_json(16, "t", &b), "true");
    ck_assert_str_eq(value_json(16, "f", &b), "false");
    ck_assert_str_eq(value_json(23, "-42", &b), "-42");
    ck_assert_str_eq(value_json(701, "1.5e-07", &b), "1.5e-07");
    ck_assert_str_eq(value_json(701, "Infinity", &b), "\"Infinity\"");
    ck_assert_str_eq(value_json(700, "-Infinity", &b), "\"-Infinity\"");
    ck_assert_str_eq(value_json(1700, "12.50", &b), "12.50");
    ck_assert_str_eq(value_json(1184, "2026-01-02 03:04:05-08", &b), "\"2026-01-02 03:04:05-08:00\"");
    ck_assert_str_eq(value_json(1114, "2026-01-02 03:04:05", &b), "\"2026-01-02 03:04:05\"");
    ck_assert_str_eq(value_json(1082, "2026-01-02", &b), "\"2026-01-02\"");
    ck_assert_str_eq(value_json(3802, "{\"a\": 1}", &b), "\"{\\\"a\\\": 1}\"");
    ck_assert_str_eq(value_json(25, "tab\there", &b), "\"tab\\there\"");
    json_buf_free(&b);
}
END_TEST

START_TEST(test_offsets)
{
    uint64_t off, lsn;
    ck_assert_int_eq(postgres_cdc_offset(0x16B3748, 0, &off), 0);
    ck_assert_uint_eq(off, (uint64_t)0x16B3748 << 20);
    ck_assert_int_eq(postgres_cdc_offset(0x16B3748, 5, &off), 0);
    ck_assert_uint_eq(off, ((uint64_t)0x16B3748 << 20) + 5);
    /* the next transaction's commit is at least a commit record further: above any index */
    uint64_t a, z;
    ck_assert_int_eq(postgres_cdc_offset(0x1000000, (1u << 25) - 1, &a), 0);
    ck_assert_int_eq(postgres_cdc_offset(0x1000020, 0, &z), 0);
    ck_assert(a < z);
    /* every change is past the snapshot's last row */
    ck_assert_int_eq(postgres_cdc_offset(0x1000000, 0, &off), 0);
    ck_assert(off > POSTGRES_CDC_SNAPSHOT_DONE + 1);
    ck_assert_int_eq(postgres_cdc_offset(0xFFFFFF, 0, &off), -1);
    ck_assert_int_eq(postgres_cdc_offset(0x1000000, 1u << 25, &off), -1);
    ck_assert_int_eq(postgres_cdc_offset(1ULL << 44, 0, &off), -1);
    ck_assert_int_eq(postgres_cdc_offset((1ULL << 44) - 1, 0, &off), 0);
    char text[24];
    postgres_cdc_lsn_text(0x16B374D848ULL, text, sizeof text);
    ck_assert_str_eq(text, "16/B374D848");
    ck_assert_int_eq(postgres_cdc_lsn_parse("16/B374D848", &lsn), 0);
    ck_assert_uint_eq(lsn, 0x16B374D848ULL);
    ck_assert_int_eq(postgres_cdc_lsn_parse("0/0", &lsn), 0);
    ck_assert_uint_eq(lsn, 0);
    ck_assert_int_eq(postgres_cdc_lsn_parse("16B374D848", &lsn), -1);
    ck_assert_int_eq(postgres_cdc_lsn_parse("1/2x", &lsn), -1);
    ck_assert_int_eq(postgres_cdc_lsn_parse("", &lsn), -1);
}
END_TEST

/* bad options fail at open, naming the option, before any connection is tried */
START_TEST(test_bad_options)
{
    char err[512];
    void *r = NULL;
    const struct stream_backend *b = &postgres_cdc_stream_backend;
    ck_assert_ptr_eq(stream_backend_find("postgres-cdc"), b);
    ck_assert(b->source && !b->sink && b->network && b->full_worker && b->acknowledge && b->start_offset);
    ck_assert_str_eq(b->location_key, "table");
    struct stream_property p1[] = {{"url", "postgresql://u@127.0.0.1:1/db"}};
    ck_assert_int_eq(b->open_reader("t", 0, 0, p1, 1, &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "a postgres-cdc connection needs the property \"table\"");
    struct stream_property p2[] = {{"url", "postgresql://u@127.0.0.1:1/db"}, {"table", "t"}, {"slot.name", "My-Slot"}};
    ck_assert_int_eq(b->open_reader("t", 0, 0, p2, 3, &r, err, sizeof err), -1);
    ck_assert_str_eq(err,
                     "postgres-cdc option \"slot.name\" must be lower-case letters, digits and _, not \"My-Slot\"");
    struct stream_property p3[] = {{"url", "host=x"}, {"table", "t"}};
    ck_assert_int_eq(b->open_reader("t", 0, 0, p3, 2, &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "postgres-cdc option \"url\" must be a postgresql:// URI");
    struct stream_property p4[] = {{"url", "postgresql://u@127.0.0.1:1/db"}, {"table", "a, b; DROP TABLE c"}};
    ck_assert_int_eq(b->open_reader("t", 0, 0, p4, 2, &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "postgres-cdc option \"table\": \"b; DROP TABLE c\" is not a table name ([schema.]table)");
    struct stream_property p5[] = {{"url", "postgresql://u@127.0.0.1:1/db"}, {"table", "t"}, {"snapshot", "maybe"}};
    ck_assert_int_eq(b->open_reader("t", 0, 0, p5, 3, &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "postgres-cdc option \"snapshot\" must be true or false, not \"maybe\"");
}
END_TEST

/* a refused port is a clear error at open */
START_TEST(test_refused)
{
    char err[512];
    void *r = NULL;
    struct stream_property p[] = {{"url", "postgresql://u@127.0.0.1:1/db"}, {"table", "t"}};
    ck_assert_int_eq(postgres_cdc_stream_backend.open_reader("t", 0, 0, p, 2, &r, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "postgres-cdc: cannot connect: ") == err && strstr(err, "Connection refused"), "%s", err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("postgres_cdc");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_decode_changes);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_offsets);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_refused);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
