/* controlplane.c — `sluiced controlplane`: options, the main loop (LISTEN/NOTIFY, periodic
 * resync, status sync, reconnecting to PostgreSQL) and the Prometheus /metrics endpoint. */
#include "controlplane/controlplane.h"

#include <errno.h>
#include <limits.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/crypto.h"
#include "common/db.h"
#include "common/log.h"
#include "common/clock.h"
#include "controlplane/egress.h"
#include "controlplane/reconcile.h"

struct cp_config {
    char *database_url, *node_id, *data_root, *worker_path, *worker_args, *cgroup_parent;
    char *master_key, *master_key_file, *metrics_address, *log_level, *log_format;
    long resync_ms, sync_ms, lease_seconds, max_tasks, stop_timeout_ms, heartbeat_timeout_ms;
    long backoff_initial_ms, backoff_max_ms, crash_limit, crash_window_s;
    long task_memory_s_mb, task_memory_m_mb, task_memory_l_mb, metrics_port;
    long log_retention_hours, log_max_per_resource;
    long task_cpu_seconds_s, task_cpu_seconds_m, task_cpu_seconds_l;
    char *egress_policy, *egress_uids, *egress_deny, *egress_allow, *egress_table, *api_ports;
    char *kafka_bootstrap_servers;
    int seccomp;
};

// clang-format off
#define OPT(name_, env_, type_, field, def_, min_, max_, help_)                                    \
    {.name = name_, .env = env_, .type = type_, OPTION_FIELD(struct cp_config, field), .def = def_, .min = min_,        \
     .max = max_, .help = help_}
// clang-format on
static const struct option_row cp_options[] = {
    OPT("database-url", "SLUICE_DATABASE_URL", OPTION_STRING, database_url, NULL, 0, 0,
        "PostgreSQL connection URL (required; connects as the migrating role, all tenants)"),
    OPT("node-id", "SLUICE_NODE_ID", OPTION_STRING, node_id, "", 0, 0,
        "this node's name in task leases (default: hostname-pid)"),
    OPT("data-root", "SLUICE_DATA_ROOT", OPTION_STRING, data_root, "var/data", 0, 0,
        "root of tenants' streams and task directories"),
    OPT("worker-path", "SLUICE_WORKER_PATH", OPTION_STRING, worker_path, "", 0, 0,
        "worker executable (default: sluiced-worker beside this binary, else this binary)"),
    OPT("worker-args", "SLUICE_WORKER_ARGS", OPTION_STRING, worker_args, "worker", 0, 0,
        "worker arguments, space-separated"),
    OPT("cgroup-parent", "SLUICE_CGROUP_PARENT", OPTION_STRING, cgroup_parent, "sluice", 0, 0,
        "cgroup under which each task gets its own group"),
    OPT("master-key", "SLUICE_MASTER_KEY", OPTION_STRING, master_key, "", 0, 0, "secrets master key, 64 hex digits"),
    OPT("master-key-file", "SLUICE_MASTER_KEY_FILE", OPTION_STRING, master_key_file, "var/master.key", 0, 0,
        "file holding the master key"),
    OPT("metrics-address", "SLUICE_CONTROLPLANE_METRICS_ADDRESS", OPTION_STRING, metrics_address, "127.0.0.1", 0, 0,
        "address of the /metrics listener"),
    OPT("metrics-port", "SLUICE_CONTROLPLANE_METRICS_PORT", OPTION_INT, metrics_port, "0", 0, 65535,
        "port of the Prometheus /metrics endpoint (0: off)"),
    OPT("resync-ms", "SLUICE_RESYNC_MS", OPTION_INT, resync_ms, "5000", 100, 3600000,
        "full reconcile period, besides LISTEN/NOTIFY"),
    OPT("sync-ms", "SLUICE_SYNC_MS", OPTION_INT, sync_ms, "1000", 50, 60000,
        "status, lease, log and usage write period"),
    OPT("lease-seconds", "SLUICE_LEASE_SECONDS", OPTION_INT, lease_seconds, "10", 1, 3600,
        "task lease length; another node takes a task over this long after its node died"),
    OPT("max-tasks", "SLUICE_MAX_TASKS", OPTION_INT, max_tasks, "2000", 1, 1000000, "most tasks this node runs"),
    OPT("stop-timeout-ms", "SLUICE_STOP_TIMEOUT_MS", OPTION_INT, stop_timeout_ms, "10000", 10, 600000,
        "graceful stop deadline before SIGKILL"),
    OPT("heartbeat-timeout-ms", "SLUICE_HEARTBEAT_TIMEOUT_MS", OPTION_INT, heartbeat_timeout_ms, "15000", 100, 600000,
        "a worker silent this long is killed and restarted"),
    OPT("backoff-initial-ms", "SLUICE_BACKOFF_INITIAL_MS", OPTION_INT, backoff_initial_ms, "500", 1, 600000,
        "first restart delay after a crash (doubles per crash)"),
    OPT("backoff-max-ms", "SLUICE_BACKOFF_MAX_MS", OPTION_INT, backoff_max_ms, "30000", 1, 3600000,
        "longest restart delay"),
    OPT("crash-limit", "SLUICE_CRASH_LIMIT", OPTION_INT, crash_limit, "5", 1, 1000,
        "crashes within crash-window-s after which a task is failed"),
    OPT("crash-window-s", "SLUICE_CRASH_WINDOW_S", OPTION_INT, crash_window_s, "300", 1, 86400,
        "window for crash-limit"),
    OPT("task-memory-s-mb", "SLUICE_TASK_MEMORY_S_MB", OPTION_INT, task_memory_s_mb, "256", 8, 1048576,
        "memory limit of task size S"),
    OPT("task-memory-m-mb", "SLUICE_TASK_MEMORY_M_MB", OPTION_INT, task_memory_m_mb, "1024", 8, 1048576,
        "memory limit of task size M"),
    OPT("task-memory-l-mb", "SLUICE_TASK_MEMORY_L_MB", OPTION_INT, task_memory_l_mb, "4096", 8, 1048576,
        "memory limit of task size L"),
    /* RLIMIT_CPU counts a process's CPU time over its whole life, so a healthy streaming
     * worker reaches any limit in the end: these are backstops against a runaway worker where
     * the cgroup CPU quota is missing, set to a week at the size's quota (S 0.5, M 1, L 2
     * CPUs). A worker over it gets SIGXCPU, fails with "cpu time limit exceeded" and restarts
     * from its checkpoint. */
    OPT("task-cpu-seconds-s", "SLUICE_TASK_CPU_SECONDS_S", OPTION_INT, task_cpu_seconds_s, "302400", 0, 1L << 40,
        "RLIMIT_CPU of a task size S worker process, CPU seconds over its life (0: none)"),
    OPT("task-cpu-seconds-m", "SLUICE_TASK_CPU_SECONDS_M", OPTION_INT, task_cpu_seconds_m, "604800", 0, 1L << 40,
        "RLIMIT_CPU of a task size M worker process (0: none)"),
    OPT("task-cpu-seconds-l", "SLUICE_TASK_CPU_SECONDS_L", OPTION_INT, task_cpu_seconds_l, "1209600", 0, 1L << 40,
        "RLIMIT_CPU of a task size L worker process (0: none)"),
    OPT("kafka-bootstrap-servers", "SLUICE_KAFKA_BOOTSTRAP_SERVERS", OPTION_STRING, kafka_bootstrap_servers, "", 0, 0,
        "host:port,... of the Kafka cluster of streams stored in Kafka (cluster mode; the egress policy allows it)"),
    OPT("egress-policy", "SLUICE_EGRESS_POLICY", OPTION_STRING, egress_policy, "required", 0, 0,
        "nftables egress policy for network workers: required (as root, no start without it), best-effort, off"),
    OPT("egress-uids", "SLUICE_EGRESS_UIDS", OPTION_STRING, egress_uids, "200000-299999999", 0, 0,
        "socket owner uids the egress policy filters (the tenant worker uids, cp_tenant_uids)"),
    OPT("egress-deny", "SLUICE_EGRESS_DENY", OPTION_STRING, egress_deny, "", 0, 0,
        "more destinations refused to network workers: comma-separated CIDR[:port], IPv6 as [CIDR]:port"),
    OPT("egress-allow", "SLUICE_EGRESS_ALLOW", OPTION_STRING, egress_allow, "", 0, 0,
        "destinations accepted before the deny list and link-local (never the platform's own ports)"),
    OPT("egress-table", "SLUICE_EGRESS_TABLE", OPTION_STRING, egress_table, "", 0, 0,
        "nftables table name (default: sluice_ and a hash of the data root and node id)"),
    OPT("api-ports", "SLUICE_API_PORTS", OPTION_STRING, api_ports, "8443", 0, 0,
        "the api's ports on this host (comma-separated), refused to network workers"),
    OPT("seccomp", "SLUICE_SECCOMP", OPTION_BOOL, seccomp, "true", 0, 0,
        "ask workers to install the seccomp allow-list"),
    OPT("log-retention-hours", "SLUICE_LOG_RETENTION_HOURS", OPTION_INT, log_retention_hours, "72", 1, 87600,
        "task log lines older than this are deleted"),
    OPT("log-max-per-resource", "SLUICE_LOG_MAX_PER_RESOURCE", OPTION_INT, log_max_per_resource, "10000", 10, 100000000,
        "newest task log lines kept per pipeline or connection"),
    OPT("log-level", "SLUICE_LOG_LEVEL", OPTION_STRING, log_level, "info", 0, 0, "debug, info, warn or error"),
    OPT("log-format", "SLUICE_LOG_FORMAT", OPTION_STRING, log_format, "text", 0, 0, "text or json"),
};
#undef OPT
#define CP_NOPTIONS (sizeof cp_options / sizeof cp_options[0])

static volatile sig_atomic_t stop_requested;
static void on_stop_signal(int sig) { stop_requested = 1; }

/* ------------------------------------------------------------------------------------------ */
/* /metrics                                                                                   */

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static char *metrics_text;

static enum MHD_Result metrics_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                       const char *version, const char *upload, size_t *upload_size, void **state)
{
    int found = strcmp(url, "/metrics") == 0 && strcmp(method, "GET") == 0;
    pthread_mutex_lock(&metrics_lock);
    const char *body = found ? (metrics_text ? metrics_text : "") : "not found\n";
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    pthread_mutex_unlock(&metrics_lock);
    MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
    enum MHD_Result rc = MHD_queue_response(conn, found ? 200 : 404, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void metrics_update(struct reconciler *r)
{
    size_t size = 65536 + (size_t)reconcile_task_count(r) * 4096;
    char *text = malloc(size);
    if (!text)
        return;
    size_t need = reconcile_metrics_text(r, text, size);
    if (need >= size) { /* long names: once more with the size it asked for */
        char *bigger = realloc(text, need + 1);
        if (!bigger) {
            free(text);
            return;
        }
        text = bigger;
        reconcile_metrics_text(r, text, need + 1);
    }
    pthread_mutex_lock(&metrics_lock);
    free(metrics_text);
    metrics_text = text;
    pthread_mutex_unlock(&metrics_lock);
}

static struct MHD_Daemon *metrics_start(const char *address, int port)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) {
        log_error("metrics-address \"%s\" is not an IPv4 address", address);
        return NULL;
    }
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL,
                            metrics_handler, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
}

/* ------------------------------------------------------------------------------------------ */
/* Main loop                                                                                  */

static PGconn *connect_and_listen(const char *url)
{
    struct db_error err;
    PGconn *conn = db_connect(url, NULL, &err);
    if (!conn) {
        log_warn("database unavailable: %s", err.message);
        return NULL;
    }
    if (db_exec(conn, "LISTEN sluice_desired", 0, NULL, &err) != 0) {
        log_warn("LISTEN failed: %s", err.message);
        PQfinish(conn);
        return NULL;
    }
    log_info("connected to the database; listening on sluice_desired");
    return conn;
}

/* The operator's allow list with the Kafka cluster's addresses (servers resolved now, each as
 * CIDR:port) appended, so no deny entry keeps workers from the streams stored there; malloc'd.
 * A host that does not resolve is left out with a warning. */
static char *egress_allow_kafka(const char *allow, const char *servers)
{
    size_t cap = strlen(allow) + 1, len = strlen(allow);
    char *out = malloc(cap);
    if (!out)
        return NULL;
    memcpy(out, allow, cap);
    char list[1024];
    snprintf(list, sizeof list, "%s", servers ? servers : "");
    char *save = NULL;
    for (char *hp = strtok_r(list, ",", &save); hp; hp = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(hp, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char host[256];
        snprintf(host, sizeof host, "%s", hp[0] == '[' ? hp + 1 : hp);
        host[strcspn(host, "]")] = '\0';
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) {
            log_warn("kafka-bootstrap-servers: cannot resolve %s: left out of the egress allow list", host);
            continue;
        }
        for (struct addrinfo *a = ai; a; a = a->ai_next) {
            char ip[64], entry[128];
            int v6 = a->ai_family == AF_INET6;
            const void *addr = v6 ? (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr
                                  : (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr;
            if (!inet_ntop(a->ai_family, addr, ip, sizeof ip))
                continue;
            int n = snprintf(entry, sizeof entry, v6 ? "%s[%s/128]:%s" : "%s%s/32:%s", len ? "," : "", ip, colon + 1);
            char *grown = realloc(out, len + (size_t)n + 1);
            if (!grown)
                break;
            out = grown;
            memcpy(out + len, entry, (size_t)n + 1);
            len += (size_t)n;
        }
        freeaddrinfo(ai);
    }
    return out;
}

/* Installs the egress policy (egress.h) as the options say, and fills report with the line
 * network tasks show for their "egress" layer. *installed says whether there is a table to
 * remove at exit. Returns 0, or -1 with err when the policy is required and cannot be had. */
static int egress_setup(const struct cp_config *cfg, const char *data_root, const char *node_id, char *table,
                        size_t tablesz, char *report, size_t reportsz, int *installed, char *err, size_t errsz)
{
    *installed = 0;
    static char *allow; /* lives as long as the process: the policy is reinstalled from it */
    free(allow);
    allow = egress_allow_kafka(cfg->egress_allow, cfg->kafka_bootstrap_servers);
    struct egress_options eo = {
        .database_url = cfg->database_url, .deny = cfg->egress_deny, .allow = allow ? allow : cfg->egress_allow};
    if (*cfg->egress_table)
        snprintf(table, tablesz, "%s", cfg->egress_table);
    else
        egress_table_name(data_root, node_id, table, tablesz);
    eo.table = table;
    if (egress_parse_uids(cfg->egress_uids, &eo.uid_min, &eo.uid_max, err, errsz) != 0)
        return -1;
    int n = 0;
    for (const char *s = cfg->api_ports; *s && n < EGRESS_MAX_PORTS - 1;) {
        char *end;
        long port = strtol(s, &end, 10);
        if (end == s || port < 1 || port > 65535 || (*end && *end != ',')) {
            snprintf(err, errsz, "api-ports \"%s\" is not a comma-separated list of ports", cfg->api_ports);
            return -1;
        }
        eo.ports[n++] = (int)port;
        s = *end ? end + 1 : end;
    }
    if (cfg->metrics_port > 0)
        eo.ports[n++] = (int)cfg->metrics_port;
    char summary[700];
    char *script = egress_ruleset(&eo, summary, sizeof summary, err, errsz); /* checks the lists */
    if (!script)
        return -1;
    free(script);
    if (strcmp(cfg->egress_policy, "off") == 0) {
        snprintf(report, reportsz, "unavailable: turned off (egress-policy off)");
        return 0;
    }
    if (geteuid() != 0) {
        snprintf(report, reportsz, "unavailable: controlplane not running as root");
        return 0;
    }
    char nft_err[512];
    if (egress_install(&eo, summary, sizeof summary, nft_err, sizeof nft_err) != 0) {
        if (strcmp(cfg->egress_policy, "required") == 0) {
            snprintf(err, errsz,
                     "cannot install the egress policy (nftables table inet %s): %s; network workers would reach "
                     "the platform (use --egress-policy best-effort to run without it)",
                     table, nft_err);
            return -1;
        }
        log_warn("egress policy not installed: %s", nft_err);
        snprintf(report, reportsz, "unavailable: nftables: %.400s", nft_err);
        return 0;
    }
    *installed = 1;
    log_info("egress policy: %s", summary);
    snprintf(report, reportsz, "applied: %s", summary);
    return 0;
}

static int config_check(struct cp_config *cfg, char *err, size_t errsz)
{
    if (config_apply_process(cfg->log_level, cfg->log_format, cfg->database_url, err, errsz) < 0)
        return -1;
    if (strcmp(cfg->egress_policy, "required") != 0 && strcmp(cfg->egress_policy, "best-effort") != 0 &&
        strcmp(cfg->egress_policy, "off") != 0) {
        snprintf(err, errsz, "egress-policy must be required, best-effort or off, not \"%s\"", cfg->egress_policy);
        return -1;
    }
    for (const char *s = cfg->egress_table; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_') ||
            s - cfg->egress_table > 60) {
            snprintf(err, errsz, "egress-table must be up to 60 letters, digits or _");
            return -1;
        }
    if (cfg->backoff_max_ms < cfg->backoff_initial_ms) {
        snprintf(err, errsz, "backoff-max-ms must be at least backoff-initial-ms");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Setting up, running, tearing down                                                          */

/* The controlplane's state from its start to its exit. */
struct controlplane {
    struct cp_config cfg;
    char data_root[PATH_MAX], node_id[300];
    uint8_t key[CRYPTO_KEY_LEN];
    int have_key;
    char egress_report[800], egress_table[80];
    int egress_installed;
    struct reconciler *r;
    struct MHD_Daemon *metrics; /* NULL: no /metrics */
    PGconn *conn;               /* NULL while the database is unavailable */
};

/* Options from the command line and the environment, checked; the data root made and made
 * absolute; the node's name. Returns 0, 1 when --help printed the usage, or -1 with err. */
static int cp_options_load(struct controlplane *cp, int argc, char **argv, char *err, size_t errsz)
{
    struct cp_config *cfg = &cp->cfg;
    int rc = config_load(cp_options, CP_NOPTIONS, cfg, argc, argv, err, errsz);
    if (rc == 1) {
        config_usage(stdout, "controlplane", cp_options, CP_NOPTIONS);
        return 1;
    }
    if (rc == 0)
        rc = config_check(cfg, err, errsz);
    if (rc == 0 && (mkdir(cfg->data_root, 0755) != 0 && errno != EEXIST)) {
        snprintf(err, errsz, "data-root %s: %s", cfg->data_root, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && !realpath(cfg->data_root, cp->data_root)) {
        snprintf(err, errsz, "data-root %s: %s", cfg->data_root, strerror(errno));
        rc = -1;
    }
    if (rc < 0)
        return -1;
    if (*cfg->node_id) {
        snprintf(cp->node_id, sizeof cp->node_id, "%s", cfg->node_id);
    } else {
        char host[256] = "node";
        gethostname(host, sizeof host - 1);
        snprintf(cp->node_id, sizeof cp->node_id, "%s-%d", host, (int)getpid());
    }
    return 0;
}

/* The reconciler's options from the controlplane's. */
static struct reconcile_options cp_reconcile_options(struct controlplane *cp)
{
    const struct cp_config *cfg = &cp->cfg;
    return (struct reconcile_options){
        .node_id = cp->node_id,
        .data_root = cp->data_root,
        .lease_seconds = (int)cfg->lease_seconds,
        .max_tasks = (int)cfg->max_tasks,
        .task_memory_mb = {(uint64_t)cfg->task_memory_s_mb, (uint64_t)cfg->task_memory_m_mb,
                           (uint64_t)cfg->task_memory_l_mb},
        .task_cpu_seconds = {(uint64_t)cfg->task_cpu_seconds_s, (uint64_t)cfg->task_cpu_seconds_m,
                             (uint64_t)cfg->task_cpu_seconds_l},
        .egress_report = cp->egress_report,
        .kafka_bootstrap_servers = *cfg->kafka_bootstrap_servers ? cfg->kafka_bootstrap_servers : NULL,
        .master_key = cp->have_key ? cp->key : NULL,
        .seccomp = cfg->seccomp,
        .log_retention_hours = (int)cfg->log_retention_hours,
        .log_max_per_resource = (int)cfg->log_max_per_resource,
        .supervisor = {.worker_path = *cfg->worker_path ? cfg->worker_path : NULL,
                       .worker_args = cfg->worker_args,
                       .stop_timeout_ms = (int)cfg->stop_timeout_ms,
                       .heartbeat_timeout_ms = (int)cfg->heartbeat_timeout_ms,
                       .backoff_initial_ms = (int)cfg->backoff_initial_ms,
                       .backoff_max_ms = (int)cfg->backoff_max_ms,
                       .crash_limit = (int)cfg->crash_limit,
                       .crash_window_ms = (int)cfg->crash_window_s * 1000,
                       .cgroup_parent = cfg->cgroup_parent},
    };
}

/* The master key, the egress policy, the reconciler, /metrics and the stop signals. Returns 0,
 * or -1 with err (what is set up so far is in cp, for cp_teardown). */
static int cp_start(struct controlplane *cp, char *err, size_t errsz)
{
    const struct cp_config *cfg = &cp->cfg;
    char keyerr[256];
    cp->have_key = crypto_master_key_load(cfg->master_key, cfg->master_key_file, cp->key, keyerr, sizeof keyerr) == 0;
    if (!cp->have_key)
        log_warn("no master key (%s): connections that use secrets will not start", keyerr);
    if (egress_setup(cfg, cp->data_root, cp->node_id, cp->egress_table, sizeof cp->egress_table, cp->egress_report,
                     sizeof cp->egress_report, &cp->egress_installed, err, errsz) != 0)
        return -1;
    struct reconcile_options ro = cp_reconcile_options(cp);
    if (!(cp->r = reconcile_new(&ro, err, errsz)))
        return -1;
    if (cfg->metrics_port > 0 && !(cp->metrics = metrics_start(cfg->metrics_address, (int)cfg->metrics_port))) {
        snprintf(err, errsz, "cannot listen on %s:%ld for /metrics", cfg->metrics_address, cfg->metrics_port);
        return -1;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    log_info("controlplane node %s: data root %s, cgroups %s", cp->node_id, cp->data_root,
             cgroup_version_name(cgroup_detect(NULL)));
    return 0;
}

/* When the main loop does what next (clock_mono_ms() times). */
struct cp_loop {
    int64_t next_connect, next_resync, next_sync, last_sync, next_retain;
    int connect_delay; /* ms until the next attempt after a failed one: 250 doubling to 5000 */
    int need_converge; /* a notification came or the last claim filled its batch */
};

/* Connects to the database when it is time to try; backs off while it fails. */
static void cp_connect(struct controlplane *cp, struct cp_loop *lp, int64_t now)
{
    if (cp->conn || now < lp->next_connect)
        return;
    cp->conn = connect_and_listen(cp->cfg.database_url);
    if (cp->conn) {
        reconcile_set_conn(cp->r, cp->conn);
        lp->need_converge = 1;
        lp->connect_delay = 250;
    } else {
        lp->next_connect = now + lp->connect_delay;
        lp->connect_delay = lp->connect_delay * 2 > 5000 ? 5000 : lp->connect_delay * 2;
    }
}

/* One round of database work: notifications, converge (when notified, or at the resync
 * period), status sync, log retention. Returns 0, or -1 with dberr. */
static int cp_database_round(struct controlplane *cp, struct cp_loop *lp, int64_t now, struct db_error *dberr)
{
    PQconsumeInput(cp->conn);
    PGnotify *n;
    while ((n = PQnotifies(cp->conn))) {
        log_debug("notified: %s", n->extra);
        lp->need_converge = 1;
        PQfreemem(n);
    }
    if (lp->need_converge || now >= lp->next_resync) {
        int failed = reconcile_converge(cp->r, dberr) != 0;
        lp->need_converge = !failed && reconcile_more_to_claim(cp->r);
        lp->next_resync = now + cp->cfg.resync_ms;
        lp->next_sync = 0; /* write the result at once */
        if (failed)
            return -1;
    }
    if (now >= lp->next_sync || (reconcile_dirty(cp->r) && now - lp->last_sync >= 100)) {
        int failed = reconcile_sync(cp->r, dberr) != 0;
        lp->last_sync = now;
        lp->next_sync = now + cp->cfg.sync_ms;
        if (cp->metrics)
            metrics_update(cp->r);
        if (failed)
            return -1;
    }
    if (now >= lp->next_retain) {
        long deleted = reconcile_retain_logs(cp->r, dberr);
        if (deleted > 0)
            log_info("log retention: %ld lines deleted", deleted);
        lp->next_retain = now + 60000;
        if (deleted < 0)
            return -1;
    }
    return 0;
}

/* The main loop, until SIGTERM or SIGINT: workers keep running while the database is away. */
static void cp_run(struct controlplane *cp)
{
    struct cp_loop lp = {.connect_delay = 250, .need_converge = 1};
    while (!stop_requested) {
        cp_connect(cp, &lp, clock_mono_ms());
        reconcile_poll(cp->r, 50);
        int64_t now = clock_mono_ms();
        struct db_error dberr = {0};
        if (!cp->conn) {
            if (cp->metrics && now >= lp.next_sync) {
                metrics_update(cp->r);
                lp.next_sync = now + cp->cfg.sync_ms;
            }
            continue;
        }
        if (cp_database_round(cp, &lp, now, &dberr) == 0)
            continue;
        log_warn("database: %s", dberr.message);
        if (dberr.connection_lost || PQstatus(cp->conn) != CONNECTION_OK) {
            log_warn("database connection lost; workers keep running, reconnecting");
            PQfinish(cp->conn);
            cp->conn = NULL;
            reconcile_set_conn(cp->r, NULL);
            lp.next_connect = now + lp.connect_delay;
        }
    }
    log_info("stopping: stopping workers and releasing leases");
    reconcile_shutdown(cp->r);
}

/* Undoes cp_start (as far as it got) and cp_options_load. ran: the main loop ran, so the
 * workers' cgroups are to be removed too. */
static void cp_teardown(struct controlplane *cp, bool ran)
{
    char err[512];
    if (cp->metrics)
        MHD_stop_daemon(cp->metrics);
    reconcile_free(cp->r);
    if (ran)
        cgroup_parent_remove(cp->cfg.cgroup_parent);
    /* After the workers are gone: none runs unfiltered. */
    if (cp->egress_installed && egress_remove(cp->egress_table, err, sizeof err) != 0)
        log_warn("removing the egress policy (nftables table inet %s): %s", cp->egress_table, err);
    if (cp->conn)
        PQfinish(cp->conn);
    free(metrics_text);
    metrics_text = NULL;
    config_free(cp_options, CP_NOPTIONS, &cp->cfg);
}

int controlplane_main(int argc, char **argv)
{
    struct controlplane cp = {0};
    char err[1024];
    int rc = cp_options_load(&cp, argc, argv, err, sizeof err);
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "sluiced controlplane: %s\n", err);
        config_free(cp_options, CP_NOPTIONS, &cp.cfg);
        return rc < 0 ? 2 : 0;
    }
    if (cp_start(&cp, err, sizeof err) != 0) {
        fprintf(stderr, "sluiced controlplane: %s\n", err);
        cp_teardown(&cp, false);
        return 1;
    }
    cp_run(&cp);
    cp_teardown(&cp, true);
    return 0;
}
