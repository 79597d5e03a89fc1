/*
 * ash_imports: the builder and the public accessors.
 */
#include "imports.h"

#include <stdlib.h>
#include <string.h>

struct ash_imports {
    size_t count;
    unsigned status;
    unsigned in_arena; /* freed with its arena, not by ash_imports_free */
    ash_import *items;
    /* followed by: items, name pointer arrays, strings */
};

void ash__ib_reset(ash_ib *ib)
{
    ib->count = 0;
    ib->name_count = 0;
    ash__buf_clear(&ib->strings);
}

void ash__ib_free(ash_ib *ib)
{
    ash__free(ib->records);
    ash__free(ib->names);
    ash__buf_free(&ib->strings);
    memset(ib, 0, sizeof(*ib));
}

static int add_string(ash_ib *ib, const char *s, size_t len, uint32_t *off)
{
    *off = 0;
    if (ib->strings.len > UINT32_MAX - len - 1) {
        return ash__error(ASH_EINVAL, "import strings larger than 4 GiB");
    }
    *off = (uint32_t)ib->strings.len;
    if (ash__buf_put(&ib->strings, s, len) < 0 || ash__buf_putc(&ib->strings, '\0') < 0) {
        return ASH_ENOMEM;
    }
    return 0;
}

int ash__ib_add(ash_ib *ib, ash_import_kind kind, uint32_t line, uint32_t level, uint32_t flags,
                const char *module, size_t module_len, const char *package, size_t package_len)
{
    void *recs = ib->records;
    if (ash__grow(&recs, &ib->cap, ib->count + 1, sizeof(ash_ib_record)) < 0) {
        return ASH_ENOMEM;
    }
    ib->records = recs;
    ash_ib_record r = {
        .kind = kind,
        .line = line,
        .level = level,
        .flags = flags & ~ASH_IMPORT_INTERNAL_MASK,
        .package = -1,
        .first_name = (uint32_t)ib->name_count,
    };
    if (add_string(ib, module, module_len, &r.module) < 0) {
        return ASH_ENOMEM;
    }
    if (package) {
        uint32_t off;
        if (add_string(ib, package, package_len, &off) < 0) {
            return ASH_ENOMEM;
        }
        r.package = off;
    }
    ib->records[ib->count++] = r;
    return 0;
}

int ash__ib_add_name(ash_ib *ib, const char *name, size_t len)
{
    void *names = ib->names;
    if (ash__grow(&names, &ib->name_cap, ib->name_count + 1, sizeof(uint32_t)) < 0) {
        return ASH_ENOMEM;
    }
    ib->names = names;
    uint32_t off;
    if (add_string(ib, name, len, &off) < 0) {
        return ASH_ENOMEM;
    }
    ib->names[ib->name_count++] = off;
    ib->records[ib->count - 1].name_count++;
    return 0;
}

/* Records are added in order, so their module offsets order them too: a stable tiebreak. */
static int by_line(const void *a, const void *b)
{
    const ash_ib_record *x = a, *y = b;
    if (x->line != y->line) {
        return x->line < y->line ? -1 : 1;
    }
    return x->module < y->module ? -1 : x->module > y->module;
}

static int same_record(const ash_ib *ib, const ash_ib_record *x, const ash_ib_record *y)
{
    const char *s = ib->strings.ptr;
    if (x->kind != y->kind || x->line != y->line || x->level != y->level || x->flags != y->flags ||
        x->name_count != y->name_count || strcmp(s + x->module, s + y->module) != 0 ||
        (x->package < 0) != (y->package < 0) ||
        (x->package >= 0 && strcmp(s + x->package, s + y->package) != 0)) {
        return 0;
    }
    for (uint32_t k = 0; k < x->name_count; k++) {
        if (strcmp(s + ib->names[x->first_name + k], s + ib->names[y->first_name + k]) != 0) {
            return 0;
        }
    }
    return 1;
}

void ash__ib_drop_lines(ash_ib *ib, const uint32_t *lines, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < ib->count; i++) {
        uint32_t line = ib->records[i].line;
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (lines[mid] < line) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if (lo == n || lines[lo] != line) {
            ib->records[kept++] = ib->records[i];
        }
    }
    ib->count = kept; /* names of dropped records stay unreferenced in the arrays */
}

void ash__ib_sort_unique(ash_ib *ib)
{
    if (ib->count < 2) {
        return;
    }
    qsort(ib->records, ib->count, sizeof(ash_ib_record), by_line);
    size_t n = 1;
    for (size_t i = 1; i < ib->count; i++) {
        if (!same_record(ib, &ib->records[n - 1], &ib->records[i])) {
            ib->records[n++] = ib->records[i];
        }
    }
    ib->count = n;
}

/* The size of the finished object of `ib`. */
static size_t finished_size(const ash_ib *ib)
{
    size_t head = (sizeof(ash_imports) + 7) & ~(size_t)7;
    return head + ib->count * sizeof(ash_import) + ib->name_count * sizeof(char *) +
           ib->strings.len + 1;
}

/* Lay the finished object of `ib` out in `block` (finished_size bytes, 8-aligned). */
static ash_imports *finish_in(const ash_ib *ib, char *block, unsigned status)
{
    size_t head = (sizeof(ash_imports) + 7) & ~(size_t)7;
    size_t items = ib->count * sizeof(ash_import);
    size_t names = ib->name_count * sizeof(char *);
    ash_imports *imp = (ash_imports *)block;
    imp->count = ib->count;
    imp->status = status;
    imp->in_arena = 0;
    imp->items = (ash_import *)(block + head);
    const char **name_ptrs = (const char **)(block + head + items);
    char *strings = block + head + items + names;
    if (ib->strings.len) {
        memcpy(strings, ib->strings.ptr, ib->strings.len);
    }
    strings[ib->strings.len] = '\0';
    for (size_t i = 0; i < ib->name_count; i++) {
        name_ptrs[i] = strings + ib->names[i];
    }
    for (size_t i = 0; i < ib->count; i++) {
        const ash_ib_record *r = &ib->records[i];
        imp->items[i] = (ash_import){
            .kind = r->kind,
            .line = r->line,
            .level = r->level,
            .flags = r->flags,
            .module = strings + r->module,
            .package = r->package >= 0 ? strings + r->package : NULL,
            .name_count = r->name_count,
            .names = r->name_count ? name_ptrs + r->first_name : NULL,
        };
    }
    return imp;
}

int ash__ib_finish(ash_ib *ib, ash_imports **out, unsigned status)
{
    *out = NULL;
    char *block = ash__malloc(finished_size(ib));
    if (!block) {
        return ash__error_oom();
    }
    *out = finish_in(ib, block, status);
    return 0;
}

/* Blocks of this size hold many files' imports; a larger object gets a block of its own. */
#define ARENA_BLOCK (1024 * 1024)

/* `size` bytes (a multiple of 8) from the arena. */
static char *arena_take(ash_imports_arena *arena, size_t size)
{
    if (size > arena->left) {
        size_t block_size = size > ARENA_BLOCK ? size : ARENA_BLOCK;
        void *blocks = arena->blocks;
        if (ash__grow(&blocks, &arena->cap, arena->count + 1, sizeof(char *)) < 0) {
            return NULL;
        }
        arena->blocks = blocks;
        char *block = ash__malloc(block_size);
        if (!block) {
            ash__error_oom();
            return NULL;
        }
        arena->blocks[arena->count++] = block;
        arena->next = block;
        arena->left = block_size;
    }
    char *at = arena->next;
    arena->next += size;
    arena->left -= size;
    return at;
}

int ash__ib_finish_into(ash_ib *ib, ash_imports **out, unsigned status, ash_imports_arena *arena)
{
    *out = NULL;
    char *block = arena_take(arena, (finished_size(ib) + 7) & ~(size_t)7);
    if (!block) {
        return ASH_ENOMEM;
    }
    *out = finish_in(ib, block, status);
    (*out)->in_arena = 1;
    return 0;
}

int ash__imports_reserve(ash_imports_space *out, size_t count, size_t name_count,
                         size_t strings_len, unsigned status, ash_imports_arena *arena)
{
    memset(out, 0, sizeof(*out));
    size_t head = (sizeof(ash_imports) + 7) & ~(size_t)7;
    size_t size = head + count * sizeof(ash_import) + name_count * sizeof(char *) + strings_len;
    char *block = arena ? arena_take(arena, (size + 7) & ~(size_t)7) : ash__malloc(size);
    if (!block) {
        return arena ? ASH_ENOMEM : ash__error_oom();
    }
    ash_imports *imp = (ash_imports *)block;
    imp->count = count;
    imp->status = status;
    imp->in_arena = arena != NULL;
    imp->items = (ash_import *)(block + head);
    out->imports = imp;
    out->items = imp->items;
    out->names = (const char **)(block + head + count * sizeof(ash_import));
    out->strings = block + head + count * sizeof(ash_import) + name_count * sizeof(char *);
    return 0;
}

void ash__imports_arena_free(ash_imports_arena *arena)
{
    for (size_t i = 0; i < arena->count; i++) {
        ash__free(arena->blocks[i]);
    }
    ash__free(arena->blocks);
    memset(arena, 0, sizeof(*arena));
}

int ash__imports_arena_move(ash_imports_arena *to, ash_imports_arena *from)
{
    void *blocks = to->blocks;
    if (from->count && ash__grow(&blocks, &to->cap, to->count + from->count, sizeof(char *)) < 0) {
        return ASH_ENOMEM;
    }
    to->blocks = blocks;
    for (size_t i = 0; i < from->count; i++) {
        to->blocks[to->count++] = from->blocks[i];
    }
    ash__free(from->blocks);
    memset(from, 0, sizeof(*from));
    return 0;
}

int ash__imports_empty(ash_imports **out, unsigned status)
{
    ash_ib ib = {0};
    int rc = ash__ib_finish(&ib, out, status);
    ash__ib_free(&ib);
    return rc;
}

size_t ash_imports_count(const ash_imports *imports)
{
    return imports ? imports->count : 0;
}

const ash_import *ash_imports_get(const ash_imports *imports, size_t i)
{
    return imports && i < imports->count ? &imports->items[i] : NULL;
}

unsigned ash_imports_status(const ash_imports *imports)
{
    return imports ? imports->status : 0;
}

void ash_imports_free(ash_imports *imports)
{
    if (imports && !imports->in_arena) {
        ash__free(imports);
    }
}
