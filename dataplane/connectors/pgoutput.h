/* pgoutput.h — PostgreSQL's logical replication protocol as the built-in `pgoutput` plugin
 * writes it (proto_version 1), decoded; and the text form of a column value as JSON.
 *
 * A decoder keeps the relations (tables) that Relation messages describe, by id, because the
 * change messages (Insert, Update, Delete) name their table by id only. Begin and Commit
 * bracket each transaction; other message types (Origin, Type, Truncate, Message) are reported
 * as PGOUTPUT_OTHER. The layout of each message is in PostgreSQL's "Logical Replication Message
 * Formats" (protocol-logicalrep-message-formats).
 *
 * Ownership: a decoder is created with pgoutput_decoder_new and released with
 * pgoutput_decoder_free. A decoded message borrows the buffer it was decoded from (tuple
 * values point into it) and the decoder (its relation and tuple arrays), until the next
 * pgoutput_decode call. */
#ifndef SLUICE_DATAPLANE_CONNECTORS_PGOUTPUT_H
#define SLUICE_DATAPLANE_CONNECTORS_PGOUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/codec/json_encode.h"

#define PGOUTPUT_MAX_KEY 16 /* primary-key columns a relation tracks at most */

struct pgoutput_column {
    char *name;    /* owned by the relation */
    uint32_t type; /* the type's OID */
    bool key;      /* part of the replica identity */
};

struct pgoutput_relation {
    uint32_t id;
    char *nspname, *relname; /* owned */
    char identity;           /* replica identity: 'd' default, 'f' full, 'i' index, 'n' nothing */
    int ncols;
    struct pgoutput_column *cols;
    /* The caller's: the indexes in cols of the table's primary key (set after a Relation
     * message; npk 0 until then). */
    int pk[PGOUTPUT_MAX_KEY];
    int npk;
};

/* One column of a tuple: kind 'n' (null), 'u' (an unchanged TOASTed value, not sent) or 't'
 * (text of len bytes at data, not NUL-terminated). */
struct pgoutput_value {
    char kind;
    const char *data;
    uint32_t len;
};

struct pgoutput_tuple {
    int ncols;
    struct pgoutput_value *cols; /* owned by the decoder */
};

enum pgoutput_type {
    PGOUTPUT_BEGIN,
    PGOUTPUT_COMMIT,
    PGOUTPUT_RELATION,
    PGOUTPUT_INSERT,
    PGOUTPUT_UPDATE,
    PGOUTPUT_DELETE,
    PGOUTPUT_OTHER,
};

struct pgoutput_message {
    enum pgoutput_type type;
    uint64_t lsn;                  /* Begin: the commit's LSN (final_lsn); Commit: the commit's LSN */
    uint64_t end_lsn;              /* Commit: the end of the commit record */
    uint32_t xid;                  /* Begin */
    struct pgoutput_relation *rel; /* Relation, Insert, Update, Delete (the decoder's) */
    char old_kind;                 /* Update, Delete: 'K' (key columns), 'O' (whole old row) or 0 */
    struct pgoutput_tuple old_tuple, new_tuple;
};

struct pgoutput_decoder;

/* A decoder with no relations, or NULL when out of memory. */
struct pgoutput_decoder *pgoutput_decoder_new(void);
void pgoutput_decoder_free(struct pgoutput_decoder *d);

/* Decodes the message buf[0..len) (the payload of an XLogData message) into m. A Relation
 * message is stored in d (replacing one of the same id). 0, or -1 with err when the message is
 * cut short, of a layout this does not know, or names a relation not described before. */
int pgoutput_decode(struct pgoutput_decoder *d, const char *buf, size_t len, struct pgoutput_message *m, char *err,
                    size_t errlen);

/* Appends the value of a column of type OID type, in PostgreSQL's text form (text[0..len)),
 * as JSON: bool as true/false; int2, int4, int8, oid, float4, float8 and numeric as numbers
 * (NaN and infinities as strings); timestamptz with a "+hh" offset made "+hh:mm"; anything
 * else as a string. -1 on out of memory. */
int pgoutput_value_json(uint32_t type, const char *text, size_t len, struct json_buf *out);

/* Appends tuple t of relation rel as a JSON object of its columns by name (null for 'n'; an
 * unchanged TOASTed value 'u' is left out). -1 on out of memory. */
int pgoutput_tuple_json(const struct pgoutput_relation *rel, const struct pgoutput_tuple *t, struct json_buf *out);

/* 1 when the primary-key columns (rel->pk) of a and b hold the same values, else 0. */
int pgoutput_same_key(const struct pgoutput_relation *rel, const struct pgoutput_tuple *a,
                      const struct pgoutput_tuple *b);

#endif
