/* connectors_test.c — the pure parts of the message-broker connectors (redis, mqtt, rabbitmq):
 * Redis entry ids as offsets, their facts, and their options checked before anything connects. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"
#include "dataplane/connectors/mqtt.h"
#include "dataplane/connectors/rabbitmq.h"
#include "dataplane/connectors/redis_reply.h"
#include "dataplane/connectors/redis_stream.h"
#include "dataplane/stream.h"

START_TEST(test_redis_id_offsets)
{
    uint64_t off, a, b;
    ck_assert_int_eq(redis_id_offset("0-0", &off), 0);
    ck_assert_uint_eq(off, 0);
    ck_assert_int_eq(redis_id_offset("1-0", &off), 0);
    ck_assert_uint_eq(off, 1u << 20);
    ck_assert_int_eq(redis_id_offset("1796471196637-5", &off), 0);
    char id[48];
    redis_offset_id(off, id, sizeof id);
    ck_assert_str_eq(id, "1796471196637-5");
    /* ordered as the ids are: by ms, then by seq */
    ck_assert_int_eq(redis_id_offset("1000-1048575", &a), 0);
    ck_assert_int_eq(redis_id_offset("1001-0", &b), 0);
    ck_assert_uint_lt(a, b);
    /* not an id, or not one that fits */
    ck_assert_int_eq(redis_id_offset("1000-1048576", &off), -1);
    ck_assert_int_eq(redis_id_offset("8796093022208-0", &off), -1); /* 2^43 ms */
    ck_assert_int_eq(redis_id_offset("12", &off), -1);
    ck_assert_int_eq(redis_id_offset("-1-0", &off), -1);
    ck_assert_int_eq(redis_id_offset("1-x", &off), -1);
    ck_assert_int_eq(redis_id_offset("1-2-3", &off), -1);
    ck_assert_int_eq(redis_id_offset("", &off), -1);
    ck_assert_int_eq(redis_id_offset("99999999999999999999999-0", &off), -1); /* past 2^64 */
    ck_assert_int_eq(redis_id_offset("1-", &off), -1);
    ck_assert_int_eq(redis_id_offset("1-0 ", &off), -1);
}
END_TEST

/* Replies built in an arena: a reply written over a socket in several pieces, larger than one
 * read, comes out whole (nested arrays, nil, integer, status, error), and one arena holds
 * several replies until it is reset. */
START_TEST(test_redis_arena_replies)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    redisContext *c = redisConnectFd(sv[0]);
    ck_assert_ptr_nonnull(c);
    struct arena *a = arena_new(4096);
    redis_reply_use_arena(c, a);
    size_t big = 150000; /* more than one 128 KiB read */
    char *text = malloc(big + 256), *p = text;
    p += sprintf(p, "*4\r\n*2\r\n$5\r\n1-0x1\r\n$-1\r\n:42\r\n+OK\r\n$%zu\r\n", big);
    memset(p, 'x', big);
    p += big;
    p += sprintf(p, "\r\n-ERR nope\r\n");
    size_t len = (size_t)(p - text), half = len / 2;
    ck_assert_int_eq(write(sv[1], text, half), (ssize_t)half);
    ck_assert_int_eq(write(sv[1], text + half, len - half), (ssize_t)(len - half));
    redisReply *r = NULL, *e = NULL;
    ck_assert_int_eq(redis_reply_get(c, &r), REDIS_OK);
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    ck_assert_uint_eq(r->elements, 4);
    ck_assert_str_eq(r->element[0]->element[0]->str, "1-0x1");
    ck_assert_int_eq(r->element[0]->element[1]->type, REDIS_REPLY_NIL);
    ck_assert_int_eq(r->element[1]->integer, 42);
    ck_assert_str_eq(r->element[2]->str, "OK");
    ck_assert_uint_eq(r->element[3]->len, big);
    ck_assert_int_eq(r->element[3]->str[big - 1], 'x');
    ck_assert_int_eq(r->element[3]->str[big], '\0');
    ck_assert_int_eq(redis_reply_get(c, &e), REDIS_OK);
    ck_assert_int_eq(e->type, REDIS_REPLY_ERROR);
    ck_assert_str_eq(e->str, "ERR nope");
    ck_assert_uint_ge(arena_used(a), big); /* both replies are the arena's */
    ck_assert_str_eq(r->element[2]->str, "OK");
    redis_reply_release(c, r); /* a no-op: the arena frees them */
    arena_reset(a);
    ck_assert_uint_eq(arena_used(a), 0);
    const char ping[] = "*1\r\n$4\r\nPING\r\n"; /* sent as it is, after what was appended */
    char got[64] = "";
    ck_assert_int_eq(redisAppendCommand(c, "ECHO a"), REDIS_OK);
    ck_assert_int_eq(redis_reply_send(c, ping, strlen(ping)), REDIS_OK);
    size_t want = strlen("*2\r\n$4\r\nECHO\r\n$1\r\na\r\n") + strlen(ping), have = 0;
    while (have < want) {
        ssize_t k = read(sv[1], got + have, sizeof got - 1 - have);
        ck_assert_int_gt(k, 0);
        have += (size_t)k;
    }
    ck_assert_str_eq(got, "*2\r\n$4\r\nECHO\r\n$1\r\na\r\n*1\r\n$4\r\nPING\r\n");
    close(sv[1]); /* the server going away is an error with its reason */
    ck_assert_int_eq(redis_reply_get(c, &r), REDIS_ERR);
    ck_assert_int_eq(c->err, REDIS_ERR_EOF);
    redisFree(c);
    arena_free(a);
    free(text);
}
END_TEST

START_TEST(test_facts)
{
    /* referenced directly: the weak table rows alone do not pull them into this binary */
    const struct stream_backend *all[] = {&redis_stream_backend, &mqtt_stream_backend, &rabbitmq_stream_backend};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const struct stream_backend *b = all[i];
        ck_assert_ptr_eq(stream_backend_find(b->name), b);
        ck_assert(b->source && b->sink && b->network && b->full_worker && !b->truncate && !b->taskless);
        ck_assert_ptr_nonnull(b->options);
    }
    ck_assert_str_eq(redis_stream_backend.location_key, "stream");
    ck_assert_ptr_nonnull(redis_stream_backend.acknowledge); /* XACK after the checkpoint */
    ck_assert_str_eq(mqtt_stream_backend.location_key, "topic");
    ck_assert_ptr_null(mqtt_stream_backend.acknowledge); /* libmosquitto acknowledges on receipt */
    ck_assert_str_eq(rabbitmq_stream_backend.location_key, "queue");
    ck_assert_ptr_nonnull(rabbitmq_stream_backend.acknowledge); /* basic.ack after the checkpoint */
}
END_TEST

/* bad options fail at open, naming the option, before any connection is tried */
START_TEST(test_bad_options)
{
    char err[512];
    void *r = NULL;
    const struct stream_backend *redis = stream_backend_find("redis");
    struct stream_property p1[] = {{"host", "127.0.0.1"}, {"stream", "s"}, {"maxlen", "-1"}};
    ck_assert_int_eq(redis->open_writer("s", 0, p1, 3, &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "redis option \"maxlen\" must be a whole number from 0 to 9223372036854775807, not \"-1\"");
    struct stream_property p2[] = {{"stream", "s"}};
    ck_assert_int_eq(redis->open_reader("s", 0, 0, p2, 1, &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "a redis connection needs the property \"host\"");
    struct stream_property p3[] = {{"host", "127.0.0.1"}, {"port", "1"}, {"stream", "s"}};
    ck_assert_int_eq(redis->open_reader("s", 0, 0, p3, 3, &r, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "cannot connect to redis at 127.0.0.1:1: Connection refused") != NULL, "%s", err);
    const struct stream_backend *mqtt = &mqtt_stream_backend;
    struct stream_property m1[] = {{"host", "127.0.0.1"}, {"topic", "t"}};
    ck_assert_int_eq(mqtt->open_writer("t", 0, m1, 2, &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "a mqtt connection needs the property \"client.id\"");
    struct stream_property m2[] = {{"host", "127.0.0.1"}, {"topic", "t"}, {"client.id", "c"}, {"retain", "maybe"}};
    ck_assert_int_eq(mqtt->open_writer("t", 0, m2, 4, &r, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "mqtt option \"retain\"") != NULL, "%s", err);
    struct stream_property m3[] = {{"host", "127.0.0.1"}, {"port", "1"}, {"topic", "t"}, {"client.id", "c"}};
    ck_assert_int_eq(mqtt->open_writer("t", 0, m3, 4, &r, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "cannot connect to the mqtt broker at 127.0.0.1:1: Connection refused") != NULL, "%s",
                  err);
    const struct stream_backend *rmq = &rabbitmq_stream_backend;
    struct stream_property q1[] = {{"host", "127.0.0.1"}};
    ck_assert_int_eq(rmq->open_reader("", 0, 0, q1, 1, &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "a rabbitmq connection needs the property \"queue\"");
    struct stream_property q2[] = {{"host", "127.0.0.1"}, {"queue", "q"}, {"prefetch", "0"}};
    ck_assert_int_eq(rmq->open_reader("q", 0, 0, q2, 3, &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "rabbitmq option \"prefetch\" must be a whole number from 1 to 65535, not \"0\"");
    struct stream_property q3[] = {{"host", "127.0.0.1"}, {"port", "1"}, {"queue", "q"}};
    ck_assert_int_eq(rmq->open_writer("q", 0, q3, 3, &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "cannot connect to rabbitmq at 127.0.0.1:1: Connection refused");
}
END_TEST

/* an mqtt source whose spool ends before its checkpoint (lost with the task's directory) fails
 * before it connects, rather than skip the offsets between */
START_TEST(test_mqtt_lost_spool)
{
    char dir[] = "/tmp/connectors_test_XXXXXX", err[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct stream_property p[] = {
        {"host", "127.0.0.1"}, {"port", "1"}, {"topic", "t"}, {"client.id", "c"}, {"spool.dir", dir}};
    void *r = NULL;
    ck_assert_int_eq(mqtt_stream_backend.open_reader("t", 0, 5, p, 5, &r, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "ends at offset 0, before the checkpoint's 5: the spool was lost") != NULL, "%s", err);
    /* at its end it opens the spool, and then fails only for want of a broker */
    ck_assert_int_eq(mqtt_stream_backend.open_reader("t", 0, 0, p, 5, &r, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "cannot connect to the mqtt broker at 127.0.0.1:1") != NULL, "%s", err);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("connectors");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_redis_id_offsets);
    tcase_add_test(tc, test_redis_arena_replies);
    tcase_add_test(tc, test_facts);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_mqtt_lost_spool);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
