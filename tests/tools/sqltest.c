/* sqltest.c — runs SQL cases kept as data (tests/sql/NAME.test) through dataplane/sql and
 * compares the rows, errors, output schema and counters with the expected ones.
 *
 *   sqltest FILE.test...        exit 0 when every case passes
 *
 * A file holds cases; each starts with "### name" and has these lines (in this order):
 *   schema: CREATE TABLE ...;    stream definitions (kept for the following cases)
 *   sql: INSERT INTO ...         the query; following lines that are not directives continue it
 *                                (a script with CREATE TABLE statements is allowed too)
 *   snapshot-at: N               snapshot after N input rows and continue on a restored plan
 *   input:                       one JSON object per line, laid out by the source schema;
 *                                "@T {...}" sets the processing time to T ms first;
 *                                "name {...}" is a row of stream name (a query that reads
 *                                several streams; without a name: the first it reads);
 *                                "[name] -D {...}" a row of that kind (+I, -U, +U, -D);
 *                                only the fields the plan reads (plan_source_needed) are
 *                                typed, the others NULL, as the engine's decoder does; a
 *                                record that is not JSON, or whose fields read have the wrong
 *                                type, gives "error: bad record: REASON" (the error policy)
 *   sink: append-only            compile for an append-only sink (default: the sink takes
 *                                updates, as an upsert stream does)
 *   state-ttl: MS                the idle-state TTL (processing time: see "@T" below)
 *   idle-timeout: MS             the source idle timeout of a query over several streams
 *   mini-batch: N                aggregates in mini-batches of N rows (plan_options.minibatch_size;
 *                                a snapshot flushes the batch first, as a checkpoint does)
 *   expect:                      one line per output row (JSON) or per failed row
 *                                ("error: line L, column C: message"); a row of another kind
 *                                than insert shows its kind first, as below
 *   expect changelog:            instead: one line per output row with its kind, "+I {...}",
 *                                "-U {...}", "+U {...}", "-D {...}", or per failed row
 *   expect final:                (also) the table the changelog leaves: +I and +U add a row,
 *                                -U and -D take an equal row back; sorted
 *   expect error: TEXT           instead: compiling must fail with exactly TEXT
 *   expect schema: a BIGINT, ... the derived output schema
 *   expect plan:                 the lines of the plan's EXPLAIN text (plan_explain), in order
 *   stats: in=N out=N late=N errors=N
 * Lines starting with "#" (but not "###") and blank lines outside the SQL are ignored. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "dataplane/codec/json_decode.h"
#include "dataplane/sql/sql.h"

struct lines {
    char **v;
    int n, cap;
};

static void lines_add(struct lines *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = realloc(l->v, (size_t)l->cap * sizeof *l->v);
        if (!l->v)
            abort();
    }
    l->v[l->n++] = strdup(s);
}

static void lines_clear(struct lines *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    l->n = 0;
}

struct tcase {
    char name[256];
    char *sql;
    char *schema;
    char *expect_error;
    char *expect_schema;
    char *stats;
    long snapshot_at;
    struct lines input, expect, final, plan;
    int has_expect, changelog, has_final, append_only, has_plan;
    long long state_ttl, idle_timeout, minibatch;
};

static long long sqltest_now;
static int64_t sqltest_clock(void *ctx)
{
    (void)ctx;
    return sqltest_now;
}

/* Catalog over one or two scripts' stream definitions. */
struct catalog {
    struct sql_script *scripts[2];
};

static const struct schema *catalog_lookup(void *ctx, const char *name)
{
    struct catalog *c = ctx;
    for (int k = 0; k < 2; k++)
        for (int i = 0; c->scripts[k] && i < c->scripts[k]->nstreams; i++)
            if (strcasecmp(c->scripts[k]->streams[i].name, name) == 0)
                return &c->scripts[k]->streams[i].schema;
    return NULL;
}

struct out {
    struct lines *got;
    const struct schema *schema;
    int changelog;       /* every row with its kind; else an insert as plain JSON */
    struct lines *table; /* the final table: rows as plain JSON */
};

/* Applies one change to the final table. */
static void table_apply(struct lines *t, enum row_kind kind, const char *row)
{
    if (row_kind_is_accumulate(kind)) {
        lines_add(t, row);
        return;
    }
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->v[i], row) == 0) {
            free(t->v[i]);
            t->v[i] = t->v[--t->n];
            return;
        }
    char buf[64];
    snprintf(buf, sizeof buf, "<retraction of a row not in the table>");
    lines_add(t, buf);
}

static int line_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void json_escape(char **p, size_t *cap, size_t *len, const char *s, size_t n);

static void append(char **p, size_t *cap, size_t *len, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        while (*len + n + 1 > *cap)
            *cap = *cap ? *cap * 2 : 256;
        *p = realloc(*p, *cap);
        if (!*p)
            abort();
    }
    memcpy(*p + *len, s, n);
    *len += n;
    (*p)[*len] = '\0';
}

static void json_escape(char **p, size_t *cap, size_t *len, const char *s, size_t n)
{
    append(p, cap, len, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char buf[8];
        if (c == '"' || c == '\\') {
            buf[0] = '\\';
            buf[1] = (char)c;
            append(p, cap, len, buf, 2);
        } else if (c < 0x20) {
            snprintf(buf, sizeof buf, "\\u%04x", c);
            append(p, cap, len, buf, 6);
        } else {
            append(p, cap, len, (const char *)&c, 1);
        }
    }
    append(p, cap, len, "\"", 1);
}

static int collect(void *ctx, enum row_kind kind, const struct value *row)
{
    struct out *o = ctx;
    char *p = NULL, buf[64];
    size_t cap = 0, len = 0;
    append(&p, &cap, &len, "", 0);
    if (o->changelog || kind != ROW_INSERT) {
        append(&p, &cap, &len, row_kind_name(kind), 2);
        append(&p, &cap, &len, " ", 1);
    }
    size_t body = len;
    append(&p, &cap, &len, "{", 1);
    for (int i = 0; i < o->schema->nfields; i++) {
        if (i)
            append(&p, &cap, &len, ",", 1);
        json_escape(&p, &cap, &len, o->schema->fields[i].name, strlen(o->schema->fields[i].name));
        append(&p, &cap, &len, ":", 1);
        const struct value *v = &row[i];
        size_t n = 0;
        switch (value_type_base(v->type)) {
        case VT_DECIMAL: /* a JSON number, exact */
            n = value_format_decimal(v->u.dec, value_decimal_scale(v->type), buf);
            append(&p, &cap, &len, buf, n);
            break;
        case VT_DATE:
            n = value_format_date(v->u.i, buf);
            json_escape(&p, &cap, &len, buf, n);
            break;
        default:
            break;
        case VT_NULL:
            append(&p, &cap, &len, "null", 4);
            break;
        case VT_BOOLEAN:
            append(&p, &cap, &len, v->u.b ? "true" : "false", v->u.b ? 4 : 5);
            break;
        case VT_BIGINT:
            n = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)v->u.i);
            append(&p, &cap, &len, buf, n);
            break;
        case VT_DOUBLE:
            n = sql_format_double(v->u.d, buf);
            append(&p, &cap, &len, buf, n);
            break;
        case VT_STRING:
            json_escape(&p, &cap, &len, v->u.s.ptr, v->u.s.len);
            break;
        case VT_TIMESTAMP:
            n = sql_format_timestamp(v->u.i, buf);
            json_escape(&p, &cap, &len, buf, n);
            break;
        }
        if (v->type != VT_NULL && v->type != o->schema->fields[i].type) {
            n = (size_t)snprintf(buf, sizeof buf, "<type %s>", sql_type_name(v->type));
            append(&p, &cap, &len, buf, n);
        }
    }
    append(&p, &cap, &len, "}", 1);
    lines_add(o->got, p);
    table_apply(o->table, kind, p + body);
    free(p);
    return 0;
}

/* Builds a row from a JSON object, of the fields with needed[i] set (the others NULL, as the
 * engine's decoder leaves the fields no operator reads); strings point into the JSON (kept
 * alive by the caller). */
static int row_from_json(json_t *obj, const struct schema *s, const unsigned char *needed, struct value *row, char *why,
                         size_t whylen)
{
    for (int i = 0; i < s->nfields; i++) {
        json_t *v = json_object_get(obj, s->fields[i].name);
        row[i].type = VT_NULL;
        if (!v || json_is_null(v) || (needed && !needed[i]))
            continue;
        char text[64];
        size_t n;
        int64_t ms;
        switch (value_type_base(s->fields[i].type)) {
        case VT_BIGINT:
            if (!json_is_integer(v))
                goto bad;
            row[i].type = VT_BIGINT;
            row[i].u.i = json_integer_value(v);
            break;
        case VT_DOUBLE:
            if (!json_is_number(v))
                goto bad;
            row[i].type = VT_DOUBLE;
            row[i].u.d = json_number_value(v);
            break;
        case VT_BOOLEAN:
            if (!json_is_boolean(v))
                goto bad;
            row[i].type = VT_BOOLEAN;
            row[i].u.b = json_is_true(v);
            break;
        case VT_STRING:
            if (!json_is_string(v))
                goto bad;
            row[i].type = VT_STRING;
            row[i].u.s.ptr = json_string_value(v);
            row[i].u.s.len = (uint32_t)json_string_length(v);
            break;
        case VT_TIMESTAMP:
            row[i].type = VT_TIMESTAMP;
            if (json_is_integer(v))
                row[i].u.i = json_integer_value(v);
            else if (!json_is_string(v) ||
                     sql_parse_timestamp(json_string_value(v), json_string_length(v), &row[i].u.i) < 0)
                goto bad;
            break;
        case VT_DATE: /* "yyyy-MM-dd" */
            row[i].type = VT_DATE;
            if (!json_is_string(v) || sql_parse_timestamp(json_string_value(v), json_string_length(v), &ms) < 0 ||
                json_string_length(v) != 10)
                goto bad;
            row[i].u.i = ms / 86400000 - (ms % 86400000 < 0);
            break;
        case VT_DECIMAL: /* a number (a real through its %.17g text, rounded to the scale) or text */
            row[i].type = s->fields[i].type;
            if (json_is_integer(v))
                n = (size_t)snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
            else if (json_is_real(v))
                n = (size_t)snprintf(text, sizeof text, "%.17g", json_real_value(v));
            else if (json_is_string(v) && json_string_length(v) < sizeof text)
                n = (size_t)snprintf(text, sizeof text, "%s", json_string_value(v));
            else
                goto bad;
            if (value_decimal_parse(text, n, value_decimal_precision(row[i].type), value_decimal_scale(row[i].type),
                                    &row[i].u.dec) < 0)
                goto bad;
            break;
        default:
            goto bad;
        }
        continue;
    bad:
        snprintf(why, whylen, "field \"%s\" does not fit type %s", s->fields[i].name, sql_type_name(s->fields[i].type));
        return -1;
    }
    return 0;
}

static char *schema_text(const struct schema *s)
{
    char *p = NULL;
    size_t cap = 0, len = 0;
    append(&p, &cap, &len, "", 0);
    for (int i = 0; i < s->nfields; i++) {
        if (i)
            append(&p, &cap, &len, ", ", 2);
        append(&p, &cap, &len, s->fields[i].name, strlen(s->fields[i].name));
        append(&p, &cap, &len, " ", 1);
        append(&p, &cap, &len, sql_type_name(s->fields[i].type), strlen(sql_type_name(s->fields[i].type)));
    }
    return p;
}

/* The plan's EXPLAIN text against the case's "expect plan:" lines; 0 when equal. */
static int check_plan(const struct tcase *tc, const struct plan *p)
{
    struct plan_explain e;
    if (plan_explain(p, &e) != 0) {
        printf("FAIL  %s: plan_explain: out of memory\n", tc->name);
        return 1;
    }
    struct lines got = {0};
    for (char *line = e.text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        if ((nl = strchr(line, '\n')))
            *nl = '\0';
        lines_add(&got, line);
    }
    int same = got.n == tc->plan.n;
    for (int i = 0; same && i < got.n; i++)
        same = strcmp(got.v[i], tc->plan.v[i]) == 0;
    if (!same) {
        printf("FAIL  %s: plan differs\n  expected:\n", tc->name);
        for (int i = 0; i < tc->plan.n; i++)
            printf("    %s\n", tc->plan.v[i]);
        printf("  got:\n");
        for (int i = 0; i < got.n; i++)
            printf("    %s\n", got.v[i]);
    }
    lines_clear(&got);
    free(got.v);
    plan_explain_free(&e);
    return !same;
}

/* Runs one case; prints a report and returns 0 when it passes. */
static int run_case(struct tcase *tc, struct sql_script *schema_script)
{
    struct sql_error err;
    char msg[512];
    struct lines got = {0}, table = {0};
    struct sql_script local = {0};
    struct catalog cat = {{schema_script, NULL}};
    const char *sql = tc->sql;
    int line = 1, column = 1, failed = 0;
    struct plan *p = NULL;
    struct arena *scratch = arena_new(4096);
    if (!sql) {
        printf("FAIL  %s: no sql\n", tc->name);
        return 1;
    }
    if (strncasecmp(sql, "CREATE", 6) == 0) {
        if (sql_script_parse(sql, &local, &err) < 0) {
            sql_error_format(&err, msg, sizeof msg);
            lines_add(&got, "compile");
            goto compile_error;
        }
        if (local.ninserts == 0) {
            printf("FAIL  %s: script has no INSERT\n", tc->name);
            sql_script_free(&local);
            return 1;
        }
        cat.scripts[1] = &local;
        sql = local.inserts[0];
        line = local.insert_line[0];
        column = local.insert_column[0];
    }
    struct plan_options opts = {.sink_accepts_updates = !tc->append_only,
                                .state_ttl_ms = tc->state_ttl,
                                .clock_ms = sqltest_clock,
                                .source_idle_timeout_ms = tc->idle_timeout,
                                .minibatch_size = tc->minibatch,
                                .minibatch_latency_ms = INT64_MAX / 2,
                                .functions = local.functions,
                                .nfunctions = local.nfunctions};
    sqltest_now = 0;
    p = plan_compile_with(sql, catalog_lookup, &cat, &opts, &err);
    if (!p) {
        sql_error_shift(&err, line, column);
        sql_error_format(&err, msg, sizeof msg);
        goto compile_error;
    }
    if (tc->expect_error) {
        printf("FAIL  %s: expected error [%s] but the query compiled\n", tc->name, tc->expect_error);
        failed = 1;
        goto done;
    }
    if (tc->expect_schema) {
        char *s = schema_text(plan_output_schema(p));
        if (strcmp(s, tc->expect_schema) != 0) {
            printf("FAIL  %s: output schema\n  expected: %s\n  got:      %s\n", tc->name, tc->expect_schema, s);
            failed = 1;
        }
        free(s);
    }
    if (tc->has_plan && check_plan(tc, p) != 0)
        failed = 1;
    const struct schema *in = plan_input_schema(p);
    int maxf = 1;
    for (int k = 0; k < plan_nsources(p); k++)
        if (plan_source_schema(p, k)->nfields > maxf)
            maxf = plan_source_schema(p, k)->nfields;
    struct value *row = calloc((size_t)maxf + 1, sizeof *row);
    struct out o = {&got, plan_output_schema(p), tc->changelog, &table};
    for (int i = 0; i < tc->input.n && !failed; i++) {
        if ((long)i == tc->snapshot_at) {
            char *buf;
            size_t len;
            struct plan_stats before, after;
            if (plan_flush(p, scratch, collect, &o, &err) < 0) {
                printf("FAIL  %s: flush before the snapshot failed\n", tc->name);
                failed = 1;
                break;
            }
            plan_stats(p, &before);
            if (plan_snapshot(p, &buf, &len) < 0) {
                printf("FAIL  %s: snapshot failed\n", tc->name);
                failed = 1;
                break;
            }
            plan_free(p);
            p = plan_compile_with(sql, catalog_lookup, &cat, &opts, &err);
            if (!p || plan_restore(p, buf, len, &err) < 0) {
                printf("FAIL  %s: restore failed: %s\n", tc->name, err.message);
                free(buf);
                failed = 1;
                break;
            }
            free(buf);
            plan_stats(p, &after);
            if (memcmp(&before, &after, sizeof before) != 0) {
                printf("FAIL  %s: counters differ after restore\n", tc->name);
                failed = 1;
            }
            o.schema = plan_output_schema(p);
        }
        json_error_t jerr;
        const char *text = tc->input.v[i];
        if (text[0] == '@') {
            char *end;
            sqltest_now = strtoll(text + 1, &end, 10);
            text = end;
            while (*text == ' ')
                text++;
        }
        int source = 0;
        if (*text != '{' && *text != '+' && *text != '-') {
            size_t n = strcspn(text, " {");
            source = -1;
            for (int k = 0; k < plan_nsources(p) && source < 0; k++)
                if (strlen(plan_source_at(p, k)) == n && strncasecmp(plan_source_at(p, k), text, n) == 0)
                    source = k;
            if (source < 0) {
                printf("FAIL  %s: input line %d names no stream the query reads: %s\n", tc->name, i + 1, text);
                failed = 1;
                break;
            }
            text += n;
            while (*text == ' ')
                text++;
        }
        enum row_kind kind = ROW_INSERT;
        if ((text[0] == '+' || text[0] == '-') && row_kind_parse(text, 2, &kind) == 0)
            for (text += 2; *text == ' '; text++)
                ;
        in = plan_source_schema(p, source);
        char why[256], bad_why[256];
        /* as the engine decodes a record (json_decode.h): the whole record must be JSON, the
         * fields read are typed as the schema says, the others are not read */
        const unsigned char *needed = plan_source_needed(p, source);
        struct json_decoder *dec = json_decoder_new(in, needed);
        if (!dec)
            snprintf(bad_why, sizeof bad_why, "out of memory");
        int bad = !dec || json_decode_row(dec, text, strlen(text), row, scratch, bad_why, sizeof bad_why) != 0;
        json_decoder_free(dec);
        json_t *obj = json_loads(text, 0, &jerr);
        if (!obj || !json_is_object(obj) || row_from_json(obj, in, needed, row, why, sizeof why) < 0) {
            json_decref(obj);
            if (!bad) {
                printf("FAIL  %s: input line %d: %s\n", tc->name, i + 1, obj ? why : tc->input.v[i]);
                failed = 1;
                break;
            }
            /* a bad record: the engine's error policy */
            char line_text[600];
            snprintf(line_text, sizeof line_text, "error: bad record: %s", bad_why);
            lines_add(&got, line_text);
            arena_reset(scratch);
            continue;
        }
        /* else the row as the driver builds it: the plan's own checks of values the decoder
         * refuses too (an event time out of range) stay testable */
        if (plan_process_source_kind(p, source, kind, row, scratch, collect, &o, &err) < 0) {
            char line_text[600];
            sql_error_shift(&err, line, column);
            sql_error_format(&err, msg, sizeof msg);
            snprintf(line_text, sizeof line_text, "error: %s", msg);
            lines_add(&got, line_text);
        }
        json_decref(obj);
        arena_reset(scratch);
    }
    free(row);
    if (!failed && plan_finish(p, scratch, collect, &o) < 0) {
        printf("FAIL  %s: plan_finish failed\n", tc->name);
        failed = 1;
    }
    if (!failed && tc->has_expect) {
        int same = got.n == tc->expect.n;
        for (int i = 0; same && i < got.n; i++)
            same = strcmp(got.v[i], tc->expect.v[i]) == 0;
        if (!same) {
            printf("FAIL  %s: output differs\n  expected:\n", tc->name);
            for (int i = 0; i < tc->expect.n; i++)
                printf("    %s\n", tc->expect.v[i]);
            printf("  got:\n");
            for (int i = 0; i < got.n; i++)
                printf("    %s\n", got.v[i]);
            failed = 1;
        }
    }
    if (!failed && tc->has_final) {
        qsort(table.v, (size_t)table.n, sizeof *table.v, line_cmp);
        int same = table.n == tc->final.n;
        for (int i = 0; same && i < table.n; i++)
            same = strcmp(table.v[i], tc->final.v[i]) == 0;
        if (!same) {
            printf("FAIL  %s: final table differs\n  expected:\n", tc->name);
            for (int i = 0; i < tc->final.n; i++)
                printf("    %s\n", tc->final.v[i]);
            printf("  got:\n");
            for (int i = 0; i < table.n; i++)
                printf("    %s\n", table.v[i]);
            failed = 1;
        }
    }
    if (!failed && tc->stats) {
        struct plan_stats st;
        char text[256];
        plan_stats(p, &st);
        snprintf(text, sizeof text, "in=%llu out=%llu late=%llu errors=%llu", (unsigned long long)st.rows_in,
                 (unsigned long long)st.rows_out, (unsigned long long)st.late_dropped,
                 (unsigned long long)st.eval_errors);
        if (strcmp(text, tc->stats) != 0) {
            printf("FAIL  %s: stats\n  expected: %s\n  got:      %s\n", tc->name, tc->stats, text);
            failed = 1;
        }
    }
    goto done;
compile_error:
    if (!tc->expect_error) {
        printf("FAIL  %s: did not compile: %s\n", tc->name, msg);
        failed = 1;
    } else if (strcmp(msg, tc->expect_error) != 0) {
        printf("FAIL  %s: wrong error\n  expected: %s\n  got:      %s\n", tc->name, tc->expect_error, msg);
        failed = 1;
    }
done:
    if (!failed)
        printf("ok    %s\n", tc->name);
    plan_free(p);
    sql_script_free(&local);
    lines_clear(&got);
    free(got.v);
    lines_clear(&table);
    free(table.v);
    arena_free(scratch);
    return failed;
}

static void case_reset(struct tcase *tc)
{
    free(tc->sql);
    free(tc->expect_error);
    free(tc->expect_schema);
    free(tc->stats);
    free(tc->schema);
    lines_clear(&tc->input);
    lines_clear(&tc->expect);
    lines_clear(&tc->final);
    lines_clear(&tc->plan);
    struct lines in = tc->input, ex = tc->expect, fin = tc->final, pl = tc->plan;
    memset(tc, 0, sizeof *tc);
    tc->input = in;
    tc->expect = ex;
    tc->final = fin;
    tc->plan = pl;
    tc->snapshot_at = -1;
}

static char *after(const char *line, const char *prefix)
{
    const char *s = line + strlen(prefix);
    while (*s == ' ')
        s++;
    return strdup(s);
}

static int starts(const char *line, const char *prefix) { return strncmp(line, prefix, strlen(prefix)) == 0; }

int main(int argc, char **argv)
{
    int total = 0, failures = 0;
    for (int a = 1; a < argc; a++) {
        FILE *f = fopen(argv[a], "r");
        if (!f) {
            perror(argv[a]);
            return 2;
        }
        struct tcase tc = {.snapshot_at = -1};
        struct sql_script schema = {0};
        enum { NONE, SQL, INPUT, EXPECT, FINAL, PLAN } mode = NONE;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        int have = 0;
        for (;;) {
            n = getline(&line, &cap, f);
            if (n >= 0) {
                while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                    line[--n] = '\0';
            }
            if (n < 0 || starts(line, "### ")) {
                if (have) {
                    if (tc.schema) {
                        struct sql_error err;
                        sql_script_free(&schema);
                        if (sql_script_parse(tc.schema, &schema, &err) < 0) {
                            char msg[512];
                            sql_error_format(&err, msg, sizeof msg);
                            printf("FAIL  %s: schema: %s\n", tc.name, msg);
                            failures++;
                        }
                    }
                    total++;
                    failures += run_case(&tc, &schema);
                }
                if (n < 0)
                    break;
                case_reset(&tc);
                snprintf(tc.name, sizeof tc.name, "%s: %s", strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a],
                         line + 4);
                have = 1;
                mode = NONE;
                continue;
            }
            if (starts(line, "schema:")) {
                tc.schema = after(line, "schema:");
                mode = NONE;
            } else if (starts(line, "sql:")) {
                tc.sql = after(line, "sql:");
                mode = SQL;
            } else if (starts(line, "snapshot-at:")) {
                tc.snapshot_at = atol(line + 12);
                mode = NONE;
            } else if (starts(line, "input:")) {
                mode = INPUT;
            } else if (starts(line, "expect error:")) {
                tc.expect_error = after(line, "expect error:");
                mode = NONE;
            } else if (starts(line, "expect schema:")) {
                tc.expect_schema = after(line, "expect schema:");
                mode = NONE;
            } else if (starts(line, "expect plan:")) {
                tc.has_plan = 1;
                mode = PLAN;
            } else if (starts(line, "expect:")) {
                tc.has_expect = 1;
                mode = EXPECT;
            } else if (starts(line, "expect changelog:")) {
                tc.has_expect = tc.changelog = 1;
                mode = EXPECT;
            } else if (starts(line, "expect final:")) {
                tc.has_final = 1;
                mode = FINAL;
            } else if (starts(line, "sink: append-only")) {
                tc.append_only = 1;
                mode = NONE;
            } else if (starts(line, "mini-batch:")) {
                tc.minibatch = atoll(line + 11);
                mode = NONE;
            } else if (starts(line, "idle-timeout:")) {
                tc.idle_timeout = atoll(line + 13);
            } else if (starts(line, "state-ttl:")) {
                tc.state_ttl = atoll(line + 10);
                mode = NONE;
            } else if (starts(line, "stats:")) {
                tc.stats = after(line, "stats:");
                mode = NONE;
            } else if (mode == SQL && line[0] != '#') {
                if (!line[0] && !tc.sql[0])
                    continue;
                size_t l = strlen(tc.sql);
                char *s = malloc(l + (size_t)n + 2);
                memcpy(s, tc.sql, l);
                s[l] = '\n';
                memcpy(s + l + (l ? 1 : 0), line, (size_t)n + 1);
                if (!l)
                    memcpy(s, line, (size_t)n + 1);
                free(tc.sql);
                tc.sql = s;
            } else if (line[0] == '#' || line[0] == '\0') {
                continue;
            } else if (mode == INPUT) {
                lines_add(&tc.input, line);
            } else if (mode == EXPECT) {
                lines_add(&tc.expect, line);
            } else if (mode == FINAL) {
                lines_add(&tc.final, line);
            } else if (mode == PLAN) {
                lines_add(&tc.plan, line);
            } else {
                printf("FAIL  %s: unexpected line: %s\n", tc.name, line);
                failures++;
            }
        }
        case_reset(&tc);
        free(tc.input.v);
        free(tc.expect.v);
        free(tc.final.v);
        free(tc.plan.v);
        free(line);
        sql_script_free(&schema);
        fclose(f);
    }
    printf("%d cases, %d failed\n", total, failures);
    return failures ? 1 : 0;
}
