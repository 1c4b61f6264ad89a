/* handlers_usage.h — metering and billing endpoints, and the api's Prometheus /metrics.
 *
 *   GET /v1/usage?from=&to=&group_by=resource|minute|hour|day|total   the caller's tenant
 *   GET /v1/billing/summary?period=YYYY-MM   usage priced by the tenant's plan
 *   GET /v1/operator/usage?from=&to=         every tenant (role operator only)
 *   GET /metrics                             Prometheus text (requests, service gauges)
 *
 * from/to are RFC 3339 timestamps (default: the last 24 hours). */
#ifndef SLUICE_API_HANDLERS_USAGE_H
#define SLUICE_API_HANDLERS_USAGE_H

#include "api/http.h"

int usage_list(struct api_request *req, struct api_response *resp);
int usage_billing_summary(struct api_request *req, struct api_response *resp);
int usage_operator(struct api_request *req, struct api_response *resp);
int usage_metrics(struct api_request *req, struct api_response *resp);
/* Counts a finished request for /metrics (called by the server for every response). */
void usage_observe_request(int status, double seconds);

#endif
