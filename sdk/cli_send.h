/* cli_send.h — `sluice send CONNECTION [-f FILE]`: HTTP ingest from the command line. Reads one
 * JSON object a line (NDJSON) from FILE or stdin, blank lines skipped, and POSTs them to the
 * connection's /events in batches of CLI_SEND_BATCH lines, each batch all or nothing. Prints
 * what each batch wrote (or, with -o json/yaml, one summary at the end). A line that is not a
 * JSON object stops it with exit 2 and a server refusal with exit 1 (3: no such connection),
 * naming the file's line numbers; batches sent before stay written, and the message says how
 * many events they held. */
#ifndef SLUICE_SDK_CLI_SEND_H
#define SLUICE_SDK_CLI_SEND_H

#include "sdk/cli.h"

#define CLI_SEND_BATCH 1000

int cli_cmd_send(struct cli *cli);

#endif
