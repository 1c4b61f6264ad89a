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

int main(void)
{
    Suite *s = suite_create("datagen");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_every_kind_is_valid_json_with_nexmark_fields);
    tcase_add_test(tc, test_deterministic_from_seed);
    tcase_add_test(tc, test_reader_bounded_seek_and_options);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
