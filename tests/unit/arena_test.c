/* arena_test.c — unit tests for common/arena. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "common/arena.h"
#include "tests/unit/check_main.h"

START_TEST(test_alloc_aligned_and_distinct)
{
    struct arena *a = arena_new(64);
    char *p = arena_alloc(a, 3), *q = arena_alloc(a, 100), *r = arena_alloc(a, 1);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(q);
    ck_assert_uint_eq((uintptr_t)p % 16, 0);
    ck_assert_uint_eq((uintptr_t)q % 16, 0);
    ck_assert_uint_eq((uintptr_t)r % 16, 0);
    memset(q, 'x', 100); /* a 100-byte allocation larger than the block must be usable */
    ck_assert_ptr_ne(p, r);
    ck_assert_uint_eq(arena_used(a), 16 + 112 + 16);
    arena_free(a);
}
END_TEST

START_TEST(test_reset_reuses_memory)
{
    struct arena *a = arena_new(1024);
    char *s = arena_strndup(a, "hello world", 5);
    ck_assert_str_eq(s, "hello");
    for (int i = 0; i < 100; i++)
        arena_alloc(a, 500);
    arena_reset(a);
    ck_assert_uint_eq(arena_used(a), 0);
    char *t = arena_alloc(a, 16);
    ck_assert_ptr_nonnull(t);
    arena_free(a);
    arena_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_alloc_aligned_and_distinct);
    tcase_add_test(tc, test_reset_reuses_memory);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
