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

typedef enum {
    ASH_WHY_NONE = 0,
    ASH_WHY_CHANGED,    /* a changed file is among its inputs (`via` is that file's node) */
    ASH_WHY_DELETED,    /* it imported a file that is gone (`via_path`) */
    ASH_WHY_ADDED,      /* a new file is named like a module it imports (`via_path`) */
    ASH_WHY_DATA,       /* a changed file matches one of its data rules (`via_path`) */
    ASH_WHY_ALL,        /* everything is affected (see ash_affected.all_reason) */
    ASH_WHY_UNRESOLVED, /* its closure imports a module found nowhere: it always runs */
    ASH_WHY_FAILED,     /* it did not pass last time */
    ASH_WHY_NEW,        /* the last run did not know it */
} ash_why;

typedef struct ash_affected {
    size_t count;          /* affected modules */
    ash_why *why;          /* per suite module */
    uint32_t *via;         /* per suite module: node of the changed file (ASH_WHY_CHANGED) */
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

#endif
