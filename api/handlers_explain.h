/* handlers_explain.h — POST /v1/pipelines/explain: the plan of a pipeline's SQL, compiled as a
 * pipeline create compiles it (the caller's streams and functions), shown and not run. */
#ifndef SLUICE_API_HANDLERS_EXPLAIN_H
#define SLUICE_API_HANDLERS_EXPLAIN_H

#include "api/http.h"

/* Body {"sql": "..."} (INSERT INTO ... SELECT ..., or a bare SELECT ...; a leading EXPLAIN is
 * allowed). 200 {"plan": text, "operators": [...]}; 422 invalid_sql with
 * line and column. */
int pipelines_explain(struct api_request *req, struct api_response *resp);

#endif
