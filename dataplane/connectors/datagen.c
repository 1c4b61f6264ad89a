/* datagen.c — the Nexmark generator and its read-only stream backend (see datagen.h). The
 * constants (first ids, hot ratios, price skew) follow the Nexmark generator of Beam and Flink. */
#include "dataplane/connectors/datagen.h"

#include <limits.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane/codec/timestamp.h"

#define FIRST_PERSON_ID 1000
#define FIRST_AUCTION_ID 1000
#define FIRST_CATEGORY_ID 10
#define NUM_CATEGORIES 5
#define HOT_AUCTION_RATIO 2
#define HOT_BIDDER_RATIO 4
#define HOT_SELLER_RATIO 4
#define NUM_IN_FLIGHT_AUCTIONS 100
#define NUM_ACTIVE_PEOPLE 1000
#define EVENTS_PER_BLOCK 50 /* 1 person, 3 auctions, 46 bids */
#define BID_MAX_DELAY_MS 500

static const char *const first_names[] = {"Peter", "Paul",  "Luke",  "John",   "Saul",  "Vicky",
                                          "Kate",  "Julie", "Sarah", "Deiter", "Walter"};
static const char *const last_names[] = {"Shultz", "Abrams", "Spencer", "White", "Bartels",
                                         "Walton", "Smith",  "Jones",   "Noris"};
static const char *const cities[] = {"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
                                     "Bend",    "Redmond",     "Seattle",       "Kent",  "Cheyenne"};
static const char *const states[] = {"AZ", "CA", "ID", "OR", "WA", "WY"};
static const char *const hot_channels[] = {"Google", "Facebook", "Baidu", "Apple"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- randomness */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t *st, uint64_t n) { return splitmix64(st) % n; }
static double rnd_unit(uint64_t *st) { return (double)(splitmix64(st) >> 11) / 9007199254740992.0; }

/* ---------------------------------------------------------------- writing */

struct out {
    char *p;
};

static void put_raw(struct out *o, const char *s, size_t n)
{
    memcpy(o->p, s, n);
    o->p += n;
}

static void put_lit(struct out *o, const char *s) { put_raw(o, s, strlen(s)); }

static void put_int(struct out *o, int64_t v)
{
    char tmp[24], *t = tmp + sizeof tmp;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--t = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--t = '-';
    put_raw(o, t, (size_t)(tmp + sizeof tmp - t));
}

static void put_letters(struct out *o, uint64_t *st, size_t n)
{
    while (n) {
        uint64_t r = splitmix64(st);
        for (int i = 0; i < 12 && n; i++, n--, r >>= 5)
            *o->p++ = (char)('a' + (r & 31) % 26);
    }
}

static void put_ts(struct out *o, int64_t ms)
{
    *o->p++ = '"';
    o->p += timestamp_format(ms, o->p);
    *o->p++ = '"';
}

/* ---------------------------------------------------------------- events */

static int64_t event_time(uint64_t n) { return DATAGEN_BASE_TIME_MS + (int64_t)(n / 10); }

static size_t gen_person(uint64_t seed, uint64_t k, char *buf)
{
    uint64_t n = k * EVENTS_PER_BLOCK, st = seed * 0x2545F4914F6CDD1Dull ^ n;
    struct out o = {buf};
    put_lit(&o, "{\"id\":");
    put_int(&o, FIRST_PERSON_ID + (int64_t)k);
    put_lit(&o, ",\"name\":\"");
    put_lit(&o, first_names[rnd_below(&st, COUNT(first_names))]);
    *o.p++ = ' ';
    put_lit(&o, last_names[rnd_below(&st, COUNT(last_names))]);
    put_lit(&o, "\",\"emailAddress\":\"");
    put_letters(&o, &st, 7);
    *o.p++ = '@';
    put_letters(&o, &st, 5);
    put_lit(&o, ".com\",\"creditCard\":\"");
    for (int g = 0; g < 4; g++) {
        if (g)
            *o.p++ = ' ';
        uint64_t v = 1000 + rnd_below(&st, 9000);
        put_int(&o, (int64_t)v);
    }
    put_lit(&o, "\",\"city\":\"");
    put_lit(&o, cities[rnd_below(&st, COUNT(cities))]);
    put_lit(&o, "\",\"state\":\"");
    put_lit(&o, states[rnd_below(&st, COUNT(states))]);
    put_lit(&o, "\",\"dateTime\":");
    put_ts(&o, event_time(n));
    put_lit(&o, ",\"extra\":\"");
    put_letters(&o, &st, rnd_below(&st, 40));
    put_lit(&o, "\"}");
    return (size_t)(o.p - buf);
}

static int64_t price(uint64_t *st) { return (int64_t)llround(pow(10.0, rnd_unit(st) * 6.0) * 100.0); }

static size_t gen_auction(uint64_t seed, uint64_t k, char *buf)
{
    uint64_t block = k / 3, n = block * EVENTS_PER_BLOCK + 1 + k % 3, st = seed * 0x2545F4914F6CDD1Dull ^ n;
    int64_t last_person = FIRST_PERSON_ID + (int64_t)block, seller;
    if (rnd_below(&st, HOT_SELLER_RATIO) > 0)
        seller = (last_person / HOT_SELLER_RATIO) * HOT_SELLER_RATIO;
    else
        seller = last_person - (int64_t)rnd_below(&st, NUM_ACTIVE_PEOPLE);
    if (seller < FIRST_PERSON_ID)
        seller = FIRST_PERSON_ID;
    int64_t initial = price(&st), ts = event_time(n);
    struct out o = {buf};
    put_lit(&o, "{\"id\":");
    put_int(&o, FIRST_AUCTION_ID + (int64_t)k);
    put_lit(&o, ",\"itemName\":\"");
    put_letters(&o, &st, 8 + rnd_below(&st, 12));
    put_lit(&o, "\",\"description\":\"");
    put_letters(&o, &st, 20 + rnd_below(&st, 40));
    put_lit(&o, "\",\"initialBid\":");
    put_int(&o, initial);
    put_lit(&o, ",\"reserve\":");
    put_int(&o, initial + price(&st));
    put_lit(&o, ",\"dateTime\":");
    put_ts(&o, ts);
    put_lit(&o, ",\"expires\":");
    put_ts(&o, ts + 2000 + (int64_t)rnd_below(&st, 20000));
    put_lit(&o, ",\"seller\":");
    put_int(&o, seller);
    put_lit(&o, ",\"category\":");
    put_int(&o, FIRST_CATEGORY_ID + (int64_t)rnd_below(&st, NUM_CATEGORIES));
    put_lit(&o, ",\"extra\":\"");
    put_letters(&o, &st, rnd_below(&st, 40));
    put_lit(&o, "\"}");
    return (size_t)(o.p - buf);
}

static size_t gen_bid(uint64_t seed, uint64_t k, char *buf)
{
    uint64_t block = k / 46, n = block * EVENTS_PER_BLOCK + 4 + k % 46, st = seed * 0x2545F4914F6CDD1Dull ^ n;
    int64_t last_auction = FIRST_AUCTION_ID + (int64_t)block * 3 + 2, auction;
    if (rnd_below(&st, HOT_AUCTION_RATIO) > 0)
        auction = (last_auction / NUM_IN_FLIGHT_AUCTIONS) * NUM_IN_FLIGHT_AUCTIONS;
    else
        auction = last_auction - (int64_t)rnd_below(&st, NUM_IN_FLIGHT_AUCTIONS);
    if (auction < FIRST_AUCTION_ID)
        auction = FIRST_AUCTION_ID;
    int64_t last_person = FIRST_PERSON_ID + (int64_t)block, bidder;
    if (rnd_below(&st, HOT_BIDDER_RATIO) > 0)
        bidder = (last_person / HOT_BIDDER_RATIO) * HOT_BIDDER_RATIO + 1;
    else
        bidder = last_person - (int64_t)rnd_below(&st, NUM_ACTIVE_PEOPLE);
    if (bidder < FIRST_PERSON_ID)
        bidder = FIRST_PERSON_ID;
    struct out o = {buf};
    put_lit(&o, "{\"auction\":");
    put_int(&o, auction);
    put_lit(&o, ",\"bidder\":");
    put_int(&o, bidder);
    put_lit(&o, ",\"price\":");
    put_int(&o, price(&st));
    put_lit(&o, ",\"channel\":\"");
    if (rnd_below(&st, 10) < 9) {
        put_lit(&o, hot_channels[rnd_below(&st, COUNT(hot_channels))]);
        put_lit(&o, "\",\"url\":\"https://www.nexmark.com/");
        put_letters(&o, &st, 5);
        *o.p++ = '/';
        put_letters(&o, &st, 5);
        put_lit(&o, "/item.htm?query=1");
    } else {
        uint64_t ch = rnd_below(&st, 10000);
        put_lit(&o, "channel-");
        put_int(&o, (int64_t)ch);
        put_lit(&o, "\",\"url\":\"https://www.nexmark.com/");
        put_letters(&o, &st, 5);
        put_lit(&o, "/item.htm?query=1&channel_id=");
        put_int(&o, (int64_t)(ch * 7919 % 10000));
    }
    put_lit(&o, "\",\"dateTime\":");
    put_ts(&o, event_time(n) - (int64_t)rnd_below(&st, BID_MAX_DELAY_MS));
    put_lit(&o, ",\"extra\":\"");
    put_letters(&o, &st, rnd_below(&st, 30));
    put_lit(&o, "\"}");
    return (size_t)(o.p - buf);
}

/* One row per kind: name and generator. */
static const struct {
    const char *name;
    size_t (*generate)(uint64_t seed, uint64_t index, char *buf);
} datagen_kinds[] = {
    [DATAGEN_PERSON] = {"person", gen_person},
    [DATAGEN_AUCTION] = {"auction", gen_auction},
    [DATAGEN_BID] = {"bid", gen_bid},
};

int datagen_kind_from_name(const char *name)
{
    for (size_t i = 0; i < COUNT(datagen_kinds); i++)
        if (strcmp(datagen_kinds[i].name, name) == 0)
            return (int)i;
    return -1;
}

size_t datagen_record(enum datagen_kind kind, uint64_t seed, uint64_t index, char *out)
{
    return datagen_kinds[kind].generate(seed, index, out);
}

/* The options of a datagen stream, one row each: datagen_config_parse stores them through the
 * table, and the API checks a connection against it (stream_backend.options). The parser leaves
 * keys outside the table alone, as `sluiced run` files pass options of their own. */
static const char *const datagen_kind_names[] = {"bid", "auction", "person", NULL};
static const struct option_row datagen_options[] = {
    {.name = "kind", .type = OPTION_ENUM, .def = "bid", .values = datagen_kind_names, .help = "the events generated"},
    {.name = "events",
     .type = OPTION_INT,
     .def = "0",
     .min = 0,
     .max = LONG_MAX,
     .help = "records to produce (0: unbounded)",
     OPTION_FIELD(struct datagen_config, events)},
    {.name = "seed",
     .type = OPTION_INT,
     .def = "1",
     .min = 0,
     .max = LONG_MAX,
     .help = "the generator's seed",
     OPTION_FIELD(struct datagen_config, seed)},
    {.name = "rate",
     .type = OPTION_DOUBLE,
     .min = 0,
     .help = "records per second (absent: flat out)",
     OPTION_FIELD(struct datagen_config, rate)},
    {.name = "connector", .type = OPTION_STRING, .flags = OPTION_HIDDEN},
};
static const struct option_table datagen_option_table = OPTION_TABLE("datagen", datagen_options);

int datagen_config_parse(const struct stream_property *props, int nprops, struct datagen_config *c, char *err,
                         size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (stream_options_apply(&datagen_option_table, props, nprops, c, err, errlen) != 0)
        return -1;
    const char *kind = stream_property_get(props, nprops, "kind");
    c->kind = (enum datagen_kind)datagen_kind_from_name(kind ? kind : "bid"); /* checked by the table */
    return 0;
}

/* ---------------------------------------------------------------- stream backend */

struct datagen_reader {
    struct datagen_config config;
    uint64_t next, start_offset;
    int64_t start_ns;
    char *buf; /* generated records of the last read */
    size_t cap;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int datagen_partitions(const char *location, int create, const struct stream_property *props, int nprops,
                              int *count, char *err, size_t errlen)
{
    struct datagen_config c;
    if (datagen_config_parse(props, nprops, &c, err, errlen) != 0)
        return -1;
    *count = 1;
    return 0;
}

static int datagen_open_reader(const char *location, int partition, uint64_t offset,
                               const struct stream_property *props, int nprops, void **reader, char *err, size_t errlen)
{
    struct datagen_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (datagen_config_parse(props, nprops, &r->config, err, errlen) != 0) {
        free(r);
        return -1;
    }
    r->next = r->start_offset = offset;
    r->start_ns = now_ns();
    *reader = r;
    return 0;
}

static int datagen_read(void *reader, struct stream_record *recs, int max, char *err, size_t errlen)
{
    struct datagen_reader *r = reader;
    uint64_t n = (uint64_t)max;
    if (r->config.events && r->config.events - r->next < n)
        n = r->config.events > r->next ? r->config.events - r->next : 0;
    if (r->config.rate > 0) {
        double elapsed = (double)(now_ns() - r->start_ns) / 1e9;
        uint64_t allowed = r->start_offset + (uint64_t)(elapsed * r->config.rate);
        uint64_t room = allowed > r->next ? allowed - r->next : 0;
        if (room < n)
            n = room;
    }
    if (n == 0)
        return 0;
    size_t need = n * DATAGEN_RECORD_MAX;
    if (need > r->cap) {
        char *b = realloc(r->buf, need);
        if (!b) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        r->buf = b;
        r->cap = need;
    }
    char *p = r->buf;
    for (uint64_t i = 0; i < n; i++) {
        size_t len = datagen_record(r->config.kind, r->config.seed, r->next, p);
        recs[i].offset = r->next++;
        recs[i].data = p;
        recs[i].len = (uint32_t)len;
        recs[i].kind = ROW_INSERT;
        p += len;
    }
    return (int)n;
}

static int datagen_end_offset(void *reader, uint64_t *end, char *err, size_t errlen)
{
    struct datagen_reader *r = reader;
    *end = r->config.events ? r->config.events : UINT64_MAX;
    return 0;
}

static void datagen_close_reader(void *reader)
{
    struct datagen_reader *r = reader;
    if (!r)
        return;
    free(r->buf);
    free(r);
}

const struct stream_backend datagen_stream_backend = {
    .name = "datagen",
    .partitions = datagen_partitions,
    .open_reader = datagen_open_reader,
    .read = datagen_read,
    .end_offset = datagen_end_offset,
    .close_reader = datagen_close_reader,
    .options = &datagen_option_table,
    .source = true,
    .bounded_by = "events", /* a fixed number of events is a bounded run: it completes */
};
