"""Helpers of the worker plugin tests: run `python -m pytest -p aftershock_worker` the way
`aftershock run` does, and read back what it reported (events and result files).

The result parser is strict on purpose: it accepts exactly the grammar of selector/src/result.h,
so a test that reads a result also checks that the C side could read it.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO / "selector" / "python"
REPORT_SCRIPT = PLUGIN_DIR / "aftershock_report.py"

COUNT_NAMES = ("passed", "failed", "skipped", "errors", "xfailed", "xpassed")


def clean_env(**extra):
    """This environment without what would change how pytest or coverage run in a child
    (the outer run's addopts, coverage or pytest-cov subprocess hooks, a worker's variables)."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "COV_CORE_", "COVERAGE_", "AFTERSHOCK_"))
    }
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PLUGIN_DIR)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["COLUMNS"] = "80"  # pytest's terminal width, to compare with the plugin's output
    # Entry-point plugins (xdist, pytest-cov) cost a second per session; tests that want one
    # name it with -p.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.update(extra)
    return env


def write_project(root, files):
    """Write {relative path: text} under root; returns root."""
    root = Path(root)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def parse_result(data: bytes) -> dict:
    """A result file's fields: module (str), counts (dict), duration (float), collected (int),
    and the blobs (str); AssertionError on any deviation from the grammar."""
    magic = b"ASHW 1\n"
    assert data.startswith(magic), data[:20]
    pos, fields = len(magic), {}
    while True:
        nl = data.index(b"\n", pos)
        line = data[pos:nl].decode("utf-8")
        pos = nl + 1
        if line == "end":
            assert pos == len(data), "bytes after end"
            break
        name, _, value = line.partition(" ")
        assert name not in fields, "field %s twice" % name
        assert fields or name == "module", "module must come first"
        if name == "module":
            assert value
            fields[name] = value
        elif name == "counts":
            numbers = value.split(" ")
            assert len(numbers) == 6 and all(re.fullmatch(r"[0-9]+", n) for n in numbers), line
            fields[name] = dict(zip(COUNT_NAMES, map(int, numbers)))
        elif name == "duration":
            assert re.fullmatch(r"[0-9]+(\.[0-9]+)?", value), line
            fields[name] = float(value)
        elif name == "collected":
            assert re.fullmatch(r"[0-9]+", value), line
            fields[name] = int(value)
        elif name in ("junit", "output", "coverage"):
            assert re.fullmatch(r"[0-9]+", value), line
            end = pos + int(value)
            assert data[end:end + 1] == b"\n", "blob %s: no newline after %s bytes" % (name, value)
            fields[name] = data[pos:end].decode("utf-8")
            pos = end + 1
        else:
            raise AssertionError("unknown field %r" % line)
    assert "module" in fields
    return fields


class WorkerRun:
    """What one worker session left: its process, events and parsed results by module path."""

    def __init__(self, proc, events, results, index_of):
        self.proc = proc
        self.events = events  # [(event, module path)] in order
        self.results = results  # module path -> parse_result()
        self.index_of = index_of

    def events_of(self, module):
        return [event for event, mod in self.events if mod == module]

    def log(self):
        return "exit %s\n%s\n%s" % (self.proc.returncode, self.proc.stdout, self.proc.stderr)


def run_worker(root, modules, *args, **kwargs):
    """Run a worker in `root` on `modules` (paths relative to root) with extra pytest `args`;
    returns its WorkerRun. Keywords as start_worker's."""
    return start_worker(root, modules, *args, **kwargs).wait()


class _Started:
    def __init__(self, popen, read_end, results_dir, index_of, timeout):
        self.popen, self.read_end, self.results_dir = popen, read_end, results_dir
        self.index_of, self.timeout = index_of, timeout

    def wait(self):
        try:
            stdout, stderr = self.popen.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.communicate()
            raise
        finally:
            # A handful of short lines: the pipe's buffer holds them until the worker is done.
            with os.fdopen(self.read_end, "rb") as f:
                stream = f.read().decode("ascii")
        proc = subprocess.CompletedProcess(self.popen.args, self.popen.returncode, stdout, stderr)
        module_of = {index: rel for rel, index in self.index_of.items()}
        events = []
        for line in stream.splitlines():
            event, index = line.split(" ")
            assert event in ("start", "run", "done"), line
            events.append((event, module_of[index]))
        assert stream == "" or stream.endswith("\n")
        results = {}
        for path in self.results_dir.iterdir():
            assert path.suffix == ".res", "stray file %s in the results directory" % path.name
            fields = parse_result(path.read_bytes())
            assert module_of[path.stem] == fields["module"]
            results[fields["module"]] = fields
        return WorkerRun(proc, events, results, self.index_of)


def start_worker(root, modules, *args, cov=None, work=None, env=None, timeout=120):
    """Start a worker as run_worker does; .wait() on the result gives its WorkerRun.

    Modules get indices 100, 101, ... so that tests notice an index not taken from the list.
    `cov` is AFTERSHOCK_COV (None: unset). `work` is where the module list and results go
    (default: beside root). `env` adds variables (a value of None removes one)."""
    root = Path(root)
    work = Path(work) if work else root.parent / (root.name + "-worker")
    work.mkdir(parents=True, exist_ok=True)
    results_dir = work / "results"
    results_dir.mkdir(exist_ok=True)
    for old in results_dir.iterdir():
        old.unlink()
    index_of = {rel: str(100 + i) for i, rel in enumerate(modules)}
    listing = work / "modules"
    listing.write_bytes(b"".join(
        index_of[rel].encode() + b"\0" + os.fsencode(rel) + b"\0" for rel in modules))
    read_end, write_end = os.pipe()
    full_env = clean_env(
        AFTERSHOCK_ROOT=str(root), AFTERSHOCK_MODULES=str(listing),
        AFTERSHOCK_RESULTS=str(results_dir), AFTERSHOCK_FD=str(write_end))
    if cov is not None:
        full_env["AFTERSHOCK_COV"] = cov
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    command = [sys.executable, "-m", "pytest", "-p", "aftershock_worker",
               "--continue-on-collection-errors", "-q", "-p", "no:cacheprovider", *args,
               *[str(root / rel) for rel in modules]]
    try:
        popen = subprocess.Popen(command, cwd=root, env=full_env, pass_fds=[write_end],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 errors="replace")
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    return _Started(popen, read_end, results_dir, index_of, timeout)


def lines_by_file(coverage_json: dict) -> dict:
    """{file: set of lines} of a per-module coverage document (arcs reduced to lines)."""
    out = {}
    for name, entries in coverage_json["files"].items():
        if coverage_json["arcs"]:
            out[name] = {n for arc in entries for n in arc if n > 0}
        else:
            out[name] = set(entries)
    return out


def union(documents) -> dict:
    out = {}
    for doc in documents:
        for name, lines in lines_by_file(doc).items():
            out.setdefault(name, set()).update(lines)
    return out
