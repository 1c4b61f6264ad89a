/* cp_idmap_test — the id → pointer map: put, get, replace, remove, growth past many entries
 * with removals in between, and unknown keys. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>

#include "controlplane/idmap.h"
#include "tests/unit/check_main.h"

START_TEST(put_get_remove_and_grow)
{
    struct idmap *m = idmap_new();
    ck_assert_ptr_nonnull(m);
    char key[64];
    for (intptr_t i = 1; i <= 5000; i++) {
        snprintf(key, sizeof key, "task-%ld", (long)i);
        ck_assert_int_eq(idmap_put(m, key, (void *)i), 0);
        if (i % 3 == 0) {
            snprintf(key, sizeof key, "task-%ld", (long)(i - 1));
            idmap_remove(m, key);
        }
    }
    ck_assert_uint_eq(idmap_count(m), 5000 - 1666);
    for (intptr_t i = 1; i <= 5000; i++) {
        snprintf(key, sizeof key, "task-%ld", (long)i);
        void *want = i % 3 == 2 && i < 5000 ? NULL : (void *)i;
        ck_assert_ptr_eq(idmap_get(m, key), want);
    }
    ck_assert_int_eq(idmap_put(m, "task-1", (void *)7), 0);
    ck_assert_ptr_eq(idmap_get(m, "task-1"), (void *)7);
    ck_assert_uint_eq(idmap_count(m), 5000 - 1666);
    ck_assert_ptr_null(idmap_get(m, "nope"));
    idmap_remove(m, "nope");
    idmap_free(m);
    idmap_free(NULL);
}
END_TEST

START_TEST(churn_reuses_tombstones)
{
    struct idmap *m = idmap_new();
    for (intptr_t round = 0; round < 20000; round++) {
        char key[32];
        snprintf(key, sizeof key, "k%ld", (long)round);
        ck_assert_int_eq(idmap_put(m, key, (void *)(round + 1)), 0);
        ck_assert_ptr_eq(idmap_get(m, key), (void *)(round + 1));
        idmap_remove(m, key);
    }
    ck_assert_uint_eq(idmap_count(m), 0);
    idmap_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cp_idmap");
    TCase *tc = tcase_create("idmap");
    tcase_add_test(tc, put_get_remove_and_grow);
    tcase_add_test(tc, churn_reuses_tombstones);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
