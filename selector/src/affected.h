/*
 * Which test modules a change set affects, and why: the reverse closure of the changed files
 * over the import graph, through each module's other inputs (its packages, conftests, plugins
 * and data files); every module when what all of them depend on changed (the environment, the
 * pytest or aftershock configuration) or when git could not say what changed.
 */
#ifndef ASH_AFFECTED_H
#define ASH_AFFECTED_H

#include "session.h"
#include "state.h"

/* Reasons are ash_reason (aftershock/selector.h). */

typedef struct ash_affected {
    size_t count;          /* affected modules */
    ash_reason *why;       /* per suite module */
    uint32_t *via;         /* per suite module: node of the changed file (ASH_REASON_CHANGED) */
    const char **via_path; /* per suite module: borrowed from `changed` */
    char *all_reason;      /* owned; NULL unless everything is affected */
} ash_affected;

/*
 * Decide for every module of `s`. `changed` are paths relative to the root (sorted), `added`
 * those of them that are new (may be NULL): a new file may shadow a module for files whose
 * imports resolve elsewhere today, so their importers by name are affected too;
 * `all_changed` says git could not answer. `last` (may be NULL) is the last run's state: a
 * different environment key affects everything; modules that failed or are new to it are
 * affected too.
 */
int ash__affected(ash_affected *out, const ash_session *s, const ash_strings *changed,
                  const ash_strings *added, int all_changed, const ash_run_state *last);
void ash__affected_free(ash_affected *a);

/* One step of an import chain: `node` imports the next step at `line`. */
typedef struct ash_hop {
    uint32_t node;
    uint32_t line; /* 0 for the last step, and for a package or conftest input */
    int input;     /* -1, or the ash_input_kind through which the module reaches `node` */
} ash_hop;

/*
 * The shortest chain from test module `module` (suite index) to node `target` through its
 * imports and its other inputs; `*out` owned (ash__free), `*count` 0 when there is none.
 */
int ash__why_chain(ash_hop **out, size_t *count, const ash_session *s, size_t module,
                   uint32_t target);

/* The chain of ash__why_chain as text: one line per step, "path:line" (the line where it
 * imports the next step) with "  (its conftest)" or "  (its package)" where it was reached as
 * such, each line after `indent`. Nothing is appended when there is no chain; *found says. */
int ash__why_text(ash_buf *out, int *found, const ash_session *s, size_t module, uint32_t target,
                  const char *indent);

#endif
