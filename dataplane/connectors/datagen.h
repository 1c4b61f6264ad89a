/* datagen.h — the Nexmark generator: persons, auctions and bids as JSON records.
 *
 * Events follow Nexmark: one sequence of events numbered 0, 1, 2, ... in blocks of 50 — 1
 * person, 3 auctions, 46 bids (2 % / 6 % / 92 %) — with event time advancing 0.1 ms per event
 * from a fixed base (bids run up to 500 ms behind: a little disorder). Every field of event n
 * is a pure function of (seed, n), so output is deterministic and any position can be
 * regenerated (which makes datagen sources exactly-once: their offset is the record index).
 * A datagen stream carries one kind: the person, auction or bid events of that sequence
 * (Flink filters a single event stream by kind; separate streams give the same records with
 * less work). Ids refer to persons and auctions generated earlier, with hot auctions and hot
 * bidders as in Nexmark.
 *
 * Stream properties: kind (bid | auction | person, default bid), events (records to produce;
 * 0 or absent = unbounded), rate (records per second; absent = flat out), seed (default 1). */
#ifndef SLUICE_DATAPLANE_CONNECTORS_DATAGEN_H
#define SLUICE_DATAPLANE_CONNECTORS_DATAGEN_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/stream.h"

enum datagen_kind { DATAGEN_PERSON, DATAGEN_AUCTION, DATAGEN_BID };

#define DATAGEN_BASE_TIME_MS 1700000000000LL /* 2023-11-14 22:13:20 UTC */
#define DATAGEN_RECORD_MAX 1024              /* no record is longer */

struct datagen_config {
    enum datagen_kind kind;
    uint64_t seed;
    uint64_t events; /* 0 = unbounded */
    double rate;     /* records per second; 0 = flat out */
};

/* Parses the stream properties above into c; -1 with a message on a bad value. */
int datagen_config_parse(const struct stream_property *props, int nprops, struct datagen_config *c, char *err,
                         size_t errlen);
/* The kind named name ("bid", ...), or -1. */
int datagen_kind_from_name(const char *name);
/* Writes record number index of the given kind as JSON into out (≥ DATAGEN_RECORD_MAX bytes);
 * returns its length. */
size_t datagen_record(enum datagen_kind kind, uint64_t seed, uint64_t index, char *out);

/* The read-only stream backend "datagen" (location and partition are ignored). */
extern const struct stream_backend datagen_stream_backend;

#endif
