/* query_args.h — typed query-string arguments for the controlplane's api handlers. */
#ifndef SLUICE_API_QUERY_ARGS_H
#define SLUICE_API_QUERY_ARGS_H

#include "api/http.h"

/* ?name= as an integer in [min, max], def when absent. 0, or -1 with a 400 invalid_request
 * naming the argument in resp. */
int query_args_long(struct api_request *req, struct api_response *resp, const char *name, long def, long min, long max,
                    long *out);

#endif
