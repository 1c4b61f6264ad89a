/* supervisor.c — spawns, watches, stops, reaps and restarts worker processes. */
#include "controlplane/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "common/clock.h"
#include "controlplane/idmap.h"

#define LINE_MAX_BYTES 16384
#define MAX_ARGS 16
#define CRASH_HISTORY 64

struct line_buffer {
    int fd; /* -1 when closed */
    size_t len;
    char data[LINE_MAX_BYTES];
};

struct task {
    struct supervisor_status st;
    char *spec;
    size_t spec_len, spec_written;
    char workdir[512];
    struct sandbox_config sandbox;
    struct cgroup_limits limits;
    struct cgroup_task cgroup;
    int has_cgroup;
    int full_worker;
    long cpu_used_s; /* user + system CPU seconds of the last process, when reaped */
    int stdin_fd;
    struct line_buffer out, err;
    int stop_requested, reported_completed, heartbeat_killed;
    int reported_permanent; /* the worker failed with "retry": false: no restart */
    int awaiting_spec;      /* a start failed before a process existed: the caller retries */
    char reported_error[512];
    char last_stderr[256];
    int64_t kill_deadline; /* monotonic ms; 0 none */
    int64_t last_heartbeat_mono;
    int64_t next_start_mono;
    int64_t crashes[CRASH_HISTORY]; /* monotonic ms of recent crashes */
    int ncrashes;
    struct supervisor_metrics run_totals; /* as last reported by the current process */
};

struct supervisor {
    struct supervisor_options opt;
    char worker_path[PATH_MAX];
    char self_path[PATH_MAX]; /* this executable, for full_worker tasks; "" when worker_path is configured */
    char args_copy[256];
    char *argv[MAX_ARGS];
    struct supervisor_callbacks cb;
    void *ctx;
    struct task **tasks;
    int ntasks, cap;
    struct idmap *index; /* task id → struct task */
    struct pollfd *pfd;  /* poll set, reused */
    struct task **owner; /* owner[i]: the task of pfd[i] */
    int pfd_cap;
    int64_t next_reap_scan; /* reap every task now and then, besides on SIGCHLD */
    int64_t last_pass;      /* when supervisor_poll() last started */
};

#define POLL_MIN_INTERVAL_MS 20

static int wake_pipe[2] = {-1, -1};

const char *supervisor_state_name(enum supervisor_state s)
{
    static const char *const names[] = {"starting", "running", "backoff", "stopping", "stopped", "completed", "failed"};
    return names[s];
}

static void on_sigchld(int sig)
{
    int saved = errno;
    if (write(wake_pipe[1], "c", 1) < 0) {
        /* pipe full: a wake-up is already pending */
    }
    errno = saved;
}

/* ------------------------------------------------------------------------------------------ */
/* Creation                                                                                   */

struct supervisor *supervisor_new(const struct supervisor_options *opts, const struct supervisor_callbacks *cb,
                                  void *ctx, char *err, size_t errsz)
{
    struct supervisor *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    if (opts)
        s->opt = *opts;
    struct supervisor_options *o = &s->opt;
    if (o->stop_timeout_ms <= 0)
        o->stop_timeout_ms = 5000;
    if (o->heartbeat_timeout_ms <= 0)
        o->heartbeat_timeout_ms = 15000;
    if (o->backoff_initial_ms <= 0)
        o->backoff_initial_ms = 250;
    if (o->backoff_max_ms <= 0)
        o->backoff_max_ms = 30000;
    if (o->crash_limit <= 0)
        o->crash_limit = 5;
    if (o->crash_window_ms <= 0)
        o->crash_window_ms = 120000;
    if (!o->cgroup_parent)
        o->cgroup_parent = "sluice";
    if (o->worker_path) {
        snprintf(s->worker_path, sizeof s->worker_path, "%s", o->worker_path);
    } else {
        ssize_t n = readlink("/proc/self/exe", s->worker_path, sizeof s->worker_path - 1);
        if (n <= 0) {
            snprintf(err, errsz, "cannot find this executable: %s", strerror(errno));
            free(s);
            return NULL;
        }
        s->worker_path[n] = 0;
        memcpy(s->self_path, s->worker_path, (size_t)n + 1);
        /* prefer the lean worker binary installed beside this one (cmd/sluiced-worker.c) */
        char *slash = strrchr(s->worker_path, '/');
        char lean[sizeof s->worker_path];
        if (slash &&
            snprintf(lean, sizeof lean, "%.*s/sluiced-worker", (int)(slash - s->worker_path), s->worker_path) <
                (int)sizeof lean &&
            access(lean, X_OK) == 0)
            snprintf(s->worker_path, sizeof s->worker_path, "%s", lean);
    }
    snprintf(s->args_copy, sizeof s->args_copy, "%s", o->worker_args ? o->worker_args : "worker");
    int argc = 0;
    s->argv[argc++] = "sluiced-worker";
    for (char *save = NULL, *tok = strtok_r(s->args_copy, " ", &save); tok && argc < MAX_ARGS - 1;
         tok = strtok_r(NULL, " ", &save))
        s->argv[argc++] = tok;
    s->argv[argc] = NULL;
    if (cb)
        s->cb = *cb;
    s->ctx = ctx;
    s->index = idmap_new();
    if (!s->index) {
        snprintf(err, errsz, "out of memory");
        free(s);
        return NULL;
    }

    if (wake_pipe[0] < 0 && pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errsz, "pipe: %s", strerror(errno));
        free(s);
        return NULL;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    cgroup_detect(NULL);
    return s;
}

static void task_close_fds(struct task *t)
{
    int *fds[3] = {&t->stdin_fd, &t->out.fd, &t->err.fd};
    for (int i = 0; i < 3; i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
}

static void task_free(struct task *t)
{
    if (!t)
        return;
    task_close_fds(t);
    if (t->has_cgroup)
        cgroup_task_destroy(&t->cgroup);
    free(t->spec);
    free(t);
}

void supervisor_free(struct supervisor *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->ntasks; i++) {
        struct task *t = s->tasks[i];
        if (t->st.pid > 0) {
            kill(t->st.pid, SIGKILL);
            while (waitpid(t->st.pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
        task_free(t);
    }
    free(s->tasks);
    idmap_free(s->index);
    free(s->pfd);
    free(s->owner);
    free(s);
}

static struct task *find(const struct supervisor *s, const char *id) { return idmap_get(s->index, id); }

static void emit_state(struct supervisor *s, struct task *t, const char *event, const char *msg)
{
    log_info("task %s: %s%s%s", t->st.task_id, event, msg[0] ? ": " : "", msg);
    if (s->cb.state)
        s->cb.state(s->ctx, &t->st, event, msg);
}

/* ------------------------------------------------------------------------------------------ */
/* Spawning                                                                                   */

static void crashed(struct supervisor *s, struct task *t, const char *reason);

static int spawn(struct supervisor *s, struct task *t, char *err, size_t errsz)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(er, O_CLOEXEC)) {
        snprintf(err, errsz, "pipe: %s", strerror(errno));
        goto fail;
    }
    if (t->has_cgroup)
        cgroup_task_destroy(&t->cgroup);
    t->has_cgroup = 1;
    cgroup_task_create(&t->cgroup, s->opt.cgroup_parent, t->st.task_id, &t->limits);
    t->sandbox.cgroup = &t->cgroup;
    t->sandbox.workdir = t->workdir;

    int child_fds[3] = {in[0], out[1], er[1]};
    pid_t pid = 0;
    const char *path = t->full_worker && s->self_path[0] ? s->self_path : s->worker_path;
    if (sandbox_spawn(&t->sandbox, path, s->argv, child_fds, &pid, t->st.sandbox, sizeof t->st.sandbox, err, errsz) !=
        0)
        goto fail;
    close(in[0]);
    close(out[1]);
    close(er[1]);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(er[0], F_SETFL, O_NONBLOCK);
    t->stdin_fd = in[1];
    t->out.fd = out[0];
    t->err.fd = er[0];
    t->out.len = t->err.len = 0;
    t->spec_written = 0;
    t->st.pid = pid;
    t->st.state = SUPERVISOR_STARTING;
    t->st.started_at_ms = clock_wall_ms();
    t->st.heartbeat_at_ms = 0;
    t->last_heartbeat_mono = clock_mono_ms();
    t->kill_deadline = 0;
    t->reported_completed = t->heartbeat_killed = t->reported_permanent = 0;
    t->reported_error[0] = t->last_stderr[0] = 0;
    memset(&t->run_totals, 0, sizeof t->run_totals);
    char msg[64];
    snprintf(msg, sizeof msg, "pid %d", (int)pid);
    emit_state(s, t, "started", msg);
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
        if (er[i] >= 0)
            close(er[i]);
    }
    return -1;
}

/* The task's entry, created (stopped, no process) when unknown; NULL with err filled. */
static struct task *task_entry(struct supervisor *s, const char *task_id, char *err, size_t errsz)
{
    struct task *t = find(s, task_id);
    if (t)
        return t;
    if (strlen(task_id) >= sizeof t->st.task_id) {
        snprintf(err, errsz, "task id too long");
        return NULL;
    }
    if (s->ntasks == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        struct task **n = realloc(s->tasks, (size_t)cap * sizeof *n);
        if (!n) {
            snprintf(err, errsz, "out of memory");
            return NULL;
        }
        s->tasks = n;
        s->cap = cap;
    }
    t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    t->stdin_fd = t->out.fd = t->err.fd = -1;
    snprintf(t->st.task_id, sizeof t->st.task_id, "%s", task_id);
    if (idmap_put(s->index, t->st.task_id, t) != 0) {
        free(t);
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    s->tasks[s->ntasks++] = t;
    return t;
}

int supervisor_start(struct supervisor *s, const struct supervisor_task *spec, char *err, size_t errsz)
{
    struct task *t = find(s, spec->task_id);
    if (t && (t->st.pid > 0 || t->st.state == SUPERVISOR_BACKOFF)) {
        snprintf(err, errsz, "task %s is already running", spec->task_id);
        return -1;
    }
    if (!t && !(t = task_entry(s, spec->task_id, err, errsz)))
        return -1;
    free(t->spec);
    t->spec = strdup(spec->spec_json);
    t->spec_len = strlen(spec->spec_json);
    t->sandbox = spec->sandbox;
    t->full_worker = spec->full_worker;
    snprintf(t->workdir, sizeof t->workdir, "%s", spec->sandbox.workdir ? spec->sandbox.workdir : ".");
    t->limits = spec->limits;
    /* A retry after failed starts keeps counting toward the crash limit; a start after the task
     * failed (a new generation, say) begins afresh. */
    if (!t->awaiting_spec || t->st.state == SUPERVISOR_FAILED) {
        t->st.restarts = 0;
        t->ncrashes = 0;
    }
    t->awaiting_spec = 0;
    t->stop_requested = 0;
    t->st.last_error[0] = 0;
    if (spawn(s, t, err, errsz) != 0) {
        crashed(s, t, err);
        return -1;
    }
    return 0;
}

int supervisor_start_failed(struct supervisor *s, const char *task_id, const char *reason)
{
    char err[64];
    struct task *t = task_entry(s, task_id, err, sizeof err);
    if (!t || t->st.pid > 0 || t->st.state == SUPERVISOR_BACKOFF)
        return -1;
    if (t->st.state == SUPERVISOR_FAILED || !t->awaiting_spec) { /* a new start: count afresh */
        t->st.restarts = 0;
        t->ncrashes = 0;
    }
    t->awaiting_spec = 1;
    crashed(s, t, reason);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Crashes, backoff, exits                                                                    */

static void crashed(struct supervisor *s, struct task *t, const char *reason)
{
    int64_t now = clock_mono_ms();
    int recent = 0;
    if (t->ncrashes == CRASH_HISTORY) {
        memmove(t->crashes, t->crashes + 1, (CRASH_HISTORY - 1) * sizeof t->crashes[0]);
        t->ncrashes--;
    }
    t->crashes[t->ncrashes++] = now;
    for (int i = 0; i < t->ncrashes; i++)
        recent += now - t->crashes[i] <= s->opt.crash_window_ms;
    t->st.pid = 0;
    snprintf(t->st.last_error, sizeof t->st.last_error, "%s", reason);
    emit_state(s, t, "crashed", reason);
    if (recent >= s->opt.crash_limit) {
        t->st.state = SUPERVISOR_FAILED;
        char msg[700];
        snprintf(msg, sizeof msg, "crashed %d times within %d s; last error: %s", recent, s->opt.crash_window_ms / 1000,
                 reason);
        snprintf(t->st.last_error, sizeof t->st.last_error, "%.500s", msg);
        emit_state(s, t, "failed", msg);
        return;
    }
    int64_t delay = s->opt.backoff_initial_ms;
    for (int i = 1; i < recent && delay < s->opt.backoff_max_ms; i++)
        delay *= 2;
    if (delay > s->opt.backoff_max_ms)
        delay = s->opt.backoff_max_ms;
    t->st.state = SUPERVISOR_BACKOFF;
    t->next_start_mono = now + delay;
    t->st.next_start_ms = clock_wall_ms() + delay;
    char msg[128];
    snprintf(msg, sizeof msg, "restarting in %lld ms (crash %d of %d allowed within %d s)", (long long)delay, recent,
             s->opt.crash_limit - 1, s->opt.crash_window_ms / 1000);
    emit_state(s, t, "backoff", msg);
}

static const char *signal_name(int sig)
{
    static const struct {
        int sig;
        const char *name;
    } names[] = {{SIGKILL, "SIGKILL"}, {SIGSEGV, "SIGSEGV"}, {SIGABRT, "SIGABRT"},
                 {SIGTERM, "SIGTERM"}, {SIGBUS, "SIGBUS"},   {SIGXCPU, "SIGXCPU"},
                 {SIGILL, "SIGILL"},   {SIGFPE, "SIGFPE"},   {SIGSYS, "SIGSYS"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].sig == sig)
            return names[i].name;
    return "signal";
}

/* Why a process that was not asked to stop ended. */
static void exit_reason(const struct task *t, int status, char *out, size_t outsz)
{
    long ooms = t->has_cgroup ? cgroup_task_oom_kills(&t->cgroup) : 0;
    if (ooms > 0) {
        snprintf(out, outsz,
                 "memory limit exceeded: killed by the kernel at %llu MiB (task size "
                 "limit)",
                 (unsigned long long)(t->limits.memory_bytes >> 20));
    } else if (WIFSIGNALED(status) &&
               (WTERMSIG(status) == SIGXCPU || (WTERMSIG(status) == SIGKILL && t->sandbox.cpu_seconds > 0 &&
                                                (uint64_t)t->cpu_used_s >= t->sandbox.cpu_seconds))) {
        /* A worker is its pid namespace's init, which the kernel's SIGXCPU does not end unless it
         * handles it: the SIGKILL at the hard limit (5 s later) does; the CPU time says why. */
        snprintf(out, outsz, "cpu time limit exceeded (%llu s)", (unsigned long long)t->sandbox.cpu_seconds);
    } else if (t->heartbeat_killed) {
        snprintf(out, outsz, "no heartbeat for %.1f s; killed", t->heartbeat_killed / 1000.0);
    } else if (t->reported_error[0]) {
        snprintf(out, outsz, "%s", t->reported_error);
    } else if (WIFSIGNALED(status)) {
        snprintf(out, outsz, "killed by %s (%d)%s%s", signal_name(WTERMSIG(status)), WTERMSIG(status),
                 t->last_stderr[0] ? "; last output: " : "", t->last_stderr);
    } else {
        snprintf(out, outsz, "exited with status %d%s%s", WEXITSTATUS(status),
                 t->last_stderr[0] ? "; last output: " : "", t->last_stderr);
    }
}

static void drain(struct supervisor *s, struct task *t, struct line_buffer *b, int is_stdout);

static void process_exited(struct supervisor *s, struct task *t, int status)
{
    drain(s, t, &t->out, 1);
    drain(s, t, &t->err, 0);
    task_close_fds(t);
    t->st.pid = 0;
    t->kill_deadline = 0;
    if (t->stop_requested) {
        t->st.state = SUPERVISOR_STOPPED;
        emit_state(s, t, "stopped", "");
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && t->reported_completed) {
        t->st.state = SUPERVISOR_COMPLETED;
        emit_state(s, t, "completed", "");
    } else if (t->reported_permanent && t->reported_error[0]) { /* a restart would fail the same way */
        t->st.state = SUPERVISOR_FAILED;
        snprintf(t->st.last_error, sizeof t->st.last_error, "%s", t->reported_error);
        emit_state(s, t, "failed", t->reported_error);
    } else {
        char reason[512];
        exit_reason(t, status, reason, sizeof reason);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !t->reported_error[0])
            snprintf(reason, sizeof reason, "exited without being asked to stop");
        t->st.restarts++;
        crashed(s, t, reason);
    }
    if (t->has_cgroup) {
        cgroup_task_destroy(&t->cgroup);
        t->has_cgroup = 0;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Protocol                                                                                   */

static uint64_t json_u64(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

static void handle_metrics(struct supervisor *s, struct task *t, json_t *o)
{
    struct supervisor_metrics cur = {json_u64(o, "records_in"),   json_u64(o, "records_out"), json_u64(o, "bytes_in"),
                                     json_u64(o, "bytes_out"),    json_u64(o, "errors"),      json_u64(o, "late"),
                                     (int64_t)json_u64(o, "lag"), json_u64(o, "state_bytes")};
    struct supervisor_metrics d;
    struct supervisor_metrics *p = &t->run_totals;
#define DELTA(f) d.f = cur.f >= p->f ? cur.f - p->f : cur.f
    DELTA(records_in);
    DELTA(records_out);
    DELTA(bytes_in);
    DELTA(bytes_out);
    DELTA(errors);
    DELTA(late);
#undef DELTA
    d.lag = cur.lag;
    d.state_bytes = cur.state_bytes;
    *p = cur;
    struct supervisor_metrics *tot = &t->st.totals;
    tot->records_in += d.records_in;
    tot->records_out += d.records_out;
    tot->bytes_in += d.bytes_in;
    tot->bytes_out += d.bytes_out;
    tot->errors += d.errors;
    tot->late += d.late;
    tot->lag = d.lag;
    tot->state_bytes = d.state_bytes;
    if (s->cb.metrics)
        s->cb.metrics(s->ctx, t->st.task_id, &d);
}

static void mark_running(struct supervisor *s, struct task *t)
{
    t->last_heartbeat_mono = clock_mono_ms();
    t->st.heartbeat_at_ms = clock_wall_ms();
    if (t->st.state == SUPERVISOR_STARTING) {
        t->st.state = SUPERVISOR_RUNNING;
        emit_state(s, t, "running", "");
    }
}

static void handle_stdout_line(struct supervisor *s, struct task *t, const char *line)
{
    json_error_t jerr;
    json_t *o = json_loads(line, 0, &jerr);
    const char *type = o ? json_string_value(json_object_get(o, "type")) : NULL;
    if (!type) {
        if (s->cb.log)
            s->cb.log(s->ctx, t->st.task_id, "info", line);
        json_decref(o);
        return;
    }
    if (strcmp(type, "heartbeat") == 0) {
        mark_running(s, t);
    } else if (strcmp(type, "metrics") == 0) {
        handle_metrics(s, t, o);
    } else if (strcmp(type, "log") == 0) {
        const char *level = json_string_value(json_object_get(o, "level"));
        const char *msg = json_string_value(json_object_get(o, "msg"));
        if (s->cb.log && msg)
            s->cb.log(s->ctx, t->st.task_id, level ? level : "info", msg);
    } else if (strcmp(type, "state") == 0) {
        const char *state = json_string_value(json_object_get(o, "state"));
        const char *error = json_string_value(json_object_get(o, "error"));
        if (state && strcmp(state, "running") == 0)
            mark_running(s, t);
        else if (state && strcmp(state, "completed") == 0)
            t->reported_completed = 1;
        else if (state && strcmp(state, "failed") == 0) {
            snprintf(t->reported_error, sizeof t->reported_error, "%s", error ? error : "worker reported failure");
            t->reported_permanent = json_is_false(json_object_get(o, "retry"));
        }
    } else if (strcmp(type, "sandbox") == 0) {
        const char *layer = json_string_value(json_object_get(o, "layer"));
        const char *status = json_string_value(json_object_get(o, "status"));
        json_t *rep = json_loads(t->st.sandbox, 0, NULL);
        if (layer && status && json_is_object(rep)) {
            json_object_set_new(rep, layer, json_string(status));
            char *text = json_dumps(rep, JSON_COMPACT | JSON_SORT_KEYS);
            if (text && strlen(text) < sizeof t->st.sandbox)
                memcpy(t->st.sandbox, text, strlen(text) + 1);
            free(text);
        }
        json_decref(rep);
    }
    json_decref(o);
}

static void handle_line(struct supervisor *s, struct task *t, char *line, int is_stdout)
{
    size_t n = strlen(line);
    if (n && line[n - 1] == '\r')
        line[--n] = 0;
    if (!n)
        return;
    if (is_stdout) {
        handle_stdout_line(s, t, line);
    } else {
        snprintf(t->last_stderr, sizeof t->last_stderr, "%s", line);
        if (s->cb.log)
            s->cb.log(s->ctx, t->st.task_id, "info", line);
    }
}

/* Reads what is available; returns after EAGAIN or EOF (then closes the fd). */
static void drain(struct supervisor *s, struct task *t, struct line_buffer *b, int is_stdout)
{
    while (b->fd >= 0) {
        if (b->len == sizeof b->data - 1) { /* overlong line: cut it */
            b->data[b->len] = 0;
            handle_line(s, t, b->data, is_stdout);
            b->len = 0;
        }
        ssize_t n = read(b->fd, b->data + b->len, sizeof b->data - 1 - b->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            if (b->len) {
                b->data[b->len] = 0;
                handle_line(s, t, b->data, is_stdout);
                b->len = 0;
            }
            close(b->fd);
            b->fd = -1;
            return;
        }
        b->len += (size_t)n;
        char *start = b->data, *nl;
        while ((nl = memchr(start, '\n', b->len - (size_t)(start - b->data)))) {
            *nl = 0;
            handle_line(s, t, start, is_stdout);
            start = nl + 1;
        }
        b->len -= (size_t)(start - b->data);
        memmove(b->data, start, b->len);
    }
}

static void feed_stdin(struct task *t)
{
    while (t->stdin_fd >= 0 && t->spec_written < t->spec_len) {
        ssize_t n = write(t->stdin_fd, t->spec + t->spec_written, t->spec_len - t->spec_written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0)
            break; /* EPIPE: the worker is gone; its exit is handled when it is reaped */
        t->spec_written += (size_t)n;
    }
    if (t->stdin_fd >= 0) {
        close(t->stdin_fd);
        t->stdin_fd = -1;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Stop, forget, poll                                                                         */

int supervisor_stop(struct supervisor *s, const char *task_id)
{
    struct task *t = find(s, task_id);
    if (!t)
        return -1;
    t->stop_requested = 1;
    if (t->st.pid > 0) {
        if (t->st.state != SUPERVISOR_STOPPING) {
            kill(t->st.pid, SIGTERM);
            t->kill_deadline = clock_mono_ms() + s->opt.stop_timeout_ms;
            t->st.state = SUPERVISOR_STOPPING;
            emit_state(s, t, "stopping", "SIGTERM sent");
        }
    } else if (t->st.state == SUPERVISOR_BACKOFF) {
        t->st.state = SUPERVISOR_STOPPED;
        emit_state(s, t, "stopped", "");
    }
    return 0;
}

int supervisor_forget(struct supervisor *s, const char *task_id)
{
    for (int i = 0; i < s->ntasks; i++) {
        struct task *t = s->tasks[i];
        if (strcmp(t->st.task_id, task_id) != 0)
            continue;
        if (t->st.pid > 0)
            return -1;
        idmap_remove(s->index, task_id);
        task_free(t);
        s->tasks[i] = s->tasks[--s->ntasks];
        return 0;
    }
    return -1;
}

static void check_timers(struct supervisor *s, struct task *t, int64_t now)
{
    if (t->st.pid > 0 && t->kill_deadline && now >= t->kill_deadline) {
        kill(t->st.pid, SIGKILL);
        t->kill_deadline = 0;
        emit_state(s, t, "stopping", "SIGKILL sent after the stop deadline");
    }
    if (t->st.pid > 0 && (t->st.state == SUPERVISOR_RUNNING || t->st.state == SUPERVISOR_STARTING) &&
        !t->heartbeat_killed && now - t->last_heartbeat_mono > s->opt.heartbeat_timeout_ms) {
        t->heartbeat_killed = (int)(now - t->last_heartbeat_mono);
        kill(t->st.pid, SIGKILL);
    }
    if (t->st.state == SUPERVISOR_BACKOFF && now >= t->next_start_mono && t->awaiting_spec) {
        t->st.state = SUPERVISOR_STOPPED; /* the caller builds the spec again and starts it */
        emit_state(s, t, "retry", "backoff over: starting again");
    } else if (t->st.state == SUPERVISOR_BACKOFF && now >= t->next_start_mono) {
        char err[512];
        if (spawn(s, t, err, sizeof err) != 0)
            crashed(s, t, err);
    }
}

int supervisor_poll(struct supervisor *s, int timeout_ms)
{
    int64_t now = clock_mono_ms();
    /* With many workers, let their lines gather: at most one pass per POLL_MIN_INTERVAL_MS
     * (each pass costs a poll() over every pipe), a delay no heartbeat notices. */
    if (s->ntasks > 32 && now - s->last_pass < POLL_MIN_INTERVAL_MS && timeout_ms > 0) {
        int64_t wait = POLL_MIN_INTERVAL_MS - (now - s->last_pass);
        struct timespec ts = {0, (long)wait * 1000000L};
        nanosleep(&ts, NULL);
        now = clock_mono_ms();
    }
    s->last_pass = now;
    for (int i = 0; i < s->ntasks; i++) {
        struct task *t = s->tasks[i];
        int64_t due = 0;
        if (t->kill_deadline)
            due = t->kill_deadline;
        else if (t->st.state == SUPERVISOR_BACKOFF)
            due = t->next_start_mono;
        else if ((t->st.state == SUPERVISOR_RUNNING || t->st.state == SUPERVISOR_STARTING) && !t->heartbeat_killed)
            due = t->last_heartbeat_mono + s->opt.heartbeat_timeout_ms + 1;
        if (due && due - now < timeout_ms)
            timeout_ms = due - now < 0 ? 0 : (int)(due - now);
    }
    int nfds = 1 + 3 * s->ntasks;
    if (nfds > s->pfd_cap) {
        struct pollfd *p = realloc(s->pfd, (size_t)nfds * sizeof *p);
        if (p)
            s->pfd = p;
        struct task **o = realloc(s->owner, (size_t)nfds * sizeof *o);
        if (o)
            s->owner = o;
        if (!p || !o)
            return -1;
        s->pfd_cap = nfds;
    }
    struct pollfd *pfd = s->pfd;
    struct task **owner = s->owner;
    int n = 0;
    pfd[n++] = (struct pollfd){.fd = wake_pipe[0], .events = POLLIN};
    for (int i = 0; i < s->ntasks; i++) {
        struct task *t = s->tasks[i];
        if (t->stdin_fd >= 0) {
            owner[n] = t;
            pfd[n++] = (struct pollfd){.fd = t->stdin_fd, .events = POLLOUT};
        }
        if (t->out.fd >= 0) {
            owner[n] = t;
            pfd[n++] = (struct pollfd){.fd = t->out.fd, .events = POLLIN};
        }
        if (t->err.fd >= 0) {
            owner[n] = t;
            pfd[n++] = (struct pollfd){.fd = t->err.fd, .events = POLLIN};
        }
    }
    int ready = poll(pfd, (nfds_t)n, timeout_ms);
    int reap = 0;
    if (ready > 0) {
        if (pfd[0].revents) {
            char buf[64];
            while (read(wake_pipe[0], buf, sizeof buf) > 0)
                ;
            reap = 1;
        }
        for (int i = 1; i < n; i++) {
            struct task *t = owner[i];
            if (!pfd[i].revents)
                continue;
            if (pfd[i].fd == t->stdin_fd)
                feed_stdin(t);
            else if (pfd[i].fd == t->out.fd)
                drain(s, t, &t->out, 1);
            else if (pfd[i].fd == t->err.fd)
                drain(s, t, &t->err, 0);
        }
    }
    /* Reap on SIGCHLD, and every half second in case a notification was late; each task's
     * own pid only, never anyone else's children. */
    now = clock_mono_ms();
    if (now >= s->next_reap_scan) {
        reap = 1;
        s->next_reap_scan = now + 500;
    }
    for (int i = 0; reap && i < s->ntasks; i++) {
        struct task *t = s->tasks[i];
        int status;
        struct rusage ru;
        if (t->st.pid > 0 && wait4(t->st.pid, &status, WNOHANG, &ru) == t->st.pid) {
            t->cpu_used_s = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec;
            process_exited(s, t, status);
        }
    }
    now = clock_mono_ms();
    int active = 0;
    for (int i = 0; i < s->ntasks; i++) {
        check_timers(s, s->tasks[i], now);
        active += s->tasks[i]->st.pid > 0 || s->tasks[i]->st.state == SUPERVISOR_BACKOFF;
    }
    return active;
}

int supervisor_status(const struct supervisor *s, const char *task_id, struct supervisor_status *out)
{
    const struct task *t = find(s, task_id);
    if (!t)
        return -1;
    *out = t->st;
    return 0;
}

int supervisor_count(const struct supervisor *s) { return s->ntasks; }

void supervisor_status_at(const struct supervisor *s, int i, struct supervisor_status *out) { *out = s->tasks[i]->st; }
