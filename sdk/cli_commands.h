/* cli_commands.h — the `sluice` commands, one function each, called from the command table in
 * cli.c with the parsed command line. Each returns an exit code (enum cli_exit). */
#ifndef SLUICE_SDK_CLI_COMMANDS_H
#define SLUICE_SDK_CLI_COMMANDS_H

#include "sdk/cli.h"

int cli_cmd_signup(struct cli *cli);
int cli_cmd_login(struct cli *cli);
int cli_cmd_whoami(struct cli *cli);
int cli_cmd_get(struct cli *cli);
int cli_cmd_describe(struct cli *cli);
int cli_cmd_create(struct cli *cli);
/* set-role EMAIL ROLE: PATCH /v1/users/{id} {"role"}. */
int cli_cmd_set_role(struct cli *cli);
int cli_cmd_apply(struct cli *cli);
int cli_cmd_delete(struct cli *cli);
int cli_cmd_activate(struct cli *cli);
int cli_cmd_deactivate(struct cli *cli);
int cli_cmd_logs(struct cli *cli);
int cli_cmd_usage(struct cli *cli);
int cli_cmd_preview(struct cli *cli);

#endif
