/*
 * The one place that knows which tree-sitter runtime aftershock is built with. The runtime
 * and the Python grammar both come from pinned PyPI sdists (scripts/deps.txt); anything that
 * differs between runtime versions (Debian's 0.20 lacks the parser-facing headers that grammar
 * 0.23 needs, 0.25 renamed TSLanguage fields) is handled here and nowhere else.
 */
#ifndef ASH_TS_COMPAT_H
#define ASH_TS_COMPAT_H

#include <tree_sitter/api.h>

#if TREE_SITTER_LANGUAGE_VERSION < 14
#error "aftershock needs a tree-sitter runtime that loads language ABI 14 (0.20.7 or newer)"
#endif

/* The grammar's entry point (tree-sitter-python's parser.c). */
const TSLanguage *tree_sitter_python(void);

#endif
