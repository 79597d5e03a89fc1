"""Exactness: for every standard-library file that CPython's ast parses, aftershock's
`import`/`from` records equal ast's (one record per ast.Import alias, one per ast.ImportFrom:
module or "", level, names), with the same line numbers, and no file needs a whole-file parse
because its skeleton failed."""

import ast
import json
import os
import subprocess
import sysconfig
import warnings
from collections import defaultdict
from pathlib import Path

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def stdlib_files():
    for root, dirs, files in os.walk(STDLIB):
        dirs[:] = sorted(d for d in dirs if d not in ("site-packages", "__pycache__"))
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(root) / name


def ast_records(source: bytes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(source)
    records = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                records.append((node.lineno, "import", alias.name, 0, ()))
        elif isinstance(node, ast.ImportFrom):
            names = tuple(a.name for a in node.names)
            records.append((node.lineno, "from", node.module or "", node.level, names))
    return sorted(records)


def test_stdlib_imports_equal_ast(fast_bin):
    expected = {}
    for path in stdlib_files():
        try:
            source = path.read_bytes()
            expected[str(path)] = ast_records(source)
        except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError):
            continue
    assert len(expected) > 1000, "the standard library was not found"

    got = defaultdict(list)
    stderr = []
    paths = list(expected)
    env = dict(os.environ, AFTERSHOCK_DEBUG_SKELETON="1")
    for i in range(0, len(paths), 400):
        batch = paths[i : i + 400]
        proc = subprocess.run(
            [str(fast_bin), "imports", "--json", *batch],
            capture_output=True, text=True, env=env, timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
        stderr.extend(line for line in proc.stderr.splitlines() if line)
        for line in proc.stdout.splitlines():
            r = json.loads(line)
            if r["kind"] != "string":
                got[r["file"]].append((r["line"], r["kind"], r["module"], r["level"], tuple(r["names"])))

    mismatches = []
    for path in paths:
        if sorted(got.get(path, [])) != expected[path]:
            mismatches.append(path)
    detail = []
    for path in mismatches[:5]:
        want, have = set(expected[path]), set(got.get(path, []))
        detail.append(f"{path}: missing {sorted(want - have)[:3]} extra {sorted(have - want)[:3]}")
    assert not mismatches, f"{len(mismatches)} of {len(paths)} files differ from ast:\n" + "\n".join(detail)
    # Files that CPython compiles give no warnings, and none needed the whole-file fallback.
    # (A few test files parse with ast but are compile errors, e.g. `from __future__ import *`;
    # there a syntax warning is right.)
    unexpected = [line for line in stderr if not compile_error(line.split(": ")[1])]
    assert not unexpected, "\n".join(unexpected[:10])


def compile_error(path: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(Path(path).read_bytes(), path, "exec")
    except SyntaxError:
        return True
    return False
