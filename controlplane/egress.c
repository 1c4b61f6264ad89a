/* egress.c — the egress policy of network workers as one nftables table (see egress.h):
 * building the ruleset from the options, installing it through libnftables, removing it. */
#include "controlplane/egress.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <nftables/libnftables.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------ */
/* A growing text buffer                                                                      */

struct text {
    char *buf;
    size_t len, cap;
    int failed;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if (t->buf && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap ? t->cap * 2 : 4096) + (size_t)n;
        char *b = realloc(t->buf, cap);
        if (!b) {
            t->failed = 1;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Names, uid ranges, list entries                                                            */

void egress_table_name(const char *data_root, const char *node_id, char *out, size_t outsz)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *s = data_root; s && *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    h = (h ^ '\n') * 16777619u;
    for (const char *s = node_id; s && *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    snprintf(out, outsz, "sluice_%08x", h);
}

int egress_parse_uids(const char *text, unsigned long *min, unsigned long *max, char *err, size_t errsz)
{
    char *end;
    errno = 0;
    unsigned long a = strtoul(text, &end, 10), b = 0;
    if (!errno && end != text && *end == '-') {
        const char *rest = end + 1;
        b = strtoul(rest, &end, 10);
        if (!errno && end != rest && *end == 0 && a > 0 && a <= b && b < 4294967295ul) {
            *min = a;
            *max = b;
            return 0;
        }
    }
    snprintf(err, errsz, "egress uid range \"%s\" is not FIRST-LAST (e.g. 200000-299999999), above 0", text);
    return -1;
}

/* One list entry: an address or network, and an optional port. */
struct egress_entry {
    int v6;
    char net[INET6_ADDRSTRLEN + 8]; /* address[/len] as nft writes it */
    int port;                       /* 0: every port */
};

/* Parses "CIDR[:port]" (IPv6 with a port in brackets). 0, or -1 with err. */
static int entry_parse(const char *text, struct egress_entry *e, char *err, size_t errsz)
{
    char addr[128] = "", port[16] = "";
    const char *colon = strchr(text, ':');
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || (close[1] && close[1] != ':') || close - text - 1 >= (long)sizeof addr)
            goto bad;
        snprintf(addr, sizeof addr, "%.*s", (int)(close - text - 1), text + 1);
        if (close[1] == ':')
            snprintf(port, sizeof port, "%s", close + 2);
    } else if (colon && !strchr(colon + 1, ':')) { /* one colon: IPv4 and a port */
        if (colon - text >= (long)sizeof addr)
            goto bad;
        snprintf(addr, sizeof addr, "%.*s", (int)(colon - text), text);
        snprintf(port, sizeof port, "%s", colon + 1);
    } else {
        snprintf(addr, sizeof addr, "%.100s", text);
    }
    char *slash = strchr(addr, '/');
    int len = -1;
    if (slash) {
        char *end;
        len = (int)strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end)
            goto bad;
        *slash = 0;
    }
    unsigned char bin[16];
    e->v6 = strchr(addr, ':') != NULL;
    if (inet_pton(e->v6 ? AF_INET6 : AF_INET, addr, bin) != 1 || len > (e->v6 ? 128 : 32) || (slash && len < 0))
        goto bad;
    if (len >= 0) {
        /* nft refuses host bits under the mask: clear them */
        int bytes = e->v6 ? 16 : 4;
        for (int i = 0; i < bytes; i++) {
            int keep = len - i * 8;
            bin[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
        }
        char canon[INET6_ADDRSTRLEN];
        inet_ntop(e->v6 ? AF_INET6 : AF_INET, bin, canon, sizeof canon);
        snprintf(e->net, sizeof e->net, "%s/%d", canon, len);
    } else {
        snprintf(e->net, sizeof e->net, "%.45s", addr);
    }
    e->port = 0;
    if (port[0]) {
        char *end;
        long p = strtol(port, &end, 10);
        if (*end || p < 1 || p > 65535)
            goto bad;
        e->port = (int)p;
    }
    return 0;
bad:
    snprintf(err, errsz, "egress entry \"%s\" is not an address or CIDR with an optional port", text);
    return -1;
}

static void rule_for(struct text *t, const struct egress_entry *e, const char *verdict)
{
    text_add(t, "    %s daddr %s", e->v6 ? "ip6" : "ip", e->net);
    if (e->port)
        text_add(t, " meta l4proto { tcp, udp } th dport %d", e->port);
    text_add(t, " %s\n", verdict);
}

/* Rules for each entry of a comma-separated list. 0, or -1 with err. */
static int list_rules(struct text *t, const char *list, const char *verdict, int *count, char *err, size_t errsz)
{
    *count = 0;
    if (!list)
        return 0;
    const char *s = list;
    while (*s) {
        size_t n = strcspn(s, ",");
        char item[160];
        snprintf(item, sizeof item, "%.*s", (int)n, s);
        char *a = item, *b = item + strlen(item);
        while (*a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            *--b = 0;
        if (*a) {
            struct egress_entry e;
            if (entry_parse(a, &e, err, errsz) != 0)
                return -1;
            rule_for(t, &e, verdict);
            (*count)++;
        }
        s += n;
        if (*s == ',')
            s++;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The database's addresses and ports                                                         */

static void add_port(int *ports, int *n, int port)
{
    for (int i = 0; i < *n; i++)
        if (ports[i] == port)
            return;
    if (*n < 2 * EGRESS_MAX_PORTS && port > 0)
        ports[(*n)++] = port;
}

/* Rules refusing the database's TCP addresses; its ports go into ports. 0, or -1 with err. */
static int database_rules(struct text *t, const char *url, int *ports, int *nports, char *hosts, size_t hostssz,
                          char *err, size_t errsz)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    if (!opts) {
        snprintf(err, errsz, "egress: cannot parse the database URL: %s", perr ? perr : "out of memory");
        PQfreemem(perr);
        return -1;
    }
    const char *host = "", *hostaddr = "", *port = "";
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "hostaddr") == 0)
            hostaddr = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
    }
    /* host and port may be lists ("h1,h2", "5432,5433"); one port applies to every host */
    int hport[16], nh = 0;
    for (const char *s = port; nh < 16;) {
        hport[nh++] = *s ? atoi(s) : 5432;
        s = strchr(s, ',');
        if (!s)
            break;
        s++;
    }
    const char *names = *hostaddr ? hostaddr : host;
    hosts[0] = 0;
    int i = 0;
    for (const char *s = names;; i++) {
        size_t n = strcspn(s, ",");
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)n, s);
        int p = hport[i < nh ? i : nh - 1];
        if (p <= 0)
            p = 5432;
        add_port(ports, nports, p);
        if (name[0] && name[0] != '/' && name[0] != '@') { /* not a unix socket directory */
            struct addrinfo hints = {0}, *res = NULL;
            hints.ai_socktype = SOCK_STREAM;
            if (getaddrinfo(name, NULL, &hints, &res) == 0) {
                for (struct addrinfo *a = res; a; a = a->ai_next) {
                    struct egress_entry e = {.port = p};
                    e.v6 = a->ai_family == AF_INET6;
                    const void *bin = e.v6 ? (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr
                                           : (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr;
                    inet_ntop(a->ai_family, bin, e.net, sizeof e.net);
                    rule_for(t, &e, "reject with icmpx type admin-prohibited");
                }
                freeaddrinfo(res);
            }
            size_t len = strlen(hosts);
            snprintf(hosts + len, hostssz - len, "%s%.100s:%d", len ? ", " : "", name, p);
        }
        s += n;
        if (*s != ',')
            break;
        s++;
    }
    PQconninfoFree(opts);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The ruleset                                                                                */

char *egress_ruleset(const struct egress_options *o, char *summary, size_t summarysz, char *err, size_t errsz)
{
    struct text t = {0}, db = {0};
    int ports[2 * EGRESS_MAX_PORTS], nports = 0, nallow = 0, ndeny = 0;
    char hosts[400] = "";
    if (o->database_url && database_rules(&db, o->database_url, ports, &nports, hosts, sizeof hosts, err, errsz) != 0) {
        free(db.buf);
        return NULL;
    }
    for (int i = 0; i < EGRESS_MAX_PORTS && o->ports[i]; i++)
        add_port(ports, &nports, o->ports[i]);
    const char *reject = "reject with icmpx type admin-prohibited";
    text_add(&t, "table inet %s\ndelete table inet %s\ntable inet %s {\n", o->table, o->table, o->table);
    /* who owns it: a table whose controlplane is gone (SIGKILLed) can be told apart */
    text_add(&t, "  comment \"sluice controlplane pid %ld\"\n", (long)getpid());
    text_add(&t, "  chain output {\n    type filter hook output priority filter; policy accept;\n");
    text_add(&t, "    meta skuid %lu-%lu jump tenant_egress\n  }\n", o->uid_min, o->uid_max);
    text_add(&t, "  chain tenant_egress {\n");
    char portlist[200] = "";
    for (int i = 0; i < nports; i++) {
        size_t len = strlen(portlist);
        snprintf(portlist + len, sizeof portlist - len, "%s%d", i ? ", " : "", ports[i]);
    }
    if (nports > 0)
        text_add(&t, "    fib daddr type local meta l4proto { tcp, udp } th dport { %s } %s\n", portlist, reject);
    if (db.buf)
        text_add(&t, "%s", db.buf);
    free(db.buf);
    if (list_rules(&t, o->allow, "accept", &nallow, err, errsz) != 0 ||
        list_rules(&t, o->deny, reject, &ndeny, err, errsz) != 0) {
        free(t.buf);
        return NULL;
    }
    text_add(&t, "    ip daddr 169.254.0.0/16 %s\n    ip6 daddr fe80::/10 %s\n  }\n}\n", reject, reject);
    if (t.failed) {
        free(t.buf);
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    snprintf(summary, summarysz,
             "nftables table inet %s refuses uids %lu-%lu: this host's ports %s (database, api, metrics)%s%s, "
             "169.254.0.0/16, fe80::/10, %d denied and %d allowed entries",
             o->table, o->uid_min, o->uid_max, nports ? portlist : "(none)", hosts[0] ? ", database " : "", hosts,
             ndeny, nallow);
    return t.buf;
}

static int nft_run(const char *script, char *err, size_t errsz)
{
    struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) {
        snprintf(err, errsz, "nft_ctx_new failed");
        return -1;
    }
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    int rc = nft_run_cmd_from_buffer(ctx, script);
    if (rc != 0) {
        const char *e = nft_ctx_get_error_buffer(ctx);
        snprintf(err, errsz, "%.400s", e && *e ? e : "nft failed");
        size_t n = strlen(err);
        while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
            err[--n] = 0;
    }
    nft_ctx_free(ctx);
    return rc == 0 ? 0 : -1;
}

int egress_install(const struct egress_options *o, char *summary, size_t summarysz, char *err, size_t errsz)
{
    char *script = egress_ruleset(o, summary, summarysz, err, errsz);
    if (!script)
        return -1;
    int rc = nft_run(script, err, errsz);
    free(script);
    return rc;
}

int egress_remove(const char *table, char *err, size_t errsz)
{
    char script[200];
    /* "table" first: deleting a table that is not there is then not an error */
    snprintf(script, sizeof script, "table inet %.80s\ndelete table inet %.80s\n", table, table);
    return nft_run(script, err, errsz);
}
