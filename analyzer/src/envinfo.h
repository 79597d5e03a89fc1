/*
 * What the configured interpreter can import outside the project: its standard-library module
 * names and the top-level names of its installed distributions. Asked of the interpreter once
 * and kept in the cache directory until the interpreter or its site-packages change.
 */
#ifndef ASH_ENVINFO_H
#define ASH_ENVINFO_H

#include "util.h"

typedef struct ash_envinfo ash_envinfo;

/*
 * Load the facts of `python` (a path or a name on PATH), using and refreshing
 * `<cache_dir>/python-*.txt` when cache_dir is not NULL. An interpreter that cannot be run is
 * not an error: `*out` then knows nothing (ash__envinfo_available() is 0) and one warning is
 * sent to diag.
 */
int ash__envinfo_load(ash_envinfo **out, const char *python, const char *cache_dir,
                      ash_diag_fn diag, void *payload);
void ash__envinfo_free(ash_envinfo *env);
/* The facts of `python` given as the probe prints them (for tests and caches). */
int ash__envinfo_from_facts(ash_envinfo **out, const char *python, const char *facts);
int ash__envinfo_available(const ash_envinfo *env);
/* The interpreter's version ("3.11.7") and path; "" when unavailable. Borrowed. */
const char *ash__envinfo_version(const ash_envinfo *env);
const char *ash__envinfo_python(const ash_envinfo *env);
/* Every fact, one per line ("version X", "stdlib N", "top N D", "dist N V", ...), sorted
 * within each kind; "" when unavailable. Borrowed. */
const char *ash__envinfo_facts(const ash_envinfo *env);
/* Is name[0..len) a module compiled into the interpreter (sys.builtin_module_names)? Python
 * finds those before searching any sys.path entry: no project file can shadow one. */
int ash__envinfo_is_builtin(const ash_envinfo *env, const char *name, size_t len);
/* Where the top-level module `name` comes from; for third-party, `*dist` names the
 * distribution (borrowed; may be NULL when site-packages has it without metadata). */
ash_origin ash__envinfo_classify(const ash_envinfo *env, const char *name, size_t len,
                                 const char **dist);

#endif
