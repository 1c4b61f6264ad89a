/* migrate.c — `sluiced migrate`: ordered, recorded, idempotent SQL migrations. */
#include "common/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/db.h"
#include "common/log.h"

#define MIGRATE_LOCK_ID "7305553461"

static int migrate_name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* NNNN_name.sql: four or more digits, an underscore, a name, ".sql". */
static int migrate_is_file(const char *name)
{
    size_t n = strlen(name), digits = strspn(name, "0123456789");
    return digits >= 4 && name[digits] == '_' && n > digits + 5 && strcmp(name + n - 4, ".sql") == 0;
}

static char *migrate_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[len] = '\0';
    fclose(f);
    return buf;
}

static int migrate_simple(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errlen, "%s", PQresultErrorMessage(res));
    PQclear(res);
    return ok ? 0 : -1;
}

static int migrate_one(PGconn *conn, const char *dir, const char *file, char *err, size_t errlen)
{
    char path[4096], version[32];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    size_t digits = strspn(file, "0123456789");
    snprintf(version, sizeof version, "%.*s", (int)digits, file);
    const char *params[] = {version, file};
    PGresult *res =
        db_query_or_err(conn, "SELECT 1 FROM schema_migrations WHERE version = $1::bigint", 1, params, err, errlen);
    if (!res)
        return -1;
    int done = PQntuples(res) > 0;
    PQclear(res);
    if (done)
        return 0;
    char *sql = migrate_read(path);
    if (!sql) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char sub[1024] = "";
    int rc = migrate_simple(conn, "BEGIN", sub, sizeof sub);
    if (rc == 0)
        rc = migrate_simple(conn, sql, sub, sizeof sub);
    if (rc == 0) {
        PGresult *ins = db_query_or_err(conn, "INSERT INTO schema_migrations (version, name) VALUES ($1::bigint, $2)",
                                        2, params, sub, sizeof sub);
        rc = ins ? 0 : -1;
        PQclear(ins);
    }
    if (rc == 0)
        rc = migrate_simple(conn, "COMMIT", sub, sizeof sub);
    free(sql);
    if (rc < 0) {
        char ignored[64];
        migrate_simple(conn, "ROLLBACK", ignored, sizeof ignored);
        sub[strcspn(sub, "\n")] = '\0';
        snprintf(err, errlen, "migration %s failed: %s", file, sub);
        return -1;
    }
    log_info("applied migration %s", file);
    return 1;
}

int migrate_apply(PGconn *conn, const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot open migrations directory %s: %s", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!migrate_is_file(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown)
                break;
            names = grown;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, migrate_name_cmp);

    int applied = 0;
    if (migrate_simple(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_ID ")", err, errlen) < 0 ||
        migrate_simple(conn,
                       "SET client_min_messages = warning;"
                       "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, "
                       "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                       err, errlen) < 0) {
        applied = -1;
    }
    for (size_t i = 0; applied >= 0 && i < n; i++) {
        int rc = migrate_one(conn, dir, names[i], err, errlen);
        if (rc < 0)
            applied = -1;
        else
            applied += rc;
    }
    char ignored[64];
    migrate_simple(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_ID ")", ignored, sizeof ignored);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return applied;
}

void migrate_default_dir(char *out, size_t outlen)
{
    struct stat st;
    if (stat("migrations", &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(out, outlen, "migrations");
        return;
    }
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        snprintf(out, outlen, "migrations");
        return;
    }
    exe[len] = '\0';
    snprintf(out, outlen, "%s/../../migrations", dirname(exe));
}

struct migrate_config {
    char *database_url;
    char *migrations_dir;
    char *log_level;
};

static const struct option_row migrate_options[] = {
    {.name = "database-url",
     .env = "SLUICE_DATABASE_URL",
     .type = OPTION_STRING,
     OPTION_FIELD(struct migrate_config, database_url),
     .help = "PostgreSQL connection URL (required)"},
    {.name = "migrations-dir",
     .env = "SLUICE_MIGRATIONS_DIR",
     .type = OPTION_STRING,
     OPTION_FIELD(struct migrate_config, migrations_dir),
     .help = "directory of NNNN_name.sql files (default: ./migrations or next to the binary)"},
    {.name = "log-level",
     .env = "SLUICE_LOG_LEVEL",
     .type = OPTION_STRING,
     OPTION_FIELD(struct migrate_config, log_level),
     .def = "info",
     .help = "debug, info, warn or error"},
};
#define MIGRATE_NOPTIONS (sizeof migrate_options / sizeof migrate_options[0])

int migrate_main(int argc, char **argv)
{
    struct migrate_config cfg = {0};
    char err[1024], dir[4096];
    int rc = config_load(migrate_options, MIGRATE_NOPTIONS, &cfg, argc, argv, err, sizeof err);
    if (rc == 1) {
        config_usage(stdout, "migrate", migrate_options, MIGRATE_NOPTIONS);
        config_free(migrate_options, MIGRATE_NOPTIONS, &cfg);
        return 0;
    }
    if (rc == 0 && log_set_level_name(cfg.log_level) < 0) {
        snprintf(err, sizeof err, "unknown log level \"%s\"", cfg.log_level);
        rc = -1;
    }
    if (rc == 0 && (!cfg.database_url || !*cfg.database_url)) {
        snprintf(err, sizeof err, "no database: pass --database-url or set SLUICE_DATABASE_URL");
        rc = -1;
    }
    if (rc < 0) {
        fprintf(stderr, "sluiced migrate: %s\n", err);
        config_free(migrate_options, MIGRATE_NOPTIONS, &cfg);
        return 2;
    }
    if (cfg.migrations_dir && *cfg.migrations_dir)
        snprintf(dir, sizeof dir, "%s", cfg.migrations_dir);
    else
        migrate_default_dir(dir, sizeof dir);
    struct db_error dberr;
    PGconn *conn = db_connect(cfg.database_url, NULL, &dberr);
    int status = 0;
    if (!conn) {
        fprintf(stderr, "sluiced migrate: %s\n", dberr.message);
        status = 1;
    } else {
        int applied = migrate_apply(conn, dir, err, sizeof err);
        if (applied < 0) {
            fprintf(stderr, "sluiced migrate: %s\n", err);
            status = 1;
        } else {
            log_info("database is up to date (%d migration%s applied)", applied, applied == 1 ? "" : "s");
        }
        PQfinish(conn);
    }
    config_free(migrate_options, MIGRATE_NOPTIONS, &cfg);
    return status;
}
