/* log_test.c — unit tests for the embedded log (dataplane/log): framing, segments, recovery of
 * a torn or corrupt tail, truncation, retention, tailing readers, CRC-32C, the writer lock and
 * file ownership. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/log/crc32c.h"
#include "dataplane/log/log.h"
#include "dataplane/log/log_stream.h"
#include "tests/unit/check_main.h"

static char tmpdir[256];
static char err[512];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sluice-log-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static int record_text(int i, char *buf)
{
    /* varying lengths, including empty records */
    int n = sprintf(buf, "record-%d-", i);
    for (int k = 0; k < i % 37; k++)
        buf[n++] = (char)('a' + k % 26);
    return i % 101 == 0 ? 0 : n;
}

static void append_n(struct seglog_writer *w, int from, int to)
{
    char buf[128];
    for (int i = from; i < to; i++) {
        int n = record_text(i, buf);
        uint64_t off;
        ck_assert_int_eq(seglog_writer_append(w, buf, (uint32_t)n, &off, err, sizeof err), 0);
        ck_assert_uint_eq(off, (uint64_t)i);
    }
}

/* Reads every record from offset from and checks each against record_text; returns the count. */
static int check_all(const char *dir, int from)
{
    struct seglog_reader *r;
    ck_assert_msg(seglog_reader_open(dir, (uint64_t)from, &r, err, sizeof err) == 0, "%s", err);
    struct stream_record recs[100];
    int total = 0, got;
    char buf[128];
    while ((got = seglog_reader_read(r, recs, 100, err, sizeof err)) > 0) {
        for (int k = 0; k < got; k++) {
            int i = from + total + k;
            int n = record_text(i, buf);
            ck_assert_uint_eq(recs[k].offset, (uint64_t)i);
            ck_assert_uint_eq(recs[k].len, (uint32_t)n);
            ck_assert(memcmp(recs[k].data, buf, (size_t)n) == 0);
        }
        total += got;
    }
    ck_assert_msg(got == 0, "%s", err);
    seglog_reader_close(r);
    return total;
}

START_TEST(test_crc32c_vectors)
{
    ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(crc32c_portable(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(crc32c(0, "", 0), 0);
    unsigned char data[1000];
    for (int i = 0; i < 1000; i++)
        data[i] = (unsigned char)(i * 131 + 7);
    for (size_t n = 0; n < 1000; n += 37)
        ck_assert_uint_eq(crc32c(0, data, n), crc32c_portable(0, data, n));
    /* incremental equals one-shot */
    ck_assert_uint_eq(crc32c(crc32c(0, data, 300), data + 300, 700), crc32c(0, data, 1000));
}
END_TEST

START_TEST(test_append_read_across_segments)
{
    struct seglog_options opt = {.segment_bytes = 4096};
    struct seglog_writer *w;
    ck_assert_msg(seglog_writer_open(tmpdir, &opt, &w, err, sizeof err) == 0, "%s", err);
    append_n(w, 0, 3000);
    ck_assert_int_eq(seglog_writer_flush(w, true, err, sizeof err), 0);
    ck_assert_uint_eq(seglog_writer_end_offset(w), 3000);
    seglog_writer_close(w);
    /* many segment files, named by base offset */
    char path[512];
    snprintf(path, sizeof path, "%s/00000000000000000000.log", tmpdir);
    ck_assert_int_eq(access(path, F_OK), 0);
    ck_assert_int_eq(check_all(tmpdir, 0), 3000);
    ck_assert_int_eq(check_all(tmpdir, 1234), 3000 - 1234);
    ck_assert_int_eq(check_all(tmpdir, 3000), 0);
    uint64_t end;
    ck_assert_int_eq(seglog_partition_end_offset(tmpdir, &end, err, sizeof err), 0);
    ck_assert_uint_eq(end, 3000);
    /* reopen and keep appending */
    ck_assert_int_eq(seglog_writer_open(tmpdir, &opt, &w, err, sizeof err), 0);
    ck_assert_uint_eq(seglog_writer_end_offset(w), 3000);
    ck_assert_uint_eq(seglog_writer_recovered_bytes(w), 0);
    append_n(w, 3000, 3100);
    seglog_writer_close(w);
    ck_assert_int_eq(check_all(tmpdir, 0), 3100);
    /* past the end is an error */
    struct seglog_reader *r;
    ck_assert_int_eq(seglog_reader_open(tmpdir, 5000, &r, err, sizeof err), -1);
    ck_assert(strstr(err, "past the end") != NULL);
}
END_TEST

static void last_segment(char *path, size_t size)
{
    uint64_t end;
    ck_assert_int_eq(seglog_partition_end_offset(tmpdir, &end, err, sizeof err), 0);
    /* the test logs use one segment */
    snprintf(path, size, "%s/00000000000000000000.log", tmpdir);
}

START_TEST(test_torn_tail_recovers)
{
    struct seglog_writer *w;
    ck_assert_int_eq(seglog_writer_open(tmpdir, NULL, &w, err, sizeof err), 0);
    append_n(w, 0, 500);
    seglog_writer_close(w);
    char path[512];
    last_segment(path, sizeof path);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    /* cut the last record in half: a crash in the middle of a write */
    ck_assert_int_eq(truncate(path, st.st_size - 5), 0);
    ck_assert_int_eq(check_all(tmpdir, 0), 499); /* readers stop before the torn record */
    ck_assert_int_eq(seglog_writer_open(tmpdir, NULL, &w, err, sizeof err), 0);
    ck_assert_uint_eq(seglog_writer_end_offset(w), 499);
    ck_assert_uint_gt(seglog_writer_recovered_bytes(w), 0);
    append_n(w, 499, 600);
    seglog_writer_close(w);
    ck_assert_int_eq(check_all(tmpdir, 0), 600);
}
END_TEST

START_TEST(test_garbled_tail_recovers)
{
    struct seglog_writer *w;
    ck_assert_int_eq(seglog_writer_open(tmpdir, NULL, &w, err, sizeof err), 0);
    append_n(w, 0, 200);
    seglog_writer_close(w);
    char path[512];
    last_segment(path, sizeof path);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, "\xff", 1, st.st_size - 2), 1); /* flip a payload byte */
    /* and add garbage after it: a half-written header */
    ck_assert_int_eq(pwrite(fd, "\x10\x00", 2, st.st_size), 2);
    close(fd);
    /* a reader sees the corruption */
    struct seglog_reader *r;
    struct stream_record recs[300];
    ck_assert_int_eq(seglog_reader_open(tmpdir, 0, &r, err, sizeof err), 0);
    ck_assert_int_eq(seglog_reader_read(r, recs, 300, err, sizeof err), 199);
    ck_assert_int_eq(seglog_reader_read(r, recs, 300, err, sizeof err), -1);
    ck_assert(strstr(err, "checksum") != NULL);
    seglog_reader_close(r);
    /* recovery drops the corrupt last record and the garbage */
    ck_assert_int_eq(seglog_writer_open(tmpdir, NULL, &w, err, sizeof err), 0);
    ck_assert_uint_eq(seglog_writer_end_offset(w), 199);
    append_n(w, 199, 250);
    seglog_writer_close(w);
    ck_assert_int_eq(check_all(tmpdir, 0), 250);
}
END_TEST

/* Counting a segment's records checks the checksums of its last megabyte only: a torn or
 * garbled tail still ends the count where it begins; a corrupt record before the tail is
 * counted, and the reader that reaches it reports it (nothing is skipped silently). */
START_TEST(test_end_offset_checks_the_tail)
{
    struct seglog_writer *w;
    ck_assert_int_eq(seglog_writer_open(tmpdir, NULL, &w, err, sizeof err), 0);
    append_n(w, 0, 60000); /* about 2.3 MB: more than the checked tail */
    seglog_writer_close(w);
    char path[512];
    last_segment(path, sizeof path);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_gt(st.st_size, 2 << 20);
    uint64_t end;
    ck_assert_int_eq(truncate(path, st.st_size - 3), 0); /* torn */
    ck_assert_int_eq(seglog_partition_end_offset(tmpdir, &end, err, sizeof err), 0);
    ck_assert_uint_eq(end, 59999);
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, "\xff", 1, st.st_size - 100), 1); /* garbled, in the tail */
    ck_assert_int_eq(seglog_partition_end_offset(tmpdir, &end, err, sizeof err), 0);
    ck_assert_uint_lt(end, 59999);
    ck_assert_uint_gt(end, 59990);
    ck_assert_int_eq(pwrite(fd, "\xff", 1, 20), 1); /* the payload of record 1 (record 0 is empty) */
    close(fd);
    ck_assert_int_eq(truncate(path, st.st_size - 3), 0); /* only the torn tail again */
    ck_assert_int_eq(seglog_partition_end_offset(tmpdir, &end, err, sizeof err), 0);
    ck_assert_uint_lt(end, 59999); /* the garbled record in the tail still ends the count */
    struct seglog_reader *r;
    ck_assert_int_eq(seglog_reader_open(tmpdir, 0, &r, err, sizeof err), 0);
    ck_assert_int_eq(seglog_reader_end_offset(r, &end, err, sizeof err), 0);
    ck_assert_uint_gt(end, 59990); /* record 1 is not checked by the count */
    struct stream_record recs[8];
    ck_assert_int_eq(seglog_reader_read(r, recs, 8, err, sizeof err), 1);
    ck_assert_int_eq(seglog_reader_read(r, recs, 8, err, sizeof err), -1);
    ck_assert(strstr(err, "corrupt record at offset 1") != NULL);
    seglog_reader_close(r);
}
END_TEST

START_TEST(test_truncate_across_segments)
{
    struct seglog_options opt = {.segment_bytes = 2048};
    struct seglog_writer *w;
    ck_assert_int_eq(seglog_writer_open(tmpdir, &opt, &w, err, sizeof err), 0);
    append_n(w, 0, 1000);
    ck_assert_int_eq(seglog_writer_truncate(w, 2000, err, sizeof err), -1);
    ck_assert_int_eq(seglog_writer_truncate(w, 417, err, sizeof err), 0);
    ck_assert_uint_eq(seglog_writer_end_offset(w), 417);
    append_n(w, 417, 450);
    seglog_writer_close(w);
    ck_assert_int_eq(check_all(tmpdir, 0), 450);
    ck_assert_int_eq(seglog_writer_open(tmpdir, &opt, &w, err, sizeof err), 0);
    ck_assert_uint_eq(seglog_writer_end_offset(w), 450);
    ck_assert_int_eq(seglog_writer_truncate(w, 0, err, sizeof err), 0);
    ck_assert_uint_eq(seglog_writer_end_offset(w), 0);
    seglog_writer_close(w);
    ck_assert_int_eq(check_all(tmpdir, 0), 0);
}
END_TEST

START_TEST(test_retention_by_size_and_age)
{
    struct seglog_options opt = {.segment_bytes = 1024, .retention_bytes = 4096};
    struct seglog_writer *w;
    ck_assert_int_eq(seglog_writer_open(tmpdir, &opt, &w, err, sizeof err), 0);
    append_n(w, 0, 2000);
    ck_assert_int_eq(seglog_writer_flush(w, false, err, sizeof err), 0);
    uint64_t start = seglog_writer_start_offset(w);
    ck_assert_uint_gt(start, 0);
    ck_assert_uint_lt(start, 2000);
    /* what is left reads back from the start offset; older offsets are gone */
    ck_assert_int_eq(check_all(tmpdir, (int)start), 2000 - (int)start);
    struct seglog_reader *r;
    ck_assert_int_eq(seglog_reader_open(tmpdir, 0, &r, err, sizeof err), -1);
    ck_assert(strstr(err, "retention") != NULL);
    seglog_writer_close(w);
    /* by age: everything but the active segment is older than 1 ms an hour from now */
    struct seglog_options opt2 = {.segment_bytes = 1024, .retention_ms = 1};
    ck_assert_int_eq(seglog_writer_open(tmpdir, &opt2, &w, err, sizeof err), 0);
    ck_assert_int_eq(seglog_writer_enforce_retention(w, (int64_t)time(NULL) * 1000 + 3600000, err, sizeof err), 0);
    uint64_t start2 = seglog_writer_start_offset(w);
    ck_assert_uint_gt(start2, start);
    ck_assert_int_eq(check_all(tmpdir, (int)start2), 2000 - (int)start2);
    seglog_writer_close(w);
}
END_TEST

START_TEST(test_tailing_reader)
{
    struct seglog_writer *w;
    ck_assert_int_eq(seglog_writer_open(tmpdir, &(struct seglog_options){.segment_bytes = 512}, &w, err, sizeof err),
                     0);
    struct seglog_reader *r;
    ck_assert_int_eq(seglog_reader_open(tmpdir, 0, &r, err, sizeof err), 0);
    struct stream_record recs[64];
    ck_assert_int_eq(seglog_reader_read(r, recs, 64, err, sizeof err), 0);
    int seen = 0;
    for (int round = 0; round < 20; round++) {
        append_n(w, round * 10, round * 10 + 10);
        /* buffered appends are not visible until flushed */
        if (round == 0)
            ck_assert_int_eq(seglog_reader_read(r, recs, 64, err, sizeof err), 0);
        ck_assert_int_eq(seglog_writer_flush(w, false, err, sizeof err), 0);
        uint64_t end;
        ck_assert_int_eq(seglog_reader_end_offset(r, &end, err, sizeof err), 0);
        ck_assert_uint_eq(end, (uint64_t)(round * 10 + 10)); /* counted incrementally, across rolls */
        int got;
        while ((got = seglog_reader_read(r, recs, 64, err, sizeof err)) > 0) {
            for (int k = 0; k < got; k++)
                ck_assert_uint_eq(recs[k].offset, (uint64_t)(seen + k));
            seen += got;
        }
        ck_assert_int_eq(got, 0);
        ck_assert_int_eq(seen, round * 10 + 10);
    }
    ck_assert_uint_eq(seglog_reader_position(r), 200);
    uint64_t end;
    ck_assert_int_eq(seglog_writer_truncate(w, 150, err, sizeof err), 0);
    ck_assert_int_eq(seglog_reader_end_offset(r, &end, err, sizeof err), 0);
    ck_assert_uint_eq(end, 150);
    seglog_reader_close(r);
    seglog_writer_close(w);
}
END_TEST

/* Reads what a committed-only reader returns now; returns the count (offsets checked). */
static int read_committed(struct seglog_reader *r, int *seen)
{
    struct stream_record recs[64];
    int got, total = 0;
    while ((got = seglog_reader_read(r, recs, 64, err, sizeof err)) > 0) {
        for (int k = 0; k < got; k++)
            ck_assert_uint_eq(recs[k].offset, (uint64_t)(*seen + k));
        *seen += got;
        total += got;
    }
    ck_assert_msg(got == 0, "%s", err);
    return total;
}

/* Read-committed: a checkpointing writer's records reach committed-only readers only when
 * committed; plain readers see everything; truncating below the commit lowers it; a writer
 * that does not hold commits publishes each flush once the file exists. */
START_TEST(test_read_committed)
{
    struct seglog_writer *w;
    ck_assert_int_eq(seglog_writer_open(tmpdir, &(struct seglog_options){.segment_bytes = 512}, &w, err, sizeof err),
                     0);
    seglog_writer_hold_commits(w);
    struct seglog_reader *r, *plain;
    ck_assert_int_eq(seglog_reader_open(tmpdir, 0, &r, err, sizeof err), 0);
    seglog_reader_committed_only(r);
    int seen = 0;
    append_n(w, 0, 50);
    ck_assert_int_eq(seglog_writer_flush(w, true, err, sizeof err), 0);
    /* no commit file yet: the partition reads to its end (a log no checkpointing writer owns) */
    ck_assert_int_eq(read_committed(r, &seen), 50);
    ck_assert_int_eq(seglog_writer_commit(w, 50, err, sizeof err), 0);
    append_n(w, 50, 120);
    ck_assert_int_eq(seglog_writer_flush(w, true, err, sizeof err), 0);
    uint64_t end;
    ck_assert_int_eq(seglog_reader_end_offset(r, &end, err, sizeof err), 0);
    ck_assert_uint_eq(end, 50); /* held back */
    ck_assert_int_eq(read_committed(r, &seen), 0);
    ck_assert_int_eq(check_all(tmpdir, 0), 120); /* plain readers see all */
    ck_assert_int_eq(seglog_writer_commit(w, 100, err, sizeof err), 0);
    ck_assert_int_eq(read_committed(r, &seen), 50);
    ck_assert_int_eq(seen, 100);
    ck_assert_int_eq(seglog_writer_commit(w, 121, err, sizeof err), -1); /* past the end */
    /* a crash after 100: the restart truncates back to the checkpoint and writes again */
    ck_assert_int_eq(seglog_writer_truncate(w, 100, err, sizeof err), 0);
    append_n(w, 100, 110);
    ck_assert_int_eq(seglog_writer_flush(w, true, err, sizeof err), 0);
    ck_assert_int_eq(read_committed(r, &seen), 0);
    ck_assert_int_eq(seglog_writer_commit(w, 110, err, sizeof err), 0);
    ck_assert_int_eq(read_committed(r, &seen), 10);
    /* truncating below the committed end lowers it */
    ck_assert_int_eq(seglog_writer_truncate(w, 80, err, sizeof err), 0);
    ck_assert_int_eq(seglog_reader_open(tmpdir, 0, &plain, err, sizeof err), 0);
    seglog_reader_committed_only(plain);
    int from0 = 0;
    ck_assert_int_eq(read_committed(plain, &from0), 80);
    seglog_reader_close(plain);
    seglog_writer_close(w);
    /* a writer that does not hold commits (HTTP ingest) publishes what each flush wrote */
    ck_assert_int_eq(seglog_writer_open(tmpdir, NULL, &w, err, sizeof err), 0);
    append_n(w, 80, 90);
    ck_assert_int_eq(read_committed(r, &seen), 0); /* r is at 110, past the new end: nothing */
    ck_assert_int_eq(seglog_writer_flush(w, false, err, sizeof err), 0);
    ck_assert_int_eq(seglog_reader_open(tmpdir, 0, &plain, err, sizeof err), 0);
    seglog_reader_committed_only(plain);
    from0 = 0;
    ck_assert_int_eq(read_committed(plain, &from0), 90);
    seglog_reader_close(plain);
    seglog_reader_close(r);
    seglog_writer_close(w);
}
END_TEST

START_TEST(test_large_records_and_limits)
{
    struct seglog_writer *w;
    ck_assert_int_eq(seglog_writer_open(tmpdir, NULL, &w, err, sizeof err), 0);
    size_t big = 3u << 20; /* larger than the read and write buffers */
    char *data = malloc(big);
    for (size_t i = 0; i < big; i++)
        data[i] = (char)(i * 7);
    ck_assert_int_eq(seglog_writer_append(w, "small", 5, NULL, err, sizeof err), 0);
    ck_assert_int_eq(seglog_writer_append(w, data, (uint32_t)big, NULL, err, sizeof err), 0);
    ck_assert_int_eq(seglog_writer_append(w, "after", 5, NULL, err, sizeof err), 0);
    ck_assert_int_eq(seglog_writer_append(w, data, LOG_MAX_RECORD + 1, NULL, err, sizeof err), -1);
    ck_assert(strstr(err, "larger than the limit") != NULL);
    seglog_writer_close(w);
    struct seglog_reader *r;
    struct stream_record rec;
    ck_assert_int_eq(seglog_reader_open(tmpdir, 0, &r, err, sizeof err), 0);
    ck_assert_int_eq(seglog_reader_read(r, &rec, 1, err, sizeof err), 1);
    ck_assert(rec.len == 5 && memcmp(rec.data, "small", 5) == 0);
    ck_assert_int_eq(seglog_reader_read(r, &rec, 1, err, sizeof err), 1);
    ck_assert(rec.offset == 1 && rec.len == big && memcmp(rec.data, data, big) == 0);
    ck_assert_int_eq(seglog_reader_read(r, &rec, 1, err, sizeof err), 1);
    ck_assert(rec.offset == 2 && rec.len == 5 && memcmp(rec.data, "after", 5) == 0);
    ck_assert_int_eq(seglog_reader_read(r, &rec, 1, err, sizeof err), 0);
    seglog_reader_close(r);
    free(data);
}
END_TEST

START_TEST(test_stream_backend_options_and_partitions)
{
    const struct stream_backend *b = stream_backend_find("log");
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(stream_backend_find("nope"));
    int n;
    char loc[300];
    snprintf(loc, sizeof loc, "%s/s", tmpdir);
    ck_assert_int_eq(b->partitions(loc, 0, NULL, 0, &n, err, sizeof err), -1);
    ck_assert_int_eq(b->partitions(loc, 3, NULL, 0, &n, err, sizeof err), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(b->partitions(loc, 0, NULL, 0, &n, err, sizeof err), 0);
    ck_assert_int_eq(n, 3);
    struct stream_property bad[] = {{"fsync.records", "-3"}};
    void *w;
    ck_assert_int_eq(b->open_writer(loc, 1, bad, 1, &w, err, sizeof err), -1);
    ck_assert(strstr(err, "fsync.records") != NULL);
    struct stream_property good[] = {{"fsync.records", "2"}, {"segment.bytes", "100"}, {"connector", "log"}};
    ck_assert_msg(b->open_writer(loc, 1, good, 3, &w, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(b->append(w, "0123456789", 10, err, sizeof err), 0);
    ck_assert_uint_eq(b->writer_end_offset(w), 10);
    /* fsync every 2 records wrote them out without an explicit flush */
    void *r;
    struct stream_record recs[20];
    ck_assert_int_eq(b->open_reader(loc, 1, 3, NULL, 0, &r, err, sizeof err), 0);
    int got = 0, k;
    while ((k = b->read(r, recs, 20, err, sizeof err)) > 0)
        got += k;
    ck_assert_int_eq(got, 6); /* the 10th append is still buffered (fsync after the 9th) */
    ck_assert_int_eq(b->flush(w, false, err, sizeof err), 0);
    ck_assert_int_eq(b->read(r, recs, 20, err, sizeof err), 1);
    uint64_t end;
    ck_assert_int_eq(b->end_offset(r, &end, err, sizeof err), 0);
    ck_assert_uint_eq(end, 10);
    b->close_reader(r);
    b->close_writer(w);
}
END_TEST

/* One writer per partition: a second writer (here, or in another process) is refused with
 * LOG_WRITER_BUSY while the first is open, and allowed once it is closed. Readers need no lock. */
START_TEST(test_writer_lock)
{
    struct seglog_writer *w1, *w2 = NULL;
    ck_assert_msg(seglog_writer_open(tmpdir, NULL, &w1, err, sizeof err) == 0, "%s", err);
    append_n(w1, 0, 3);
    ck_assert_int_eq(seglog_writer_flush(w1, false, err, sizeof err), 0);
    err[0] = '\0';
    ck_assert_int_eq(seglog_writer_open(tmpdir, NULL, &w2, err, sizeof err), LOG_WRITER_BUSY);
    ck_assert_ptr_null(w2);
    ck_assert_msg(strstr(err, "another writer") != NULL, "%s", err);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        struct seglog_writer *w3;
        _exit(seglog_writer_open(tmpdir, NULL, &w3, err, sizeof err) == LOG_WRITER_BUSY ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "another process was not refused");
    ck_assert_int_eq(check_all(tmpdir, 0), 3); /* reading while a writer holds the lock */
    seglog_writer_close(w1);
    ck_assert_msg(seglog_writer_open(tmpdir, NULL, &w2, err, sizeof err) == 0, "%s", err);
    append_n(w2, 3, 5);
    seglog_writer_close(w2);
    ck_assert_int_eq(check_all(tmpdir, 0), 5);
}
END_TEST

/* As root, what the writer creates under a directory someone else owns becomes theirs. */
START_TEST(test_writer_gives_files_the_directory_owner)
{
    if (geteuid() != 0)
        return; /* only root can give files away */
    char parent[300], dir[400], path[500];
    snprintf(parent, sizeof parent, "%s/stream", tmpdir);
    snprintf(dir, sizeof dir, "%s/0", parent);
    ck_assert_int_eq(mkdir(parent, 0700), 0);
    ck_assert_int_eq(chown(parent, 4242, 4343), 0);
    struct seglog_writer *w;
    ck_assert_msg(seglog_writer_open(dir, NULL, &w, err, sizeof err) == 0, "%s", err);
    append_n(w, 0, 1);
    seglog_writer_close(w);
    const char *names[] = {"", "/" LOG_LOCK_FILE, "/00000000000000000000.log"};
    for (int i = 0; i < 3; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s%s", dir, names[i]);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_msg(st.st_uid == 4242 && st.st_gid == 4343, "%s owned by %d:%d", path, (int)st.st_uid,
                      (int)st.st_gid);
    }
}
END_TEST

/* Row kinds: +I rows are stored as they are (so old logs read as +I), others with their
 * two-byte prefix; readers return the kind and the row without it. */
START_TEST(test_row_kinds)
{
    struct seglog_writer *w;
    ck_assert_int_eq(seglog_writer_open(tmpdir, NULL, &w, err, sizeof err), 0);
    const char *rows[] = {"{\"k\":1}", "{\"k\":2}", "{\"k\":3}", "{\"k\":4}", "{\"k\":5}"};
    enum row_kind kinds[] = {ROW_INSERT, ROW_UPDATE_BEFORE, ROW_UPDATE_AFTER, ROW_DELETE, ROW_INSERT};
    ck_assert_int_eq(seglog_writer_append(w, rows[0], 7, NULL, err, sizeof err), 0); /* as before kinds */
    for (int i = 1; i < 5; i++)
        ck_assert_int_eq(seglog_writer_append_kind(w, kinds[i], rows[i], 7, NULL, err, sizeof err), 0);
    /* what is not a kind's prefix is a row of its own: +I */
    ck_assert_int_eq(seglog_writer_append(w, "-X{}", 4, NULL, err, sizeof err), 0);
    ck_assert_int_eq(seglog_writer_append(w, "-", 1, NULL, err, sizeof err), 0);
    /* a +I record that looks prefixed (not JSON) reads back as it was */
    ck_assert_int_eq(seglog_writer_append_kind(w, ROW_INSERT, "-Dx", 3, NULL, err, sizeof err), 0);
    seglog_writer_close(w);
    /* on disk: the -D record's payload begins with "-D" */
    char path[400];
    snprintf(path, sizeof path, "%s/00000000000000000000.log", tmpdir);
    FILE *f = fopen(path, "rb");
    char disk[256];
    size_t n = fread(disk, 1, sizeof disk, f);
    fclose(f);
    ck_assert(memmem(disk, n, "-D{\"k\":4}", 9) != NULL);
    ck_assert(memmem(disk, n, "+I-Dx", 5) != NULL);
    struct seglog_reader *r;
    struct stream_record recs[10];
    ck_assert_int_eq(seglog_reader_open(tmpdir, 0, &r, err, sizeof err), 0);
    ck_assert_int_eq(seglog_reader_read(r, recs, 10, err, sizeof err), 8);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(recs[i].kind, kinds[i]);
        ck_assert_uint_eq(recs[i].len, 7);
        ck_assert(memcmp(recs[i].data, rows[i], 7) == 0);
    }
    ck_assert(recs[5].kind == ROW_INSERT && recs[5].len == 4 && memcmp(recs[5].data, "-X{}", 4) == 0);
    ck_assert(recs[6].kind == ROW_INSERT && recs[6].len == 1);
    ck_assert(recs[7].kind == ROW_INSERT && recs[7].len == 3 && memcmp(recs[7].data, "-Dx", 3) == 0);
    seglog_reader_close(r);
}
END_TEST

/* An upsert stream's records: key k, kind, value v. */
struct upsert_rec {
    int k, v;
    enum row_kind kind;
};

static const struct upsert_rec *upsert_nth(int i)
{
    static struct upsert_rec rec;
    rec.k = (i * 7) % 5;
    rec.v = i;
    rec.kind = i % 11 == 10 ? ROW_DELETE : i % 5 == 3 ? ROW_UPDATE_BEFORE : i < 5 ? ROW_INSERT : ROW_UPDATE_AFTER;
    return &rec;
}

/* Segment bases in dir, sorted (read with readdir, not with the log's code). */
static int segment_bases(const char *dir, uint64_t *bases, int max)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep '^[0-9]*\\.log$' | sort", dir);
    FILE *p = popen(cmd, "r");
    int n = 0;
    unsigned long long b;
    while (n < max && fscanf(p, "%llu.log\n", &b) == 1)
        bases[n++] = b;
    pclose(p);
    return n;
}

/* Compaction keeps, in the closed committed segments, the last record of each key (deletes as
 * tombstones, no -U), with its offset; everything after stays; truncate and reopen still work. */
START_TEST(test_upsert_compaction)
{
    const struct stream_backend *b = stream_backend_find("log");
    char loc[300], dir[320];
    snprintf(loc, sizeof loc, "%s/s", tmpdir);
    snprintf(dir, sizeof dir, "%s/0", loc);
    struct field fields[] = {{"k", VT_BIGINT}, {"v", VT_BIGINT}};
    struct schema schema = {fields, 2, -1, 0, {0}, 1, 0};
    struct stream_property props[] = {{"segment.bytes", "300"}};
    int np;
    void *w;
    ck_assert_int_eq(b->partitions(loc, 1, props, 1, &np, err, sizeof err), 0);
    ck_assert_int_eq(b->open_writer(loc, 0, props, 1, &w, err, sizeof err), 0);
    ck_assert_int_eq(b->set_key(w, &schema, err, sizeof err), 0);
    b->hold_commits(w);
    enum { N = 400, COMMIT = 300 };
    char row[64];
    for (int i = 0; i < N; i++) {
        const struct upsert_rec *u = upsert_nth(i);
        int len = snprintf(row, sizeof row, "{\"v\":%d,\"k\":%d}", u->v, u->k);
        ck_assert_int_eq(b->append_kind(w, u->kind, row, (uint32_t)len, err, sizeof err), 0);
        if (i + 1 == COMMIT) {
            ck_assert_int_eq(b->flush(w, true, err, sizeof err), 0);
            /* compacts: nothing is clean yet, so all of the closed, committed part is dirty (the
             * dirty ratio, 1, is past min.cleanable.dirty.ratio) */
            ck_assert_int_eq(b->commit(w, COMMIT, err, sizeof err), 0);
        }
    }
    ck_assert_int_eq(b->flush(w, true, err, sizeof err), 0);
    /* what was compacted: the closed segments wholly before the commit */
    uint64_t bases[64];
    int nseg = segment_bases(dir, bases, 64);
    ck_assert_int_gt(nseg, 5);
    uint64_t boundary = 0;
    for (int i = 0; i + 1 < nseg && bases[i + 1] <= COMMIT; i++)
        boundary = bases[i + 1];
    ck_assert_uint_gt(boundary, 100);
    /* the expected records: below the boundary only the last one per key, unless a -U */
    bool want[N];
    for (int i = 0; i < N; i++) {
        want[i] = true;
        if ((uint64_t)i >= boundary)
            continue;
        for (int j = i + 1; j < (int)boundary; j++)
            if (upsert_nth(j)->k == upsert_nth(i)->k && upsert_nth(j)->kind != ROW_UPDATE_BEFORE)
                want[i] = false;
        if (upsert_nth(i)->kind == ROW_UPDATE_BEFORE)
            want[i] = false;
    }
    struct seglog_reader *r;
    struct stream_record recs[64];
    ck_assert_int_eq(seglog_reader_open(dir, 0, &r, err, sizeof err), 0);
    int next = 0, got, kept = 0;
    while ((got = seglog_reader_read(r, recs, 64, err, sizeof err)) > 0)
        for (int i = 0; i < got; i++, kept++) {
            while (next < N && !want[next])
                next++;
            const struct upsert_rec *u = upsert_nth(next);
            int len = snprintf(row, sizeof row, "{\"v\":%d,\"k\":%d}", u->v, u->k);
            ck_assert_uint_eq(recs[i].offset, (uint64_t)next);
            ck_assert_int_eq(recs[i].kind, u->kind);
            ck_assert(recs[i].len == (uint32_t)len && memcmp(recs[i].data, row, (size_t)len) == 0);
            next++;
        }
    ck_assert_int_eq(got, 0);
    ck_assert_int_eq(next, N);
    ck_assert_int_lt(kept, N - (int)boundary + 10);
    seglog_reader_close(r);
    /* a reader opened at a removed offset starts at the next record kept */
    int removed = 0;
    while (want[removed])
        removed++;
    int after = removed;
    while (!want[after])
        after++;
    ck_assert_int_eq(seglog_reader_open(dir, (uint64_t)removed, &r, err, sizeof err), 0);
    ck_assert_int_eq(seglog_reader_read(r, recs, 1, err, sizeof err), 1);
    ck_assert_uint_eq(recs[0].offset, (uint64_t)after);
    seglog_reader_close(r);
    /* a committed-only reader stops at the commit even when gaps came before it */
    ck_assert_int_eq(seglog_reader_open(dir, 0, &r, err, sizeof err), 0);
    seglog_reader_committed_only(r);
    uint64_t last = 0;
    while ((got = seglog_reader_read(r, recs, 64, err, sizeof err)) > 0)
        last = recs[got - 1].offset;
    ck_assert_uint_eq(last, COMMIT - 1);
    seglog_reader_close(r);
    /* exactly-once recovery: truncate back to the commit, end offsets as before */
    ck_assert_int_eq(b->truncate(w, COMMIT, err, sizeof err), 0);
    ck_assert_uint_eq(b->writer_end_offset(w), COMMIT);
    b->close_writer(w);
    uint64_t end;
    ck_assert_int_eq(seglog_partition_end_offset(dir, &end, err, sizeof err), 0);
    ck_assert_uint_eq(end, COMMIT);
    ck_assert_int_eq(b->open_writer(loc, 0, props, 1, &w, err, sizeof err), 0);
    ck_assert_uint_eq(b->writer_end_offset(w), COMMIT);
    b->close_writer(w);
}
END_TEST

static int count_segments(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strlen(e->d_name) > 4 && strcmp(e->d_name + strlen(e->d_name) - 4, ".log") == 0;
    closedir(d);
    return n;
}

/* Compaction as Kafka's cleaner: it runs only once the dirty part of the closed segments is at
 * least half of them (min.cleanable.dirty.ratio 0.5), so it is deferred between runs, yet the log
 * stays bounded: at most 1 / (1 - 0.5) = 2 times the live set (one record per key, and the gap
 * frames around them and in each emptied segment) plus the active segment, over many rolls;
 * and a reader still sees every key's last record. */
START_TEST(test_compaction_dirty_ratio_bound)
{
    const struct stream_backend *b = stream_backend_find("log");
    char loc[300], dir[320];
    snprintf(loc, sizeof loc, "%s/s", tmpdir);
    snprintf(dir, sizeof dir, "%s/0", loc);
    struct field fields[] = {{"k", VT_BIGINT}, {"v", VT_BIGINT}};
    struct schema schema = {fields, 2, -1, 0, {0}, 1, 0};
    enum { SEGMENT = 300, N = 6000, K = 20 };
    struct stream_property props[] = {{"segment.bytes", "300"}};
    int np;
    void *w;
    ck_assert_int_eq(b->partitions(loc, 1, props, 1, &np, err, sizeof err), 0);
    ck_assert_int_eq(b->open_writer(loc, 0, props, 1, &w, err, sizeof err), 0);
    ck_assert_int_eq(b->set_key(w, &schema, err, sizeof err), 0);
    static uint64_t live[K]; /* bytes of each key's last record frame */
    char row[64];
    uint64_t max_bytes = 0, max_ratio_x100 = 0;
    for (int i = 0; i < N; i++) {
        int k = (i * 7) % K, len = snprintf(row, sizeof row, "{\"v\":%d,\"k\":%d}", i, k);
        enum row_kind kind = i < K ? ROW_INSERT : i % 9 == 4 ? ROW_UPDATE_BEFORE : ROW_UPDATE_AFTER;
        ck_assert_int_eq(b->append_kind(w, kind, row, (uint32_t)len, err, sizeof err), 0);
        if (kind != ROW_UPDATE_BEFORE)
            live[k] = 8 + (uint64_t)len + (kind == ROW_INSERT ? 0 : LOG_KIND_PREFIX);
        if (i % 7 != 0)
            continue;
        ck_assert_int_eq(b->flush(w, false, err, sizeof err), 0);
        uint64_t bytes, live_bytes = 0;
        ck_assert_int_eq(seglog_partition_bytes(dir, &bytes, err, sizeof err), 0);
        int nseg = count_segments(dir);
        for (int j = 0; j < K; j++)
            live_bytes += live[j];
        /* a gap frame may precede each live record, and one fills each emptied segment */
        uint64_t compacted = live_bytes + 16 * (uint64_t)(K + nseg);
        ck_assert_uint_le(bytes, 2 * compacted + SEGMENT + 64);
        if (i > N / 2 && bytes * 100 / compacted > max_ratio_x100)
            max_ratio_x100 = bytes * 100 / compacted;
        if (bytes > max_bytes)
            max_bytes = bytes;
    }
    /* compaction was deferred: the log grew well past its compacted size between runs */
    ck_assert_uint_gt(max_ratio_x100, 150);
    ck_assert_uint_lt(max_bytes, (uint64_t)N * 8); /* far below what was written (~N * 28) */
    ck_assert_int_eq(b->flush(w, true, err, sizeof err), 0);
    b->close_writer(w);
    /* every key's last value is read back, at increasing offsets; in the part compacted (by
     * many runs, before the first -U, which each run removes) only the last record of each key
     * there (a record of the dirty part may supersede it) */
    struct seglog_reader *r;
    struct stream_record recs[64];
    static int seen_k[N], seen_v[N];
    int last_v[K], got, nseen = 0, first_u = N;
    for (int j = 0; j < K; j++)
        last_v[j] = -1;
    ck_assert_int_eq(seglog_reader_open(dir, 0, &r, err, sizeof err), 0);
    while ((got = seglog_reader_read(r, recs, 64, err, sizeof err)) > 0)
        for (int i = 0; i < got; i++) {
            char text[64];
            int v, k;
            ck_assert_uint_lt(recs[i].len, sizeof text);
            memcpy(text, recs[i].data, recs[i].len);
            text[recs[i].len] = '\0';
            ck_assert_int_eq(sscanf(text, "{\"v\":%d,\"k\":%d}", &v, &k), 2);
            ck_assert_uint_eq(recs[i].offset, (uint64_t)v);
            ck_assert(nseen == 0 || v > seen_v[nseen - 1]);
            if (recs[i].kind == ROW_UPDATE_BEFORE) { /* only in the part not compacted yet */
                first_u = v < first_u ? v : first_u;
                continue;
            }
            seen_k[nseen] = k;
            seen_v[nseen++] = v;
            last_v[k] = v;
        }
    ck_assert_int_eq(got, 0);
    seglog_reader_close(r);
    ck_assert_int_gt(first_u, N / 2);
    for (int i = 0; i < nseen && seen_v[i] < first_u - 12; i++) /* a segment holds < 12 records */
        for (int j = i + 1; j < nseen && seen_v[j] < first_u - 12; j++)
            ck_assert_msg(seen_k[j] != seen_k[i], "offset %d of key %d stays after compaction (later %d, first -U %d)",
                          seen_v[i], seen_k[i], seen_v[j], first_u);
    for (int j = 0; j < K; j++) {
        int want = -1;
        for (int i = 0; i < N; i++)
            if ((i * 7) % K == j && !(i >= K && i % 9 == 4))
                want = i;
        ck_assert_int_eq(last_v[j], want);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_crc32c_vectors);
    tcase_add_test(tc, test_append_read_across_segments);
    tcase_add_test(tc, test_torn_tail_recovers);
    tcase_add_test(tc, test_end_offset_checks_the_tail);
    tcase_add_test(tc, test_garbled_tail_recovers);
    tcase_add_test(tc, test_truncate_across_segments);
    tcase_add_test(tc, test_retention_by_size_and_age);
    tcase_add_test(tc, test_tailing_reader);
    tcase_add_test(tc, test_read_committed);
    tcase_add_test(tc, test_large_records_and_limits);
    tcase_add_test(tc, test_stream_backend_options_and_partitions);
    tcase_add_test(tc, test_writer_lock);
    tcase_add_test(tc, test_writer_gives_files_the_directory_owner);
    tcase_add_test(tc, test_row_kinds);
    tcase_add_test(tc, test_upsert_compaction);
    tcase_add_test(tc, test_compaction_dirty_ratio_bound);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
