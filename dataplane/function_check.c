/* function_check.c — a worker child of kind "function" (see function_check.h). */
#include "dataplane/function_check.h"

#include <stdio.h>
#include <stdlib.h>

#include "dataplane/sql/sql.h"

int function_check_worker_run(json_t *spec, char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(spec, "name"));
    const char *returns = json_string_value(json_object_get(spec, "returns"));
    const char *source = json_string_value(json_object_get(spec, "source"));
    if (!name || !returns || !source) {
        snprintf(err, errlen, "a function spec needs name, returns and source");
        return -1;
    }
    struct sql_function_def d;
    struct sql_error se;
    json_t *o;
    if (sql_function_define(name, returns, source, &d, &se) == 0) {
        o = json_pack("{s:s,s:b,s:b}", "type", "function", "aggregate", d.aggregate, "merge", d.merge);
        sql_function_def_free(&d);
    } else {
        o = json_pack("{s:s,s:s}", "type", "function", "error", se.message);
    }
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    return 0;
}
