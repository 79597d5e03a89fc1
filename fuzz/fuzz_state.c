/*
 * Fuzz target: the last-run state reader (state.c), which reads a file. The first input byte
 * is flags, the rest the file: flag 1 rewrites the trailing XXH3-64 checksum so that mutated
 * files reach the structure checks. A state that loads must be well formed (modules unique
 * and in path order, each found by its path) and survive a save and a load unchanged; then a
 * module is set into it, as a run does.
 */
#include "fuzz.h"
#include "hash.h"
#include "state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { FIX_CHECKSUM = 1 };

static void check_state(const ash_run_state *s)
{
    ASH_FUZZ_CHECK(s->sorted == s->count && s->count <= s->cap);
    for (size_t i = 0; i < s->count; i++) {
        const ash_state_module *m = &s->modules[i];
        ASH_FUZZ_CHECK(ash__result_path_problem(m->path, strlen(m->path)) == NULL);
        ASH_FUZZ_CHECK(i == 0 || strcmp(s->modules[i - 1].path, m->path) < 0);
        ASH_FUZZ_CHECK((unsigned)m->outcome <= ASH_OUTCOME_CRASHED);
        ASH_FUZZ_CHECK(isfinite(m->duration) && m->duration >= 0);
        ASH_FUZZ_CHECK(ash__state_find(s, m->path) == m);
    }
    for (size_t i = 0; i < s->field_count; i++) {
        ASH_FUZZ_CHECK(s->fields[i].name != NULL && s->fields[i].name[0] != '\0');
    }
}

static void check_same(const ash_run_state *a, const ash_run_state *b)
{
    ASH_FUZZ_CHECK(memcmp(a->env.bytes, b->env.bytes, 16) == 0);
    ASH_FUZZ_CHECK(a->field_count == b->field_count && a->count == b->count);
    for (size_t i = 0; i < a->field_count; i++) {
        ASH_FUZZ_CHECK(strcmp(a->fields[i].name, b->fields[i].name) == 0);
        ASH_FUZZ_CHECK(memcmp(a->fields[i].hash.bytes, b->fields[i].hash.bytes, 16) == 0);
    }
    for (size_t i = 0; i < a->count; i++) {
        const ash_state_module *x = &a->modules[i], *y = &b->modules[i];
        ASH_FUZZ_CHECK(strcmp(x->path, y->path) == 0);
        ASH_FUZZ_CHECK(memcmp(x->inputs.bytes, y->inputs.bytes, 16) == 0);
        ASH_FUZZ_CHECK(x->outcome == y->outcome && x->duration == y->duration);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    unsigned flags = data[0];
    size_t len = size - 1;
    uint8_t *file = ash_fuzz__copy(data + 1, len);
    if (flags & FIX_CHECKSUM) {
        ash_fuzz__fix_checksum(file, len);
    }
    char path[1024], saved[1024];
    ash_fuzz__path(path, sizeof(path), "last-run");
    ash_fuzz__path(saved, sizeof(saved), "last-run.saved");
    ash_fuzz__write(path, file, len);
    free(file);

    ash_run_state s;
    int rc = ash__state_load(&s, path, ash_fuzz__diag, NULL);
    ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
    if (rc < 0) {
        return 0;
    }
    check_state(&s);
    if (s.count > 0 || s.field_count > 0) {
        rc = ash__state_save(&s, saved);
        ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
        if (rc == 0) {
            ash_run_state again;
            rc = ash__state_load(&again, saved, ash_fuzz__diag, NULL);
            ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
            if (rc == 0) {
                check_same(&s, &again);
            }
            ash__state_free(&again);
        }
    }
    ash_key inputs = {{1}};
    rc = ash__state_set(&s, "tests/test_fuzz.py", &inputs, ASH_OUTCOME_PASSED, 0.5);
    ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
    ash__state_sort(&s);
    ASH_FUZZ_CHECK(rc < 0 || ash__state_find(&s, "tests/test_fuzz.py") != NULL);
    ash__state_free(&s);
    return 0;
}
