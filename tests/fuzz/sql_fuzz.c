/* sql_fuzz.c — libFuzzer harness for dataplane/sql: arbitrary bytes as a pipeline script and
 * as a single INSERT, compiled against a fixed catalog; plans that compile run a few fixed
 * rows (with a snapshot/restore in the middle) so evaluation is fuzzed too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "dataplane/sql/sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct field bid_fields[] = {
    {"auction", VT_BIGINT},     {"bidder", VT_BIGINT}, {"price", VT_BIGINT}, {"channel", VT_STRING}, {"url", VT_STRING},
    {"dateTime", VT_TIMESTAMP}, {"extra", VT_STRING},  {"score", VT_DOUBLE}, {"ok", VT_BOOLEAN},
};
static const struct schema bid_schema = {bid_fields, 9, 5, 4000, {0}, 0, 0};

struct fuzz_catalog {
    const struct sql_script *script;
};

static const struct schema *fuzz_lookup(void *ctx, const char *name)
{
    const struct fuzz_catalog *c = ctx;
    for (int i = 0; c->script && i < c->script->nstreams; i++)
        if (strcasecmp(c->script->streams[i].name, name) == 0)
            return &c->script->streams[i].schema;
    return strcasecmp(name, "bid") == 0 ? &bid_schema : NULL;
}

/* Updating results too, so that group aggregates run. */
static const struct plan_options fuzz_options = {.sink_accepts_updates = 1};

static int fuzz_emit(void *ctx, enum row_kind kind, const struct value *row)
{
    (void)ctx;
    (void)kind;
    (void)row;
    return 0;
}

/* A real snapshot's header (magic, fingerprint) followed by arbitrary bytes, restored into a
 * fresh plan: fuzzes the checkpoint reader. */
static void fuzz_restore(struct plan *p, struct fuzz_catalog *cat, const char *sql, const uint8_t *data, size_t size)
{
    char *buf, *mixed;
    size_t len;
    struct sql_error err;
    if (plan_snapshot(p, &buf, &len) < 0)
        return;
    if (len >= 16 && (mixed = malloc(16 + size + 1))) {
        memcpy(mixed, buf, 16);
        memcpy(mixed + 16, data, size);
        struct plan *q = plan_compile_with(sql, fuzz_lookup, cat, &fuzz_options, &err);
        if (q && plan_restore(q, mixed, 16 + size, &err) == 0) {
            struct arena *scratch = arena_new(1024);
            plan_finish(q, scratch, fuzz_emit, NULL);
            arena_free(scratch);
        }
        plan_free(q);
        free(mixed);
    }
    free(buf);
}

static void fuzz_run(struct plan *p, struct fuzz_catalog *cat, const char *sql)
{
    const struct schema *in = plan_input_schema(p);
    struct value row[64];
    struct arena *scratch = arena_new(4096);
    struct sql_error err;
    static const char *const texts[] = {"web", "", "123", "{\"a\":{\"b\":1}}", "2024-01-01 00:00:00"};
    if (in->nfields > 64 || !scratch) {
        arena_free(scratch);
        return;
    }
    for (int r = 0; r < 8; r++) {
        for (int i = 0; i < in->nfields; i++) {
            struct value *v = &row[i];
            v->type = (r + i) % 5 == 4 ? VT_NULL : in->fields[i].type;
            switch (v->type) {
            case VT_BIGINT:
                v->u.i = (r * 37 + i) % 11 - 3;
                break;
            case VT_DOUBLE:
                v->u.d = (r - 3) * 0.75;
                break;
            case VT_BOOLEAN:
                v->u.b = r & 1;
                break;
            case VT_STRING:
                v->u.s.ptr = texts[(r + i) % 5];
                v->u.s.len = (uint32_t)strlen(v->u.s.ptr);
                break;
            case VT_TIMESTAMP:
                v->u.i = 1704067200000LL + (r % 3) * 3000 + r * 1700;
                break;
            default:
                break;
            }
        }
        plan_process(p, row, scratch, fuzz_emit, NULL, &err);
        arena_reset(scratch);
        if (r == 4) {
            char *buf;
            size_t len;
            if (plan_snapshot(p, &buf, &len) == 0) {
                struct plan *q = plan_compile_with(sql, fuzz_lookup, cat, &fuzz_options, &err);
                if (q && plan_restore(q, buf, len, &err) == 0)
                    plan_finish(q, scratch, fuzz_emit, NULL);
                plan_free(q);
                free(buf);
            }
        }
    }
    plan_finish(p, scratch, fuzz_emit, NULL);
    arena_free(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct sql_error err;
    struct sql_script script;
    struct fuzz_catalog cat = {NULL};
    if (sql_script_parse(text, &script, &err) == 0) {
        cat.script = &script;
        for (int i = 0; i < script.ninserts; i++) {
            struct plan *p = plan_compile_with(script.inserts[i], fuzz_lookup, &cat, &fuzz_options, &err);
            if (p)
                fuzz_run(p, &cat, script.inserts[i]);
            plan_free(p);
        }
        sql_script_free(&script);
    }
    cat.script = NULL;
    struct plan *p = plan_compile_with(text, fuzz_lookup, &cat, &fuzz_options, &err);
    if (p)
        fuzz_run(p, &cat, text);
    plan_free(p);
    /* the bytes as checkpoint state of a fixed windowed query */
    static const char *const windowed =
        "INSERT INTO o SELECT channel, COUNT(DISTINCT bidder) AS n, MAX(url) AS m, AVG(score) AS a, window_end "
        "FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '1' SECOND, INTERVAL '3' SECOND)) "
        "GROUP BY channel, window_start, window_end";
    p = plan_compile(windowed, fuzz_lookup, &cat, &err);
    if (p)
        fuzz_restore(p, &cat, windowed, data, size);
    plan_free(p);
    free(text);
    return 0;
}
