#!/usr/bin/env python3
"""Benchmark `aftershock graph` on generated monorepos, with `git status` as the yardstick.

For each corpus, every run measures, in this order (so the kinds interleave over the runs):

    cold   aftershock graph --root DIR        after removing .aftershock/parse-cache.bin and
                                              resolve-cache.bin in DIR (every file read,
                                              parsed and resolved; the interpreter's
                                              module facts stay cached, as after any first run)
    warm   aftershock graph --root DIR        the cache present, nothing changed
    git    git -C DIR status --porcelain      the same tree, index already refreshed
    cold1  aftershock graph --root DIR -j 1   cold again, one thread: per-core throughput

Before the runs, one untimed `git status` and one untimed `aftershock graph` warm the page
cache and the git index, so "cold" means "no parse cache", not "nothing in memory". Output goes
to /dev/null. Wall time is time.perf_counter around spawn and wait; peak RSS is the child's
ru_maxrss from os.wait4 (KiB on Linux, shown in MiB). The table reports medians, throughput as
MB (10^6 bytes) of .py/.pyi source per second of cold time (per core: of -j 1 time), and
warm / git status.

A caveat on RSS: Linux charges a child, at exec, with the peak RSS of the memory it ran in
before (the parent's, for posix_spawn's vfork), so ru_maxrss never reads below the parent's
RSS. The script resets its own peak before each spawn (/proc/self/clear_refs), measures that
floor with `true`, and shows values at the floor as "≤ floor".

Corpora: --sizes generates monorepos with gen_monorepo.py (beside this script) under --work,
committed to git; they are reused while the generator and its arguments are unchanged (a stamp
file beside each records them) and the tree is clean, and regenerated otherwise. --corpus adds
existing directories, measured as they are (no git status column unless they are git work trees).

Usage: python3 benchmarks/graph_bench.py --bin build/aftershock [--sizes 1000,10000,100000]
           [--runs 5] [--work benchmarks/.work] [--corpus DIR ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import benchutil

HERE = Path(__file__).resolve().parent
GENERATOR = HERE / "gen_monorepo.py"
KINDS = ("cold", "warm", "git", "cold1")


@dataclass
class Corpus:
    name: str
    path: Path
    files: int = 0
    bytes: int = 0
    is_git: bool = False
    rss_floor: int = 0  # KiB that ru_maxrss reports even for `true`
    times: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    rss: dict[str, list[int]] = field(default_factory=lambda: {k: [] for k in KINDS})


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Running one command


def run(argv: list[str], timeout: float, err_path: str) -> tuple[float, int, int]:
    """Run `argv` with stdin/stdout on /dev/null and stderr to `err_path`.

    Returns (wall seconds, peak RSS in KiB, exit code; negative: killed by that signal). The
    child is SIGKILLed after `timeout` seconds (where pidfd_open exists).
    """
    reset_peak_rss()
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
    ]
    t0 = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
    try:  # the timeout: wait for the pid file descriptor to become readable (Linux >= 5.3)
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = -1
    if fd >= 0:
        try:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            if not poller.poll(timeout * 1000):
                os.kill(pid, signal.SIGKILL)
        finally:
            os.close(fd)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - t0
    return elapsed, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def reset_peak_rss() -> None:
    """Lower this process's RSS high-water mark to its current RSS (Linux >= 4.0), which is
    what a child inherits in ru_maxrss."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def rss_floor(err_path: str) -> int:
    """The ru_maxrss (KiB) a trivial child reports: what the measurements cannot go below."""
    return min(run(["true"], 10, err_path)[1] for _ in range(3))


class Runner:
    """Runs the measured commands and turns failures into BenchError with stderr's tail."""

    def __init__(self, args: argparse.Namespace):
        self.bin = args.bin
        self.graph_args = shlex.split(args.graph_args)
        self.timeout = args.timeout
        self.ok_exit = {int(c) for c in args.ok_exit.split(",")}
        self.verbose = args.verbose
        fd, self.err_path = tempfile.mkstemp(prefix="graph_bench-", suffix=".stderr")
        os.close(fd)

    def close(self) -> None:
        os.unlink(self.err_path)

    def argv(self, kind: str, corpus: Corpus) -> list[str]:
        if kind == "git":
            return ["git", "-C", str(corpus.path), "status", "--porcelain"]
        argv = [self.bin, "graph", "--root", str(corpus.path)]
        if kind == "cold1":
            argv += ["-j", "1"]
        return argv + self.graph_args

    def measure(self, kind: str, corpus: Corpus) -> tuple[float, int]:
        if kind in ("cold", "cold1"):
            for cache in ("parse-cache.bin", "resolve-cache.bin"):
                (corpus.path / ".aftershock" / cache).unlink(missing_ok=True)
        argv = self.argv(kind, corpus)
        elapsed, rss, code = run(argv, self.timeout, self.err_path)
        ok = {0} if kind == "git" else self.ok_exit
        if code not in ok:
            with open(self.err_path, errors="replace") as fh:
                tail = fh.read()[-2000:].strip()
            how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
            if code == -signal.SIGKILL and elapsed >= self.timeout:
                how = f"timed out after {self.timeout:g}s"
            raise BenchError(f"{shlex.join(argv)}: {how}" + (f"\n{tail}" if tail else ""))
        if self.verbose:
            print(f"    {kind:5s} {fmt_time(elapsed):>10s} {rss / 1024:8.1f} MiB", file=sys.stderr)
        return elapsed, rss


# --------------------------------------------------------------------------------------------
# Corpora


def generator_digest() -> str:
    return benchutil.file_digest(GENERATOR)


def ensure_generated(work: Path, files: int, seed: int) -> Path:
    """The generated corpus of `files` files: reused if its stamp matches and it is clean."""
    path = work / f"monorepo-{files}-s{seed}"
    stamp_path = work / f"{path.name}.stamp.json"
    stamp = {"generator_sha256": generator_digest(), "files": files, "seed": seed}
    try:
        if json.loads(stamp_path.read_text()) == stamp and benchutil.git_clean(path):
            return path
    except (OSError, ValueError):
        pass
    print(f"graph_bench: generating {path} ...", file=sys.stderr)
    for stale in (path, work / f"{path.name}.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    stamp_path.unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    tmp = work / f"{path.name}.tmp"
    manifest = work / f"{path.name}.manifest.json"
    subprocess.run([sys.executable, str(GENERATOR), "--files", str(files), "--seed", str(seed),
                    "--out", str(tmp), "--git", "--manifest", str(manifest)],
                   check=True, stdout=sys.stderr)
    tmp.rename(path)
    stamp_path.write_text(json.dumps(stamp) + "\n")
    return path


def source_size(path: Path) -> tuple[int, int]:
    """(.py/.pyi file count, their total bytes) under `path`, skipping hidden directories."""
    count = total = 0
    for d, dirs, names in os.walk(path):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        for n in names:
            if n.endswith((".py", ".pyi")):
                count += 1
                total += os.lstat(os.path.join(d, n)).st_size
    return count, total


def parse_sizes(text: str) -> list[int]:
    sizes = []
    for item in filter(None, (x.strip() for x in text.split(","))):
        scale = 1000 if item.lower().endswith("k") else 1
        sizes.append(int(item.rstrip("kK")) * scale)
    return sizes


# --------------------------------------------------------------------------------------------
# Report


def fmt_time(t: float | None) -> str:
    if t is None:
        return "n/a"
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s"


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def machine() -> str:
    model = benchutil.cpu_model()
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}, "
            f"{git or 'git: not found'}")


def binary_version(path: str) -> str:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout else "?"
    except (OSError, subprocess.SubprocessError, IndexError):
        return "?"


def report(corpora: list[Corpus], args: argparse.Namespace) -> str:
    lines = [
        "## aftershock graph benchmark",
        "",
        f"- binary: `{args.bin}` ({binary_version(args.bin)}); extra arguments: "
        f"`{args.graph_args or '(none)'}`",
        f"- machine: {machine()}",
        f"- {args.runs} runs, medians shown. cold: parse and resolution caches removed (the "
        "interpreter facts, asked once per interpreter, stay cached); warm: cache present, "
        "nothing changed; git: `git status --porcelain`; -j1: cold with one thread. "
        "MB = 10^6 bytes of .py/.pyi source; RSS = peak resident set of the process "
        "(\"≤ N\": at the floor inherited from this script, see graph_bench.py).",
        "",
        "| corpus | files | MB | cold | warm | git status | warm / git | cold MB/s | -j1 cold "
        "| MB/s per core | RSS cold | RSS warm | RSS -j1 | RSS git |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for c in corpora:
        t = {k: median(v) for k, v in c.times.items()}
        rss = {k: median(v) for k, v in c.rss.items()}
        mb = c.bytes / 1e6

        def rate(s: float | None) -> str:
            return f"{mb / s:.1f}" if s else "n/a"

        def mib(k: str) -> str:
            if rss[k] is None:
                return "n/a"
            if rss[k] <= c.rss_floor + 256:  # within a few pages of what `true` reports
                return f"≤ {c.rss_floor / 1024:.0f} MiB"
            return f"{rss[k] / 1024:.0f} MiB"

        ratio = f"{t['warm'] / t['git']:.2f}×" if t["git"] else "n/a"
        lines.append(
            f"| {c.name} | {c.files} | {mb:.1f} | {fmt_time(t['cold'])} | {fmt_time(t['warm'])} "
            f"| {fmt_time(t['git'])} | {ratio} | {rate(t['cold'])} | {fmt_time(t['cold1'])} "
            f"| {rate(t['cold1'])} | {mib('cold')} | {mib('warm')} | {mib('cold1')} "
            f"| {mib('git')} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Driver


def bench(corpus: Corpus, runner: Runner, runs: int) -> None:
    print(f"graph_bench: {corpus.name}: {corpus.files} files, {corpus.bytes / 1e6:.1f} MB, "
          f"{runs} runs", file=sys.stderr)
    kinds = [k for k in KINDS if k != "git" or corpus.is_git]
    # Warm-up, untimed: page cache, git index, and a first check that the binary works.
    for kind in ("git", "cold") if corpus.is_git else ("cold",):
        runner.measure(kind, corpus)
    corpus.rss_floor = rss_floor(runner.err_path)
    for i in range(runs):
        if runner.verbose:
            print(f"  run {i + 1}/{runs}", file=sys.stderr)
        for kind in kinds:
            elapsed, rss = runner.measure(kind, corpus)
            corpus.times[kind].append(elapsed)
            corpus.rss[kind].append(rss)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the top of this file for what is measured and how.")
    ap.add_argument("--bin", required=True, help="the aftershock binary to measure")
    ap.add_argument("--sizes", default=None,
                    help="comma-separated corpus sizes in Python files to generate, e.g. "
                         "1000,10k,100k (default 1000,10000,100000, or none when --corpus is "
                         "given)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per corpus (default 5)")
    ap.add_argument("--work", type=Path, default=HERE / ".work",
                    help="where generated corpora are cached (default benchmarks/.work)")
    ap.add_argument("--corpus", nargs="+", action="extend", default=[], type=Path, metavar="DIR",
                    help="existing project directories to measure as well")
    ap.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    ap.add_argument("--out", type=Path, help="also write the Markdown table to this file")
    ap.add_argument("--json", type=Path, help="write every measurement to this JSON file")
    ap.add_argument("--graph-args", default="",
                    help="extra arguments for every `aftershock graph` run, written as "
                         "--graph-args='--format json'")
    ap.add_argument("--timeout", type=float, default=1800,
                    help="seconds before a command is killed (default 1800)")
    ap.add_argument("--ok-exit", default="0",
                    help="comma-separated exit codes of aftershock that count as success "
                         "(default 0)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every measurement")
    args = ap.parse_args()

    if args.runs < 1:
        ap.error("--runs must be at least 1")
    binary = shutil.which(args.bin) if os.sep not in args.bin else args.bin
    if not binary or not os.access(binary, os.X_OK):
        ap.error(f"--bin {args.bin}: not an executable file (build it with `make build`)")
    args.bin = os.path.abspath(binary)
    sizes = parse_sizes(args.sizes if args.sizes is not None else
                        ("" if args.corpus else "1000,10000,100000"))
    if not sizes and not args.corpus:
        ap.error("nothing to measure: give --sizes or --corpus")

    corpora: list[Corpus] = []
    try:
        for n in sizes:
            path = ensure_generated(args.work.resolve(), n, args.seed)
            corpora.append(Corpus(f"monorepo {n // 1000}k" if n % 1000 == 0 else f"monorepo {n}",
                                  path))
        for d in args.corpus:
            if not d.is_dir():
                ap.error(f"--corpus {d}: not a directory")
            corpora.append(Corpus(d.resolve().name, d.resolve()))
        for c in corpora:
            c.files, c.bytes = source_size(c.path)
            c.is_git = subprocess.run(["git", "-C", str(c.path), "rev-parse", "--git-dir"],
                                      capture_output=True).returncode == 0
    except subprocess.CalledProcessError as e:
        print(f"graph_bench: generating a corpus failed: {e}", file=sys.stderr)
        return 1

    runner = Runner(args)
    try:
        for c in corpora:
            bench(c, runner, args.runs)
    except BenchError as e:
        print(f"graph_bench: {e}", file=sys.stderr)
        return 1
    finally:
        runner.close()

    benchutil.emit(report(corpora, args), args.out, args.json,
                   [{"name": c.name, "path": str(c.path), "files": c.files, "bytes": c.bytes,
                     "seconds": c.times, "maxrss_kib": c.rss, "maxrss_floor_kib": c.rss_floor}
                    for c in corpora])
    return 0


if __name__ == "__main__":
    sys.exit(main())
