#!/usr/bin/env python3
"""Benchmark `aftershock graph` beside the tools that build the same import graph.

Peers, pinned in requirements-peers.txt and installed into --work/peers-venv (made once, remade
when that file changes): `ruff analyze graph`, `tach map`, grimp (`grimp.build_graph` in a
`python -c`), `pydeps --show-deps --no-output` (slow: only on the corpora named by --pydeps-on,
with --pydeps-timeout), and `git status --porcelain` as the yardstick of the warm run.

Corpora: generated monorepos (the ones graph_bench.py generates and reuses under --work; each
source root from its `[tool.aftershock] roots`), and real projects from PyPI sdists downloaded
at benchmark time (`pip download --no-deps --no-binary :all:`), extracted under
--work/peers-corpora and committed with benchutil.git_commit. Tools that need a configuration
get the corpus's source roots: ruff through `--config "src = [...]"`, tach through a tach.toml
written at the corpus root and listed in .git/info/exclude (so git status stays clean), grimp
through sys.path.

Each run measures, interleaved in this order: aftershock cold (the corpus's parse and
resolution caches, .aftershock/parse-cache.bin and resolve-cache.bin, removed; the interpreter's
facts, asked once per interpreter and kept until it or its site-packages change, stay, as in
graph_bench.py), aftershock warm, ruff, tach, grimp, pydeps, git status. One untimed round
first warms the page cache (and finds the tools that cannot run on a corpus: they show "n/a"
and the reason). Wall time: graph_bench.run around `/usr/bin/time -f %M timeout -s KILL T
CMD` (the two wrappers add about a millisecond, to every tool alike); peak RSS: GNU time's %M,
the child tree's ru_maxrss (its floor, shown as "≤ N", is that of `true` under the wrappers).
The table shows medians and, per peer, aftershock cold / peer as the ratio
of the medians of the same runs, followed by the goals: cold <= 0.5x ruff, warm
<= 1.5x git status, RSS <= ruff's.

Usage: python3 benchmarks/peers_bench.py --bin build/aftershock [--sizes 1000,10000]
           [--sdists django==5.1.4] [--runs 3] [--work benchmarks/.work] [--out FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import benchutil
import graph_bench

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-peers.txt"
TOOLS = ("aftershock", "ruff", "tach", "grimp", "pydeps", "git status")

# grimp: build the graph of the given top-level packages, with the corpus's roots on sys.path.
GRIMP_SNIPPET = """\
import sys
roots, packages = sys.argv[1].split(","), sys.argv[2].split(",")
sys.path[:0] = roots
import grimp
graph = grimp.build_graph(*packages, include_external_packages=False, cache_dir=None)
print(len(graph.modules), file=sys.stderr)
"""


@dataclass
class Corpus:
    name: str
    path: Path
    roots: list[str]  # source roots, relative to path
    packages: list[str] = field(default_factory=list)  # for grimp
    pydeps_package: str | None = None
    files: int = 0
    bytes: int = 0
    rss_floor: int = 0
    times: dict[str, list[float]] = field(default_factory=dict)
    rss: dict[str, list[int]] = field(default_factory=dict)
    na: dict[str, str] = field(default_factory=dict)  # tool -> why it did not run


# --------------------------------------------------------------------------------------------
# The peers' virtualenv


def ensure_venv(work: Path) -> Path:
    """benchmarks/.work/peers-venv with requirements-peers.txt installed; reused while the
    requirements file is unchanged."""
    return benchutil.ensure_venv(work / "peers-venv", REQUIREMENTS, "peers_bench")


def pinned_versions() -> list[str]:
    return [line.strip() for line in REQUIREMENTS.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


# --------------------------------------------------------------------------------------------
# Corpora


def top_packages(path: Path, roots: list[str]) -> list[str]:
    """Top-level regular packages under each root (for a PEP 420 namespace directory: its
    regular subpackages, `ns.sub`); a name met twice keeps its first root, as sys.path would."""
    root_dirs = {(path / r).resolve() for r in roots}
    seen: list[str] = []
    for r in roots:
        base = path / r
        for d in sorted(base.iterdir()):
            if not d.is_dir() or d.name.startswith(".") or d.resolve() in root_dirs \
                    or not d.name.isidentifier():
                continue
            if (d / "__init__.py").is_file():
                names = [d.name]
            else:
                names = [f"{d.name}.{s.name}" for s in sorted(d.iterdir())
                         if s.is_dir() and (s / "__init__.py").is_file()]
            seen += [n for n in names if n not in seen]
    return seen


def generated_corpus(work: Path, files: int, seed: int) -> Corpus:
    path = graph_bench.ensure_generated(work, files, seed)
    roots = tomllib.loads((path / "pyproject.toml").read_text())["tool"]["aftershock"]["roots"]
    packages = top_packages(path, roots)
    core = next((p for p in packages if (path / "src" / p).is_dir()), None)
    name = f"monorepo {files // 1000}k" if files % 1000 == 0 else f"monorepo {files}"
    return Corpus(name, path, roots, packages, pydeps_package=f"src/{core}" if core else None)


def sdist_corpus(work: Path, requirement: str) -> Corpus:
    """A PyPI sdist, downloaded (once), extracted and committed to git."""
    name, _, version = requirement.partition("==")
    dest = benchutil.fetch_sdist(requirement, work / "peers-corpora" / f"{name}-{version}",
                                 "peers_bench")
    package = name.lower()
    return Corpus(f"{name.lower()} {version}", dest, ["."], [package], pydeps_package=package)


def write_tach_config(corpus: Corpus) -> None:
    """tach.toml with the corpus's source roots, kept out of git status by .git/info/exclude."""
    roots = ", ".join(json.dumps(r) for r in corpus.roots)
    (corpus.path / "tach.toml").write_text(f"source_roots = [{roots}]\n")
    exclude = corpus.path / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    lines = exclude.read_text().splitlines() if exclude.is_file() else []
    for pattern in ("/tach.toml", "/.tach/"):
        if pattern not in lines:
            lines.append(pattern)
    exclude.write_text("\n".join(lines) + "\n")


# --------------------------------------------------------------------------------------------
# Measuring


@contextlib.contextmanager
def cwd(path: Path):
    """graph_bench.run spawns in our directory: tach and ruff find their config from it."""
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


class Runner:
    def __init__(self, args: argparse.Namespace, venv: Path):
        self.args = args
        self.bin = venv / "bin"
        fd, self.err_path = tempfile.mkstemp(prefix="peers_bench-", suffix=".stderr")
        os.close(fd)
        fd, self.rss_path = tempfile.mkstemp(prefix="peers_bench-", suffix=".rss")
        os.close(fd)

    def close(self) -> None:
        os.unlink(self.err_path)
        os.unlink(self.rss_path)

    def argv(self, tool: str, c: Corpus) -> list[str] | None:
        if tool in ("aftershock cold", "aftershock warm"):
            return [self.args.bin, "graph", "--root", str(c.path)]
        if tool == "ruff":
            src = "src = [" + ", ".join(json.dumps(r) for r in c.roots) + "]"
            return [str(self.bin / "ruff"), "analyze", "graph", "--config", src, "."]
        if tool == "tach":
            return [str(self.bin / "tach"), "map"]
        if tool == "grimp":
            return [str(self.bin / "python"), "-c", GRIMP_SNIPPET,
                    ",".join(str(c.path / r) for r in c.roots), ",".join(c.packages)]
        if tool == "pydeps":
            return [str(self.bin / "pydeps"), "--show-deps", "--no-output", "--no-config",
                    c.pydeps_package]
        if tool == "git status":
            return ["git", "status", "--porcelain"]
        if tool == "true":
            return ["true"]
        raise AssertionError(tool)

    def measure(self, tool: str, c: Corpus) -> tuple[float, int] | str:
        """(seconds, peak RSS KiB), or why the tool failed.

        The command runs under `/usr/bin/time -f %M` and `timeout -s KILL`: GNU time reports
        the peak RSS of its child tree (wait4's ru_maxrss), and being a small process that
        forks, it avoids the floor that graph_bench.run's own ru_maxrss inherits from this
        script. The timeout kills the tool itself, not only the wrappers."""
        if tool == "aftershock cold":
            for cache in ("parse-cache.bin", "resolve-cache.bin"):
                (c.path / ".aftershock" / cache).unlink(missing_ok=True)
        timeout = self.args.pydeps_timeout if tool == "pydeps" else self.args.timeout
        argv = ["/usr/bin/time", "-f", "%M", "-o", self.rss_path, "timeout", "-s", "KILL",
                f"{timeout:g}"] + self.argv(tool, c)
        with cwd(c.path):
            elapsed, _, code = graph_bench.run(argv, timeout + 30, self.err_path)
        if code != 0:
            with open(self.err_path, errors="replace") as fh:
                lines = [x for x in fh.read().strip().splitlines() if x.strip()]
            how = f"signal {-code}" if code < 0 else f"exit {code}"
            if elapsed >= timeout:
                return f"timed out after {timeout:g}s"
            return how + (f": {lines[-1][:160]}" if lines else "")
        with open(self.rss_path) as fh:
            rss = int(fh.read().split()[-1])
        if self.args.verbose:
            print(f"    {tool:16s} {graph_bench.fmt_time(elapsed):>10s} {rss / 1024:7.1f} MiB",
                  file=sys.stderr)
        return elapsed, rss


def bench(c: Corpus, runner: Runner, runs: int, pydeps_on: set[str]) -> None:
    c.files, c.bytes = graph_bench.source_size(c.path)
    print(f"peers_bench: {c.name}: {c.files} files, {c.bytes / 1e6:.1f} MB, {runs} runs",
          file=sys.stderr)
    tools = ["aftershock cold", "aftershock warm", "ruff", "tach", "grimp", "pydeps",
             "git status"]
    if c.name not in pydeps_on or not c.pydeps_package:
        c.na["pydeps"] = "skipped on this corpus (slow; --pydeps-on)"
        tools.remove("pydeps")
    write_tach_config(c)
    for tool in list(tools):  # untimed round: page cache, and who cannot run here
        result = runner.measure(tool, c)
        if isinstance(result, str):
            c.na[tool] = result
            tools.remove(tool)
            print(f"  {tool}: n/a ({result})", file=sys.stderr)
    c.rss_floor = min(runner.measure("true", c)[1] for _ in range(3))
    for i in range(runs):
        if runner.args.verbose:
            print(f"  run {i + 1}/{runs}", file=sys.stderr)
        for tool in list(tools):
            result = runner.measure(tool, c)
            if isinstance(result, str):
                c.na[tool] = f"run {i + 1}: {result}"
                tools.remove(tool)
                continue
            c.times.setdefault(tool, []).append(result[0])
            c.rss.setdefault(tool, []).append(result[1])


# --------------------------------------------------------------------------------------------
# Report


def med(xs: list[float] | None) -> float | None:
    return statistics.median(xs) if xs else None


def report(corpora: list[Corpus], args: argparse.Namespace) -> str:
    fmt = graph_bench.fmt_time
    lines = [
        "## aftershock graph beside its peers",
        "",
        f"- binary: `{args.bin}` ({graph_bench.binary_version(args.bin)})",
        f"- peers: {', '.join(pinned_versions())}; {shlex.quote('git status --porcelain')}",
        f"- machine: {graph_bench.machine()}",
        f"- {args.runs} interleaved runs, medians. cold: the parse and resolution caches "
        "removed (the "
        "interpreter's facts, asked once per interpreter, stay); warm: cache "
        "present, nothing changed. Peers have no warm mode here (ruff `analyze graph` has no "
        "cache option) and are shown under cold. ratio = aftershock cold / peer. RSS: peak "
        "resident set of the tool's process tree (\"≤ N\": at the floor measured with `true`). "
        "git status row: ratio = aftershock warm / git status.",
        "",
        "| corpus | tool | cold | warm | peak RSS | ratio aftershock-cold / peer |",
        "|---|---|--:|--:|--:|--:|",
    ]
    goals: list[str] = []
    for c in corpora:
        t = {k: med(v) for k, v in c.times.items()}
        r = {k: med(v) for k, v in c.rss.items()}

        def mib(k: str) -> str:
            if r.get(k) is None:
                return "n/a"
            if r[k] <= c.rss_floor + 256:
                return f"≤ {c.rss_floor / 1024:.0f} MiB"
            return f"{r[k] / 1024:.0f} MiB"

        cold, warm = t.get("aftershock cold"), t.get("aftershock warm")
        rss_key = "aftershock cold" if (r.get("aftershock cold") or 0) >= (
            r.get("aftershock warm") or 0) else "aftershock warm"
        lines.append(f"| {c.name} ({c.files} files, {c.bytes / 1e6:.1f} MB) | aftershock "
                     f"| {fmt(cold)} | {fmt(t.get('aftershock warm'))} | {mib(rss_key)} | 1.00× |")
        for tool in TOOLS[1:]:
            if tool in c.na or tool not in t:
                lines.append(f"| | {tool} | n/a | | | {c.na.get(tool, 'no data')} |")
                continue
            ratio = f"{cold / t[tool]:.2f}×" if cold and t[tool] else "n/a"
            if tool == "git status":
                ratio = f"{warm / t[tool]:.2f}× (warm)" if warm and t[tool] else "n/a"
                lines.append(f"| | git status | | {fmt(t[tool])} | {mib(tool)} | {ratio} |")
            else:
                lines.append(f"| | {tool} | {fmt(t[tool])} | | {mib(tool)} | {ratio} |")
        ruff, git = t.get("ruff"), t.get("git status")
        ar = max(r.get("aftershock cold") or 0, r.get("aftershock warm") or 0)

        def verdict(ok: bool) -> str:
            return "met" if ok else "NOT met"

        if cold and ruff:
            goals.append(f"- {c.name}: cold ≤ 0.5× ruff: {cold / ruff:.2f}× "
                         f"({fmt(cold)} vs {fmt(ruff)}): {verdict(cold <= 0.5 * ruff)}")
        if warm and git:
            goals.append(f"- {c.name}: warm ≤ 1.5× git status: {warm / git:.2f}× "
                         f"({fmt(warm)} vs {fmt(git)}): {verdict(warm <= 1.5 * git)}")
        if ar and r.get("ruff"):
            goals.append(f"- {c.name}: RSS ≤ ruff's: {ar / 1024:.0f} MiB vs "
                         f"{r['ruff'] / 1024:.0f} MiB: {verdict(ar <= r['ruff'])}")
    lines += ["", "Goals (aftershock RSS: the larger of cold and warm):", ""] + goals
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Driver


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the top of this file for what is measured and how.")
    ap.add_argument("--bin", required=True, help="the aftershock binary to measure")
    ap.add_argument("--sizes", default="1000,10000",
                    help="generated monorepo sizes in Python files (default 1000,10000)")
    ap.add_argument("--sdists", default="django==5.1.4",
                    help="comma-separated pinned PyPI sdists to measure (default django==5.1.4; "
                         "e.g. django==5.1.4,sympy==1.13.3); empty for none")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per corpus (default 3)")
    ap.add_argument("--work", type=Path, default=HERE / ".work",
                    help="venv, generated and downloaded corpora (default benchmarks/.work)")
    ap.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    ap.add_argument("--pydeps-on", default="monorepo 1k,django 5.1.4",
                    help="comma-separated corpus names pydeps runs on (default: "
                         "'monorepo 1k,django 5.1.4')")
    ap.add_argument("--pydeps-timeout", type=float, default=60,
                    help="seconds before pydeps is killed (default 60)")
    ap.add_argument("--timeout", type=float, default=600,
                    help="seconds before any other command is killed (default 600)")
    ap.add_argument("--out", type=Path, help="also write the Markdown table to this file")
    ap.add_argument("--json", type=Path, help="write every measurement to this JSON file")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every measurement")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if not os.access(args.bin, os.X_OK):
        ap.error(f"--bin {args.bin}: not an executable file (build it with `make build`)")
    args.bin = os.path.abspath(args.bin)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)

    try:
        venv = ensure_venv(work)
        corpora = [generated_corpus(work, n, args.seed)
                   for n in graph_bench.parse_sizes(args.sizes)]
        corpora += [sdist_corpus(work, s.strip())
                    for s in args.sdists.split(",") if s.strip()]
    except (subprocess.CalledProcessError, OSError, ValueError) as e:
        print(f"peers_bench: setup failed: {e}", file=sys.stderr)
        return 1
    pydeps_on = {x.strip() for x in args.pydeps_on.split(",")}

    runner = Runner(args, venv)
    try:
        for c in corpora:
            bench(c, runner, args.runs, pydeps_on)
    finally:
        runner.close()

    benchutil.emit(report(corpora, args), args.out, args.json,
                   [{"name": c.name, "path": str(c.path), "files": c.files, "bytes": c.bytes,
                     "seconds": c.times, "maxrss_kib": c.rss, "maxrss_floor_kib": c.rss_floor,
                     "na": c.na} for c in corpora])
    return 0


if __name__ == "__main__":
    sys.exit(main())
