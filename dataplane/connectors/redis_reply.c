/* redis_reply.c — hiredis reply objects carved from an arena (see redis_reply.h). The functions
 * mirror hiredis's own (read.c's createStringObject and kin), allocating from the reader's
 * privdata instead of malloc. */
#include "dataplane/connectors/redis_reply.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REDIS_REPLY_KEEP_BUF (1 << 20) /* a reader buffer up to this size is kept when empty */
#define REDIS_REPLY_READ (128 * 1024)  /* bytes a read() asks for */

/* A reply of type t in the arena of task, hung in its parent array; NULL when out of memory. */
static redisReply *redis_reply_new(const redisReadTask *task, int t)
{
    redisReply *r = arena_alloc(task->privdata, sizeof *r);
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    r->type = t;
    if (task->parent)
        ((redisReply *)task->parent->obj)->element[task->idx] = r;
    return r;
}

static void *redis_reply_string(const redisReadTask *task, char *str, size_t len)
{
    redisReply *r = redis_reply_new(task, task->type);
    if (!r || !(r->str = arena_strndup(task->privdata, str, len)))
        return NULL;
    r->len = len;
    return r;
}

static void *redis_reply_array(const redisReadTask *task, int elements)
{
    redisReply *r = redis_reply_new(task, REDIS_REPLY_ARRAY);
    if (!r)
        return NULL;
    if (elements > 0) {
        if (!(r->element = arena_alloc(task->privdata, (size_t)elements * sizeof *r->element)))
            return NULL;
        memset(r->element, 0, (size_t)elements * sizeof *r->element);
    }
    r->elements = (size_t)elements;
    return r;
}

static void *redis_reply_integer(const redisReadTask *task, long long value)
{
    redisReply *r = redis_reply_new(task, REDIS_REPLY_INTEGER);
    if (r)
        r->integer = value;
    return r;
}

static void *redis_reply_nil(const redisReadTask *task) { return redis_reply_new(task, REDIS_REPLY_NIL); }

static void redis_reply_forget(void *reply) { (void)reply; /* the arena's reset frees it */ }

static redisReplyObjectFunctions redis_reply_arena_fn = {
    .createString = redis_reply_string,
    .createArray = redis_reply_array,
    .createInteger = redis_reply_integer,
    .createNil = redis_reply_nil,
    .freeObject = redis_reply_forget,
};

void redis_reply_use_arena(redisContext *c, struct arena *a)
{
    c->reader->fn = &redis_reply_arena_fn;
    c->reader->privdata = a;
    c->reader->maxbuf = REDIS_REPLY_KEEP_BUF; /* not freed and grown again for every batch of replies */
}

void redis_reply_release(const redisContext *c, redisReply *r)
{
    if (r && c->reader->fn != &redis_reply_arena_fn)
        freeReplyObject(r);
}

/* c's error: type and text (hiredis's __redisSetError is not public). */
static int redis_reply_fail(redisContext *c, int type, const char *text)
{
    c->err = type;
    snprintf(c->errstr, sizeof c->errstr, "%s", text);
    return REDIS_ERR;
}

/* The next reply out of c's reader into *reply (NULL when none is whole yet). */
static int redis_reply_parse(redisContext *c, void **reply)
{
    if (redisReaderGetReply(c->reader, reply) != REDIS_OK)
        return redis_reply_fail(c, c->reader->err, c->reader->errstr);
    return REDIS_OK;
}

int redis_reply_get(redisContext *c, redisReply **reply)
{
    void *aux = NULL;
    int done = 0;
    if (redis_reply_parse(c, &aux) != REDIS_OK)
        return REDIS_ERR;
    while (!aux && !done)
        if (redisBufferWrite(c, &done) != REDIS_OK)
            return REDIS_ERR;
    char buf[REDIS_REPLY_READ];
    while (!aux) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return redis_reply_fail(c, REDIS_ERR_IO, strerror(errno));
        if (n == 0)
            return redis_reply_fail(c, REDIS_ERR_EOF, "Server closed the connection");
        if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK)
            return redis_reply_fail(c, c->reader->err, c->reader->errstr);
        if (redis_reply_parse(c, &aux) != REDIS_OK)
            return REDIS_ERR;
    }
    *reply = aux;
    return REDIS_OK;
}

int redis_reply_send(redisContext *c, const char *buf, size_t len)
{
    int done = 0;
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK)
            return REDIS_ERR;
    while (len > 0) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return redis_reply_fail(c, REDIS_ERR_IO, n < 0 ? strerror(errno) : "nothing sent");
        buf += n;
        len -= (size_t)n;
    }
    return REDIS_OK;
}
