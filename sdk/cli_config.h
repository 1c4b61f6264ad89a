/* cli_config.h — the CLI's profiles: named sets of API URL, credentials and TLS settings in
 * $XDG_CONFIG_HOME/sluice/config (default ~/.config/sluice/config), an INI file of mode 0600:
 *
 *   [default]
 *   api_url = https://127.0.0.1:8443
 *   api_key = sk_...
 *   ca_file = /path/to/ca.pem
 *   insecure = false
 */
#ifndef SLUICE_SDK_CLI_CONFIG_H
#define SLUICE_SDK_CLI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* One profile. Strings are owned (malloc'd); release with cli_profile_clear(). */
struct cli_profile {
    char *api_url, *api_key, *ca_file;
    bool insecure;
};

/* Path of the config file into buf. Returns 0, or -1 when neither XDG_CONFIG_HOME nor HOME
 * is set. */
int cli_config_path(char *buf, size_t cap);

/* Reads profile `name` from the config file. A missing file or profile leaves *p empty and
 * returns 0; -1 with errbuf filled when the file cannot be read or is malformed. */
int cli_profile_load(const char *name, struct cli_profile *p, char *errbuf, size_t errcap);

/* Writes profile `name` (replacing it, keeping the others) with mode 0600, creating the
 * directory (0700) when needed. Returns 0, or -1 with errbuf filled. */
int cli_profile_save(const char *name, const struct cli_profile *p, char *errbuf, size_t errcap);

void cli_profile_clear(struct cli_profile *p);

#endif
