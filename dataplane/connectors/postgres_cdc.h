/* postgres_cdc.h — the postgres-cdc source (libpq's replication protocol, the built-in pgoutput
 * plugin): the rows of chosen tables, then every change to them, as a changelog.
 *
 * Properties (a connection's "properties", secrets merged in; `WITH (...)` in `sluiced run`):
 *   url               required: a libpq URI, postgresql://user@host:port/db (the user needs the
 *                     REPLICATION attribute, and SELECT on the tables)
 *   password          the password (normally a secret ref); overrides one in the url
 *   table             required: a table, optionally schema-qualified, or a comma-separated
 *                     list of them; each must have a primary key
 *   slot.name         the replication slot ("sluice"): one per connection or pipeline
 *   publication.name  the publication ("sluice"), created FOR TABLE the tables (inserts,
 *                     updates and deletes) when missing; an existing one is used as it is
 *   snapshot          true (default): first the tables' rows as they are when the slot is made
 *   timeout.ms        connect timeout
 *
 * Records are JSON objects of the row's columns by name: bool as true/false, integer, float and
 * numeric columns as numbers, timestamptz as "yyyy-MM-dd HH:mm:ss.fff+00:00" (the session is
 * in UTC), anything else as its text; an unchanged TOASTed value (an UPDATE under REPLICA
 * IDENTITY DEFAULT that leaves a large value alone) is left out. Kinds: +I for the snapshot's
 * rows and INSERTs; an UPDATE is +U (with REPLICA IDENTITY FULL, -U of the old row first); an
 * UPDATE that changes the primary key is -D of the old key, then +U; a DELETE is -D (of the key
 * columns, others null, unless REPLICA IDENTITY FULL). The stream to read them into is an
 * upsert stream keyed by the table's primary key.
 *
 * Offsets: the snapshot's rows take 1, 2, ... and the last of them POSTGRES_CDC_SNAPSHOT_DONE
 * (2^43), so a checkpoint past it says the snapshot is complete. A change's offset is its
 * transaction's commit LSN << 20 plus its index in the transaction (at least 2^44: a cluster's
 * WAL starts at 0/1000000). A checkpoint thus names a change exactly: a restarted reader streams
 * again from the slot and skips what the checkpoint holds. The slot's confirmed_flush_lsn
 * advances (to the commit LSN of the last transaction whose changes all are below the offset,
 * or, between transactions, to the WAL end a keepalive reports) only when the checkpoint
 * holding them is durable (stream_backend.acknowledge): a SIGKILL loses nothing and duplicates
 * nothing in the embedded log. LSNs from 2^44 (16 TiB of WAL) and transactions of more than
 * 2^25 changes are refused with an error.
 *
 * A fresh start (no checkpoint) drops the slot if it exists and creates it again, exporting its
 * snapshot, which the reader reads first (in one REPEATABLE READ transaction). A restart from
 * a checkpoint taken before the snapshot was complete takes a new snapshot the same way, after
 * the rows the first one gave (a row deleted in between stays). A restart past the snapshot
 * whose slot is gone fails (its changes since the checkpoint are lost). A lost connection
 * while streaming is reopened with backoff (250 ms doubling to 4 s) for up to two minutes. */
#ifndef SLUICE_DATAPLANE_CONNECTORS_POSTGRES_CDC_H
#define SLUICE_DATAPLANE_CONNECTORS_POSTGRES_CDC_H

#include <stdint.h>

#include "dataplane/stream.h"

extern const struct stream_backend postgres_cdc_stream_backend;

#define POSTGRES_CDC_LSN_SHIFT 20
#define POSTGRES_CDC_SNAPSHOT_DONE (1ULL << 43) /* the offset of the snapshot's last row */

/* The offset of change index of the transaction committed at lsn; -1 when lsn is below 2^24 or
 * from 2^44 on, or index 2^25 or more. */
int postgres_cdc_offset(uint64_t lsn, uint64_t index, uint64_t *offset);
/* An LSN as PostgreSQL writes it ("16/B374D848") into out (at least 20 bytes). */
void postgres_cdc_lsn_text(uint64_t lsn, char *out, size_t outlen);
/* Parses "16/B374D848": 0, or -1. */
int postgres_cdc_lsn_parse(const char *text, uint64_t *lsn);

#endif
