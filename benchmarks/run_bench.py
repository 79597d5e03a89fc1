#!/usr/bin/env python3
"""Benchmark `aftershock run` against pytest and pytest-xdist on a generated test suite.

The suite comes from gen_suite.py (beside this script): --modules test modules over a few
hundred library modules, committed to git under --work and reused while the generator and its
arguments are unchanged and the tree is clean. Every command runs in the suite's root, on the
same tree, with the same interpreter (--python, default this one). Each round measures, in this
order, so that the kinds interleave over the rounds:

    pytest        python -m pytest -q -p no:cacheprovider
    xdist         python -m pytest -q -n J -p no:cacheprovider
    cold          aftershock run -j J             after removing .aftershock/cache (the results;
                                                  the parse cache stays, as after any first run)
    cached        aftershock run -j J             nothing changed since the run before
    leaf          aftershock run -j J             after appending one line to a leaf library
                                                  module (gen_suite's manifest names it)
    core          aftershock run -j J             the same for core/numbers.py, which every
                                                  test module imports
    subset        python -m pytest -q -p no:cacheprovider tests/AREA
    batch         aftershock run -j J --force -- tests/AREA
    isolate       aftershock run -j J --isolate --force -- tests/AREA  (first --isolate-runs
                                                  rounds only: one process per module is slow)
  with --cov:
    cov-xdist     python -m pytest -q -n J -p no:cacheprovider --cov=src --cov-report=xml
    cov-cold      aftershock run -j J --cov=src   after removing .aftershock/cache
    cov-cached    aftershock run -j J --cov=src   nothing changed

AREA is the first test area (--modules / 10 test modules). Both the leaf and the core change
start from the cached state of the unchanged tree: an unmeasured `aftershock run` first makes
sure nothing is left to run (it runs what is, if anything). Each change appends a line with a
fresh token (so no earlier run's results can be replayed for it) and the file's bytes are put
back right after the measured run. Before the rounds, one untimed pytest run checks that the
suite passes and writes the bytecode, and one `aftershock graph` fills the parse cache.

Children get this process's environment without PYTHONDONTWRITEBYTECODE and PYTEST_ADDOPTS
(--no-bytecode keeps bytecode off for all of them). The aftershock binary is copied into
--work first, so that a rebuild while the benchmark runs does not change what is measured.

Wall time is time.perf_counter around spawn and wait. "modules run" is what aftershock's summary
line says (pytest runs every module it is given). For aftershock, "selection" is the time until
it printed how many modules it will run: configuration, import graph, closure keys, cache
lookups. The table shows medians (and the range) and the ratio to plain pytest on the same
files measured in this invocation. `aftershock graph --stats` is recorded once at the end, with
and without the parse cache.

Usage: python3 benchmarks/run_bench.py [--bin build/aftershock] [--modules 2000] [--runs 3]
           [--jobs 2] [--cov] [--isolate-runs 1] [--work benchmarks/.work] [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import benchutil

HERE = Path(__file__).resolve().parent
GENERATOR = HERE / "gen_suite.py"
SUMMARY = re.compile(r"; (\d+) modules? run, (\d+) replayed\s*$")
SELECTION = re.compile(r"^aftershock: (\d+) test modules: (\d+) to run")
OUTCOMES = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)")


@dataclass
class Scenario:
    key: str
    label: str
    kind: str  # "pytest" or "aftershock"
    args: list[str]
    baseline: str  # the scenario its ratio is taken against
    edit: str = ""  # "leaf" or "core": the file changed for the measured run
    cold: bool = False  # remove the result cache first
    cov: bool = False
    subset: bool = False
    times: list[float] = field(default_factory=list)
    selection: list[float] = field(default_factory=list)
    modules_run: list[int] = field(default_factory=list)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Running one command


@dataclass
class Outcome:
    seconds: float
    code: int
    stdout: str
    stderr: str
    selection: float | None  # seconds until aftershock printed its selection line


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> Outcome:
    """Run `argv` in `cwd`, stdin on /dev/null, stdout to a file, stderr read line by line as
    it comes (to time aftershock's selection line). Killed after `timeout` seconds."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.PIPE)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        selection, err = None, []
        try:
            for raw in proc.stderr:
                line = raw.decode(errors="replace")
                if selection is None and SELECTION.match(line):
                    selection = time.perf_counter() - t0
                err.append(line)
            code = proc.wait()
            elapsed = time.perf_counter() - t0
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        out.seek(0)
        stdout = out.read().decode(errors="replace")
    if code < 0 and elapsed >= timeout:
        raise BenchError(f"{shlex.join(argv)}: timed out after {timeout:g}s")
    return Outcome(elapsed, code, stdout, "".join(err), selection)


def last_line(text: str) -> str:
    lines = [x for x in text.splitlines() if x.strip()]
    return lines[-1] if lines else ""


def counts(summary: str) -> dict[str, int]:
    """pytest's outcome counts from its (or aftershock's) summary line."""
    found = {}
    for n, word in OUTCOMES.findall(summary.split(";")[0]):
        found["errors" if word.startswith("error") else word] = int(n)
    return found


# --------------------------------------------------------------------------------------------
# The suite


def generator_digest() -> str:
    return benchutil.file_digest(GENERATOR)


def ensure_generated(work: Path, modules: int, seed: int) -> tuple[Path, dict]:
    """The generated suite and its manifest: reused if the stamp matches and it is clean."""
    path = work / f"suite-{modules}-s{seed}"
    stamp_path = work / f"{path.name}.stamp.json"
    manifest_path = work / f"{path.name}.manifest.json"
    stamp = {"generator_sha256": generator_digest(), "modules": modules, "seed": seed}
    try:
        if json.loads(stamp_path.read_text()) == stamp and benchutil.git_clean(path):
            return path, json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        pass
    print(f"run_bench: generating {path} ...", file=sys.stderr)
    tmp = work / f"{path.name}.tmp"
    for stale in (path, tmp):
        shutil.rmtree(stale, ignore_errors=True)
    stamp_path.unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(GENERATOR), "--modules", str(modules), "--seed",
                    str(seed), "--out", str(tmp), "--manifest", str(manifest_path)],
                   check=True, stdout=sys.stderr)
    tmp.rename(path)
    stamp_path.write_text(json.dumps(stamp) + "\n")
    return path, json.loads(manifest_path.read_text())


# --------------------------------------------------------------------------------------------
# Scenarios


def scenarios(args: argparse.Namespace, area: str) -> list[Scenario]:
    j = str(args.jobs)
    pytest = [args.python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    run = [args.bin, "run", "-j", j, "--python", args.python]
    subset = ["--", f"tests/{area}"]
    s = [
        Scenario("pytest", "pytest", "pytest", pytest, "pytest"),
        Scenario("xdist", f"pytest -n {j} (xdist)", "pytest", pytest + ["-n", j], "pytest"),
        Scenario("cold", "aftershock, cold (no result cache)", "aftershock", run, "pytest",
                 cold=True),
        Scenario("cached", "aftershock, nothing changed", "aftershock", run, "pytest"),
        Scenario("leaf", "aftershock, one line changed in a leaf module", "aftershock", run,
                 "pytest", edit="leaf"),
        Scenario("core", "aftershock, one line changed in a core module", "aftershock", run,
                 "pytest", edit="core"),
        Scenario("subset", f"pytest tests/{area}", "pytest", pytest + [f"tests/{area}"],
                 "subset", subset=True),
        Scenario("batch", f"aftershock --force, tests/{area}, batches", "aftershock",
                 run + ["--force"] + subset, "subset", subset=True),
        Scenario("isolate", f"aftershock --force --isolate, tests/{area}", "aftershock",
                 run + ["--force", "--isolate"] + subset, "subset", subset=True),
    ]
    if args.cov:
        s += [
            Scenario("cov-xdist", f"pytest -n {j} --cov=src --cov-report=xml", "pytest",
                     pytest + ["-n", j, "--cov=src", "--cov-report=xml"], "pytest", cov=True),
            Scenario("cov-cold", "aftershock --cov=src, cold", "aftershock",
                     run + ["--cov=src"], "pytest", cold=True, cov=True),
            Scenario("cov-cached", "aftershock --cov=src, nothing changed", "aftershock",
                     run + ["--cov=src"], "pytest", cov=True),
        ]
    return s


class Bench:
    def __init__(self, args: argparse.Namespace, suite: Path, manifest: dict):
        self.args, self.suite, self.manifest = args, suite, manifest
        self.env = dict(os.environ)
        for name in ("PYTHONDONTWRITEBYTECODE", "PYTEST_ADDOPTS"):
            self.env.pop(name, None)
        if args.no_bytecode:
            self.env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.area = next(iter(manifest["areas"]))
        self.subset_modules = manifest["areas"][self.area]
        self.subset_items: int | None = None
        self.warnings: list[str] = []
        self.load_before = os.getloadavg()[0]

    def log(self, text: str) -> None:
        if self.args.verbose:
            print(f"run_bench: {text}", file=sys.stderr)

    def expected(self, sc: Scenario) -> tuple[int, int]:
        """(test modules, test items) the scenario covers."""
        if sc.subset:
            return self.subset_modules, self.subset_items
        return self.manifest["test_modules"], self.manifest["tests"]

    def execute(self, sc: Scenario) -> Outcome:
        """Run `sc` once and check that everything passed; returns what happened."""
        if sc.cold:
            shutil.rmtree(self.suite / ".aftershock" / "cache", ignore_errors=True)
        o = run(sc.args, self.suite, self.env, self.args.timeout)
        summary = last_line(o.stdout)
        found = counts(summary)
        if o.code != 0 or found.get("failed") or found.get("errors"):
            tail = (o.stdout[-1500:] + "\n" + o.stderr[-1500:]).strip()
            raise BenchError(f"{shlex.join(sc.args)}: exit code {o.code}\n{tail}")
        items = found.get("passed", 0) + found.get("skipped", 0)
        _, want = self.expected(sc)
        if want is not None and items != want:
            self.warnings.append(f"{sc.key}: {items} tests passed or skipped, expected {want}")
        return o

    def modules_run(self, sc: Scenario, o: Outcome) -> int:
        if sc.kind == "pytest":
            return self.expected(sc)[0]
        m = SUMMARY.search(last_line(o.stdout))
        if not m:
            raise BenchError(f"{shlex.join(sc.args)}: no summary line in its output:\n"
                             f"{o.stdout[-500:]}")
        return int(m.group(1))

    def settle(self, sc: Scenario) -> None:
        """Make sure the unchanged tree is fully cached for `sc`'s flavour (with or without
        coverage): run aftershock unmeasured until it has nothing to run."""
        plain = Scenario("settle", "", "aftershock", list(sc.args), sc.baseline,
                         cov=sc.cov)
        for _ in range(2):
            ran = self.modules_run(plain, self.execute(plain))
            self.log(f"  settle: {ran} modules run")
            if ran == 0:
                return
        self.warnings.append(f"{sc.key}: the unchanged tree still ran modules after a warm-up")

    def measure(self, sc: Scenario) -> None:
        if sc.edit or (sc.key.endswith("cached")):
            self.settle(sc)
        path = self.suite / self.manifest[sc.edit] if sc.edit else None
        original = path.read_bytes() if path else b""
        try:
            if path:
                token = f"{sc.key} {len(sc.times) + 1} {time.time_ns()}"
                path.write_bytes(original + f'_BENCH_EDIT = "{token}"\n'.encode())
            o = self.execute(sc)
        finally:
            if path:
                path.write_bytes(original)
        sc.times.append(o.seconds)
        sc.modules_run.append(self.modules_run(sc, o))
        if o.selection is not None:
            sc.selection.append(o.selection)
        self.log(f"  {sc.key:10s} {fmt_time(o.seconds):>9s}  {sc.modules_run[-1]} modules run")

    def warm_up(self) -> None:
        """Bytecode written and the suite known to pass; the parse cache filled."""
        self.log("warm-up: pytest, aftershock graph")
        full = Scenario("warm", "", "pytest",
                        [self.args.python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                        "pytest")
        o = self.execute(full)
        sub = run(full.args + ["--collect-only", f"tests/{self.area}"], self.suite, self.env,
                  self.args.timeout)
        m = re.search(r"(\d+) tests? collected", sub.stdout)
        self.subset_items = int(m.group(1)) if m else None
        self.log(f"  pytest {fmt_time(o.seconds)}; tests/{self.area}: {self.subset_items} tests")
        g = run([self.args.bin, "graph", "--python", self.args.python], self.suite, self.env,
                self.args.timeout)
        if g.code != 0:
            raise BenchError(f"aftershock graph: exit code {g.code}\n{g.stderr[-1500:]}")

    def graph_stats(self) -> list[str]:
        """`aftershock graph --stats` without and with the parse cache: its stderr line."""
        lines = []
        for label in ("no parse cache", "parse cache"):
            if label == "no parse cache":
                (self.suite / ".aftershock" / "parse-cache.bin").unlink(missing_ok=True)
            o = run([self.args.bin, "graph", "--stats", "--python", self.args.python],
                    self.suite, self.env, self.args.timeout)
            stats = last_line(o.stderr).removeprefix("aftershock: ")
            lines.append(f"`aftershock graph --stats`, {label}: {fmt_time(o.seconds)} wall; "
                         f"{stats}")
        return lines


# --------------------------------------------------------------------------------------------
# Report


def fmt_time(t: float | None) -> str:
    if t is None:
        return "n/a"
    return f"{t * 1e3:.0f} ms" if t < 1 else f"{t:.2f} s"


def machine() -> str:
    model = benchutil.cpu_model()
    return f"nproc {os.cpu_count()}, {model}, {platform.system()} {platform.release()}"


def versions(args: argparse.Namespace) -> str:
    code = ("import sys, pytest, importlib.metadata as m\n"
            "def v(d):\n"
            "    try:\n        return m.version(d)\n"
            "    except m.PackageNotFoundError:\n        return 'not installed'\n"
            "print(f'Python {sys.version.split()[0]}, pytest {pytest.__version__}, "
            "pytest-xdist {v(\"pytest-xdist\")}, pytest-cov {v(\"pytest-cov\")}, "
            "coverage {v(\"coverage\")}')")
    out = subprocess.run([args.python, "-c", code], capture_output=True, text=True)
    py = out.stdout.strip() or f"{args.python}: {out.stderr.strip()[-200:]}"
    ash = subprocess.run([args.bin, "--version"], capture_output=True, text=True).stdout.strip()
    return f"{py}, {ash or 'aftershock ?'}"


def source_commit() -> str:
    def git(*a: str) -> str:
        return subprocess.run(["git", "-C", str(HERE.parent), *a], capture_output=True,
                              text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "?"
    return head + (" with local changes" if git("status", "--porcelain", "--untracked-files=no")
                   else "")


def report(bench: Bench, scs: list[Scenario], args: argparse.Namespace, notes: list[str],
           started: float) -> str:
    m = bench.manifest
    med = {s.key: statistics.median(s.times) for s in scs if s.times}
    lines = [
        "## aftershock run benchmark",
        "",
        f"- date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: {machine()}",
        f"- versions: {versions(args)} (binary copied from `{args.bin_source}`, source "
        f"{source_commit()})",
        f"- suite: gen_suite.py --modules {m['modules']} --seed {m['seed']}: "
        f"{m['test_modules']} test modules, {m['tests']} tests ({m['skipped']} skipped), "
        f"{m['library_modules']} library modules; leaf `{m['leaf']}` "
        f"({m['leaf_dependents']} test modules import it), core `{m['core']}`; subset "
        f"tests/{bench.area} ({bench.subset_modules} modules)",
        f"- {args.runs} interleaved round{'s' if args.runs > 1 else ''}"
        + (f" (isolate: {min(args.isolate_runs, args.runs)})"
           if any(s.key == "isolate" for s in scs) else "")
        + f", medians; -j/-n {args.jobs}; bytecode "
        f"{'off (PYTHONDONTWRITEBYTECODE=1)' if args.no_bytecode else 'written'}; "
        f"benchmark wall time {fmt_time(time.perf_counter() - started)}; load average before "
        f"{bench.load_before:.2f}, after {os.getloadavg()[0]:.2f}",
        "- modules run: from aftershock's summary line (pytest runs every module); vs plain "
        "pytest: median over the median of plain pytest on the same files; selection: time "
        "until aftershock printed how many modules it will run (config, graph, keys, cache).",
        "",
        "| scenario | wall (median) | range | modules run | vs plain pytest | selection |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for s in scs:
        if not s.times:
            continue
        t = med[s.key]
        spread = (f"{fmt_time(min(s.times))} – {fmt_time(max(s.times))}" if len(s.times) > 1
                  else "1 run")
        mods = sorted(set(s.modules_run))
        mods_text = "/".join(str(x) for x in mods)
        base = med.get(s.baseline)
        ratio = (f"{t / base:.2f}×" if t >= 0.1 * base else f"{t / base:.3f}×") if base else "n/a"
        if s.baseline != "pytest":
            ratio += f" (vs {s.baseline})"
        sel = fmt_time(statistics.median(s.selection)) if s.selection else ""
        lines.append(f"| {s.label} | {fmt_time(t)} | {spread} | {mods_text} | {ratio} | {sel} |")
    lines.append("")
    lines += [f"- {n}" for n in notes]
    lines += [f"- warning: {w}" for w in bench.warnings]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Driver


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the top of this file for what is measured and how.")
    ap.add_argument("--bin", default=str(HERE.parent / "build" / "aftershock"),
                    help="the aftershock binary to measure (default build/aftershock)")
    ap.add_argument("--modules", type=int, default=2000,
                    help="test modules in the generated suite (default 2000)")
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    ap.add_argument("--runs", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--isolate-runs", type=int, default=1,
                    help="rounds that include the --isolate scenario (default 1; it starts one "
                         "pytest process per module)")
    ap.add_argument("-j", "--jobs", type=int, default=2,
                    help="aftershock -j and xdist -n (default 2)")
    ap.add_argument("--cov", action="store_true",
                    help="also measure coverage: pytest-cov with xdist, aftershock --cov cold "
                         "and cached")
    ap.add_argument("--only", default="",
                    help="comma-separated scenario keys to measure (default: all)")
    ap.add_argument("--python", default=sys.executable,
                    help="interpreter running pytest, for every scenario (default: this one)")
    ap.add_argument("--no-bytecode", action="store_true",
                    help="run every command with PYTHONDONTWRITEBYTECODE=1 (default: unset)")
    ap.add_argument("--work", type=Path, default=HERE / ".work",
                    help="where the generated suite is kept (default benchmarks/.work)")
    ap.add_argument("--out", type=Path, help="also write the Markdown table to this file")
    ap.add_argument("--json", type=Path, help="write every measurement to this JSON file")
    ap.add_argument("--timeout", type=float, default=1800,
                    help="seconds before a command is killed (default 1800)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every measurement")
    args = ap.parse_args()

    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.modules < 20:
        ap.error("--modules must be at least 20")
    binary = shutil.which(args.bin) if os.sep not in args.bin else args.bin
    if not binary or not os.access(binary, os.X_OK):
        ap.error(f"--bin {args.bin}: not an executable file (build it with `make build`)")
    started = time.perf_counter()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    args.bin_source = os.path.relpath(os.path.abspath(binary))
    args.bin = str(work / "aftershock")
    shutil.copy2(binary, args.bin)  # a rebuild during the benchmark must not change it
    try:
        suite, manifest = ensure_generated(work, args.modules, args.seed)
    except subprocess.CalledProcessError as e:
        print(f"run_bench: generating the suite failed: {e}", file=sys.stderr)
        return 1

    bench = Bench(args, suite, manifest)
    scs = scenarios(args, bench.area)
    if args.only:
        keys = set(args.only.split(","))
        unknown = keys - {s.key for s in scs}
        if unknown:
            ap.error(f"--only: unknown scenarios {', '.join(sorted(unknown))} "
                     f"(known: {', '.join(s.key for s in scs)})")
        keys |= {s.baseline for s in scs if s.key in keys}  # the ratios' denominators
        scs = [s for s in scs if s.key in keys]
    print(f"run_bench: {suite}: {manifest['test_modules']} test modules, {args.runs} rounds",
          file=sys.stderr)
    notes: list[str] = []
    try:
        bench.warm_up()
        for i in range(args.runs):
            bench.log(f"round {i + 1}/{args.runs}")
            for sc in scs:
                if sc.key == "isolate" and i >= args.isolate_runs:
                    continue
                bench.measure(sc)
        notes += bench.graph_stats()
    except BenchError as e:
        print(f"run_bench: {e}", file=sys.stderr)
        return 1
    for s in scs:
        planned = manifest["leaf_dependents"]
        if s.key == "leaf" and s.modules_run and set(s.modules_run) != {planned}:
            bench.warnings.append(f"leaf: {s.modules_run} modules run, the generator planned "
                                  f"{planned}")

    table = report(bench, scs, args, notes, started)
    sys.stdout.write(table)
    if args.out:
        args.out.write_text(table)
    if args.json:
        args.json.write_text(json.dumps(
            {"manifest": manifest, "scenarios": [
                {"key": s.key, "argv": s.args, "seconds": s.times, "selection": s.selection,
                 "modules_run": s.modules_run} for s in scs]}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
