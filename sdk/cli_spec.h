/* cli_spec.h — reads `sluice apply` files: multi-document YAML or JSON, each document one
 * resource ({kind, metadata: {name}, spec}), or a JSON/YAML list of them. The whole file is
 * read and checked before anything is returned: unknown kinds and fields, missing names, values
 * of the wrong type (each spec against the fields its kind takes). Every problem is reported,
 * one a line, each pointing at its place in the file and its document:
 * "resources.yaml:LINE:COL: message (document N)". */
#ifndef SLUICE_SDK_CLI_SPEC_H
#define SLUICE_SDK_CLI_SPEC_H

#include <jansson.h>
#include <stddef.h>

#include "sdk/sluice.h"

struct cli_spec_doc {
    enum sluice_kind kind;
    char *name;          /* owned */
    json_t *spec;        /* owned reference: the API body without the name and desired_state */
    char *desired_state; /* owned: "running", "stopped", or NULL when the spec does not say */
    int line;            /* where the document starts, 1-based */
    int index;           /* which resource of the file, 1-based */
};

struct cli_spec_set {
    struct cli_spec_doc *docs;
    size_t count;
    char *label; /* owned: the file's name in messages */
};

/* Parses a file ("-" for stdin). label names it in messages. Returns 0, or -1 with errbuf
 * "label:LINE:COL: message", one line per problem (set freed). Release with cli_spec_free(). */
int cli_spec_read(const char *path, struct cli_spec_set *set, char *errbuf, size_t errcap);
/* The same from text in memory. */
int cli_spec_parse(const char *label, const char *text, size_t len, struct cli_spec_set *set, char *errbuf,
                   size_t errcap);
void cli_spec_free(struct cli_spec_set *set);

/* Reads a plain JSON or YAML value (one document) from a file: bodies for `sluice create -f`.
 * Returns a new reference, or NULL with errbuf filled. */
json_t *cli_spec_read_value(const char *path, char *errbuf, size_t errcap);

/* The whole of a file ("-" for stdin), NUL-terminated, malloc'd; *len (may be NULL) gets its
 * length. NULL with errbuf filled when it cannot be read. */
char *cli_read_file(const char *path, size_t *len, char *errbuf, size_t errcap);

#endif
