/* log.c — levelled, structured logging to stderr (see log.h). */
#include "common/log.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

enum log_level log_min_level = LOG_INFO;
static int log_json;
static __thread char log_id[64];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_set_level_name(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            log_min_level = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

int log_set_format_name(const char *name)
{
    if (strcmp(name, "text") == 0)
        log_json = 0;
    else if (strcmp(name, "json") == 0)
        log_json = 1;
    else
        return -1;
    return 0;
}

void log_set_id(const char *id)
{
    if (!id)
        log_id[0] = '\0';
    else
        snprintf(log_id, sizeof log_id, "%s", id);
}

const char *log_get_id(void) { return log_id; }

void log_vwrite(enum log_level level, const char *fmt, va_list ap)
{
    if (level < log_min_level)
        return;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
    if (log_json) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "ts", ts, "level", level_names[level], "id", log_id, "msg", msg);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s)
            fprintf(stderr, "%s\n", s);
        free(s);
        json_decref(o);
    } else if (log_id[0]) {
        fprintf(stderr, "%s %-5s [%s] %s\n", ts, level_names[level], log_id, msg);
    } else {
        fprintf(stderr, "%s %-5s %s\n", ts, level_names[level], msg);
    }
}

void log_write(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, fmt, ap);
    va_end(ap);
}
