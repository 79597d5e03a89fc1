/*
 * Sets of names (see names.h).
 */
#include "names.h"

#include <string.h>

int ash__names_add(ash_name **set, const char *name, size_t len, const char *value)
{
    if (ash__names_find(*set, name, len)) {
        return 0;
    }
    ash_name *e = ash__calloc(1, sizeof(*e) + len + 1);
    if (!e) {
        return ash__error_oom();
    }
    memcpy(e->name, name, len);
    if (value && !(e->value = ash__strdup(value))) {
        ash__free(e);
        return ash__error_oom();
    }
    ash__uthash_oom = 0;
    HASH_ADD(hh, *set, name, len, e);
    if (ash__uthash_oom) {
        ash__free(e->value);
        ash__free(e);
        return ash__error_oom();
    }
    return 0;
}

ash_name *ash__names_find(ash_name *set, const char *name, size_t len)
{
    ash_name *e;
    HASH_FIND(hh, set, name, len, e);
    return e;
}

void ash__names_free(ash_name **set)
{
    ash_name *e, *tmp;
    HASH_ITER(hh, *set, e, tmp)
    {
        HASH_DEL(*set, e);
        ash__free(e->value);
        ash__free(e);
    }
}
