/* cli_output.h — how the CLI prints resources: aligned tables (columns per kind, fitted to the
 * terminal width), JSON, YAML (through libyaml's emitter) or bare names. All functions take
 * borrowed JSON and write to stdout. */
#ifndef SLUICE_SDK_CLI_OUTPUT_H
#define SLUICE_SDK_CLI_OUTPUT_H

#include <jansson.h>
#include <stdio.h>

#include "sdk/cli.h"

/* Output format from "table" | "json" | "yaml" | "name"; -1 when unknown. */
int cli_output_parse(const char *word, enum cli_output *out);

/* Prints a list of resources of one kind (items: a JSON array). */
void cli_print_resources(enum sluice_kind kind, json_t *items, enum cli_output format);

/* Prints one value (a resource or any answer): JSON or YAML; as YAML for table and name. */
void cli_print_value(json_t *value, enum cli_output format);

/* Prints an array of flat objects as a table whose columns are the first object's keys
 * (usage, preview rows), or as JSON/YAML. */
void cli_print_rows(json_t *rows, enum cli_output format);

/* Writes value as YAML to f. Returns 0, or -1 when libyaml fails. */
int cli_write_yaml(FILE *f, json_t *value);

#endif
