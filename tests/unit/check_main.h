/* check_main.h — the one way every Check program in tests/unit/ runs its suite. */
#ifndef SLUICE_TESTS_UNIT_CHECK_MAIN_H
#define SLUICE_TESTS_UNIT_CHECK_MAIN_H

#include <check.h>

/* Runs s (taking ownership) and returns the process exit status: 0 when every test passed. */
static inline int check_run_suite(Suite *s)
{
    SRunner *runner = srunner_create(s);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? 1 : 0;
}

#endif
