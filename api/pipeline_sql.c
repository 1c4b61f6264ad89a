/* pipeline_sql.c — validation of pipeline SQL at the API boundary. */
#include "api/pipeline_sql.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int pipeline_validate_sql(const char *sql, struct pipeline_sql_error *err)
{
    size_t len = strlen(sql);
    const char *p = sql;
    while (*p && isspace((unsigned char)*p))
        p++;
    if (!*p) {
        err->line = 1;
        err->column = 1;
        snprintf(err->message, sizeof err->message, "the SQL text is empty");
        return -1;
    }
    if (len > PIPELINE_SQL_MAX) {
        err->line = 1;
        err->column = 1;
        snprintf(err->message, sizeof err->message, "the SQL text is longer than %d bytes", PIPELINE_SQL_MAX);
        return -1;
    }
    return 0;
}
