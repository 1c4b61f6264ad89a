/* router.h — matching a request's method and path against the route table.
 *
 * A pattern is a path whose segments are literals or "{name}" captures ("/v1/pipelines/{id}").
 * Captured segments are copied into struct router_params (at most ROUTER_MAX_PARAMS, each
 * shorter than ROUTER_PARAM_MAX). A path that matches some pattern but not with this method is
 * told apart from one that matches none, so the caller can answer 405 or 404. */
#ifndef SLUICE_API_ROUTER_H
#define SLUICE_API_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#define ROUTER_MAX_PARAMS 3
#define ROUTER_PARAM_MAX 96

struct api_request;
struct api_response;
typedef int (*api_handler)(struct api_request *req, struct api_response *resp);

/* Route flags. */
#define ROUTE_AUTH 1u         /* needs a bearer credential; runs in the tenant's transaction */
#define ROUTE_BODY 2u         /* needs a JSON object body */
#define ROUTE_PER_IP 4u       /* anonymous: rate-limited per client address (signup, login) */
#define ROUTE_ADMIN 8u        /* the caller's role must be owner or admin */
#define ROUTE_NO_DB 16u       /* answers without the database */
#define ROUTE_DB_OPTIONAL 32u /* runs even when the database is unreachable (req->db NULL) */
#define ROUTE_AUTH_CHANGE 64u /* may revoke credentials: evicts the tenant's cached ones on commit */

struct api_route {
    const char *method;
    const char *pattern;
    api_handler handler;
    unsigned flags;
    const void *data; /* handler argument, e.g. the resource kind */
};

struct router_params {
    int count;
    char values[ROUTER_MAX_PARAMS][ROUTER_PARAM_MAX];
};

enum router_result { ROUTER_MATCH = 0, ROUTER_NO_PATH, ROUTER_NO_METHOD };

/* Whether path matches pattern; captures go into params (may be NULL). */
bool router_match_path(const char *pattern, const char *path, struct router_params *params);

/* The first route of routes[0..count) matching method and path, in *found, with captures. */
enum router_result router_match(const struct api_route *routes, size_t count, const char *method, const char *path,
                                const struct api_route **found, struct router_params *params);

#endif
