/*
 * What the layers above the analyzer (the selector) read of a project beyond the public API:
 * its configuration, its interpreter's facts and its cache directory.
 */
#ifndef ASH_PROJECT_H
#define ASH_PROJECT_H

#include "config.h"
#include "envinfo.h"

/* The project's `[tool.aftershock]` configuration; borrowed. */
const ash_config *ash__project_config(const ash_project *project);
/* The interpreter facts of the last ash_graph_build (NULL before one); borrowed. */
const ash_envinfo *ash__project_envinfo(const ash_project *project);
/* The directory of the parse cache (`.aftershock` under the root unless moved); NULL with
 * no_cache. Borrowed. */
const char *ash__project_cache_dir(const ash_project *project);
/* Add source roots (relative to the root, normalised: pytest's `pythonpath`) after those
 * configured or detected, for the next ash_graph_build. 0 or ASH_ENOMEM. */
int ash__project_add_roots(ash_project *project, char *const *roots, size_t count);
/* The warning sink the project was opened with. */
ash_diag_fn ash__project_diag(const ash_project *project);
void *ash__project_payload(const ash_project *project);
/* Every file of the project (not only Python files), sorted, excludes applied: into `out`
 * (owned by the caller). 0 or an error. */
int ash__project_list_all(ash_strings *out, const ash_project *project);

#endif
