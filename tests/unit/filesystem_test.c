/* filesystem_test.c — unit tests for the filesystem connector's pieces: CSV splitting and its
 * JSON, CSV fields from JSON values, a tenant's paths (common/fs), and the sink's commit
 * protocol (hidden part files, committed by a checkpoint, rolled back by a restart). */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "common/fs.h"
#include "dataplane/codec/csv.h"
#include "dataplane/connectors/filesystem.h"

static const struct csv_dialect comma = {',', '"'};

/* Splits text (whole, at its end) and returns the record's JSON for schema id BIGINT, name
 * STRING, ok BOOLEAN; or the error into err. */
static int split_json(const char *text, char *out, size_t outlen, char *err, size_t errlen)
{
    static struct field fields[] = {
        {.name = "id", .type = VT_BIGINT}, {.name = "name", .type = VT_STRING}, {.name = "ok", .type = VT_BOOLEAN}};
    struct schema s = {.fields = fields, .nfields = 3};
    struct csv_field f[8];
    int n = 0, lines = 0;
    size_t used = 0;
    if (csv_split(&comma, text, strlen(text), true, f, 8, &n, &used, &lines, err, errlen) != 1)
        return -1;
    struct json_buf b = {0};
    int rc = csv_to_json(&comma, &s, f, n, &b, err, errlen);
    if (rc == 0)
        snprintf(out, outlen, "%.*s", (int)b.len, b.data);
    json_buf_free(&b);
    return rc;
}

START_TEST(test_csv_split)
{
    char out[300], err[200];
    ck_assert_int_eq(split_json("1,pear,true\n", out, sizeof out, err, sizeof err), 0);
    ck_assert_str_eq(out, "{\"id\":1,\"name\":\"pear\",\"ok\":true}");
    ck_assert_int_eq(split_json("2,\"a, \"\"b\"\"\nc\",FALSE", out, sizeof out, err, sizeof err), 0);
    ck_assert_str_eq(out, "{\"id\":2,\"name\":\"a, \\\"b\\\"\\nc\",\"ok\":false}");
    ck_assert_int_eq(split_json(",,\r\n", out, sizeof out, err, sizeof err), 0);
    ck_assert_str_eq(out, "{\"id\":null,\"name\":\"\",\"ok\":null}"); /* empty: null, but a string */
    ck_assert_int_eq(split_json("x,a,true", out, sizeof out, err, sizeof err), -1);
    ck_assert_str_eq(err, "column \"id\": \"x\" is not a number");
    ck_assert_int_eq(split_json("1,a,maybe", out, sizeof out, err, sizeof err), -1);
    ck_assert_str_eq(err, "column \"ok\": \"maybe\" is not true or false");
    ck_assert_int_eq(split_json("1,a", out, sizeof out, err, sizeof err), -1);
    ck_assert_str_eq(err, "the line has 2 fields, the table 3 columns");
    ck_assert_int_eq(split_json("007,a,true", out, sizeof out, err, sizeof err), -1); /* no JSON number */

    /* incomplete records wait for more input; malformed ones skip their line */
    struct csv_field f[4];
    int n = 0, lines = 0;
    size_t used = 0;
    const char *open_quote = "1,\"still open\n";
    ck_assert_int_eq(csv_split(&comma, open_quote, strlen(open_quote), false, f, 4, &n, &used, &lines, err, 200), 0);
    ck_assert_int_eq(csv_split(&comma, "1,2", 3, false, f, 4, &n, &used, &lines, err, 200), 0);
    const char *after = "1,\"q\"x,3\n4,5,6\n";
    ck_assert_int_eq(csv_split(&comma, after, strlen(after), false, f, 4, &n, &used, &lines, err, 200), -1);
    ck_assert_str_eq(err, "text after the closing quote of field 2");
    ck_assert_int_eq(used, 9); /* the bad line, then the next record */
    const char *wide = "1,2,3,4,5\n";
    ck_assert_int_eq(csv_split(&comma, wide, strlen(wide), true, f, 4, &n, &used, &lines, err, 200), -1);
    ck_assert_int_eq(used, strlen(wide));
    const char *multi = "\"a\nb\",c\nnext";
    ck_assert_int_eq(csv_split(&comma, multi, strlen(multi), false, f, 4, &n, &used, &lines, err, 200), 1);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(lines, 2);
    ck_assert_int_eq(used, 8);
    ck_assert(csv_blank(f, 0) == false);
}
END_TEST

START_TEST(test_csv_put_value)
{
    struct json_buf b = {0};
    json_t *v = json_loads("[\"plain\",\"a,b\",\"say \\\"hi\\\"\",\" pad\",12,1.5,true,null]", 0, NULL);
    for (size_t i = 0; i < json_array_size(v); i++) {
        if (i)
            b.data[b.len++] = '|';
        ck_assert_int_eq(csv_put_value(&comma, json_array_get(v, i), &b), 0);
        json_buf_reserve(&b, 1);
    }
    ck_assert_str_eq((b.data[b.len] = '\0', b.data), "plain|\"a,b\"|\"say \"\"hi\"\"\"|\" pad\"|12|1.5|true|");
    json_decref(v);
    json_buf_free(&b);
}
END_TEST

START_TEST(test_path_inside)
{
    char rel[256], err[300];
    const char *root = "/data/tenants/t1/files";
    ck_assert_int_eq(fs_path_inside(root, "in/a.csv", rel, sizeof rel, err, sizeof err), 0);
    ck_assert_str_eq(rel, "in/a.csv");
    ck_assert_int_eq(fs_path_inside(root, "file:///data/tenants/t1/files/in/", rel, sizeof rel, err, sizeof err), 0);
    ck_assert_str_eq(rel, "in");
    ck_assert_int_eq(fs_path_inside(root, "/data/tenants/t1/files", rel, sizeof rel, err, sizeof err), 0);
    ck_assert_str_eq(rel, ".");
    ck_assert_int_eq(fs_path_inside(root, "a/../../b", rel, sizeof rel, err, sizeof err), -1);
    ck_assert_str_eq(err, "path \"a/../../b\" may not contain \"..\"");
    ck_assert_int_eq(fs_path_inside(root, "..", rel, sizeof rel, err, sizeof err), -1);
    ck_assert_int_eq(fs_path_inside(root, "/data/tenants/t1/filesx/a", rel, sizeof rel, err, sizeof err), -1);
    ck_assert_int_eq(fs_path_inside(root, "/etc/passwd", rel, sizeof rel, err, sizeof err), -1);
    ck_assert_int_eq(fs_path_inside(root, "a..b/c", rel, sizeof rel, err, sizeof err), 0); /* not a ".." */
}
END_TEST

/* fs_open_dir_below refuses a symlink at any depth below the root and makes what is missing;
 * fs_remove_tree removes a symlink it meets, never what it leads to. */
START_TEST(test_dirs_below_without_symlinks)
{
    char root[] = "/tmp/fs_below_XXXXXX", outside[] = "/tmp/fs_outside_XXXXXX", path[256], err[512];
    ck_assert_ptr_nonnull(mkdtemp(root));
    ck_assert_ptr_nonnull(mkdtemp(outside));
    snprintf(path, sizeof path, "%s/keep", outside);
    close(open(path, O_WRONLY | O_CREAT, 0600));
    int fd = fs_open_dir_below(root, "t/streams/s/0", true, err, sizeof err);
    ck_assert_msg(fd >= 0, "%s", err);
    close(fd);
    ck_assert_int_eq(fs_open_dir_below(root, "t/streams/s/1", false, err, sizeof err), -1); /* not made */
    snprintf(path, sizeof path, "%s/t/streams/s/1", root);
    ck_assert_int_eq(symlink(outside, path), 0);
    ck_assert_int_eq(fs_open_dir_below(root, "t/streams/s/1", true, err, sizeof err), -1); /* the last one */
    ck_assert_msg(strstr(err, "refused") != NULL, "%s", err);
    snprintf(path, sizeof path, "%s/t/link", root);
    ck_assert_int_eq(symlink(outside, path), 0);
    ck_assert_int_eq(fs_open_dir_below(root, "t/link/x", true, err, sizeof err), -1); /* one in between */
    ck_assert_int_eq(fs_open_dir_below(root, "t/../t", true, err, sizeof err), -1);
    snprintf(path, sizeof path, "%s/x", outside);
    ck_assert_int_eq(access(path, F_OK), -1); /* nothing was made outside */
    ck_assert_int_eq(fs_remove_tree(root), 0);
    ck_assert_int_eq(access(root, F_OK), -1);
    snprintf(path, sizeof path, "%s/keep", outside);
    ck_assert_int_eq(access(path, F_OK), 0); /* what the symlinks led to is still there */
    ck_assert_int_eq(fs_remove_tree(outside), 0);
}
END_TEST

/* ---------------------------------------------------------------- the sink's commits */

static char dir[64];

static int count_files(const char *prefix)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

static void *open_sink(void)
{
    const char *schema = "{\"fields\":[{\"name\":\"id\",\"type\":\"BIGINT\"}]}";
    struct stream_property props[] = {
        {"connector", "filesystem"}, {"path", dir}, {"format", "csv"}, {"__schema", schema}};
    void *w = NULL;
    char err[300];
    ck_assert_msg(filesystem_stream_backend.open_writer(dir, 0, props, 4, &w, err, sizeof err) == 0, "%s", err);
    filesystem_stream_backend.hold_commits(w);
    return w;
}

static void append(void *w, int from, int to)
{
    char row[64], err[300];
    for (int i = from; i < to; i++) {
        int n = snprintf(row, sizeof row, "{\"id\":%d}", i);
        ck_assert_int_eq(filesystem_stream_backend.append(w, row, (uint32_t)n, err, sizeof err), 0);
    }
}

START_TEST(test_sink_commits)
{
    snprintf(dir, sizeof dir, "/tmp/fs_test_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char err[300];
    void *w = open_sink();
    append(w, 0, 10);
    ck_assert_int_eq(count_files(".part-0-0.inprogress"), 1);
    ck_assert_int_eq(filesystem_stream_backend.flush(w, true, err, sizeof err), 0); /* a checkpoint's */
    ck_assert_int_eq(count_files(".part-0-0-10.pending"), 1);
    ck_assert_int_eq(filesystem_stream_backend.writer_end_offset(w), 10);
    ck_assert_int_eq(filesystem_stream_backend.commit(w, 10, err, sizeof err), 0);
    ck_assert_int_eq(count_files("part-0-0-10.csv"), 1);
    append(w, 10, 15);
    ck_assert_int_eq(filesystem_stream_backend.flush(w, true, err, sizeof err), 0);
    append(w, 15, 18); /* after the checkpoint at 15, which is written but not committed: a crash */
    filesystem_stream_backend.close_writer(w);
    ck_assert_int_eq(count_files(".part-0-10-15.pending"), 1);
    ck_assert_int_eq(count_files(".part-0-15.inprogress"), 1);

    /* the restart from the checkpoint at 15 commits what it covers and drops the rest */
    w = open_sink();
    ck_assert_int_eq(filesystem_stream_backend.writer_end_offset(w), 10);
    ck_assert_int_eq(filesystem_stream_backend.truncate(w, 15, err, sizeof err), 0);
    ck_assert_int_eq(count_files("part-0-10-15.csv"), 1);
    ck_assert_int_eq(count_files("."), 2); /* . and .. : no hidden file left */
    ck_assert_int_eq(filesystem_stream_backend.writer_end_offset(w), 15);
    filesystem_stream_backend.close_writer(w);

    /* a restart from an older checkpoint (10) drops a pending file past it */
    w = open_sink();
    append(w, 15, 20);
    ck_assert_int_eq(filesystem_stream_backend.flush(w, true, err, sizeof err), 0);
    filesystem_stream_backend.close_writer(w);
    w = open_sink();
    ck_assert_int_eq(filesystem_stream_backend.truncate(w, 15, err, sizeof err), 0);
    ck_assert_int_eq(count_files(".part"), 0);
    filesystem_stream_backend.close_writer(w);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "cat %s/part-* | sort -n | tr '\\n' ' '", dir);
    FILE *p = popen(cmd, "r");
    char got[200] = "";
    ck_assert_ptr_nonnull(fgets(got, sizeof got, p));
    pclose(p);
    ck_assert_str_eq(got, "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 ");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("filesystem");
    TCase *tc = tcase_create("filesystem");
    tcase_add_test(tc, test_csv_split);
    tcase_add_test(tc, test_csv_put_value);
    tcase_add_test(tc, test_path_inside);
    tcase_add_test(tc, test_dirs_below_without_symlinks);
    tcase_add_test(tc, test_sink_commits);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
