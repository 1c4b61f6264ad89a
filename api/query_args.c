/* query_args.c — typed query-string arguments. */
#include "api/query_args.h"

#include <errno.h>
#include <stdlib.h>

int query_args_long(struct api_request *req, struct api_response *resp, const char *name, long def, long min, long max,
                    long *out)
{
    const char *v = api_query(req, name);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max)
        return api_fail_field(resp, API_INVALID_REQUEST, name, "%s must be an integer from %ld to %ld", name, min, max);
    *out = n;
    return 0;
}
