/*
 * The test suite of a project as pytest would collect it, and what each test module's outcome
 * depends on: its inputs. A module's inputs key covers
 *   - its own import closure (closure key);
 *   - the packages it is imported as part of (each `__init__.py` from its directory up to its
 *     base directory, pytest's `prepend` rule) and the conftest.py files pytest loads for it,
 *     from rootdir down, each with its closure; plugins named by `-p` that are project modules;
 *   - the pytest configuration file, and with coverage the coverage configuration;
 *   - the data files `[tool.aftershock] data` declares for it;
 *   - the environment key (interpreter, distributions, env vars, pytest arguments).
 * A module whose closure holds an import found nowhere cannot be keyed (what it runs is not
 * in the project): it is marked `unresolved` and always runs.
 */
#ifndef ASH_SUITE_H
#define ASH_SUITE_H

#include "envkey.h"
#include "hash.h"
#include "pytest_config.h"
#include "util.h"

#include "aftershock/selector.h"

typedef struct ash_suite_options {
    const char *start;        /* the directory pytest starts in, relative to the root */
    char *const *pytest_args; /* the user's pytest arguments */
    size_t pytest_arg_count;
    char *const *paths; /* restrict to these files or directories (relative to the root) */
    size_t path_count;
    const char *cov; /* NULL: no coverage; "" coverage's defaults; else the sources */
    ash_diag_fn diag;
    void *payload;
} ash_suite_options;

/* Why a file is among a module's inputs. */
typedef enum {
    ASH_INPUT_PACKAGE = 0,  /* an __init__.py the module is imported through */
    ASH_INPUT_CONFTEST = 1, /* a conftest.py pytest loads for it */
    ASH_INPUT_PLUGIN = 2,   /* a project module named by `-p` */
} ash_input_kind;

typedef struct ash_suite_input {
    ash_input_kind kind;
    uint32_t node;
} ash_suite_input;

/* One `[tool.aftershock] data` rule with the files it matched. */
typedef struct ash_suite_data {
    const char *pattern; /* borrowed from the configuration */
    ash_strings files;   /* matched, sorted */
    ash_hash hash;       /* of the files' paths and contents */
} ash_suite_data;

typedef struct ash_test_module {
    uint32_t node;
    ash_key inputs;
    uint32_t input_first, input_count; /* suite->inputs[first .. first + count) */
    uint32_t data_first, data_count;   /* suite->module_data[...]: indexes into suite->data */
    int unresolved;                    /* its closure holds an import found nowhere */
} ash_test_module;

typedef struct ash_suite {
    const ash_graph *graph; /* borrowed */
    const ash_closure_keys *keys;
    ash_pytest_config pytest;
    ash_hash config_hash;   /* pytest's configuration file (zeros: none) */
    ash_hash coverage_hash; /* coverage configuration files, when measuring coverage */
    ash_env_key env;
    ash_test_module *modules; /* in path order */
    size_t count;
    ash_suite_input *inputs;
    size_t input_count, input_cap;
    ash_suite_data *data;
    size_t data_count;
    uint32_t *module_data;
    size_t module_data_count, module_data_cap;
} ash_suite;

/*
 * Load pytest's configuration for `project` (adding its `pythonpath` to the source roots, so
 * call before ash_graph_build).
 */
int ash__suite_prepare(ash_pytest_config *out, ash_project *project, const ash_suite_options *o);

/*
 * Find the test modules of `graph` (restricted to `paths`, else to testpaths when starting
 * in rootdir, else to the start directory) and compute their inputs keys. `pytest` is moved
 * into the suite. 0 or an error.
 */
int ash__suite_build(ash_suite *out, ash_project *project, ash_pytest_config *pytest,
                     const ash_graph *graph, const ash_closure_keys *keys,
                     const ash_suite_options *o);
void ash__suite_free(ash_suite *suite);

/* The module at `path`, or NULL. */
const ash_test_module *ash__suite_find(const ash_suite *suite, const char *path);

/* No label (see ash__reverse_spread). */
#define ASH_UNLABELLED UINT32_MAX

/*
 * The reverse closure of the labelled nodes of `g` (`label` has one entry per node,
 * ASH_UNLABELLED or a label): every node that reaches a labelled one takes the label of the node
 * through which it was first reached (breadth first, so the nearest). O(V + E).
 */
int ash__reverse_spread(const ash_graph *g, uint32_t *label);

#endif
