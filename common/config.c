/* config.c — options table driven configuration: defaults, file, environment, flags. */
#include "common/config.h"

#include "common/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct option_row *config_find(const struct option_row *options, size_t count, const char *name,
                                            size_t len)
{
    for (size_t i = 0; i < count; i++) {
        const char *n = options[i].name;
        if (strlen(n) != len)
            continue;
        size_t j = 0;
        for (; j < len; j++) {
            char a = n[j] == '_' ? '-' : n[j], b = name[j] == '_' ? '-' : name[j];
            if (a != b)
                break;
        }
        if (j == len)
            return &options[i];
    }
    return NULL;
}

/* Parses value by o's row into its field of target (the shared validator: common/options.h). */
static int config_apply(const struct option_row *o, void *target, const char *value, char *err, size_t errlen)
{
    const struct option_table t = {.owner = NULL, .rows = o, .n = 1};
    return option_store(&t, o, value, target, err, errlen);
}

int config_set(const struct option_row *options, size_t count, void *target, const char *name, const char *value,
               char *err, size_t errlen)
{
    const struct option_row *o = config_find(options, count, name, strlen(name));
    if (!o) {
        snprintf(err, errlen, "unknown option \"%s\"", name);
        return -1;
    }
    return config_apply(o, target, value, err, errlen);
}

static char *config_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int config_read_file(const struct option_row *options, size_t count, void *target, const char *path, char *err,
                            size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = config_trim(line);
        if (*s == '#' || *s == '\0')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "config file %s line %d: expected name = value", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *name = config_trim(s), *value = config_trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = '\0';
            value++;
        }
        char sub[512];
        if (config_set(options, count, target, name, value, sub, sizeof sub) < 0) {
            snprintf(err, errlen, "config file %s line %d: %s", path, lineno, sub);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

int config_load(const struct option_row *options, size_t count, void *target, int argc, char **argv, char *err,
                size_t errlen)
{
    for (size_t i = 0; i < count; i++)
        if (options[i].def && config_apply(&options[i], target, options[i].def, err, errlen) < 0)
            return -1;

    const char *file = getenv("SLUICE_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            file = argv[i] + 9;
    }
    if (file && *file && config_read_file(options, count, target, file, err, errlen) < 0)
        return -1;

    for (size_t i = 0; i < count; i++) {
        const char *v = options[i].env ? getenv(options[i].env) : NULL;
        if (v && config_apply(&options[i], target, v, err, errlen) < 0)
            return -1;
    }

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument \"%s\"", a);
            return -1;
        }
        a += 2;
        const char *eq = strchr(a, '='), *value;
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len == 6 && strncmp(a, "config", 6) == 0) {
            if (!eq)
                i++;
            continue;
        }
        const struct option_row *o = config_find(options, count, a, len);
        if (!o) {
            snprintf(err, errlen, "unknown option \"--%.*s\"", (int)len, a);
            return -1;
        }
        if (eq) {
            value = eq + 1;
        } else if (o->type == OPTION_BOOL && (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)) {
            value = "true";
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            snprintf(err, errlen, "option --%s needs a value", o->name);
            return -1;
        }
        if (config_apply(o, target, value, err, errlen) < 0)
            return -1;
    }
    return 0;
}

void config_free(const struct option_row *options, size_t count, void *target)
{
    const struct option_table t = {.rows = options, .n = count};
    option_table_free(&t, target);
}

void config_usage(FILE *out, const char *command, const struct option_row *options, size_t count)
{
    fprintf(out, "usage: sluiced %s [options]\n\noptions (flag, environment, default):\n", command);
    fprintf(out, "  --%-22s %-28s %s\n", "config FILE", "SLUICE_CONFIG", "file of name = value lines");
    for (size_t i = 0; i < count; i++) {
        const struct option_row *o = &options[i];
        fprintf(out, "  --%-22s %-28s %s%s%s%s\n", o->name, o->env ? o->env : "", o->help, o->def ? " (default: " : "",
                o->def ? o->def : "", o->def ? ")" : "");
    }
}

int config_apply_process(const char *log_level, const char *log_format, const char *database_url, char *err,
                         size_t errlen)
{
    if (log_set_level_name(log_level) < 0) {
        snprintf(err, errlen, "unknown log level \"%s\"", log_level);
        return -1;
    }
    if (log_set_format_name(log_format) < 0) {
        snprintf(err, errlen, "unknown log format \"%s\"", log_format);
        return -1;
    }
    if (!database_url || !*database_url) {
        snprintf(err, errlen, "no database: pass --database-url or set SLUICE_DATABASE_URL");
        return -1;
    }
    return 0;
}
