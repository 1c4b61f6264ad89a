/* http_ingest.c — the facts of the "http" connector (see http_ingest.h). */
#include "dataplane/connectors/http_ingest.h"

static const struct option_row http_ingest_options[] = {
    {.name = "partition.key", .type = OPTION_STRING, .help = "the field whose value picks an event's partition"},
};
static const struct option_table http_ingest_option_table = OPTION_TABLE("http", http_ingest_options);

const struct stream_backend http_ingest_connector = {
    .name = "http",
    .options = &http_ingest_option_table,
    .source = true,
    .taskless = true,
};
