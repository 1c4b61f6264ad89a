/* redis_stream.h — the Redis Streams connector (hiredis): a source reading a stream through a
 * consumer group, and a sink appending to a stream.
 *
 * Properties (a connection's "properties", secrets merged in; `WITH (...)` in `sluiced run`):
 *   host, port       the server (port 6379 by default)
 *   username         an ACL user (empty: the default user); password: normally a secret ref
 *   db               the database number (SELECT), 0 by default
 *   stream           required: the stream's key
 *   field            the entry field that holds the record (JSON), "data" by default
 *   group, consumer  source: the consumer group and the consumer's name in it ("sluice" each);
 *                    the group is created (XGROUP CREATE ... MKSTREAM) when missing, at the
 *                    stream's first entry (start = earliest) or its end (start = latest)
 *   maxlen           sink: XADD ... MAXLEN ~ maxlen (0, the default: no trimming);
 *                    maxlen.exact = true trims exactly (MAXLEN without ~)
 *   timeout.ms       connect and command timeout
 *
 * Source: XREADGROUP reads the consumer's own pending entries first (those delivered before a
 * crash or a lost connection and never acknowledged), then new ones (">"). An entry's offset is
 * its id, ms << 20 | seq, so a checkpoint names an entry exactly; entries below the offset a
 * reader was opened at are in the checkpoint already and are skipped. XACK happens only after
 * the checkpoint holding the entries is durable (stream_backend.acknowledge). A SIGKILLed worker
 * thus loses nothing and, resuming from its checkpoint, processes nothing twice: exactly-once
 * into a sink that the engine rolls back (a stream). A lost connection is reopened (every half
 * second, for up to a minute) without failing the task.
 *
 * Sink: records are buffered and sent as pipelined XADDs on flush; after a lost connection the
 * unconfirmed batch is sent again on a new one: at-least-once (entries may be added twice).
 *
 * Readers and writers are owned by the caller and released with the backend's close functions. */
#ifndef SLUICE_DATAPLANE_CONNECTORS_REDIS_STREAM_H
#define SLUICE_DATAPLANE_CONNECTORS_REDIS_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/stream.h"

extern const struct stream_backend redis_stream_backend;

/* The offset of stream entry id "ms-seq": ms << 20 | seq. -1 when id is not such an id or does
 * not fit (ms from 2^43 on, seq from 2^20 on: ids that Redis generates fit until year 2248,
 * with fewer than a million entries per millisecond). */
int redis_id_offset(const char *id, uint64_t *offset);
/* The id of offset as "ms-seq" into out (at least 48 bytes). */
void redis_offset_id(uint64_t offset, char *out, size_t outlen);

#endif
