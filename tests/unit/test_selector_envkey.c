/*
 * The environment key changes with the interpreter, an installed distribution's version, a
 * configured variable's value (unset and empty differ), a lockfile's content and pytest's
 * arguments, and not with what only changes pytest's output or the order of `env = [...]`.
 */
#define TMP_TREE_PREFIX "ash_envkey_"
#include "envkey.h"
#include "tmp_tree.h"

#include <stdlib.h>
#include <string.h>

static const char *const facts = "version 3.11.7\n"
                                 "stdlib os\n"
                                 "dist pytest 9.0.3\n"
                                 "dist requests 2.32.3\n";

static ash_key key_with(const char *python, const char *f, char *const *vars, size_t nvars,
                        char *const *args, size_t nargs, char *const *locks, size_t nlocks)
{
    ash_envinfo *env;
    assert_int_equal(ash__envinfo_from_facts(&env, python, f), 0);
    ash_env_key_input in = {.env = env,
                            .root = tmp_root,
                            .env_vars = vars,
                            .env_var_count = nvars,
                            .lockfiles = locks,
                            .lockfile_count = nlocks,
                            .pytest_args = args,
                            .pytest_arg_count = nargs};
    ash_env_key k;
    assert_int_equal(ash__env_key(&k, &in, NULL, NULL), 0);
    ash__envinfo_free(env);
    ash_key key = k.key;
    ash__env_key_free(&k);
    return key;
}

static int same(ash_key a, ash_key b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

static void test_interpreter_and_distributions(void **state)
{
    (void)state;
    ash_key base = key_with("/usr/bin/python3", facts, NULL, 0, NULL, 0, NULL, 0);
    assert_true(same(base, key_with("/usr/bin/python3", facts, NULL, 0, NULL, 0, NULL, 0)));
    assert_false(same(base, key_with("/venv/bin/python", facts, NULL, 0, NULL, 0, NULL, 0)));
    assert_false(same(base, key_with("/usr/bin/python3",
                                     "version 3.12.1\nstdlib os\ndist pytest 9.0.3\n"
                                     "dist requests 2.32.3\n",
                                     NULL, 0, NULL, 0, NULL, 0)));
    assert_false(same(base, key_with("/usr/bin/python3",
                                     "version 3.11.7\nstdlib os\ndist pytest 9.0.3\n"
                                     "dist requests 2.32.4\n",
                                     NULL, 0, NULL, 0, NULL, 0)));
    /* a new top-level name alone (no new distribution) is not an input */
    assert_true(same(base, key_with("/usr/bin/python3",
                                    "version 3.11.7\nstdlib os\nstdlib sys\ndist pytest 9.0.3\n"
                                    "dist requests 2.32.3\n",
                                    NULL, 0, NULL, 0, NULL, 0)));
}

static void test_environment_variables(void **state)
{
    (void)state;
    char *ab[] = {"ASH_TEST_A", "ASH_TEST_B"}, *ba[] = {"ASH_TEST_B", "ASH_TEST_A"};
    unsetenv("ASH_TEST_A");
    unsetenv("ASH_TEST_B");
    ash_key unset = key_with("p", facts, ab, 2, NULL, 0, NULL, 0);
    assert_true(same(unset, key_with("p", facts, ba, 2, NULL, 0, NULL, 0)));
    setenv("ASH_TEST_A", "", 1);
    ash_key empty = key_with("p", facts, ab, 2, NULL, 0, NULL, 0);
    assert_false(same(unset, empty));
    setenv("ASH_TEST_A", "1", 1);
    ash_key one = key_with("p", facts, ab, 2, NULL, 0, NULL, 0);
    assert_false(same(empty, one));
    /* a variable that is not listed does not count */
    setenv("ASH_TEST_C", "x", 1);
    assert_true(same(one, key_with("p", facts, ab, 2, NULL, 0, NULL, 0)));
    unsetenv("ASH_TEST_A");
    unsetenv("ASH_TEST_C");
}

/* The fields name what changed: only the variable's own field differs. */
static void test_fields_name_the_change(void **state)
{
    (void)state;
    char *vars[] = {"ASH_TEST_B", "ASH_TEST_A"};
    ash_envinfo *env;
    assert_int_equal(ash__envinfo_from_facts(&env, "p", facts), 0);
    ash_env_key_input in = {.env = env, .root = tmp_root, .env_vars = vars, .env_var_count = 2};
    ash_env_key before, after;
    unsetenv("ASH_TEST_A");
    assert_int_equal(ash__env_key(&before, &in, NULL, NULL), 0);
    setenv("ASH_TEST_A", "1", 1);
    assert_int_equal(ash__env_key(&after, &in, NULL, NULL), 0);
    unsetenv("ASH_TEST_A");
    assert_int_equal(before.count, 6);
    assert_int_equal(after.count, before.count);
    const char *changed = NULL;
    for (size_t i = 0; i < before.count; i++) {
        assert_string_equal(before.fields[i].name, after.fields[i].name);
        if (!same(before.fields[i].hash, after.fields[i].hash)) {
            assert_null(changed);
            changed = before.fields[i].name;
        }
    }
    assert_non_null(changed);
    assert_string_equal(changed, "env:ASH_TEST_A");
    assert_false(same(before.key, after.key));
    ash__env_key_free(&before);
    ash__env_key_free(&after);
    ash__envinfo_free(env);
}

static void test_pytest_arguments(void **state)
{
    (void)state;
    char *plain[] = {"-x", "-m", "not slow"};
    char *noisy[] = {"-q", "-x", "--tb=short", "-m", "-rA", "not slow", "--color=yes", "-vv"};
    char *other[] = {"-x", "-m", "slow"};
    ash_key a = key_with("p", facts, NULL, 0, plain, 3, NULL, 0);
    assert_true(same(a, key_with("p", facts, NULL, 0, noisy, 8, NULL, 0)));
    assert_false(same(a, key_with("p", facts, NULL, 0, other, 3, NULL, 0)));
    assert_true(ash__pytest_arg_is_cosmetic("-rfE"));
    assert_false(ash__pytest_arg_is_cosmetic("-rxz"));
    assert_false(ash__pytest_arg_is_cosmetic("-p"));
    assert_false(ash__pytest_arg_is_cosmetic("-s"));
}

static void test_lockfiles_replace_metadata(void **state)
{
    (void)state;
    put("requirements.txt", "requests==2.32.3\n");
    put("requirements-dev.txt", "pytest==9.0.3\n");
    char *locks[] = {"requirements*.txt"}, *missing[] = {"uv.lock"};
    ash_key k = key_with("p", facts, NULL, 0, NULL, 0, locks, 1);
    /* installed versions no longer count, the lockfiles do */
    assert_true(
        same(k, key_with("p", "version 3.11.7\ndist requests 9.9\n", NULL, 0, NULL, 0, locks, 1)));
    put("requirements-dev.txt", "pytest==9.0.4\n");
    assert_false(same(k, key_with("p", facts, NULL, 0, NULL, 0, locks, 1)));
    ash_key none = key_with("p", facts, NULL, 0, NULL, 0, missing, 1);
    put("uv.lock", "version = 1\n");
    assert_false(same(none, key_with("p", facts, NULL, 0, NULL, 0, missing, 1)));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tmp_tree_setup, tmp_tree_teardown)
    const struct CMUnitTest tests[] = {
        T(test_interpreter_and_distributions), T(test_environment_variables),
        T(test_fields_name_the_change),        T(test_pytest_arguments),
        T(test_lockfiles_replace_metadata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
