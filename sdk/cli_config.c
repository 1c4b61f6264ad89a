/* cli_config.c — reads and writes the CLI's profiles file (see cli_config.h). */
#include "sdk/cli_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_config_path(char *buf, size_t cap)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && *xdg)
        n = snprintf(buf, cap, "%s/sluice/config", xdg);
    else if (home && *home)
        n = snprintf(buf, cap, "%s/.config/sluice/config", home);
    else
        return -1;
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

void cli_profile_clear(struct cli_profile *p)
{
    free(p->api_url);
    free(p->api_key);
    free(p->ca_file);
    memset(p, 0, sizeof *p);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Keys of a profile: one row each, so that a new setting is one more row. */
struct key_row {
    const char *key;
    size_t offset; /* of the char * in struct cli_profile; SIZE_MAX for insecure */
};
static const struct key_row key_rows[] = {
    {"api_url", offsetof(struct cli_profile, api_url)},
    {"api_key", offsetof(struct cli_profile, api_key)},
    {"ca_file", offsetof(struct cli_profile, ca_file)},
    {"insecure", (size_t)-1},
};
#define N_KEYS (sizeof key_rows / sizeof key_rows[0])

static int set_key(struct cli_profile *p, const char *key, const char *value)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(key_rows[i].key, key) != 0)
            continue;
        if (key_rows[i].offset == (size_t)-1) {
            p->insecure = strcmp(value, "true") == 0;
            return 0;
        }
        char **slot = (char **)((char *)p + key_rows[i].offset);
        free(*slot);
        *slot = *value ? strdup(value) : NULL;
        return 0;
    }
    return -1;
}

int cli_profile_load(const char *name, struct cli_profile *p, char *errbuf, size_t errcap)
{
    memset(p, 0, sizeof *p);
    char path[4096];
    if (cli_config_path(path, sizeof path) < 0)
        return 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(errbuf, errcap, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char line[8192];
    int lineno = 0, rc = 0;
    bool in_profile = false;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end) {
                snprintf(errbuf, errcap, "%s:%d: section header without ']'", path, lineno);
                rc = -1;
                break;
            }
            *end = '\0';
            in_profile = strcmp(trim(s + 1), name) == 0;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(errbuf, errcap, "%s:%d: expected key = value", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        if (in_profile)
            set_key(p, trim(s), trim(eq + 1)); /* unknown keys are kept for newer versions */
    }
    fclose(f);
    if (rc < 0)
        cli_profile_clear(p);
    return rc;
}

static int make_dirs(char *path, char *errbuf, size_t errcap)
{
    for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        int r = mkdir(path, 0700);
        int saved = errno;
        *s = '/';
        if (r < 0 && saved != EEXIST) {
            snprintf(errbuf, errcap, "cannot create the directory of %s: %s", path, strerror(saved));
            return -1;
        }
    }
    return 0;
}

int cli_profile_save(const char *name, const struct cli_profile *p, char *errbuf, size_t errcap)
{
    char path[4096], tmp[4200];
    if (cli_config_path(path, sizeof path) < 0) {
        snprintf(errbuf, errcap, "neither XDG_CONFIG_HOME nor HOME is set: nowhere to keep the profile");
        return -1;
    }
    if (make_dirs(path, errbuf, errcap) < 0)
        return -1;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        snprintf(errbuf, errcap, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    FILE *out = fdopen(fd, "w");
    if (!out) {
        close(fd);
        unlink(tmp);
        snprintf(errbuf, errcap, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    /* copy the other profiles, then write this one */
    FILE *in = fopen(path, "r");
    if (in) {
        char line[8192];
        bool skip = false;
        while (fgets(line, sizeof line, in)) {
            char copy[8192];
            snprintf(copy, sizeof copy, "%s", line);
            char *s = trim(copy);
            if (*s == '[') {
                char *end = strchr(s, ']');
                if (end)
                    *end = '\0';
                skip = strcmp(trim(s + 1), name) == 0;
            }
            if (!skip)
                fputs(line, out);
        }
        fclose(in);
    }
    fprintf(out, "[%s]\n", name);
    const char *values[] = {p->api_url, p->api_key, p->ca_file};
    for (size_t i = 0; i < 3; i++)
        if (values[i])
            fprintf(out, "%s = %s\n", key_rows[i].key, values[i]);
    fprintf(out, "insecure = %s\n\n", p->insecure ? "true" : "false");
    bool failed = fflush(out) != 0 || fsync(fileno(out)) != 0;
    failed = fclose(out) != 0 || failed;
    if (failed || chmod(tmp, 0600) < 0 || rename(tmp, path) < 0) {
        snprintf(errbuf, errcap, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
