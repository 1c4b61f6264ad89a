/* redis_reply.h — hiredis replies built in an arena (common/arena.h) instead of a malloc per
 * element: a reply of a thousand stream entries is otherwise some six thousand mallocs and
 * frees. Shared by the Redis Streams connector and the bench's raw client (broker_bench). */
#ifndef SLUICE_DATAPLANE_CONNECTORS_REDIS_REPLY_H
#define SLUICE_DATAPLANE_CONNECTORS_REDIS_REPLY_H

#include <hiredis/hiredis.h>

#include "common/arena.h"

/* Makes c's reader build every reply in a (borrowed: it must outlive c). Such replies are never
 * freed one by one (use redis_reply_release, not freeReplyObject); they last until
 * arena_reset(a). The reader also keeps its buffer (up to 1 MiB) between replies. */
void redis_reply_use_arena(redisContext *c, struct arena *a);

/* Frees reply r of c: freeReplyObject, or nothing when c's replies are in an arena. NULL is a
 * no-op. */
void redis_reply_release(const redisContext *c, redisReply *r);

/* As hiredis's redisGetReply on a blocking context (flushes what was appended, then reads until
 * a reply is whole; REDIS_ERR with c->err and c->errstr), but reading up to 128 KiB a read()
 * where hiredis reads 16 KiB: a reply of a thousand stream entries in two system calls, not
 * fifteen. */
int redis_reply_get(redisContext *c, redisReply **reply);

/* Sends the protocol text buf[0..len) (whole commands) on c straight from buf, after whatever was
 * appended to c before: redisAppendFormattedCommand would first copy it into hiredis's output
 * buffer. REDIS_OK, or REDIS_ERR with c->err and c->errstr. */
int redis_reply_send(redisContext *c, const char *buf, size_t len);

#endif
