"""Compare aftershock's import graph with `ruff analyze graph` on real project trees.

    python3 benchmarks/ruff_agreement.py [--bin build/aftershock] [--ruff PATH] CORPUS...

For each corpus directory both graphs are built (ruff is given aftershock's detected source
roots as `src = [...]`, string-import detection off, TYPE_CHECKING imports on, like
aftershock's defaults), normalised to sets of (source, target) paths relative to the corpus, and
the edges one tool finds and the other does not are counted by cause. Each edge is traced back
to the import in the source file that names the target (from `aftershock imports --json
--resolve`), and classified:

  parent __init__     a package __init__.py executed on the way to a deeper module
  string import       importlib.import_module / __import__ / pytest_plugins literal
  stub                a .pyi beside a .py (or the .py beside a .pyi)
  namespace package   the module lies under a directory without __init__.py (PEP 420)
  resolved elsewhere  both resolve the import, to different files
  unresolved by X     one tool finds the module in the project, the other does not
  from a import b     `from a import b` resolved to the submodule a/b
  relative import     a `from .x import y` the tools read differently
  conditional         under TYPE_CHECKING, try/except or inside a function
  other               none of the above: up to 10 examples printed with file, line and text

Ruff comes from benchmarks/.work/agreement-venv (ruff pinned in benchmarks/requirements-peers.txt),
created on first use. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, ".work")
VENV = os.path.join(WORK, "agreement-venv")
PEERS = os.path.join(HERE, "requirements-peers.txt")
PKG_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")
SKIP_DIRS = {".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox"}
CAUSES = ["parent __init__", "string import", "stub", "namespace package", "resolved elsewhere",
          "unresolved by ruff", "unresolved by aftershock", "from a import b -> submodule",
          "relative import", "conditional", "other"]


def ensure_ruff() -> str:
    """The ruff of the agreement venv, installing the pinned version on first use."""
    ruff = os.path.join(VENV, "bin", "ruff")
    if os.path.exists(ruff):
        return ruff
    pin = "ruff"
    if os.path.exists(PEERS):
        with open(PEERS) as fh:
            pins = [ln.strip() for ln in fh if ln.strip().lower().startswith("ruff")]
        pin = pins[0] if pins else pin
    subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    subprocess.run([os.path.join(VENV, "bin", "pip"), "install", "-q", pin], check=True)
    return ruff


def py_files(root: str) -> list[str]:
    out = []
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        out.extend(os.path.relpath(os.path.join(dirpath, f), root)
                   for f in sorted(files) if f.endswith((".py", ".pyi")))
    return out


def is_pkg(root: str, reldir: str) -> bool:
    return reldir not in ("", ".") and os.path.exists(os.path.join(root, reldir, "__init__.py"))


def base_dir(root: str, rel: str) -> str:
    """The first ancestor of `rel` without __init__.py (where the file's top package lives)."""
    d = os.path.dirname(rel)
    while is_pkg(root, d):
        d = os.path.dirname(d)
    return d


def detect_roots(root: str, files: list[str]) -> list[str]:
    """aftershock's root detection as README describes it: the project root, `src/`, every
    directory with a pyproject.toml/setup.py/setup.cfg (or its src/), and the parent of every
    top-level package outside those."""
    roots = [""]
    if os.path.isdir(os.path.join(root, "src")):
        roots.append("src")
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        rel = os.path.relpath(dirpath, root)
        if rel != "." and any(m in names for m in PKG_MARKERS):
            roots.append(rel)
            if os.path.isdir(os.path.join(dirpath, "src")):
                roots.append(os.path.join(rel, "src"))
    for f in files:
        b = base_dir(root, f)
        if b != os.path.dirname(f) and b not in roots:  # f is inside a package: b holds one
            roots.append(b)
    return list(dict.fromkeys(roots))


def names_of(root: str, rel: str, roots: list[str]) -> set[str]:
    """Dotted module names under which `rel` can be imported (from any root, or its base dir)."""
    stem = rel[:-4] if rel.endswith(".pyi") else rel[:-3]
    parts = stem.split(os.sep)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    out = set()
    for r in set(roots) | {base_dir(root, rel)}:
        rparts = [] if r in ("", ".") else r.split(os.sep)
        if parts[:len(rparts)] == rparts and len(parts) > len(rparts):
            out.add(".".join(parts[len(rparts):]))
    return out


def absolute(root: str, imp: dict, roots: list[str]) -> str:
    """The absolute module an import names (relative ones from the file's package, under its
    longest importable name)."""
    level, mod = imp["level"], imp["module"] or ""
    if not level:
        return mod
    src = imp["file"]
    names = sorted(names_of(root, src, roots), key=len)
    parts = names[-1].split(".") if names else []
    if not src.endswith(("__init__.py", "__init__.pyi")):
        parts = parts[:-1]
    parts = parts[:len(parts) - (level - 1)] if level > 1 else parts
    return ".".join(parts + ([mod] if mod else []))


def targets_of(root: str, imp: dict, roots: list[str]) -> tuple[str, set[str]]:
    """(module, the dotted names an import can produce edges to)."""
    mod = absolute(root, imp, roots)
    full = {mod} | {mod + "." + n for n in imp["names"] if n != "*"}
    if imp["kind"] == "import" and imp["names"]:  # `import a.b as c`: names are aliases
        full = {mod}
    return mod, {x for x in full if x}


def run_graph(cmd: list[str], cwd: str) -> dict[str, list[str]]:
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if out.returncode not in (0, 1) or not out.stdout.strip():
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return json.loads(out.stdout)


def edges(graph: dict[str, list[str]], cwd: str, root: str) -> set[tuple[str, str]]:
    """The graph's edges as (source, target) paths relative to `root`. Edges into an installed
    distribution (a target under site-packages, which lies inside the standard library's
    directory) are left out: third-party code is not the corpus, and aftershock does not look
    into it while ruff does when it is below the tree it was given."""
    rel = lambda p: os.path.relpath(os.path.join(cwd, p), root)  # noqa: E731
    return {(rel(s), rel(t)) for s, ts in graph.items() for t in ts
            if rel(s) != rel(t) and "site-packages" not in rel(t).split(os.sep)}


def imports_of(binary: str, root: str, files: list[str]) -> dict[str, list[dict]]:
    by_file = collections.defaultdict(list)
    for i in range(0, len(files), 500):
        out = subprocess.run([binary, "imports", "--json", "--resolve", "--root", root]
                             + files[i:i + 500], cwd=root, capture_output=True, text=True)
        for line in out.stdout.splitlines():
            imp = json.loads(line)
            by_file[imp["file"]].append(imp)
    return by_file


class Classifier:
    def __init__(self, root, roots, imps, mine, theirs, me, other):
        self.root, self.roots, self.imps = root, roots, imps
        self.mine, self.theirs, self.me, self.other = mine, theirs, me, other
        self.mine_from = collections.defaultdict(set)
        self.theirs_from = collections.defaultdict(set)
        for s, t in mine:
            self.mine_from[s].add(t)
        for s, t in theirs:
            self.theirs_from[s].add(t)
        self.name_cache = {}

    def names(self, rel):
        if rel not in self.name_cache:
            self.name_cache[rel] = names_of(self.root, rel, self.roots)
        return self.name_cache[rel]

    def matching(self, src, tgt):
        """Imports of `src` that name `tgt`: (import, exact?) - exact: the import's module or one
        of its `from` names is `tgt`; else `tgt` is a parent package of it."""
        tn = self.names(tgt)
        out = []
        for imp in self.imps.get(src, []):
            mod, full = targets_of(self.root, imp, self.roots)
            if tn & full:
                out.append((imp, True))
            elif any(f.startswith(n + ".") for f in full for n in tn):
                out.append((imp, False))
        return out

    def namespace(self, tgt):
        """Is tgt below a directory without __init__.py that is not a source root?"""
        d = os.path.dirname(tgt)
        while d and d not in self.roots:
            if not is_pkg(self.root, d):
                return True
            d = os.path.dirname(d)
        return False

    def covered(self, src, imp, edges_from):
        """Does `edges_from[src]` hold any file the import names?"""
        _, full = targets_of(self.root, imp, self.roots)
        return any(self.names(t) & full for t in edges_from.get(src, ()))

    def classify(self, src, tgt):
        base = tgt[:-1] if tgt.endswith(".pyi") else tgt + "i"
        if os.path.exists(os.path.join(self.root, base)):
            return "stub", None
        found = self.matching(src, tgt)
        exact = [i for i, e in found if e]
        if tgt.endswith("__init__.py") and not exact and found:
            return "parent __init__", found[0][0]
        if tgt.endswith("__init__.py") and exact and any(
                t.startswith(os.path.dirname(tgt) + os.sep) for t in self.mine_from[src]):
            return "parent __init__", exact[0]  # `from a import b`: a/__init__ beside a/b
        if not found:
            return "other", None
        imp = exact[0] if exact else found[0][0]
        if imp["kind"] == "string":
            return "string import", imp
        if self.namespace(tgt):
            return "namespace package", imp
        if self.me == "aftershock" and not self.covered(src, imp, self.theirs_from):
            return "unresolved by ruff", imp
        if self.me == "ruff" and imp.get("origin") not in ("project", None):
            return "unresolved by aftershock", imp
        if self.covered(src, imp, self.theirs_from):
            return "resolved elsewhere", imp
        mod = absolute(self.root, imp, self.roots)
        if imp["kind"] == "from" and any(n == mod + "." + x for n in self.names(tgt)
                                         for x in imp["names"]):
            return "from a import b -> submodule", imp
        if imp["level"]:
            return "relative import", imp
        if imp["type_checking"] or imp["optional"] or imp["lazy"]:
            return "conditional", imp
        return "other", imp


def source_line(root, rel, line):
    try:
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
            for i, text in enumerate(fh, 1):
                if i == line:
                    return text.strip()
    except OSError:
        pass
    return ""


def compare(binary, ruff, corpus, n_examples):
    """Print the comparison of one corpus; return {"files", "both", "aftershock only", "ruff
    only"}, the last two as Counters of causes."""
    root = os.path.abspath(corpus)
    files = py_files(root)
    roots = detect_roots(root, files)
    a_graph = run_graph([binary, "graph", "--root", root, "--no-cache", "-q"], root)
    src = "src = [" + ", ".join(json.dumps(r or ".") for r in roots) + "]"
    r_graph = run_graph([ruff, "analyze", "graph", "--isolated", "--config", src, "-q",
                         "--type-checking-imports", "."], root)
    a, r = edges(a_graph, root, root), edges(r_graph, root, root)
    imps = imports_of(binary, root, sorted(set(a_graph) | set(r_graph)))
    print(f"## {corpus}\n")
    print(f"roots given to ruff: {src}")
    print(f"files: aftershock {len(a_graph)}, ruff {len(r_graph)}; edges: aftershock {len(a)}, "
          f"ruff {len(r)}, both {len(a & r)}\n")
    summary = {"files": len(a_graph), "both": len(a & r)}
    for me, mine, theirs, title in (("aftershock", a, r, "aftershock only"),
                                    ("ruff", r, a, "ruff only")):
        other = "ruff" if me == "aftershock" else "aftershock"
        cl = Classifier(root, roots, imps, mine, theirs, me, other)
        counts = summary[title] = collections.Counter()
        examples = collections.defaultdict(list)
        for s, t in sorted(mine - theirs):
            cause, imp = cl.classify(s, t)
            counts[cause] += 1
            if len(examples[cause]) < (10 if cause == "other" else n_examples):
                where = f"{s}:{imp['line']}: {source_line(root, s, imp['line'])}" if imp else \
                    f"{s}: (no import of the source names it)"
                examples[cause].append(f"{where}  ->  {t}")
        print(f"### {title}: {len(mine - theirs)} edges\n")
        print("| cause | edges |\n|---|---:|")
        for c in CAUSES:
            if counts[c]:
                print(f"| {c} | {counts[c]} |")
        for c in CAUSES:
            if examples[c]:
                print(f"\n{c}: {len(examples[c])} of {counts[c]} examples\n")
                for e in examples[c]:
                    print(f"- {e}")
        print()
    return summary


def summary_table(names: list[str], summaries: list[dict]) -> str:
    """One Markdown row per corpus: edges both tools find, and each side's extra edges by
    cause."""

    def causes(counter) -> str:
        parts = [f"{n:,} {c}" for c, n in counter.most_common() if n]
        return "; ".join(parts) if parts else "0"

    lines = ["| corpus | files | both | aftershock only, by cause | ruff only, by cause |",
             "|---|--:|--:|---|---|"]
    for name, s in zip(names, summaries):
        lines.append(f"| {name} | {s['files']:,} | {s['both']:,} | {causes(s['aftershock only'])} "
                     f"| {causes(s['ruff only'])} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "aftershock"))
    ap.add_argument("--ruff", help="ruff executable (default: the agreement venv's)")
    ap.add_argument("--examples", type=int, default=0, metavar="N",
                    help="also print N examples of each explained cause ('other': always 10)")
    ap.add_argument("--summary", metavar="FILE",
                    help="also write a one-row-per-corpus Markdown table of the counts to FILE")
    ap.add_argument("--name", action="append", default=[],
                    help="the corpus's name in the summary, once per corpus (default: its path)")
    ap.add_argument("corpus", nargs="+")
    args = ap.parse_args()
    ruff = os.path.abspath(args.ruff) if args.ruff else ensure_ruff()
    binary = os.path.abspath(args.bin)
    ver = subprocess.run([ruff, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"# aftershock vs {ver}\n")
    summaries = [compare(binary, ruff, c, args.examples) for c in args.corpus]
    if args.summary:
        names = args.name + args.corpus[len(args.name):]
        with open(args.summary, "w") as fh:
            fh.write(summary_table(names, summaries))


if __name__ == "__main__":
    main()
