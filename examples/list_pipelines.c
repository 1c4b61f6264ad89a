/* list_pipelines.c — a first program with libsluice, the C SDK: prints each pipeline of the
 * tenant with its desired and actual state, as `sluice get pipelines` does.
 *
 *   cc examples/list_pipelines.c $(pkg-config --cflags --libs libsluice) -o list_pipelines
 *   SLUICE_API_URL=https://localhost:8443 SLUICE_API_KEY=sk_... SLUICE_CA_FILE=var/tls/cert.pem \
 *     ./list_pipelines
 *
 * Exit status 0, or 1 with the error (and the request id, when the server answered). */
#include <stdio.h>
#include <stdlib.h>

#include <sluice.h>

int main(void)
{
    struct sluice_options options = {
        .base_url = getenv("SLUICE_API_URL"),
        .api_key = getenv("SLUICE_API_KEY"),
        .ca_file = getenv("SLUICE_CA_FILE"), /* NULL: the system's CAs */
    };
    struct sluice_error err;
    if (!options.base_url) {
        fprintf(stderr, "list_pipelines: set SLUICE_API_URL (and SLUICE_API_KEY, SLUICE_CA_FILE)\n");
        return 1;
    }
    sluice_client *client = sluice_client_new(&options, &err);
    if (!client) {
        fprintf(stderr, "list_pipelines: %s\n", err.message);
        return 1;
    }
    sluice_list *it = sluice_list_new(client, SLUICE_KIND_PIPELINE, NULL, 0);
    json_t *item; /* borrowed: valid until the next call */
    int r;
    while ((r = sluice_list_next(it, &item, &err)) == 1)
        printf("%s %s %s\n", json_string_value(json_object_get(item, "name")),
               json_string_value(json_object_get(item, "desired_state")),
               json_string_value(json_object_get(item, "actual_state")));
    if (r < 0)
        fprintf(stderr, "list_pipelines: %s [%s, request id %s]\n", err.message, sluice_code_name(err.code),
                err.request_id[0] ? err.request_id : "-");
    sluice_list_free(it);
    sluice_client_free(client);
    return r < 0;
}
