/* logtool — test and bench helper for embedded-log streams (dataplane/log).
 *
 *   logtool append STREAM_DIR          each stdin line becomes a record of partition 0, as it is
 *                                      (so "-D{...}" is a delete: the log's row-kind prefix)
 *   logtool cat STREAM_DIR             rows of partition 0 as lines on stdout
 *   logtool changelog STREAM_DIR       the same, each with its kind first: "+I {...}"
 *   logtool gen STREAM_DIR KIND N SEED Nexmark records (datagen) into partition 0
 *   logtool read STREAM_DIR            reads every record, prints "records bytes" (raw read speed)
 *   logtool end STREAM_DIR             end offset of partition 0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/connectors/datagen.h"
#include "dataplane/log/log.h"

static char err[1024];

static int die(const char *what)
{
    fprintf(stderr, "logtool: %s: %s\n", what, err);
    return 1;
}

static void partition0(char *buf, size_t size, const char *stream) { snprintf(buf, size, "%s/0", stream); }

static int cmd_append(const char *dir)
{
    struct seglog_writer *w;
    if (seglog_writer_open(dir, NULL, &w, err, sizeof err) != 0)
        return die("open");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            n--;
        if (seglog_writer_append(w, line, (uint32_t)n, NULL, err, sizeof err) != 0)
            return die("append");
    }
    free(line);
    if (seglog_writer_flush(w, true, err, sizeof err) != 0)
        return die("flush");
    seglog_writer_close(w);
    return 0;
}

static int cmd_gen(const char *dir, const char *kind_name, const char *count, const char *seed)
{
    int kind = datagen_kind_from_name(kind_name);
    if (kind < 0) {
        fprintf(stderr, "logtool: unknown kind %s\n", kind_name);
        return 2;
    }
    struct seglog_writer *w;
    if (seglog_writer_open(dir, NULL, &w, err, sizeof err) != 0)
        return die("open");
    uint64_t start = seglog_writer_end_offset(w), n = strtoull(count, NULL, 10), s = strtoull(seed, NULL, 10);
    char buf[DATAGEN_RECORD_MAX];
    for (uint64_t i = start; i < start + n; i++) {
        size_t len = datagen_record((enum datagen_kind)kind, s, i, buf);
        if (seglog_writer_append(w, buf, (uint32_t)len, NULL, err, sizeof err) != 0)
            return die("append");
    }
    if (seglog_writer_flush(w, true, err, sizeof err) != 0)
        return die("flush");
    seglog_writer_close(w);
    return 0;
}

/* cat (print 1), changelog (print 2) or read (count only) */
static int cmd_read(const char *dir, int print)
{
    struct seglog_reader *r;
    if (seglog_reader_open(dir, 0, &r, err, sizeof err) != 0)
        return die("open");
    struct stream_record recs[1024];
    int got;
    uint64_t records = 0, bytes = 0;
    while ((got = seglog_reader_read(r, recs, 1024, err, sizeof err)) > 0) {
        for (int i = 0; i < got; i++) {
            if (print == 2)
                printf("%s ", row_kind_name(recs[i].kind));
            if (print) {
                fwrite(recs[i].data, 1, recs[i].len, stdout);
                putchar('\n');
            }
            bytes += recs[i].len;
        }
        records += (uint64_t)got;
    }
    if (got < 0)
        return die("read");
    seglog_reader_close(r);
    if (!print)
        printf("%llu %llu\n", (unsigned long long)records, (unsigned long long)bytes);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: logtool append|cat|changelog|gen|read|end STREAM_DIR [KIND N SEED]\n");
        return 2;
    }
    char dir[4096];
    partition0(dir, sizeof dir, argv[2]);
    if (strcmp(argv[1], "append") == 0)
        return cmd_append(dir);
    if (strcmp(argv[1], "cat") == 0)
        return cmd_read(dir, 1);
    if (strcmp(argv[1], "changelog") == 0)
        return cmd_read(dir, 2);
    if (strcmp(argv[1], "read") == 0)
        return cmd_read(dir, 0);
    if (strcmp(argv[1], "gen") == 0 && argc == 6)
        return cmd_gen(dir, argv[3], argv[4], argv[5]);
    if (strcmp(argv[1], "end") == 0) {
        uint64_t end;
        if (seglog_partition_end_offset(dir, &end, err, sizeof err) != 0)
            return die("end");
        printf("%llu\n", (unsigned long long)end);
        return 0;
    }
    fprintf(stderr, "logtool: unknown command %s\n", argv[1]);
    return 2;
}
