/* egress.h — the egress policy of workers that have the network (kafka, postgres, webhook
 * connectors): what a tenant's code may not connect to, enforced by the kernel.
 *
 * Workers without the network run in their own network namespace (loopback only). Those with
 * it share the host's, and are told apart by their socket owner: every tenant's worker runs as
 * a uid of the tenant range (cp_tenant_uids, from 200000). The controlplane installs one
 * nftables table of its own (family inet, so IPv4 and IPv6) with an output chain that, for
 * sockets owned by a uid in that range, refuses with an ICMP "administratively prohibited"
 * (connect() fails at once with EHOSTUNREACH, "No route to host"):
 *   1. any connection to an address of this host (`fib daddr type local`) on the platform's
 *      ports: the database's (from the controlplane's database URL), the api's, the
 *      controlplane's metrics port;
 *   2. the database's own addresses and port when it is on another host;
 *   3. then the operator's allow list is accepted;
 *   4. then the operator's deny list, link-local 169.254.0.0/16 (cloud metadata) and fe80::/10
 *      are refused.
 * Everything else is accepted. The allow list cannot open 1 and 2; it can open a part of 4.
 *
 * The table is replaced atomically (one nft transaction: add, delete, create) and deleted on a
 * clean exit; its name is derived from the data root and node id, so controlplanes on one host
 * do not replace each other's tables (all tables' chains apply: a refusal in any is final). */
#ifndef SLUICE_CONTROLPLANE_EGRESS_H
#define SLUICE_CONTROLPLANE_EGRESS_H

#include <stddef.h>

#define EGRESS_MAX_PORTS 16

struct egress_options {
    const char *table;              /* nft table name (family inet); see egress_table_name() */
    unsigned long uid_min, uid_max; /* sockets owned by these uids are filtered */
    const char *database_url;       /* its host(s) and port(s) are refused; NULL: none */
    int ports[EGRESS_MAX_PORTS];    /* more platform ports refused on local addresses (0 ends) */
    const char *deny, *allow;       /* comma-separated CIDR[:port] lists ("10.0.0.0/8",
                                     * "192.0.2.7:443", "[2001:db8::/32]:80", "fd00::/8"); may be NULL */
};

/* A table name for this controlplane: "sluice_" and a hash of data_root and node_id. */
void egress_table_name(const char *data_root, const char *node_id, char *out, size_t outsz);

/* Parses "A-B" into a uid range; 0, or -1 with err. */
int egress_parse_uids(const char *text, unsigned long *min, unsigned long *max, char *err, size_t errsz);

/* The nft script that (re)creates the table: malloc'd text (the caller frees it), or NULL with
 * err (a bad list entry, an unparsable database URL). summary gets a one-line description. */
char *egress_ruleset(const struct egress_options *o, char *summary, size_t summarysz, char *err, size_t errsz);

/* Installs (replaces) the table. Returns 0 with summary filled, or -1 with err. */
int egress_install(const struct egress_options *o, char *summary, size_t summarysz, char *err, size_t errsz);

/* Deletes the table if present. Returns 0, or -1 with err. */
int egress_remove(const char *table, char *err, size_t errsz);

#endif
