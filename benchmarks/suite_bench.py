#!/usr/bin/env python3
"""Benchmark test selection on real projects' pytest suites: aftershock beside pytest-testmon.

Projects come from PyPI sdists (`--projects`, default networkx==3.4.2), downloaded at benchmark
time with `pip download --no-deps --no-binary :all:`, extracted under --work/suite-corpora and
committed with benchutil.git_commit. Every command runs in the project's root, on the same tree,
with the interpreter of --work/suite-venv, made from requirements-suite.txt (rebuilt when that
file changes). PROJECTS below says, per project, the test paths given to every command (a
subset when the whole suite is too slow for three rounds), the leaf and the core module, and
why. Each round measures, interleaved in this order:

    pytest          python -m pytest -q -p no:cacheprovider PATHS
    cold            aftershock run -j J PATHS     after removing .aftershock/cache (results;
                                                  the parse cache stays)
    cached          aftershock run -j J PATHS     nothing changed
    leaf, core      aftershock run -j J PATHS     one line appended to the leaf / core module
    testmon cold    python -m pytest -q --testmon PATHS   after removing .testmondata
    testmon cached, testmon leaf, testmon core    the same for pytest-testmon

testmon needs pytest's cacheprovider (it reads --lf's option), so its runs keep it. With
--testmon-jobs N > 1 its runs get `-n N` (pytest-xdist; testmon 2.2 supports it). A change
appends `_bench_token_<hex> = 1` (a fresh token: no earlier result can be replayed for it) and
the file's bytes are put back right after the measured run. Before the cached, leaf and core
scenarios an unmeasured run of the same tool makes sure it has nothing to run. Before the rounds
one untimed plain pytest run checks that the paths pass (and writes the bytecode), and
`aftershock graph` fills the parse cache. Children get this environment without
PYTHONDONTWRITEBYTECODE, PYTEST_ADDOPTS and TESTMON_DATAFILE.

Wall time is run_bench.run's: time.perf_counter around spawn and wait. "modules run": for
aftershock, its summary line; for pytest and testmon, the test modules of the test cases in a
`--junitxml` report written to a temporary file (deselected tests are not in it; a module
skipped as a whole is, with its dotted name as the case's name): each case's classname is
mapped to the longest dotted prefix that is a file under the root. A module without any test
(networkx's assortativity/tests/base_test.py) is collected by pytest, counted by aftershock and
in no JUnit report; the first round compares aftershock's list of modules with pytest's and
says where they differ. The tables show medians, the range and the ratio to plain pytest.

Usage: python3 benchmarks/suite_bench.py [--bin build/aftershock] [--projects networkx==3.4.2]
           [--runs 3] [--jobs 2] [--testmon-jobs 1] [--work benchmarks/.work] [--out FILE]
           [--json FILE] [--timeout 1800] [-v]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import benchutil
from run_bench import SUMMARY, BenchError, Outcome, counts, fmt_time, last_line, machine, run

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-suite.txt"
MODULE_LINE = re.compile(r"^aftershock: (\S+\.py) (\w+) \(")
# What the tools and Python leave in a corpus: kept out of `git status` by .git/info/exclude.
EXCLUDES = ("__pycache__/", ".pytest_cache/", ".testmondata*", ".aftershock/")

NX_ALGOS = ("shortest_paths", "traversal", "components", "centrality", "link_analysis",
            "operators", "bipartite", "assortativity", "minors", "coloring")
PROJECTS = {
    # `aftershock affected` on each of networkx's 281 library modules: 279 reach all 258 test
    # modules. networkx/drawing is left out: test_pydot.py needs Graphviz's `dot`.
    "networkx": dict(
        tests=["networkx/generators", "networkx/utils", "networkx/readwrite", "networkx/linalg",
               "networkx/tests"] + [f"networkx/algorithms/{a}" for a in NX_ALGOS],
        leaf="networkx/algorithms/shortest_paths/astar.py", core="networkx/classes/graph.py",
        why="a subset (the whole suite is ~3.5 min in one process); networkx/__init__.py "
            "imports nearly every module and every test module is inside the package, so for "
            "an import graph any library change reaches every test module; leaf: one "
            "algorithm no other module imports, with its own test module; core: the Graph "
            "class"),
    # Small modules; each test module imports the one it tests.
    "boltons": dict(tests=["tests"], leaf="boltons/mathutils.py", core="boltons/typeutils.py",
                    why="the whole suite; leaf: imported by no other module; core: imported by "
                        "most of the others"),
}


@dataclass
class Scenario:
    key: str
    label: str
    tool: str  # "pytest", "aftershock" or "testmon"
    args: list[str]
    edit: str = ""  # "leaf" or "core": the file changed for the measured run
    cold: bool = False  # remove the tool's results first
    times: list[float] = field(default_factory=list)
    modules_run: list[int] = field(default_factory=list)
    selection: list[float] = field(default_factory=list)


@dataclass
class Project:
    requirement: str
    path: Path
    tests: list[str]
    leaf: str
    core: str
    why: str
    scenarios: list[Scenario] = field(default_factory=list)
    affected: dict[str, str] = field(default_factory=dict)  # leaf/core -> "N of M"
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# The virtualenv and the projects


def ensure_venv(work: Path) -> Path:
    """--work/suite-venv with requirements-suite.txt; reused while that file is unchanged."""
    return benchutil.ensure_venv(work / "suite-venv", REQUIREMENTS, "suite_bench")


def exclude_outputs(path: Path) -> None:
    exclude = path / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    lines = exclude.read_text().splitlines() if exclude.is_file() else []
    exclude.write_text("\n".join(lines + [p for p in EXCLUDES if p not in lines]) + "\n")


def ensure_project(work: Path, venv: Path, requirement: str) -> Project:
    """A PyPI sdist, downloaded (once), extracted and committed to git."""
    name, _, version = requirement.partition("==")
    settings = PROJECTS.get(name.lower())
    if settings is None or not version:
        raise BenchError(f"--projects {requirement}: want NAME==VERSION with NAME one of "
                         f"{', '.join(PROJECTS)}")
    dest = work / "suite-corpora" / f"{name.lower()}-{version}"
    if dest.is_dir():
        exclude_outputs(dest)
    if not (dest.is_dir() and benchutil.git_clean(dest)):
        print(f"suite_bench: downloading {requirement} ...", file=sys.stderr)
        shutil.rmtree(dest, ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            subprocess.run([str(venv / "bin" / "pip"), "download", "-q", "--no-deps",
                            "--no-binary", ":all:", "--disable-pip-version-check", "-d", tmp,
                            requirement], check=True, stdout=sys.stderr)
            with tarfile.open(next(Path(tmp).glob("*.tar.gz"))) as tar:
                tar.extractall(tmp, filter="data")
            top = next(p for p in Path(tmp).iterdir() if p.is_dir())
            dest.parent.mkdir(parents=True, exist_ok=True)
            top.rename(dest)
        benchutil.git_commit(str(dest), "suite_bench", f"{requirement} sdist")
        exclude_outputs(dest)
    return Project(requirement, dest, **settings)


# --------------------------------------------------------------------------------------------
# Counting modules


def junit_modules(xml_path: Path, root: Path) -> set[str]:
    """The test modules (paths under `root`) of the test cases in a JUnit report."""
    if not xml_path.is_file() or xml_path.stat().st_size == 0:
        return set()
    found = set()
    for case in ET.parse(xml_path).iter("testcase"):
        parts = (case.get("classname") or case.get("name") or "").split(".")
        for k in range(len(parts), 0, -1):
            path = "/".join(parts[:k]) + ".py"
            if (root / path).is_file():
                found.add(path)
                break
        else:
            found.add(".".join(parts))  # unmapped: still one module
    return found


class Bench:
    def __init__(self, args: argparse.Namespace, python: str, tmp: Path):
        self.args, self.python = args, python
        self.env = dict(os.environ)
        for name in ("PYTHONDONTWRITEBYTECODE", "PYTEST_ADDOPTS", "TESTMON_DATAFILE"):
            self.env.pop(name, None)
        self.junit = tmp / "junit.xml"

    def log(self, text: str) -> None:
        if self.args.verbose:
            print(f"suite_bench: {text}", file=sys.stderr)

    def scenarios(self, p: Project) -> list[Scenario]:
        pytest = [self.python, "-m", "pytest", "-q"]
        ash = [self.args.bin, "run", "-j", str(self.args.jobs), "--python", self.python, "--"]
        tm = pytest + ["--testmon"] + (["-n", str(self.args.testmon_jobs)]
                                       if self.args.testmon_jobs > 1 else [])
        tm_label = "pytest --testmon" + (f" -n {self.args.testmon_jobs}"
                                         if self.args.testmon_jobs > 1 else "")
        ash_label = f"aftershock run -j {self.args.jobs}"
        s = [Scenario("pytest", "plain pytest", "pytest",
                      pytest + ["-p", "no:cacheprovider"] + p.tests)]
        for tool, argv, label in (("aftershock", ash, ash_label), ("testmon", tm, tm_label)):
            prefix = "" if tool == "aftershock" else "testmon "
            s += [Scenario(prefix + "cold", f"{label}, cold", tool, argv + p.tests, cold=True),
                  Scenario(prefix + "cached", f"{label}, nothing changed", tool,
                           argv + p.tests),
                  Scenario(prefix + "leaf", f"{label}, leaf changed", tool, argv + p.tests,
                           edit="leaf"),
                  Scenario(prefix + "core", f"{label}, core changed", tool, argv + p.tests,
                           edit="core")]
        return s

    def execute(self, p: Project, sc: Scenario) -> tuple[Outcome, int, set[str]]:
        """Run `sc` once; check that everything passed. Returns the outcome, the number of
        modules run and (pytest, testmon) their paths."""
        argv = list(sc.args)
        if sc.cold and sc.tool == "aftershock":
            shutil.rmtree(p.path / ".aftershock" / "cache", ignore_errors=True)
        if sc.cold and sc.tool == "testmon":
            for f in p.path.glob(".testmondata*"):
                f.unlink()
        if sc.tool != "aftershock":
            self.junit.unlink(missing_ok=True)
            argv.insert(4, f"--junitxml={self.junit}")
        o = run(argv, p.path, self.env, self.args.timeout)
        found = counts(last_line(o.stdout))
        if o.code != 0 or found.get("failed") or found.get("errors"):
            tail = (o.stdout[-2000:] + "\n" + o.stderr[-1500:]).strip()
            raise BenchError(f"{p.requirement}: {' '.join(argv)}: exit code {o.code}\n{tail}")
        if sc.tool == "aftershock":
            m = SUMMARY.search(last_line(o.stdout))
            if not m:
                raise BenchError(f"{' '.join(argv)}: no summary line:\n{o.stdout[-500:]}")
            return o, int(m.group(1)), set()
        mods = junit_modules(self.junit, p.path)
        return o, len(mods), mods

    def settle(self, p: Project, sc: Scenario) -> None:
        """Run `sc`'s tool on the unchanged tree, unmeasured, until it has nothing to run."""
        plain = Scenario("settle", "", sc.tool, sc.args)
        for _ in range(2):
            _, ran, _ = self.execute(p, plain)
            self.log(f"  settle {sc.tool}: {ran} modules run")
            if ran == 0:
                return
        p.warnings.append(f"{sc.key}: the unchanged tree still ran modules after a warm-up")

    def measure(self, p: Project, sc: Scenario) -> Outcome:
        if sc.edit or sc.key.endswith("cached"):
            self.settle(p, sc)
        path = p.path / (p.leaf if sc.edit == "leaf" else p.core) if sc.edit else None
        original = path.read_bytes() if path else b""
        try:
            if path:
                sep = b"" if original.endswith(b"\n") or not original else b"\n"
                path.write_bytes(original + sep
                                 + f"_bench_token_{secrets.token_hex(6)} = 1\n".encode())
            o, ran, _ = self.execute(p, sc)
        finally:
            if path:
                path.write_bytes(original)
        sc.times.append(o.seconds)
        sc.modules_run.append(ran)
        if o.selection is not None:
            sc.selection.append(o.selection)
        self.log(f"  {p.requirement} {sc.key:15s} {fmt_time(o.seconds):>9s}  {ran} modules run")
        return o

    def warm_up(self, p: Project) -> tuple[dict[str, int], set[str]]:
        """Untimed: plain pytest (it passes; bytecode written), the parse cache, and what
        `aftershock affected` says of the leaf and the core. Returns pytest's counts and
        modules."""
        o, _, mods = self.execute(p, p.scenarios[0])
        self.log(f"{p.requirement}: pytest {fmt_time(o.seconds)}, {len(mods)} modules")
        g = run([self.args.bin, "graph", "-q", "--python", self.python], p.path, self.env,
                self.args.timeout)
        if g.code != 0:
            raise BenchError(f"aftershock graph: exit code {g.code}\n{g.stderr[-1500:]}")
        for kind in ("leaf", "core"):
            a = run([self.args.bin, "affected", "-q", "--json", "--python", self.python,
                     "--files", getattr(p, kind), "--"] + p.tests, p.path, self.env,
                    self.args.timeout)
            try:
                d = json.loads(a.stdout)
                p.affected[kind] = f"{d['count']} of {d['total']}"
            except (ValueError, KeyError):
                p.affected[kind] = f"? (exit {a.code})"
        return counts(last_line(o.stdout)), mods

    def compare(self, p: Project, want: dict[str, int], pytest_mods: set[str],
                cold: Outcome) -> None:
        """aftershock's test modules and tests against plain pytest's."""
        ash_mods = {m.group(1) for m in map(MODULE_LINE.match, cold.stderr.splitlines()) if m}
        got, ref = (sum(c.get(k, 0) for k in ("passed", "skipped"))
                    for c in (counts(last_line(cold.stdout)), want))
        if got != ref:
            p.warnings.append(f"aftershock cold: {got} tests passed or skipped, plain pytest "
                              f"{ref}")
        text = (f"test modules: aftershock {len(ash_mods)}, plain pytest {len(pytest_mods)} "
                f"with a test case")
        for path in sorted(ash_mods - pytest_mods):
            c = run([self.python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                     "--collect-only", path], p.path, self.env, self.args.timeout)
            why = "no tests in it" if c.code == 5 else f"pytest --collect-only: exit {c.code}"
            text += f"; only aftershock: `{path}` ({why})"
            if c.code != 5:
                p.warnings.append(f"aftershock runs `{path}`, plain pytest did not")
        for path in sorted(pytest_mods - ash_mods):
            text += f"; only pytest: `{path}`"
            p.warnings.append(f"plain pytest ran `{path}`, aftershock did not")
        p.notes.append(text)


# --------------------------------------------------------------------------------------------
# Report


def versions(python: str, binary: str) -> str:
    code = ("import sys, importlib.metadata as m\n"
            "print('Python ' + sys.version.split()[0] + ', ' + ', '.join(d + ' ' + m.version(d)"
            " for d in ('pytest', 'pytest-testmon', 'coverage', 'pytest-xdist')))")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True)
    ash = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    return f"{out.stdout.strip() or out.stderr.strip()[-200:]}, {ash or 'aftershock ?'}"


def report(projects: list[Project], args: argparse.Namespace, python: str, load: float,
           started: float) -> str:
    lines = [
        "## Test selection on real suites: aftershock and pytest-testmon",
        "",
        f"- date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: {machine()}",
        f"- versions: {versions(python, args.bin)} (binary copied from `{args.bin_source}`); "
        f"the venv: `{REQUIREMENTS.relative_to(HERE.parent)}`",
        f"- {args.runs} interleaved round{'s' if args.runs > 1 else ''}, medians; aftershock "
        f"-j {args.jobs}; pytest-testmon "
        + (f"-n {args.testmon_jobs} (pytest-xdist)" if args.testmon_jobs > 1
           else "in one process") + f"; benchmark wall time "
        f"{fmt_time(time.perf_counter() - started)}; load average before {load:.2f}, after "
        f"{os.getloadavg()[0]:.2f}",
        "- scenarios: *cold*: no stored results (aftershock: `.aftershock/cache` removed, the "
        "parse cache kept; testmon: `.testmondata` removed); *nothing changed*: after a run "
        "of the same tree; *leaf* / *core changed*: `_bench_token_<random> = 1` appended to "
        "the project's leaf / core module, from a state with nothing to run, the file put "
        "back after the measured run. modules run: aftershock's summary line; pytest and "
        "testmon: the modules in their JUnit report (a module without test cases is not).",
    ]
    for p in projects:
        scs = [s for s in p.scenarios if s.times]
        base = statistics.median(p.scenarios[0].times) if p.scenarios[0].times else None
        lines += ["", f"### {p.requirement.replace('==', ' ')}", "",
                  f"- tests: `{' '.join(p.tests)}`; leaf `{p.leaf}` (`aftershock affected`: "
                  f"{p.affected.get('leaf', '?')} test modules), core `{p.core}` "
                  f"({p.affected.get('core', '?')}): {p.why}"]
        lines += [f"- {n}" for n in p.notes] + [f"- warning: {w}" for w in p.warnings]
        lines += ["", "| scenario | wall (median) | range | modules run | vs plain pytest |",
                  "|---|--:|--:|--:|--:|"]
        for s in scs:
            t = statistics.median(s.times)
            spread = (f"{fmt_time(min(s.times))} – {fmt_time(max(s.times))}"
                      if len(s.times) > 1 else "1 run")
            mods = "/".join(str(x) for x in sorted(set(s.modules_run)))
            ratio = (f"{t / base:.2f}×" if t >= 0.1 * base else f"{t / base:.3f}×") if base \
                else "n/a"
            lines.append(f"| {s.label} | {fmt_time(t)} | {spread} | {mods} | {ratio} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Driver


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the top of this file for what is measured and how.")
    ap.add_argument("--bin", default=str(HERE.parent / "build" / "aftershock"),
                    help="the aftershock binary to measure (default build/aftershock)")
    ap.add_argument("--projects", default="networkx==3.4.2",
                    help=f"comma-separated NAME==VERSION sdists, NAME one of "
                         f"{', '.join(PROJECTS)} (default networkx==3.4.2)")
    ap.add_argument("--runs", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="aftershock -j (default 2)")
    ap.add_argument("--testmon-jobs", type=int, default=1,
                    help="run pytest-testmon with -n N (pytest-xdist) when N > 1 (default 1)")
    ap.add_argument("--work", type=Path, default=HERE / ".work",
                    help="where the venv and the projects are kept (default benchmarks/.work)")
    ap.add_argument("--out", type=Path, help="also write the Markdown report to this file")
    ap.add_argument("--json", type=Path, help="write every measurement to this JSON file")
    ap.add_argument("--timeout", type=float, default=1800,
                    help="seconds before a command is killed (default 1800)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every measurement")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    binary = shutil.which(args.bin) if os.sep not in args.bin else args.bin
    if not binary or not os.access(binary, os.X_OK):
        ap.error(f"--bin {args.bin}: not an executable file (build it with `make build`)")

    started, load = time.perf_counter(), os.getloadavg()[0]
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    args.bin_source = os.path.relpath(os.path.abspath(binary))
    args.bin = str(work / "suite-aftershock")
    shutil.copy2(binary, args.bin)  # a rebuild during the benchmark must not change it
    tmp = tempfile.TemporaryDirectory(prefix="suite_bench-")
    try:
        venv = ensure_venv(work)
        python = str(venv / "bin" / "python")
        bench = Bench(args, python, Path(tmp.name))
        projects = [ensure_project(work, venv, r.strip()) for r in args.projects.split(",")]
        baselines = {}
        for p in projects:
            p.scenarios = bench.scenarios(p)
            baselines[p.requirement] = bench.warm_up(p)
        for i in range(args.runs):
            bench.log(f"round {i + 1}/{args.runs}")
            for p in projects:
                for sc in p.scenarios:
                    o = bench.measure(p, sc)
                    if i == 0 and sc.key == "cold":
                        bench.compare(p, *baselines[p.requirement], o)
    except (BenchError, subprocess.CalledProcessError) as e:
        print(f"suite_bench: {e}", file=sys.stderr)
        return 1
    finally:
        tmp.cleanup()

    table = report(projects, args, python, load, started)
    records = [{"project": p.requirement, "tests": p.tests, "leaf": p.leaf, "core": p.core,
                "affected": p.affected, "notes": p.notes, "warnings": p.warnings,
                "scenarios": [{"key": s.key, "argv": s.args, "seconds": s.times,
                               "modules_run": s.modules_run, "selection": s.selection}
                              for s in p.scenarios]} for p in projects]
    benchutil.emit(table, args.out, args.json, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
