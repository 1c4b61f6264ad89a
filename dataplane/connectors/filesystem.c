/* filesystem.c — the filesystem connector (see filesystem.h): its options, and the source. The
 * sink is filesystem_sink.c. */
#include "dataplane/connectors/filesystem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "dataplane/codec/json_encode.h"
#include "dataplane/connectors/filesystem_sink.h"
#include "dataplane/schema_json.h"
#include "dataplane/sql/sql.h"

#define FS_READ_CHUNK (1 << 20) /* bytes read at a time */
#define FS_LINE_MAX (64 << 20)  /* a record longer than this is an error */
#define FS_MAX_DEPTH 16         /* directories below path */

/* ---------------------------------------------------------------- options */

static const char *const fs_formats[] = {"json", "csv", NULL};

#define FF(member) OPTION_FIELD(struct fs_settings, member)
static const struct option_row fs_options[] = {
    {.name = "connector", .type = OPTION_STRING, .flags = OPTION_HIDDEN},
    {.name = "path",
     .type = OPTION_STRING,
     .flags = OPTION_REQUIRED,
     .help = "a file or directory (through the API: relative to the tenant's files directory)",
     FF(path)},
    {.name = "format",
     .type = OPTION_ENUM,
     .flags = OPTION_REQUIRED,
     .values = fs_formats,
     .help = "json (one object per line) or csv",
     FF(format)},
    {.name = "csv.field-delimiter", .type = OPTION_STRING, .def = ",", .help = "one character", FF(delimiter)},
    {.name = "csv.quote-character", .type = OPTION_STRING, .def = "\"", .help = "one character", FF(quote)},
    {.name = "csv.disable-quote-character",
     .type = OPTION_BOOL,
     .def = "false",
     .help = "fields are never quoted",
     FF(no_quote)},
    {.name = "csv.header",
     .type = OPTION_BOOL,
     .def = "false",
     .help = "each file's first line names the columns (skipped when read, written by the sink)",
     FF(header)},
    {.name = "source.monitor-interval",
     .type = OPTION_DURATION,
     .min = 1,
     .max = 86400000,
     .help = "source: look for new files this often; not given: read the files there and complete",
     FF(monitor_ms)},
    {.name = "sink.rolling-policy.file-size",
     .type = OPTION_SIZE,
     .def = "128MB",
     .min = 1,
     .max = INT64_MAX,
     .help = "sink: a part file ends at this size",
     FF(roll_size)},
    {.name = "sink.rolling-policy.rollover-interval",
     .type = OPTION_DURATION,
     .def = "30 min",
     .min = 1,
     .max = 604800000,
     .help = "sink: a part file ends this long after it began (and at every checkpoint)",
     FF(roll_ms)},
    {.name = "sink.rolling-policy.inactivity-interval",
     .type = OPTION_DURATION,
     .def = "30 min",
     .min = 1,
     .max = 604800000,
     .help = "sink: a part file ends when it got no row this long",
     FF(inactivity_ms)},
    {.name = "sink.rolling-policy.check-interval",
     .type = OPTION_DURATION,
     .min = 1,
     .max = 604800000,
     .help = "sink: accepted; the policy is checked at every row and flush"},
    {.name = "partition-by",
     .type = OPTION_STRING,
     .help = "sink: columns (\"dt, hm\") whose values name directories col=value/ (PARTITIONED BY)",
     FF(partition_by)},
    {.name = "sink.partition-commit.policy.kind",
     .type = OPTION_STRING,
     .help = "sink: success-file writes _SUCCESS into a partition when files are committed to it",
     FF(commit_policy)},
    {.name = "sink.partition-commit.success-file.name",
     .type = OPTION_STRING,
     .def = "_SUCCESS",
     .help = "sink: the success file's name",
     FF(success_name)},
    {.name = "sink.partition-commit.trigger", .type = OPTION_STRING, .help = "sink: accepted (commits at checkpoints)"},
    {.name = "sink.partition-commit.delay", .type = OPTION_DURATION, .max = 604800000, .help = "sink: accepted"},
    {.name = "sink.partition-commit.watermark-time-zone", .type = OPTION_STRING, .help = "sink: accepted"},
    {.name = "partition.time-extractor.timestamp-pattern", .type = OPTION_STRING, .help = "sink: accepted"},
};
static const struct option_table fs_option_table = OPTION_TABLE("filesystem", fs_options);

/* Flink's legacy names (Nexmark q13) and the names they stand for. */
static const char *const fs_legacy[][2] = {
    {"connector.type", "connector"},
    {"connector.path", "path"},
    {"format.type", "format"},
    {"format.field-delimiter", "csv.field-delimiter"},
    {"format.quote-character", "csv.quote-character"},
    {"format.ignore-first-line", "csv.header"},
};

/* props with the legacy names renamed, malloc'ed (the strings borrowed); NULL when out of memory. */
static struct stream_property *fs_props_renamed(const struct stream_property *props, int nprops)
{
    struct stream_property *out = malloc(((size_t)nprops + 1) * sizeof *out);
    for (int i = 0; out && i < nprops; i++) {
        out[i] = props[i];
        for (size_t k = 0; k < sizeof fs_legacy / sizeof fs_legacy[0]; k++)
            if (strcmp(props[i].key, fs_legacy[k][0]) == 0)
                out[i].key = fs_legacy[k][1];
    }
    return out;
}

/* One character from an option's value ("\t" for a tab): 0, or -1 with err. */
static int fs_char(const char *name, const char *v, char *out, char *err, size_t errlen)
{
    if (strcmp(v, "\\t") == 0)
        v = "\t";
    if (strlen(v) != 1 || v[0] == '\n' || v[0] == '\r') {
        snprintf(err, errlen, "filesystem option \"%s\" must be one character, not \"%s\"", name, v);
        return -1;
    }
    *out = v[0];
    return 0;
}

/* The schema of "__schema", when given. */
static int fs_schema_load(struct fs_settings *s, const struct stream_property *props, int nprops, char *err,
                          size_t errlen)
{
    const char *text = stream_property_get(props, nprops, "__schema");
    if (!text)
        return 0;
    json_t *js = json_loads(text, 0, NULL);
    int rc = schema_from_json(js, &s->schema, "the filesystem stream's", err, errlen);
    json_decref(js);
    return rc;
}

/* Where path is: below "__root" (opened), or as it is. */
static int fs_place(struct fs_settings *s, const struct stream_property *props, int nprops, char *err, size_t errlen)
{
    const char *root = stream_property_get(props, nprops, "__root");
    const char *p = strncmp(s->path, "file://", 7) == 0 ? s->path + 7 : s->path;
    if (!root) {
        if (snprintf(s->rel, sizeof s->rel, "%s", p) >= (int)sizeof s->rel) {
            snprintf(err, errlen, "filesystem path too long");
            return -1;
        }
        return 0;
    }
    if (fs_path_inside(root, s->path, s->rel, sizeof s->rel, err, errlen) != 0)
        return -1;
    s->dirfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s->dirfd < 0) {
        snprintf(err, errlen, "the tenant's files directory: %s", strerror(errno));
        s->dirfd = AT_FDCWD;
        return -1;
    }
    return 0;
}

int fs_settings_load(struct fs_settings *s, const struct stream_property *props, int nprops, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->dirfd = AT_FDCWD;
    struct stream_property *p = fs_props_renamed(props, nprops);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = stream_options_check(&fs_option_table, p, nprops, err, errlen) != 0 ||
                     stream_options_apply(&fs_option_table, p, nprops, s, err, errlen) != 0 ||
                     fs_char("csv.field-delimiter", s->delimiter, &s->dialect.delimiter, err, errlen) != 0 ||
                     fs_char("csv.quote-character", s->quote, &s->dialect.quote, err, errlen) != 0 ||
                     fs_schema_load(s, p, nprops, err, errlen) != 0 || fs_place(s, p, nprops, err, errlen) != 0
                 ? -1
                 : 0;
    free(p);
    if (s->no_quote)
        s->dialect.quote = '\0';
    if (rc != 0)
        fs_settings_free(s);
    return rc;
}

void fs_settings_free(struct fs_settings *s)
{
    option_table_free(&fs_option_table, s);
    schema_free_fields(&s->schema);
    if (s->dirfd >= 0)
        close(s->dirfd);
    s->dirfd = AT_FDCWD;
}

bool fs_rooted(const struct fs_settings *s) { return s->dirfd != AT_FDCWD; }

int fs_open(const struct fs_settings *s, const char *path, int flags, int mode)
{
    if (fs_rooted(s))
        return fs_open_beneath(s->dirfd, path, flags, (mode_t)mode);
    return open(path, flags | O_CLOEXEC, mode);
}

/* ---------------------------------------------------------------- the files of a source */

struct fs_file {
    char *path; /* as fs_open takes it */
    int64_t mtime_ns;
    uint64_t size, base; /* its bytes, and those of the files before it */
};

struct fs_list {
    struct fs_file *v;
    size_t n, cap;
};

static void fs_list_free(struct fs_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int fs_file_cmp(const void *a, const void *b)
{
    const struct fs_file *x = a, *y = b;
    if (x->mtime_ns != y->mtime_ns)
        return x->mtime_ns < y->mtime_ns ? -1 : 1;
    return strcmp(x->path, y->path);
}

static int fs_list_add(struct fs_list *l, const char *path, const struct stat *st)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct fs_file *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    struct fs_file *f = &l->v[l->n];
    if (!(f->path = strdup(path)))
        return -1;
    f->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    f->size = (uint64_t)st->st_size;
    f->base = 0;
    l->n++;
    return 0;
}

static int fs_scan_dir(const struct fs_settings *s, const char *dir, int depth, struct fs_list *l, char *err,
                       size_t errlen);

/* Entry name of directory dir (open as fd): added when a regular file, walked when a directory. */
static int fs_scan_entry(const struct fs_settings *s, int dfd, const char *dir, const char *name, int depth,
                         struct fs_list *l, char *err, size_t errlen)
{
    char path[2048];
    if (name[0] == '.' || name[0] == '_') /* hidden, in progress, _SUCCESS */
        return 0;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        snprintf(err, errlen, "file path too long: %s/%s", dir, name);
        return -1;
    }
    struct stat st;
    /* rooted, a symlink is judged where it leads (fs_open refuses one leading out) */
    if (fstatat(dfd, name, &st, 0) != 0) {
        if (errno == ENOENT)
            return 0; /* gone since the listing, or a symlink to nothing */
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode))
        return depth < FS_MAX_DEPTH ? fs_scan_dir(s, path, depth + 1, l, err, errlen) : 0;
    if (!S_ISREG(st.st_mode))
        return 0;
    if (fs_list_add(l, path, &st) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static int fs_scan_dir(const struct fs_settings *s, const char *dir, int depth, struct fs_list *l, char *err,
                       size_t errlen)
{
    int fd = fs_open(s, dir, O_RDONLY | O_DIRECTORY, 0);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        snprintf(err, errlen, "cannot list %s: %s%s", dir, strerror(errno),
                 errno == EXDEV ? " (it leads outside the tenant's files directory: refused)" : "");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            rc = fs_scan_entry(s, dirfd(d), dir, de->d_name, depth, l, err, errlen);
    closedir(d);
    return rc;
}

/* The source's files now, sorted: path itself when it is a file, else the files under it. */
static int fs_scan(const struct fs_settings *s, struct fs_list *l, char *err, size_t errlen)
{
    int fd = fs_open(s, s->rel, O_RDONLY, 0);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        if (e == ENOENT)
            return 0; /* no files yet */
        snprintf(err, errlen, "%s: %s%s", s->path, strerror(e),
                 e == EXDEV ? " (it leads outside the tenant's files directory: refused)" : "");
        return -1;
    }
    close(fd);
    int rc = S_ISDIR(st.st_mode) ? fs_scan_dir(s, s->rel, 0, l, err, errlen) : fs_list_add(l, s->rel, &st);
    if (rc != 0 && !err[0])
        snprintf(err, errlen, "out of memory");
    if (rc == 0 && l->n)
        qsort(l->v, l->n, sizeof *l->v, fs_file_cmp);
    return rc;
}

static void fs_list_bases(struct fs_list *l, size_t from)
{
    for (size_t i = from; i < l->n; i++)
        l->v[i].base = i ? l->v[i - 1].base + l->v[i - 1].size : 0;
}

/* ---------------------------------------------------------------- the source */

/* A record of the last read: where its pieces are in the reader's buffers. */
struct fs_rec {
    uint64_t offset;
    size_t data, len, where;
    long error; /* in notes, or -1 */
};

struct fs_reader {
    struct fs_settings s;
    struct fs_list files;
    size_t cur;      /* the file read now (files.n: none left) */
    int fd;          /* files.v[cur] open, or -1 */
    uint64_t bufpos; /* the file position of buf[0] */
    char *buf;
    size_t len, cap, at; /* buf[at..len) not taken yet */
    bool eof;            /* buf holds the file to its listed size */
    long line;           /* of buf[at] */
    uint64_t next;       /* records ending before this offset are in the checkpoint already */
    int64_t scanned_ms;
    struct json_buf out, notes; /* the last read's records and their where/error texts */
    struct fs_rec *recs;
    int caprecs;
    struct csv_field *fields; /* CSV_MAX_FIELDS */
    uint64_t end;             /* where the last record of the first nend files ends */
    size_t nend;
};

static void fs_file_close(struct fs_reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    r->bufpos = r->len = r->at = 0;
    r->eof = false;
    r->line = 1;
}

static void fs_close_reader(void *reader)
{
    struct fs_reader *r = reader;
    if (!r)
        return;
    fs_file_close(r);
    fs_list_free(&r->files);
    fs_settings_free(&r->s);
    free(r->buf);
    json_buf_free(&r->out);
    json_buf_free(&r->notes);
    free(r->recs);
    free(r->fields);
    free(r);
}

/* Counts the lines of the open file before pos, and leaves it there. */
static int fs_seek_lines(struct fs_reader *r, uint64_t pos, char *err, size_t errlen)
{
    char chunk[65536];
    for (uint64_t at = 0; at < pos;) {
        size_t want = pos - at < sizeof chunk ? (size_t)(pos - at) : sizeof chunk;
        ssize_t got = pread(r->fd, chunk, want, (off_t)at);
        if (got <= 0) {
            snprintf(err, errlen, "%s: %s", r->files.v[r->cur].path, got < 0 ? strerror(errno) : "shorter than before");
            return -1;
        }
        for (ssize_t i = 0; i < got; i++)
            r->line += chunk[i] == '\n';
        at += (uint64_t)got;
    }
    r->bufpos = pos;
    return lseek(r->fd, (off_t)pos, SEEK_SET) < 0 ? -1 : 0;
}

/* Opens file cur at the resume point (its start, or r->next inside it). */
static int fs_file_open(struct fs_reader *r, char *err, size_t errlen)
{
    const struct fs_file *f = &r->files.v[r->cur];
    fs_file_close(r);
    r->fd = fs_open(&r->s, f->path, O_RDONLY, 0);
    if (r->fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s%s", f->path, strerror(errno),
                 errno == EXDEV || errno == ELOOP ? " (it leads outside the tenant's files directory: refused)" : "");
        return -1;
    }
    if (r->next > f->base && fs_seek_lines(r, r->next - f->base, err, errlen) != 0)
        return -1;
    return 0;
}

/* Reads more of the file into buf: 0, or -1 with err. */
static int fs_fill(struct fs_reader *r, char *err, size_t errlen)
{
    if (r->at > 0) {
        memmove(r->buf, r->buf + r->at, r->len - r->at);
        r->len -= r->at;
        r->bufpos += r->at;
        r->at = 0;
    }
    if (r->len == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : FS_READ_CHUNK;
        char *b = cap <= FS_LINE_MAX ? realloc(r->buf, cap) : NULL;
        if (!b) {
            snprintf(err, errlen, "%s line %ld: a record longer than %d MB", r->files.v[r->cur].path, r->line,
                     FS_LINE_MAX >> 20);
            return -1;
        }
        r->buf = b;
        r->cap = cap;
    }
    uint64_t left = r->files.v[r->cur].size - (r->bufpos + r->len);
    size_t want = r->cap - r->len < left ? r->cap - r->len : (size_t)left;
    ssize_t got = want ? read(r->fd, r->buf + r->len, want) : 0;
    if (got < 0) {
        snprintf(err, errlen, "%s: %s", r->files.v[r->cur].path, strerror(errno));
        return -1;
    }
    r->len += (size_t)got;
    r->eof = got == 0 || (uint64_t)got == left;
    return 0;
}

static int fs_note(struct fs_reader *r, size_t *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fs_note(struct fs_reader *r, size_t *at, const char *fmt, ...)
{
    if (json_buf_reserve(&r->notes, 600) != 0)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->notes.data + r->notes.len, 600, fmt, ap);
    va_end(ap);
    *at = r->notes.len;
    r->notes.len += (n < 0 ? 0 : n >= 600 ? 599 : (size_t)n) + 1;
    r->notes.data[r->notes.len - 1] = '\0';
    return 0;
}

static bool fs_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

/* The record at buf[at], whole (len bytes of it the record, consumed with its line end) into
 * rec as a JSON object: 0, or -1 out of memory. A malformed one gets an error note. */
static int fs_convert(struct fs_reader *r, const struct csv_field *fields, int nfields, size_t len, bool split_bad,
                      const char *why, struct fs_rec *rec)
{
    const char *s = r->buf + r->at;
    char e[400] = "";
    size_t start = r->out.len;
    if (split_bad)
        snprintf(e, sizeof e, "malformed CSV: %s", why);
    else if (r->s.format == FS_CSV && r->s.schema.nfields == 0)
        snprintf(e, sizeof e, "a CSV source needs the stream's columns");
    else if (r->s.format == FS_CSV && csv_to_json(&r->s.dialect, &r->s.schema, fields, nfields, &r->out, e, sizeof e))
        r->out.len = start;
    if (r->s.format == FS_JSON) {
        json_error_t je;
        json_t *js = json_loadb(s, len, 0, &je);
        if (!json_is_object(js))
            snprintf(e, sizeof e, js ? "not a JSON object" : "not JSON: %s", je.text);
        json_decref(js);
    }
    if (r->out.len == start) { /* the line as it is: JSON, or a bad record's text */
        if (json_buf_reserve(&r->out, len) != 0)
            return -1;
        memcpy(r->out.data + r->out.len, s, len);
        r->out.len += len;
    }
    rec->data = start;
    rec->len = r->out.len - start;
    rec->error = -1;
    size_t at;
    if (e[0] && fs_note(r, &at, "%s", e) != 0)
        return -1;
    if (e[0])
        rec->error = (long)at;
    return fs_note(r, &rec->where, "%s line %ld", r->files.v[r->cur].path, r->line);
}

/* The extent of the record at buf[at]: 1 with its length (without the line end), what it
 * consumes and its line ends, 0 when more must be read first, 2 when the file is done. For
 * CSV, fields too (*bad: malformed, why in why). */
static int fs_split(struct fs_reader *r, struct csv_field *fields, int *nfields, size_t *len, size_t *consumed,
                    int *lines, bool *bad, char *why, size_t whylen)
{
    const char *s = r->buf + r->at;
    size_t avail = r->len - r->at;
    if (avail == 0)
        return r->eof ? 2 : 0;
    *bad = false;
    if (r->s.format == FS_CSV) {
        int rc =
            csv_split(&r->s.dialect, s, avail, r->eof, fields, CSV_MAX_FIELDS, nfields, consumed, lines, why, whylen);
        if (rc == 0)
            return 0;
        *bad = rc < 0;
        *len = *consumed;
        while (*len && (s[*len - 1] == '\n' || s[*len - 1] == '\r'))
            (*len)--;
        return 1;
    }
    const char *nl = memchr(s, '\n', avail);
    if (!nl && !r->eof)
        return 0;
    *consumed = nl ? (size_t)(nl - s) + 1 : avail;
    *len = nl ? (size_t)(nl - s) : avail;
    *lines = nl != NULL;
    if (*len && s[*len - 1] == '\r')
        (*len)--;
    return 1;
}

/* The next record of the open file into rec: 1, 0 when the file is done (closed, on to the
 * next), -1 with err. */
static int fs_next(struct fs_reader *r, struct fs_rec *rec, char *err, size_t errlen)
{
    struct csv_field *fields = r->fields;
    for (;;) {
        int nfields = 0, lines = 0;
        size_t len = 0, consumed = 0;
        bool bad = false;
        char why[200] = "";
        int rc = fs_split(r, fields, &nfields, &len, &consumed, &lines, &bad, why, sizeof why);
        if (rc == 2) {
            fs_file_close(r);
            r->cur++;
            return 0;
        }
        if (rc == 0) {
            if (fs_fill(r, err, errlen) != 0)
                return -1;
            continue;
        }
        uint64_t start = r->bufpos + r->at, end = start + consumed;
        const struct fs_file *f = &r->files.v[r->cur];
        bool skip = f->base + end <= r->next || (start == 0 && r->s.header) ||
                    (r->s.format == FS_CSV ? !bad && csv_blank(fields, nfields) : fs_blank(r->buf + r->at, len));
        if (!skip && fs_convert(r, fields, nfields, len, bad, why, rec) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        rec->offset = f->base + end - 1;
        r->at += consumed;
        r->line += lines;
        if (!skip)
            return 1;
    }
}

/* Monitoring: the files that appeared since the last look, newer than the last one taken. */
static int fs_rescan(struct fs_reader *r, char *err, size_t errlen)
{
    struct fs_list now = {0};
    if (fs_scan(&r->s, &now, err, errlen) != 0) {
        fs_list_free(&now);
        return -1;
    }
    size_t from = r->files.n;
    for (size_t i = 0; i < now.n; i++) {
        struct fs_file *f = &now.v[i];
        if (from > 0 && fs_file_cmp(f, &r->files.v[from - 1]) <= 0)
            continue;
        if (r->files.n == r->files.cap) {
            size_t cap = r->files.cap ? r->files.cap * 2 : 64;
            struct fs_file *v = realloc(r->files.v, cap * sizeof *v);
            if (!v) {
                fs_list_free(&now);
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            r->files.v = v;
            r->files.cap = cap;
        }
        r->files.v[r->files.n++] = *f;
        f->path = NULL;
    }
    fs_list_free(&now);
    fs_list_bases(&r->files, from);
    r->scanned_ms = clock_mono_ms();
    return 0;
}

/* A bounded source's path must be there (a monitoring one's may appear later). */
static int fs_bounded_path(const struct fs_settings *s, char *err, size_t errlen)
{
    int fd = s->monitor_ms ? -1 : fs_open(s, s->rel, O_PATH, 0);
    if (fd >= 0)
        close(fd);
    if (s->monitor_ms || fd >= 0)
        return 0;
    snprintf(err, errlen, "%s: %s%s", s->path, strerror(errno),
             errno == EXDEV || errno == ELOOP ? " (it leads outside the tenant's files directory: refused)" : "");
    return -1;
}

static int fs_open_reader(const char *location, int partition, uint64_t offset, const struct stream_property *props,
                          int nprops, void **reader, char *err, size_t errlen)
{
    struct fs_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->fd = -1;
    r->line = 1;
    r->next = offset;
    err[0] = '\0';
    if (!(r->fields = malloc(CSV_MAX_FIELDS * sizeof *r->fields))) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (fs_settings_load(&r->s, props, nprops, err, errlen) != 0 || fs_bounded_path(&r->s, err, errlen) != 0 ||
        fs_rescan(r, err, errlen) != 0) {
        fs_close_reader(r);
        return -1;
    }
    /* resume: the first file not wholly before the offset */
    while (r->cur < r->files.n && r->files.v[r->cur].base + r->files.v[r->cur].size <= offset)
        r->cur++;
    *reader = r;
    return 0;
}

static int fs_read(void *reader, struct stream_record *recs, int max, char *err, size_t errlen)
{
    struct fs_reader *r = reader;
    r->out.len = r->notes.len = 0;
    err[0] = '\0';
    if (r->s.monitor_ms && r->cur >= r->files.n && clock_mono_ms() - r->scanned_ms >= r->s.monitor_ms &&
        fs_rescan(r, err, errlen) != 0)
        return -1;
    if (r->caprecs < max) {
        struct fs_rec *v = realloc(r->recs, (size_t)max * sizeof *v);
        if (!v) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        r->recs = v;
        r->caprecs = max;
    }
    int n = 0;
    while (n < max && r->cur < r->files.n) {
        if (r->fd < 0 && fs_file_open(r, err, errlen) != 0)
            return -1;
        int got = fs_next(r, &r->recs[n], err, errlen);
        if (got < 0)
            return -1;
        n += got;
    }
    for (int i = 0; i < n; i++) {
        const struct fs_rec *x = &r->recs[i];
        recs[i] = (struct stream_record){.offset = x->offset,
                                         .data = r->out.data + x->data,
                                         .len = (uint32_t)x->len,
                                         .kind = ROW_INSERT,
                                         .where = r->notes.data + x->where,
                                         .error = x->error >= 0 ? r->notes.data + x->error : NULL};
        r->next = x->offset + 1;
    }
    return n;
}

static bool fs_blank_byte(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Where the last record of the file fd (size bytes) ends (past its line end), or 0 when it has
 * none (blank, or only its header). */
static uint64_t fs_last_end(int fd, uint64_t size, bool header)
{
    char buf[4096];
    uint64_t pos = size, last = UINT64_MAX;
    while (pos > 0 && last == UINT64_MAX) { /* the last byte that is not blank */
        size_t n = pos < sizeof buf ? (size_t)pos : sizeof buf;
        pos -= n;
        if (pread(fd, buf, n, (off_t)pos) != (ssize_t)n)
            return 0;
        for (size_t i = n; i-- > 0 && last == UINT64_MAX;)
            if (!fs_blank_byte(buf[i]))
                last = pos + i;
    }
    if (last == UINT64_MAX)
        return 0;
    uint64_t end = size;
    for (uint64_t at = last + 1; at < size && end == size;) { /* the end of its line */
        ssize_t got = pread(fd, buf, sizeof buf, (off_t)at);
        if (got <= 0)
            break;
        const char *nl = memchr(buf, '\n', (size_t)got);
        if (nl)
            end = at + (uint64_t)(nl - buf) + 1;
        at += (uint64_t)got;
    }
    if (!header)
        return end;
    for (uint64_t at = last; at > 0;) { /* a line before it: the last line is not the header */
        size_t n = at < sizeof buf ? (size_t)at : sizeof buf;
        at -= n;
        if (pread(fd, buf, n, (off_t)at) != (ssize_t)n)
            return 0;
        if (memchr(buf, '\n', n))
            return end;
    }
    return 0;
}

/* Where the last record of the files listed ends: a bounded source's end. */
static int fs_end_offset(void *reader, uint64_t *end, char *err, size_t errlen)
{
    struct fs_reader *r = reader;
    for (size_t i = r->files.n; r->nend != r->files.n && i-- > r->nend;) {
        const struct fs_file *f = &r->files.v[i];
        int fd = fs_open(&r->s, f->path, O_RDONLY, 0);
        if (fd < 0) {
            snprintf(err, errlen, "cannot open %s: %s%s", f->path, strerror(errno),
                     errno == EXDEV || errno == ELOOP ? " (it leads outside the tenant's files directory: refused)"
                                                      : "");
            return -1;
        }
        uint64_t e = fs_last_end(fd, f->size, r->s.header);
        close(fd);
        if (e) {
            r->end = f->base + e;
            break;
        }
    }
    r->nend = r->files.n;
    *end = r->end;
    return 0;
}

/* ---------------------------------------------------------------- check */

/* Looks at the path: there (a file or a directory), and readable. */
static void fs_check(const struct stream_property *props, int nprops, struct stream_check *out)
{
    struct fs_settings s;
    if (fs_settings_load(&s, props, nprops, out->error, sizeof out->error) != 0)
        return;
    out->reachable = out->authenticated = true;
    int fd = fs_open(&s, s.rel, O_RDONLY, 0);
    if (fd >= 0)
        out->target_present = true;
    else
        snprintf(out->error, sizeof out->error, "%s: %s%s", s.path, strerror(errno),
                 errno == EXDEV || errno == ELOOP ? " (it leads outside the tenant's files directory: refused)" : "");
    if (fd >= 0)
        close(fd);
    fs_settings_free(&s);
}

const struct stream_backend filesystem_stream_backend = {
    .name = "filesystem",
    .partitions = stream_one_partition,
    .open_writer = fs_open_writer,
    .append = fs_append,
    .flush = fs_flush,
    .writer_end_offset = fs_writer_end_offset,
    .truncate = fs_truncate,
    .hold_commits = fs_hold_commits,
    .commit = fs_commit,
    .close_writer = fs_close_writer,
    .open_reader = fs_open_reader,
    .read = fs_read,
    .end_offset = fs_end_offset,
    .close_reader = fs_close_reader,
    .check = fs_check,
    .options = &fs_option_table,
    .source = true,
    .sink = true,
    .location_key = "path",
    .wants_schema = true,
    .unbounded_by = "source.monitor-interval",
    .tenant_files = true,
};
