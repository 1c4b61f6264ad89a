/* cli_apply.h — `sluice apply`: makes the server match a set of resource specs.
 *
 * First the whole set is checked against what the server has, changing nothing: a resource to
 * be created has its required fields, and every stream or secret a document names (a
 * connection's stream and secret_refs, a pipeline's dead_letter_stream and the streams its SQL
 * reads and writes) is on the server or in the set. Each problem is printed on stderr as
 * "FILE:LINE: kind/name: message (document N)"; with any, nothing is changed. (The API has no
 * dry run, so these checks are the CLI's; what only the server can judge, such as SQL, is
 * caught when the change is made, and then the changes made so far are undone.)
 *
 * Then it creates what is missing, updates what differs (comparing only the fields the spec
 * sets), leaves the rest, in dependency order (secrets, streams, connections, pipelines), and
 * activates or deactivates connections and pipelines whose spec has desired_state. When the
 * server refuses a change, the changes already made are undone in reverse order (created
 * resources deleted, updated fields put back, activations reversed), so a failed apply leaves
 * the server as it found it. --prune then deletes resources of those kinds that the set does not
 * name, in reverse order; --dry-run changes nothing. Prints "<kind>/<name> created|updated|
 * unchanged|activated|deactivated|pruned|rolled back (...)" per step. */
#ifndef SLUICE_SDK_CLI_APPLY_H
#define SLUICE_SDK_CLI_APPLY_H

#include <jansson.h>
#include <stdbool.h>

#include "sdk/cli_spec.h"
#include "sdk/sluice.h"

/* Whether every field of want (recursively, objects compared key by key) equals the same field
 * of have; numbers compare by value. Fields have has beyond want's are ignored. */
bool cli_apply_matches(json_t *want, json_t *have);

enum cli_apply_result {
    CLI_APPLY_OK = 0,
    CLI_APPLY_INVALID, /* the set has problems (printed); nothing was changed */
    CLI_APPLY_FAILED,  /* *err says what the server refused; what was changed was undone */
};

/* Applies set. */
enum cli_apply_result cli_apply(sluice_client *client, const struct cli_spec_set *set, bool dry_run, bool prune,
                                struct sluice_error *err);

/* The names of the streams a pipeline's SQL reads or writes, as far as a light scan can tell
 * (INSERT INTO x, FROM x at the top level, JOIN x, TABLE x; not the names of WITH clauses), each
 * once. Returns a new array of strings. */
json_t *cli_apply_sql_streams(const char *sql);

#endif
