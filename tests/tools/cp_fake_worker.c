/* cp_fake_worker — a stand-in for `sluiced worker` that speaks the worker protocol, used to
 * test the supervisor and sandbox without the dataplane. Reads the task spec JSON on stdin; its
 * "fake" object chooses the behaviour:
 *   {"mode":"run"}            heartbeats + metrics until SIGTERM, then state stopped, exit 0
 *   {"mode":"crash","after_ms":N,"code":C}  exits with C (or aborts if C is 0) after N ms
 *   {"mode":"complete","after_ms":N}        reports completed and exits 0
 *   {"mode":"fail","retry":false}           reports state failed ("fake failure", with the
 *                             given retry flag when there is one) and exits 1
 *   {"mode":"alloc"}          allocates and touches memory until something stops it
 *   {"mode":"hang"}           heartbeats but ignores SIGTERM
 *   {"mode":"silent"}         never heartbeats
 *   {"mode":"spin"}           heartbeats while burning CPU (for the CPU-seconds rlimit)
 *   {"mode":"probe","dir":"/other/tenant/dir","pid":N}  tries exec, reading dir, its own and
 *                             pid N's environment, then logs "probe <what>=<outcome>" and runs;
 *                             with connector properties probe_read (comma-separated paths),
 *                             probe_connect (host:port list) it also lists "/", reads each path
 *                             (a directory is listed), connects to each address, tries to
 *                             listen, and logs "probe read PATH=...", "probe connect A=...",
 *                             "probe root=ENTRIES", "probe listen=..."
 * Without a "fake" object the mode comes from "fake:MODE" in the spec's "sql" (e.g. a comment
 * /\* fake:crash *\/) or from connector.properties.fake_mode; crash then waits 300 ms.
 * In run mode it keeps a record count in ./fake.checkpoint (its working directory) and logs
 * "resumed at N" on start, so tests can see that a task's position survives restarts.
 * With "sandbox":{"seccomp":true} it first calls seccomp_lock_down(), as the worker does. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/seccomp.h"

extern char **environ;
static volatile sig_atomic_t stop;

static void on_term(int sig) { stop = 1; }

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* "readable(N bytes: first bytes)" or "denied(why)" for a file; a directory's entries. */
static void probe_read(const char *path)
{
    char out[300] = "";
    DIR *d = opendir(path);
    if (d) {
        size_t len = snprintf(out, sizeof out, "listed(");
        for (struct dirent *e; (e = readdir(d)) && len < sizeof out - 40;)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                len += snprintf(out + len, sizeof out - len, "%s ", e->d_name);
        snprintf(out + len, sizeof out - len, ")");
        closedir(d);
    } else {
        int fd = open(path, O_RDONLY);
        char buf[64];
        ssize_t got = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (got >= 0) {
            for (ssize_t i = 0; i < got; i++)
                if (buf[i] < 32 || buf[i] > 126 || buf[i] == '"' || buf[i] == '\\')
                    buf[i] = '.';
            buf[got] = 0;
            snprintf(out, sizeof out, "readable(%zd bytes: %s)", got, buf);
        } else {
            snprintf(out, sizeof out, "denied(%s)", strerror(errno));
        }
        if (fd >= 0)
            close(fd);
    }
    emit("{\"type\":\"log\",\"level\":\"info\",\"msg\":\"probe read %s=%s\"}", path, out);
}

static void probe_connect(const char *addr)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon - addr >= (long)sizeof host)
        return;
    snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int rc = fd >= 0 ? connect(fd, (struct sockaddr *)&sa, sizeof sa) : -1;
    emit("{\"type\":\"log\",\"level\":\"info\",\"msg\":\"probe connect %s=%s(%s)\"}", addr,
         rc == 0 ? "connected" : "refused", rc == 0 ? "" : strerror(errno));
    if (fd >= 0)
        close(fd);
}

/* Reading paths, listing /, connecting and listening, from the connection's properties. */
static void probe_more(json_t *props)
{
    const char *reads = json_string_value(json_object_get(props, "probe_read"));
    const char *connects = json_string_value(json_object_get(props, "probe_connect"));
    if (!reads && !connects)
        return;
    probe_read("/");
    const char *lists[] = {reads, connects};
    for (int l = 0; l < 2; l++)
        for (const char *s = lists[l]; s && *s;) {
            char item[512];
            size_t n = strcspn(s, ",");
            snprintf(item, sizeof item, "%.*s", (int)n, s);
            if (l == 0)
                probe_read(item);
            else
                probe_connect(item);
            s += n;
            if (*s == ',')
                s++;
        }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? listen(fd, 1) : -1;
    emit("{\"type\":\"log\",\"level\":\"info\",\"msg\":\"probe listen=%s(%s)\"}", rc == 0 ? "listening" : "denied",
         rc == 0 ? "" : strerror(errno));
    if (fd >= 0)
        close(fd);
}

static void probe(json_t *fake)
{
    char *const argv[] = {"/bin/true", NULL};
    char *const envp[] = {NULL};
    execve("/bin/true", argv, envp);
    emit("{\"type\":\"log\",\"level\":\"info\",\"msg\":\"probe exec=denied(%s)\"}", strerror(errno));

    const char *dir = json_string_value(json_object_get(fake, "dir"));
    if (dir) {
        DIR *d = opendir(dir);
        emit("{\"type\":\"log\",\"level\":\"info\",\"msg\":\"probe other_tenant=%s(%s)\"}", d ? "readable" : "denied",
             d ? "" : strerror(errno));
        if (d)
            closedir(d);
    }
    int n = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    emit("{\"type\":\"log\",\"level\":\"info\",\"msg\":\"probe own_env=%d\"}", n);
    json_int_t pid = json_integer_value(json_object_get(fake, "pid"));
    if (pid > 0) {
        char path[64], buf[256];
        snprintf(path, sizeof path, "/proc/%lld/environ", (long long)pid);
        int fd = open(path, O_RDONLY);
        ssize_t got = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
        emit("{\"type\":\"log\",\"level\":\"info\",\"msg\":\"probe parent_env=%s(%s)\"}",
             got > 0 ? "readable" : "denied", got > 0 ? "" : strerror(fd < 0 ? errno : EACCES));
        if (fd >= 0)
            close(fd);
    }
    char cwd[512];
    if (getcwd(cwd, sizeof cwd))
        emit("{\"type\":\"log\",\"level\":\"info\",\"msg\":\"probe cwd=%s uid=%d\"}", cwd, (int)getuid());
}

int main(void)
{
    json_error_t jerr;
    json_t *spec = json_loadf(stdin, 0, &jerr);
    if (!spec) {
        fprintf(stderr, "fake worker: bad spec: %s\n", jerr.text);
        return 2;
    }
    json_t *fake = json_object_get(spec, "fake");
    const char *mode = json_string_value(json_object_get(fake, "mode"));
    int after_ms = (int)json_integer_value(json_object_get(fake, "after_ms"));
    static const char *const modes[] = {"crash", "complete", "alloc", "hang", "silent", "probe", "spin"};
    const char *sql = json_string_value(json_object_get(spec, "sql"));
    const char *prop = json_string_value(
        json_object_get(json_object_get(json_object_get(spec, "connector"), "properties"), "fake_mode"));
    for (size_t i = 0; !mode && i < sizeof modes / sizeof modes[0]; i++) {
        char word[32];
        snprintf(word, sizeof word, "fake:%s", modes[i]);
        if ((sql && strstr(sql, word)) || (prop && strcmp(prop, modes[i]) == 0)) {
            mode = modes[i];
            after_ms = 300;
        }
    }
    if (!mode)
        mode = "run";
    int hb_ms = (int)json_integer_value(json_object_get(fake, "heartbeat_ms"));
    if (hb_ms <= 0)
        hb_ms = 200;

    if (json_is_true(json_object_get(json_object_get(spec, "sandbox"), "seccomp"))) {
        char report[256];
        seccomp_lock_down(report, sizeof report);
        emit("{\"type\":\"sandbox\",\"layer\":\"seccomp\",\"status\":\"%s\"}", report);
    }
    struct sigaction sa = {0};
    sa.sa_handler = strcmp(mode, "hang") == 0 ? SIG_IGN : on_term;
    sigaction(SIGTERM, &sa, NULL);
    fprintf(stderr, "fake worker starting in mode %s\n", mode);
    emit("{\"type\":\"log\",\"level\":\"info\",\"msg\":\"fake worker mode %s\"}", mode);
    if (strcmp(mode, "probe") == 0) {
        probe(fake);
        probe_more(json_object_get(json_object_get(spec, "connector"), "properties"));
    }

    if (strcmp(mode, "fail") == 0) {
        json_t *retry = json_object_get(fake, "retry");
        emit("{\"type\":\"state\",\"state\":\"failed\",\"error\":\"fake failure\"%s}",
             json_is_false(retry) ? ",\"retry\":false" : "");
        return 1;
    }
    if (strcmp(mode, "alloc") == 0) {
        for (;;) {
            char *p = malloc(1 << 20);
            if (!p) {
                emit("{\"type\":\"state\",\"state\":\"failed\",\"error\":\"out of memory\"}");
                return 1;
            }
            memset(p, 1, 1 << 20);
        }
    }
    long records = 0;
    FILE *cp = fopen("fake.checkpoint", "r");
    if (cp) {
        if (fscanf(cp, "%ld", &records) != 1)
            records = 0;
        fclose(cp);
    }
    emit("{\"type\":\"log\",\"level\":\"info\",\"msg\":\"resumed at %ld\"}", records);
    long start_records = records;
    for (int elapsed = 0; !stop; elapsed += hb_ms) {
        if (strcmp(mode, "crash") == 0 && elapsed >= after_ms) {
            int code = (int)json_integer_value(json_object_get(fake, "code"));
            fprintf(stderr, "fake worker: crashing on purpose\n");
            if (code == 0)
                abort();
            return code;
        }
        if (strcmp(mode, "complete") == 0 && elapsed >= after_ms) {
            emit("{\"type\":\"metrics\",\"records_in\":%ld,\"records_out\":%ld,\"bytes_in\":%ld,"
                 "\"bytes_out\":%ld,\"errors\":0,\"late\":0,\"lag\":0}",
                 records, records, records * 10, records * 10);
            emit("{\"type\":\"state\",\"state\":\"completed\"}");
            return 0;
        }
        if (strcmp(mode, "silent") != 0) {
            emit("{\"type\":\"heartbeat\",\"ts\":%ld}", (long)time(NULL));
            records += 10;
            long run = records - start_records;
            emit("{\"type\":\"metrics\",\"records_in\":%ld,\"records_out\":%ld,\"bytes_in\":%ld,"
                 "\"bytes_out\":%ld,\"errors\":0,\"late\":0,\"lag\":0}",
                 run, run, run * 10, run * 10);
            cp = fopen("fake.checkpoint.tmp", "w");
            if (cp) {
                fprintf(cp, "%ld\n", records);
                fclose(cp);
                rename("fake.checkpoint.tmp", "fake.checkpoint");
            }
        }
        if (strcmp(mode, "spin") == 0) {
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            do
                clock_gettime(CLOCK_MONOTONIC, &t1);
            while ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < hb_ms);
        } else {
            sleep_ms(hb_ms);
        }
    }
    emit("{\"type\":\"state\",\"state\":\"stopped\"}");
    json_decref(spec);
    return 0;
}
