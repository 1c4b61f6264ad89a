/* cli_commands.h — the `sluice` commands, one function each, called from the command table in
 * cli.c with the parsed command line. Each returns an exit code (enum cli_exit). */
#ifndef SLUICE_SDK_CLI_COMMANDS_H
#define SLUICE_SDK_CLI_COMMANDS_H

#include "sdk/cli.h"

int cli_cmd_signup(struct cli *cli);
int cli_cmd_login(struct cli *cli);
int cli_cmd_whoami(struct cli *cli);
int cli_cmd_get(struct cli *cli);
/* describe KIND NAME: the resource; for pipelines and connections also their status (states,
 * generations, last error, tasks with metrics and sandbox reports) and the last 10 events. */
int cli_cmd_describe(struct cli *cli);
/* events KIND NAME [--limit N]: the newest N (default 50) task events of a pipeline or
 * connection, oldest first. */
int cli_cmd_events(struct cli *cli);
/* audit [--limit N]: the newest N (default 50) entries of the tenant's audit trail, newest first,
 * with the resource's kind/name and the user's email. */
int cli_cmd_audit(struct cli *cli);
int cli_cmd_create(struct cli *cli);
/* set-role EMAIL ROLE: PATCH /v1/users/{id} {"role"}. */
int cli_cmd_set_role(struct cli *cli);
int cli_cmd_apply(struct cli *cli);
int cli_cmd_delete(struct cli *cli);
int cli_cmd_activate(struct cli *cli);
int cli_cmd_deactivate(struct cli *cli);
int cli_cmd_logs(struct cli *cli);
/* check connection NAME: POST /v1/connections/{id}/check; exit 1 unless all was found. */
int cli_cmd_check(struct cli *cli);
int cli_cmd_usage(struct cli *cli);
int cli_cmd_preview(struct cli *cli);
/* explain FILE|-: POST /v1/pipelines/explain with the file's SQL; prints the plan's text (or the
 * answer as JSON/YAML with -o). */
int cli_cmd_explain(struct cli *cli);

#endif
