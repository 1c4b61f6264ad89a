/* openapi.h — the OpenAPI 3 description of the REST API (api/openapi.json, built in). */
#ifndef SLUICE_API_OPENAPI_H
#define SLUICE_API_OPENAPI_H

/* NUL-terminated JSON text, static. */
extern const char api_openapi_json[];

#endif
