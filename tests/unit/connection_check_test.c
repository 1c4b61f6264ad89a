/* connection_check_test.c — unit tests for dataplane/connection_check: the worker's side of a
 * connection check finds the connector, merges secrets over properties, reports option errors
 * without connecting, and reports a refused port as not reachable. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/connection_check.h"
#include "dataplane/connectors/redis_stream.h"
#include "tests/unit/check_main.h"

/* A loopback port nothing listens on: bound, then closed. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static json_t *spec(const char *connector, json_t *props, json_t *secrets)
{
    return json_pack("{s:s,s:s,s:o,s:o}", "kind", "check", "connector", connector, "properties", props, "secrets",
                     secrets ? secrets : json_object());
}

START_TEST(test_unknown_connector)
{
    struct stream_check c;
    char err[256] = "";
    json_t *s = spec("nosuch", json_object(), NULL);
    ck_assert_int_eq(connection_check_spec(s, &c, err, sizeof err), -1);
    ck_assert_str_eq(err, "connector \"nosuch\" is not known to this worker");
    json_decref(s);
}
END_TEST

START_TEST(test_datagen_has_nothing_to_reach)
{
    struct stream_check c;
    char err[256] = "";
    json_t *s = spec("datagen", json_object(), NULL);
    ck_assert_int_eq(connection_check_spec(s, &c, err, sizeof err), 0);
    ck_assert(c.reachable && c.authenticated && c.target_present);
    ck_assert_str_eq(c.error, "");
    json_decref(s);
}
END_TEST

START_TEST(test_option_error_without_connecting)
{
    struct stream_check c;
    char err[256] = "";
    json_t *s = spec("redis", json_pack("{s:s}", "host", "127.0.0.1"), NULL);
    ck_assert_int_eq(connection_check_spec(s, &c, err, sizeof err), 0);
    ck_assert(!c.reachable && !c.authenticated && !c.target_present);
    ck_assert_str_eq(c.error, "a redis connection needs the property \"stream\"");
    json_decref(s);
}
END_TEST

START_TEST(test_refused_port)
{
    struct stream_check c;
    char err[256] = "", port[16], want[128];
    int p = closed_port();
    snprintf(port, sizeof port, "%d", p);
    /* the secret's port wins over the property's (secrets come after properties) */
    json_t *s = spec("redis", json_pack("{s:s,s:s,s:s}", "host", "127.0.0.1", "port", "1", "stream", "x"),
                     json_pack("{s:s}", "port", port));
    ck_assert_int_eq(connection_check_spec(s, &c, err, sizeof err), 0);
    ck_assert(!c.reachable && !c.authenticated && !c.target_present);
    snprintf(want, sizeof want, "cannot connect to redis at 127.0.0.1:%d: Connection refused", p);
    ck_assert_str_eq(c.error, want);
    json_decref(s);
}
END_TEST

int main(void)
{
    /* the backend is weak in dataplane/stream.c: a reference links it in, as sluiced does */
    if (!redis_stream_backend.check)
        return 1;
    Suite *s = suite_create("connection_check");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_unknown_connector);
    tcase_add_test(tc, test_datagen_has_nothing_to_reach);
    tcase_add_test(tc, test_option_error_without_connecting);
    tcase_add_test(tc, test_refused_port);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
