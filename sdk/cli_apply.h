/* cli_apply.h — `sluice apply`: makes the server match a set of resource specs. Creates what
 * is missing, updates what differs (comparing only the fields the spec sets), leaves the rest,
 * in dependency order (secrets, streams, connections, pipelines); --prune deletes resources of
 * those kinds that the set does not name, in reverse order; --dry-run changes nothing. Prints
 * "<kind>/<name> created|updated|unchanged|pruned" per resource. */
#ifndef SLUICE_SDK_CLI_APPLY_H
#define SLUICE_SDK_CLI_APPLY_H

#include <jansson.h>
#include <stdbool.h>

#include "sdk/cli_spec.h"
#include "sdk/sluice.h"

/* Whether every field of want (recursively, objects compared key by key) equals the same field
 * of have; numbers compare by value. Fields have has beyond want's are ignored. */
bool cli_apply_matches(json_t *want, json_t *have);

/* Applies set. Returns 0, or -1 with *err filled (the line printed so far says how far it
 * got). */
int cli_apply(sluice_client *client, const struct cli_spec_set *set, bool dry_run, bool prune,
              struct sluice_error *err);

#endif
