/* changelog_fuzz.c — libFuzzer harness for the changelog operators (dataplane/sql/rank.c and
 * over.c): the bytes pick a configuration and a run of inserts, retractions and watermarks,
 * fed to two copies of the operator, one of which is snapshot and restored now and then; their
 * outputs must be identical (abort otherwise). The remaining bytes, after a real snapshot's
 * header, are also restored as a snapshot (fuzzes the checkpoint readers). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/sql/over.h"
#include "dataplane/sql/rank.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum value_type types[] = {VT_BIGINT, VT_STRING, VT_BIGINT, VT_TIMESTAMP};
static const int part_k[] = {0}, part_win[] = {3, 0};
static const struct rank_order by_price[] = {{2, 1, 0}}, by_ts[] = {{3, 0, 1}};
static const struct over_agg aggs[] = {{AGG_COUNT, -1, VT_BIGINT},
                                       {AGG_SUM, 2, VT_BIGINT},
                                       {AGG_MIN, 1, VT_STRING},
                                       {AGG_MAX, 2, VT_BIGINT},
                                       {AGG_AVG, 2, VT_BIGINT}};

/* Both copies' outputs, hashed in order. */
static int hash_emit(void *ctx, enum row_kind kind, const struct value *row)
{
    uint64_t *h = ctx;
    *h = (*h ^ (uint64_t)kind) * 0x100000001b3ULL;
    for (int i = 0; i < 4; i++)
        *h = value_hash(&row[i], *h);
    return 0;
}

struct op {
    struct rank *r;
    struct over *o;
};

static struct op op_new(unsigned pick)
{
    struct op x = {NULL, NULL};
    struct sql_error err;
    if (pick < 6) {
        struct rank_config c = {.mode = pick < 3    ? RANK_TOP_N
                                        : pick == 3 ? RANK_DEDUP_FIRST
                                        : pick == 4 ? RANK_DEDUP_LAST
                                                    : RANK_WINDOW_TOP_N,
                                .ncols = 4,
                                .col_types = types,
                                .part_cols = pick == 5 ? part_win : part_k,
                                .npart = pick == 5 ? 2 : 1,
                                .order = pick == 3 || pick == 4 ? by_ts : by_price,
                                .norder = 1,
                                .limit = pick == 3 || pick == 4 ? 1 : 3,
                                .output_rank = pick == 1 || pick == 5,
                                .input_updating = pick == 2,
                                .window_end_col = 3};
        x.r = rank_new(&c, &err);
    } else {
        struct over_config c = {.ncols = 4,
                                .col_types = types,
                                .part_cols = part_k,
                                .npart = 1,
                                .time_col = 3,
                                .frame = pick & 1 ? OVER_RANGE : OVER_ROWS,
                                .unbounded = pick == 9,
                                .preceding = pick & 1 ? 50 : 2,
                                .aggs = aggs,
                                .naggs = 5};
        x.o = over_new(&c, &err);
    }
    return x;
}

static void op_free(struct op *x)
{
    rank_free(x->r);
    over_free(x->o);
}

static void op_feed(struct op *x, enum row_kind kind, const struct value *row, int64_t wm, uint64_t *h)
{
    struct sql_error err;
    if (x->r) {
        rank_process(x->r, kind, row, hash_emit, h, &err);
        rank_watermark(x->r, wm, hash_emit, h, &err);
    } else {
        over_process(x->o, kind, row, &err);
        over_watermark(x->o, wm, hash_emit, h, &err);
    }
}

/* Replaces x by a copy restored from its snapshot. */
static void op_reload(struct op *x, unsigned pick)
{
    char *buf = NULL;
    size_t len;
    struct sql_error err;
    if ((x->r ? rank_snapshot(x->r, &buf, &len) : over_snapshot(x->o, &buf, &len)) < 0)
        return;
    struct op y = op_new(pick);
    if ((y.r ? rank_restore(y.r, buf, len, &err) : over_restore(y.o, buf, len, &err)) < 0)
        abort(); /* a snapshot of our own must load */
    op_free(x);
    *x = y;
    free(buf);
}

/* A real snapshot's first 64 bytes followed by data, restored into a fresh copy. */
static void fuzz_restore(struct op *x, unsigned pick, const uint8_t *data, size_t size)
{
    char *buf = NULL, *mixed;
    size_t len;
    struct sql_error err;
    uint64_t h = 0;
    if ((x->r ? rank_snapshot(x->r, &buf, &len) : over_snapshot(x->o, &buf, &len)) < 0)
        return;
    size_t head = len < 64 ? len : 64;
    if ((mixed = malloc(head + size + 1))) {
        memcpy(mixed, buf, head);
        memcpy(mixed + head, data, size);
        struct op y = op_new(pick);
        if ((y.r ? rank_restore(y.r, mixed, head + size, &err) : over_restore(y.o, mixed, head + size, &err)) == 0) {
            if (y.r)
                rank_finish(y.r, hash_emit, &h, &err);
            else
                over_finish(y.o, hash_emit, &h, &err);
        }
        op_free(&y);
        free(mixed);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned pick = data[0] % 10;
    struct op a = op_new(pick), b = op_new(pick);
    uint64_t ha = 0, hb = 0;
    int64_t wm = INT64_MIN, ts = 1000;
    static const char *const ids[] = {"a", "bb", "", "c", "dd"};
    size_t i = 1;
    for (; i + 4 <= size && i < 1 + 4 * 200; i += 4) {
        const uint8_t *d = &data[i];
        struct value row[4];
        ts += d[3] % 16 - 4;
        row[0] = (struct value){.type = VT_BIGINT, .u.i = d[1] % 4};
        row[1] = (struct value){.type = VT_STRING, .u.s = {ids[d[2] % 5], (uint32_t)strlen(ids[d[2] % 5])}};
        row[2] = d[2] % 7 ? (struct value){.type = VT_BIGINT, .u.i = d[2] % 9} : (struct value){.type = VT_NULL};
        row[3] = (struct value){.type = VT_TIMESTAMP, .u.i = pick == 5 ? ts / 100 * 100 + 100 : ts};
        enum row_kind kind = d[0] % 8 == 0 && pick == 2 ? ROW_DELETE : ROW_INSERT;
        if (d[0] % 5 == 1)
            wm = ts - d[1] % 32;
        op_feed(&a, kind, row, wm, &ha);
        op_feed(&b, kind, row, wm, &hb);
        if (d[0] % 11 == 3)
            op_reload(&b, pick);
    }
    struct sql_error err;
    if (a.r) {
        rank_finish(a.r, hash_emit, &ha, &err);
        rank_finish(b.r, hash_emit, &hb, &err);
    } else {
        over_finish(a.o, hash_emit, &ha, &err);
        over_finish(b.o, hash_emit, &hb, &err);
    }
    if (ha != hb)
        abort(); /* a restored copy must continue exactly as the original */
    fuzz_restore(&a, pick, data + i, size - i);
    op_free(&a);
    op_free(&b);
    return 0;
}
