/* log.h — one logging call for every process: levelled, printf-checked, structured.
 *
 * A line is written to stderr as `ts level [id] message` (text) or as one JSON object
 * (`{"ts","level","id","msg"}`) when the format is json. The id is the current request or task
 * id, set per thread with log_set_id(). Nothing is formatted when the level is off. */
#ifndef SLUICE_COMMON_LOG_H
#define SLUICE_COMMON_LOG_H

#include <stdarg.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

extern enum log_level log_min_level;

/* Level from "debug" | "info" | "warn" | "error"; returns -1 on an unknown name. */
int log_set_level_name(const char *name);
/* "text" (default) or "json"; returns -1 on an unknown name. */
int log_set_format_name(const char *name);
/* Sets this thread's id (request or task id), copied; NULL clears it. */
void log_set_id(const char *id);
const char *log_get_id(void);

void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vwrite(enum log_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define log_at(level, ...)                                                                                             \
    do {                                                                                                               \
        if ((level) >= log_min_level)                                                                                  \
            log_write((level), __VA_ARGS__);                                                                           \
    } while (0)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_at(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_at(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_at(LOG_ERROR, __VA_ARGS__)

#endif
