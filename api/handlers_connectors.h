/* handlers_connectors.h — GET /v1/connectors: every connector a connection may use, with its
 * directions and its option table (the very rows the API and the worker validate a
 * connection's properties with, common/options.h), so that forms and tools can be built from
 * it. */
#ifndef SLUICE_API_HANDLERS_CONNECTORS_H
#define SLUICE_API_HANDLERS_CONNECTORS_H

#include "api/http.h"

int connectors_list(struct api_request *req, struct api_response *resp);

#endif
