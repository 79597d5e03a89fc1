/*
 * Sets of names (byte strings, not NUL-terminated on input), each with an optional owned
 * string value: the stdlib and distribution tables of envinfo.c, the path components of
 * resolve.c. A set is a `ash_name *` starting NULL.
 */
#ifndef ASH_NAMES_H
#define ASH_NAMES_H

#include "ash_uthash.h"

typedef struct ash_name {
    UT_hash_handle hh;
    char *value; /* owned; may be NULL */
    char name[];
} ash_name;

/* Add name[0..len) with a copy of `value` (may be NULL) unless it is there already (then the
 * set is unchanged). 0 or ASH_ENOMEM. */
int ash__names_add(ash_name **set, const char *name, size_t len, const char *value);
/* The entry of name[0..len), or NULL. */
ash_name *ash__names_find(ash_name *set, const char *name, size_t len);
void ash__names_free(ash_name **set);

#endif
