/* request_fuzz.c — libFuzzer harness for what the api does with untrusted request text before
 * any database work: JSON parsing and table-driven validation, path routing, If-Match parsing.
 * Input: first line is the path / If-Match text, the rest the JSON body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/resources.h"
#include "api/router.h"
#include "common/json_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_handler(struct api_request *req, struct api_response *resp) { return 0; }

static const struct api_route fuzz_routes[] = {
    {"GET", "/v1/pipelines", fuzz_handler, 0, NULL},
    {"GET", "/v1/pipelines/{id}", fuzz_handler, 0, NULL},
    {"POST", "/v1/pipelines/{id}/activate", fuzz_handler, 0, NULL},
    {"GET", "/v1/{a}/{b}/{c}", fuzz_handler, 0, NULL},
};

static const char *const fuzz_enum[] = {"source", "sink", NULL};
static const struct json_check_field fuzz_fields[] = {
    {"name", JSON_CHECK_NAME, JSON_CHECK_REQUIRED, 0, 0, NULL},
    {"description", JSON_CHECK_STRING, JSON_CHECK_NULLABLE, 0, 100, NULL},
    {"task_count", JSON_CHECK_INT, 0, 1, 64, NULL},
    {"type", JSON_CHECK_ENUM, 0, 0, 0, fuzz_enum},
    {"properties", JSON_CHECK_STRING_MAP, 0, 0, 10, NULL},
    {"schema", JSON_CHECK_OBJECT, 0, 0, 0, NULL},
    {"fields", JSON_CHECK_ARRAY, 0, 0, 5, NULL},
    {"enabled", JSON_CHECK_BOOL, 0, 0, 0, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t line_len = nl ? (size_t)(nl - data) : size;
    char *line = malloc(line_len + 1);
    memcpy(line, data, line_len);
    line[line_len] = '\0';

    const struct api_route *route;
    struct router_params params;
    router_match(fuzz_routes, sizeof fuzz_routes / sizeof fuzz_routes[0], "GET", line, &route, &params);
    long long version;
    resource_parse_if_match(line, &version);
    json_check_name(line);
    free(line);

    if (nl) {
        json_error_t err;
        json_t *body = json_loadb((const char *)nl + 1, size - line_len - 1, JSON_REJECT_DUPLICATES, &err);
        struct json_check_error cerr;
        if (body) {
            json_check_object(body, "", fuzz_fields, sizeof fuzz_fields / sizeof fuzz_fields[0], false, &cerr);
            json_check_object(body, "x", fuzz_fields, sizeof fuzz_fields / sizeof fuzz_fields[0], true, &cerr);
        }
        json_decref(body);
    }
    return 0;
}
