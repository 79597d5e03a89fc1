/*
 * pytest's configuration as pytest itself finds and reads it: the rootdir and config file
 * (pytest.ini, .pytest.ini, pyproject.toml [tool.pytest.ini_options], tox.ini [pytest],
 * setup.cfg [tool:pytest], searched from the start directory upwards), and the options that
 * decide which files are test modules and what they import: testpaths, python_files,
 * norecursedirs, pythonpath, addopts. A malformed file gets a warning and the defaults.
 */
#ifndef ASH_PYTEST_CONFIG_H
#define ASH_PYTEST_CONFIG_H

#include "util.h"

typedef struct ash_pytest_config {
    char *rootdir;             /* relative to the project root, "" for the root itself */
    char *configfile;          /* relative to the project root; NULL when none was found */
    ash_strings testpaths;     /* relative to rootdir, globs allowed; empty: everything */
    ash_strings python_files;  /* basename globs; default test_*.py *_test.py */
    ash_strings norecursedirs; /* directory basename globs; pytest's defaults */
    ash_strings pythonpath;    /* relative to rootdir: prepended to sys.path for tests */
    char *addopts;             /* verbatim, "" when unset */
} ash_pytest_config;

/*
 * Find and read the configuration for a pytest session started in `start` (relative to
 * `project_root`, "" for the root). The search stops at the project root. Warnings about
 * malformed files go to `diag` with the file's path. 0 or ASH_ENOMEM.
 */
int ash__pytest_config_load(ash_pytest_config *out, const char *project_root, const char *start,
                            ash_diag_fn diag, void *payload);
void ash__pytest_config_free(ash_pytest_config *config);

/* Would pytest collect `path` (relative to the project root) as a test module? */
int ash__pytest_is_test_module(const ash_pytest_config *config, const char *path);

/* The conftest.py files pytest loads for a test module at `path`: one per directory from
 * rootdir down to the module's own, those that exist in `exists` (a callback over relative
 * paths). Appended to `out` outermost first. 0 or ASH_ENOMEM. */
int ash__pytest_conftests(ash_strings *out, const ash_pytest_config *config, const char *path,
                          int (*exists)(const char *path, void *payload), void *payload);

#endif
