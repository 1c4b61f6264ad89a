/* router.c — path pattern matching for the route table. */
#include "api/router.h"

#include <string.h>

bool router_match_path(const char *pattern, const char *path, struct router_params *params)
{
    struct router_params local;
    if (!params)
        params = &local;
    params->count = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close)
                return false;
            size_t len = strcspn(s, "/");
            if (len == 0 || len >= ROUTER_PARAM_MAX || params->count == ROUTER_MAX_PARAMS)
                return false;
            memcpy(params->values[params->count], s, len);
            params->values[params->count][len] = '\0';
            params->count++;
            p = close + 1;
            s += len;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    return *p == '\0' && *s == '\0';
}

enum router_result router_match(const struct api_route *routes, size_t count, const char *method, const char *path,
                                const struct api_route **found, struct router_params *params)
{
    enum router_result result = ROUTER_NO_PATH;
    *found = NULL;
    for (size_t i = 0; i < count; i++) {
        if (!router_match_path(routes[i].pattern, path, params))
            continue;
        if (strcmp(routes[i].method, method) == 0) {
            *found = &routes[i];
            return ROUTER_MATCH;
        }
        result = ROUTER_NO_METHOD;
    }
    return result;
}
