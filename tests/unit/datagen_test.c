/* datagen_test.c — unit tests for the Nexmark generator (dataplane/connectors/datagen). */
#include <check.h>
#include <jansson.h>
#include <string.h>

#include "dataplane/codec/timestamp.h"
#include "dataplane/connectors/datagen.h"
#include "tests/unit/check_main.h"

static const char *const bid_keys[] = {"auction", "bidder", "price", "channel", "url", "dateTime", "extra"};
static const char *const auction_keys[] = {"id",       "itemName", "description", "initialBid", "reserve",
                                           "dateTime", "expires",  "seller",      "category",   "extra"};
static const char *const person_keys[] = {"id",   "name",  "emailAddress", "creditCard",
                                          "city", "state", "dateTime",     "extra"};

static void check_kind(enum datagen_kind kind, const char *const *keys, size_t nkeys)
{
    char buf[DATAGEN_RECORD_MAX];
    size_t total = 0;
    for (uint64_t i = 0; i < 5000; i++) {
        size_t n = datagen_record(kind, 1, i, buf);
        ck_assert_uint_lt(n, DATAGEN_RECORD_MAX);
        total += n;
        json_error_t e;
        json_t *j = json_loadb(buf, n, 0, &e);
        ck_assert_msg(j != NULL, "%s: %.*s", e.text, (int)n, buf);
        ck_assert_uint_eq(json_object_size(j), nkeys);
        for (size_t k = 0; k < nkeys; k++)
            ck_assert_msg(json_object_get(j, keys[k]) != NULL, "missing %s", keys[k]);
        int64_t ts;
        json_t *dt = json_object_get(j, "dateTime");
        ck_assert_int_eq(timestamp_parse(json_string_value(dt), json_string_length(dt), &ts), 0);
        ck_assert_int_ge(ts, DATAGEN_BASE_TIME_MS - 1000);
        if (kind == DATAGEN_BID) {
            json_int_t auction = json_integer_value(json_object_get(j, "auction"));
            json_int_t price = json_integer_value(json_object_get(j, "price"));
            /* bids refer to auctions generated before them (3 per 50 events, 46 bids per block) */
            ck_assert_int_ge(auction, 1000);
            ck_assert_int_le(auction, 1000 + (json_int_t)(i / 46) * 3 + 2);
            ck_assert_int_ge(price, 100);
            ck_assert_int_le(price, 100000000);
        }
        if (kind == DATAGEN_PERSON || kind == DATAGEN_AUCTION)
            ck_assert_int_eq(json_integer_value(json_object_get(j, "id")), 1000 + (json_int_t)i);
        json_decref(j);
    }
    if (kind == DATAGEN_BID) {
        size_t avg = total / 5000;
        ck_assert_msg(avg >= 150 && avg <= 200, "average bid size %zu", avg);
    }
}

START_TEST(test_every_kind_is_valid_json_with_nexmark_fields)
{
    check_kind(DATAGEN_BID, bid_keys, 7);
    check_kind(DATAGEN_AUCTION, auction_keys, 10);
    check_kind(DATAGEN_PERSON, person_keys, 8);
}
END_TEST

START_TEST(test_deterministic_from_seed)
{
    char a[DATAGEN_RECORD_MAX], b[DATAGEN_RECORD_MAX];
    size_t same = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        size_t n = datagen_record(DATAGEN_BID, 42, i, a), m = datagen_record(DATAGEN_BID, 42, i, b);
        ck_assert(n == m && memcmp(a, b, n) == 0);
        m = datagen_record(DATAGEN_BID, 43, i, b);
        same += n == m && memcmp(a, b, n) == 0;
    }
    ck_assert_uint_lt(same, 10);
}
END_TEST

START_TEST(test_reader_bounded_seek_and_options)
{
    const struct stream_backend *b = stream_backend_find("datagen");
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(b->open_writer);
    char err[256];
    struct stream_property props[] = {{"kind", "auction"}, {"events", "1000"}, {"seed", "9"}};
    void *r;
    ck_assert_int_eq(b->open_reader("", 0, 990, props, 3, &r, err, sizeof err), 0);
    struct stream_record recs[64];
    ck_assert_int_eq(b->read(r, recs, 64, err, sizeof err), 10);
    char buf[DATAGEN_RECORD_MAX];
    size_t n = datagen_record(DATAGEN_AUCTION, 9, 995, buf);
    ck_assert_uint_eq(recs[5].offset, 995);
    ck_assert(recs[5].len == n && memcmp(recs[5].data, buf, n) == 0);
    ck_assert_int_eq(b->read(r, recs, 64, err, sizeof err), 0);
    uint64_t end;
    ck_assert_int_eq(b->end_offset(r, &end, err, sizeof err), 0);
    ck_assert_uint_eq(end, 1000);
    b->close_reader(r);
    /* a rate of 1 record/s has nothing to give right after the start */
    struct stream_property slow[] = {{"rate", "1"}};
    ck_assert_int_eq(b->open_reader("", 0, 0, slow, 1, &r, err, sizeof err), 0);
    ck_assert_int_eq(b->read(r, recs, 64, err, sizeof err), 0);
    ck_assert_int_eq(b->end_offset(r, &end, err, sizeof err), 0);
    ck_assert_uint_eq(end, UINT64_MAX);
    b->close_reader(r);
    struct stream_property bad[][1] = {{{"kind", "bids"}}, {{"events", "-1"}}, {{"rate", "fast"}}, {{"seed", "x"}}};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(b->open_reader("", 0, 0, bad[i], 1, &r, err, sizeof err), -1);
        ck_assert_msg(strstr(err, bad[i][0].key) != NULL, "%s", err);
    }
}
END_TEST

/* ---- Event mix: a block of 50 events, 5 ms of event time ---------------------------------*/

/* dateTime of record index of the given kind, in ms after DATAGEN_BASE_TIME_MS. */
static int64_t record_time(enum datagen_kind kind, uint64_t index)
{
    char buf[DATAGEN_RECORD_MAX + 1];
    size_t n = datagen_record(kind, 1, index, buf);
    buf[n] = '\0';
    const char *t = strstr(buf, "\"dateTime\":\"");
    ck_assert_ptr_nonnull(t);
    t += strlen("\"dateTime\":\"");
    const char *end = strchr(t, '"');
    ck_assert_ptr_nonnull(end);
    int64_t ms;
    ck_assert_int_eq(timestamp_parse(t, (size_t)(end - t), &ms), 0);
    return ms - DATAGEN_BASE_TIME_MS;
}

/* Records of a kind whose dateTime lies in [from, to) ms, scanning indexes [0, limit). */
static uint64_t count_in_span(enum datagen_kind kind, uint64_t limit, int64_t from, int64_t to)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < limit; i++) {
        int64_t t = record_time(kind, i);
        n += t >= from && t < to;
    }
    return n;
}

START_TEST(test_block_of_50_events_is_1_person_3_auctions_46_bids)
{
    /* Event time advances 0.1 ms per event, so a block of 50 events spans 5 ms. Persons and
     * auctions carry their event's time: each block's span holds exactly 1 and 3 of them. */
    const uint64_t blocks[] = {0, 1, 2, 777, 5000};
    for (size_t i = 0; i < sizeof blocks / sizeof *blocks; i++) {
        int64_t from = (int64_t)blocks[i] * 5, to = from + 5;
        uint64_t persons = count_in_span(DATAGEN_PERSON, blocks[i] + 10, from, to);
        uint64_t auctions = count_in_span(DATAGEN_AUCTION, blocks[i] * 3 + 30, from, to);
        ck_assert_msg(persons == 1 && auctions == 3, "block %llu: %llu persons, %llu auctions",
                      (unsigned long long)blocks[i], (unsigned long long)persons, (unsigned long long)auctions);
    }
    /* A bid's dateTime is its event's time less up to 500 ms, so one span holds 46 bids only on
     * average: count them over 1000 blocks (5 s), where the bids delayed out at the start of
     * the span and those delayed in from after its end nearly cancel. The seed is fixed, so the
     * count is too; 45 or 47 per block would be 1000 off. */
    const int64_t first = 200, last = 1200, from = first * 5, to = last * 5;
    uint64_t persons = count_in_span(DATAGEN_PERSON, (uint64_t)last + 200, from, to);
    uint64_t auctions = count_in_span(DATAGEN_AUCTION, (uint64_t)(last + 200) * 3, from, to);
    uint64_t bids = count_in_span(DATAGEN_BID, (uint64_t)(last + 200) * 46, from, to);
    ck_assert_uint_eq(persons, 1000);
    ck_assert_uint_eq(auctions, 3000);
    ck_assert_msg(bids > 45700 && bids < 46300, "%llu bids in 1000 blocks", (unsigned long long)bids);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("datagen");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_every_kind_is_valid_json_with_nexmark_fields);
    tcase_add_test(tc, test_deterministic_from_seed);
    tcase_add_test(tc, test_reader_bounded_seek_and_options);
    tcase_add_test(tc, test_block_of_50_events_is_1_person_3_auctions_46_bids);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
