/* config_test.c — unit tests for common/config: defaults, file, environment, flags. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "tests/unit/check_main.h"

struct test_config {
    char *url;
    long port;
    int verbose;
    char *name;
};

static const struct option_row test_options[] = {
    {.name = "database-url",
     .env = "SLUICE_TEST_URL",
     .type = OPTION_STRING,
     OPTION_FIELD(struct test_config, url),
     .help = "url"},
    {.name = "port",
     .env = "SLUICE_TEST_PORT",
     .type = OPTION_INT,
     OPTION_FIELD(struct test_config, port),
     .def = "8443",
     .min = 1,
     .max = 65535,
     .help = "port"},
    {.name = "verbose",
     .type = OPTION_BOOL,
     OPTION_FIELD(struct test_config, verbose),
     .def = "false",
     .help = "verbose"},
    {.name = "name", .type = OPTION_STRING, OPTION_FIELD(struct test_config, name), .def = "sluice", .help = "name"},
};
#define N (sizeof test_options / sizeof test_options[0])

static int load(struct test_config *c, int argc, char **argv, char *err)
{
    memset(c, 0, sizeof *c);
    return config_load(test_options, N, c, argc, argv, err, 256);
}

static void clear_env(void)
{
    unsetenv("SLUICE_TEST_URL");
    unsetenv("SLUICE_TEST_PORT");
    unsetenv("SLUICE_CONFIG");
}

START_TEST(test_defaults)
{
    clear_env();
    struct test_config c;
    char err[256];
    char *argv[] = {"cmd"};
    ck_assert_int_eq(load(&c, 1, argv, err), 0);
    ck_assert_ptr_null(c.url);
    ck_assert_int_eq(c.port, 8443);
    ck_assert_int_eq(c.verbose, 0);
    ck_assert_str_eq(c.name, "sluice");
    config_free(test_options, N, &c);
    ck_assert_ptr_null(c.name);
}
END_TEST

START_TEST(test_precedence_file_env_flags)
{
    clear_env();
    char path[] = "/tmp/sluice-config-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "# comment\n\ndatabase_url = \"postgresql://file\"\nport = 1000\nname=from-file\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    setenv("SLUICE_TEST_PORT", "2000", 1);
    setenv("SLUICE_CONFIG", path, 1);
    struct test_config c;
    char err[256];
    char *argv[] = {"cmd", "--port=3000", "--verbose"};
    ck_assert_int_eq(load(&c, 3, argv, err), 0);
    ck_assert_str_eq(c.url, "postgresql://file"); /* file over default */
    ck_assert_str_eq(c.name, "from-file");
    ck_assert_int_eq(c.port, 3000); /* flag over env over file */
    ck_assert_int_eq(c.verbose, 1);
    config_free(test_options, N, &c);

    char *argv2[] = {"cmd", "--config", path, "--name", "flag"};
    unsetenv("SLUICE_CONFIG");
    ck_assert_int_eq(load(&c, 5, argv2, err), 0);
    ck_assert_int_eq(c.port, 2000); /* env over file */
    ck_assert_str_eq(c.name, "flag");
    config_free(test_options, N, &c);
    clear_env();
    unlink(path);
}
END_TEST

START_TEST(test_errors)
{
    clear_env();
    struct test_config c;
    char err[256];
    char *a1[] = {"cmd", "--nope", "1"};
    ck_assert_int_eq(load(&c, 3, a1, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "--nope"));
    config_free(test_options, N, &c);
    char *a2[] = {"cmd", "--port", "70000"};
    ck_assert_int_eq(load(&c, 3, a2, err), -1);
    ck_assert_str_eq(err, "option \"port\" must be a whole number from 1 to 65535, not \"70000\"");
    config_free(test_options, N, &c);
    char *a3[] = {"cmd", "--port", "12ab"};
    ck_assert_int_eq(load(&c, 3, a3, err), -1);
    config_free(test_options, N, &c);
    char *a4[] = {"cmd", "--name"};
    ck_assert_int_eq(load(&c, 2, a4, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "needs a value"));
    config_free(test_options, N, &c);
    char *a5[] = {"cmd", "stray"};
    ck_assert_int_eq(load(&c, 2, a5, err), -1);
    config_free(test_options, N, &c);
    char *a6[] = {"cmd", "--verbose=maybe"};
    ck_assert_int_eq(load(&c, 2, a6, err), -1);
    ck_assert_str_eq(err, "option \"verbose\" must be true or false, not \"maybe\"");
    config_free(test_options, N, &c);
    setenv("SLUICE_TEST_PORT", "zero", 1);
    char *a7[] = {"cmd"};
    ck_assert_int_eq(load(&c, 1, a7, err), -1);
    config_free(test_options, N, &c);
    clear_env();
    char *a8[] = {"cmd", "--config", "/nonexistent/sluice.conf"};
    ck_assert_int_eq(load(&c, 3, a8, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/sluice.conf"));
    config_free(test_options, N, &c);
    char *a9[] = {"cmd", "--help"};
    ck_assert_int_eq(load(&c, 2, a9, err), 1);
    config_free(test_options, N, &c);
}
END_TEST

START_TEST(test_file_errors_name_the_line)
{
    clear_env();
    char path[] = "/tmp/sluice-config-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "port = 1\nthis line is wrong\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct test_config c;
    char err[256];
    char *argv[] = {"cmd", "--config", path};
    ck_assert_int_eq(load(&c, 3, argv, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "line 2"));
    config_free(test_options, N, &c);
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_precedence_file_env_flags);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_file_errors_name_the_line);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
