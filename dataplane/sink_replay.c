/* sink_replay.c — comparing a restarted run's output with the sink's tail (see sink_replay.h). */
#include "dataplane/sink_replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

#define SINK_REPLAY_BATCH 64
#define SINK_REPLAY_WAIT_MS 30000 /* the tail is there: a read that gets nothing this long fails */

struct sink_replay {
    const struct stream_backend *b;
    char *location;
    int partition;
    const struct stream_property *props; /* borrowed, as the engine's stream */
    int nprops;
    void *probe; /* a reader never started: end offsets */
    void *tail;  /* the tail's reader while replaying */
    uint64_t next, until;
    struct stream_record recs[SINK_REPLAY_BATCH];
    int nrecs, at;
    uint64_t skipped;
};

struct sink_replay *sink_replay_new(const struct stream_backend *b, const char *location, int writer_index,
                                    const struct stream_property *props, int nprops, char *err, size_t errlen)
{
    int n = 0;
    if (!b->open_reader || !b->read || !b->end_offset) {
        snprintf(err, errlen, "the %s backend cannot read its sink back", b->name);
        return NULL;
    }
    if (b->partitions(location, 0, props, nprops, &n, err, errlen) != 0)
        return NULL;
    struct sink_replay *sr = calloc(1, sizeof *sr);
    if (!sr || !(sr->location = strdup(location))) {
        free(sr);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    *sr = (struct sink_replay){.b = b, .location = sr->location, .props = props, .nprops = nprops};
    sr->partition = n > 0 && writer_index > 0 ? writer_index % n : 0;
    if (b->open_reader(location, sr->partition, 0, props, nprops, &sr->probe, err, errlen) != 0) {
        sink_replay_free(sr);
        return NULL;
    }
    return sr;
}

void sink_replay_free(struct sink_replay *sr)
{
    if (!sr)
        return;
    if (sr->probe)
        sr->b->close_reader(sr->probe);
    if (sr->tail)
        sr->b->close_reader(sr->tail);
    free(sr->location);
    free(sr);
}

int sink_replay_end(struct sink_replay *sr, uint64_t *end, char *err, size_t errlen)
{
    return sr->b->end_offset(sr->probe, end, err, errlen);
}

int sink_replay_start(struct sink_replay *sr, uint64_t checkpoint_end, uint64_t *tail, char *err, size_t errlen)
{
    *tail = 0;
    if (sink_replay_end(sr, &sr->until, err, errlen) != 0)
        return -1;
    if (checkpoint_end >= sr->until)
        return 0;
    if (sr->b->open_reader(sr->location, sr->partition, checkpoint_end, sr->props, sr->nprops, &sr->tail, err,
                           errlen) != 0)
        return -1;
    sr->next = checkpoint_end;
    *tail = sr->until - checkpoint_end;
    return 0;
}

/* The tail's next record into *rec; 0 at the tail's end, 1, or -1 with err. */
static int sink_replay_next(struct sink_replay *sr, struct stream_record **rec, char *err, size_t errlen)
{
    int64_t deadline = clock_mono_ms() + SINK_REPLAY_WAIT_MS;
    while (sr->at >= sr->nrecs) {
        if (sr->next >= sr->until)
            return 0;
        int n = sr->b->read(sr->tail, sr->recs, SINK_REPLAY_BATCH, err, errlen);
        if (n < 0)
            return -1;
        sr->nrecs = n;
        sr->at = 0;
        if (n == 0 && clock_mono_ms() > deadline) {
            snprintf(err, errlen, "the sink's records after the checkpoint (offsets %llu to %llu) cannot be read",
                     (unsigned long long)sr->next, (unsigned long long)sr->until);
            return -1;
        }
    }
    *rec = &sr->recs[sr->at];
    return 1;
}

/* Replaying is over: the rest is written. */
static void sink_replay_stop(struct sink_replay *sr)
{
    sr->b->close_reader(sr->tail);
    sr->tail = NULL;
    sr->nrecs = sr->at = 0;
}

int sink_replay_skip(struct sink_replay *sr, enum row_kind kind, const char *data, size_t len, char *err, size_t errlen)
{
    if (!sr->tail)
        return 0;
    struct stream_record *rec;
    int got = sink_replay_next(sr, &rec, err, errlen);
    if (got < 0)
        return -1;
    if (got == 0 || rec->kind != kind || rec->len != len || memcmp(rec->data, data, len) != 0) {
        sink_replay_stop(sr);
        return 0;
    }
    sr->at++;
    sr->next = rec->offset + 1;
    sr->skipped++;
    return 1;
}

uint64_t sink_replay_skipped(const struct sink_replay *sr) { return sr ? sr->skipped : 0; }
int sink_replay_active(const struct sink_replay *sr) { return sr && sr->tail != NULL; }
