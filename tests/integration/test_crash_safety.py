"""What `aftershock run` leaves behind when it is killed, run four times at once, run beside
`cache prune`, or short of disk: never a result served that a clean run would not give.

Each check compares a run that may replay from the cache with `run --no-cache` on the same
tree: the outcome of every test (from the JUnit report, which a replay restores from the
cache) and pytest's counts must be equal, and no cache entry may be reported as damaged (a
reader never sees half an entry: entries are renamed into place)."""

import os
import random
import re
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import _check_sanitizers

# Three versions of the core module and two of the flag: six trees, whose outcomes differ.
CORES = [f"def scale(x):\n    return x * {k}\n" for k in (1, 2, 3)]
FLAGS = ["MODE = 'a'\n", "MODE = 'b'\n"]

PROJECT = {
    "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src"]\n',
    "src/lib/__init__.py": "",
    "src/lib/core.py": CORES[0],
    "src/lib/flag.py": FLAGS[0],
    "src/lib/calc.py": "from lib.core import scale\n\ndef triple(x):\n    return scale(x) * 3\n",
    "tests/test_core.py": (
        "from lib.core import scale\n\ndef test_one():\n    assert scale(1) == 1\n\n"
        "def test_positive():\n    assert scale(2) > 0\n"),
    "tests/test_calc.py": (
        "from lib.calc import triple\n\ndef test_triple():\n    assert triple(1) in (3, 6)\n"),
    "tests/test_flag.py": (
        "import pytest\nfrom lib.flag import MODE\n\ndef test_mode():\n    assert MODE == 'a'\n\n"
        "def test_skip_b():\n    if MODE == 'b':\n        pytest.skip('b')\n"),
    "tests/test_mixed.py": (
        "from lib.core import scale\nfrom lib.flag import MODE\n\n"
        "def test_mixed():\n    assert (scale(1), MODE) != (3, 'b')\n"),
    "tests/test_plain.py": "def test_plain():\n    assert True\n",
    "tests/test_slow.py": (
        "import time\nfrom lib.core import scale\n\ndef test_slow():\n    time.sleep(0.2)\n"
        "    assert scale(0) == 0\n"),
}

DAMAGE = re.compile(r"checksum|truncated|not a cache entry|removed|corrupt", re.I)


@pytest.fixture
def tree(tmp_path, make_tree, git_init):
    return git_init(make_tree(tmp_path / "proj", PROJECT))


@pytest.fixture
def env(python_wrapper):
    e = dict(os.environ, VIRTUAL_ENV=str(python_wrapper))
    for name in ("AFTERSHOCK_CACHE_DIR", "PYTEST_ADDOPTS"):
        e.pop(name, None)
    return e


def set_state(root, core, flag):
    (root / "src/lib/core.py").write_text(CORES[core])
    (root / "src/lib/flag.py").write_text(FLAGS[flag])


def outcomes(junit_path):
    """{test id: outcome} from a JUnit report."""
    out = {}
    for case in ET.parse(junit_path).getroot().iter("testcase"):
        kinds = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
        out[f"{case.get('classname')}::{case.get('name')}"] = kinds[0] if kinds else "passed"
    return out


def counts(stdout):
    """pytest's counts from the summary line: '3 passed, 1 failed' (without the time)."""
    last = stdout.strip().splitlines()[-1]
    return last.split(" in ")[0]


def verify_against_clean_run(binary, root, env, tmp_path, label):
    """A run that may replay from the cache equals a --no-cache run, and reports no damage."""
    results = []
    for extra in ([], ["--no-cache"]):
        junit = tmp_path / f"junit-{label}-{len(results)}.xml"
        proc = subprocess.run([str(binary), "run", "-j", "2", "--junitxml", str(junit), *extra],
                              cwd=root, env=env, capture_output=True, text=True, timeout=300)
        _check_sanitizers(proc)
        assert proc.returncode in (0, 1), (label, proc.stdout, proc.stderr)
        assert not DAMAGE.search(proc.stderr), (label, proc.stderr)
        results.append((proc.returncode, counts(proc.stdout), outcomes(junit)))
    assert results[0] == results[1], label


def cache_files(root):
    cache = root / ".aftershock" / "cache"
    return [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []


def processes_in(root):
    """Pids of the processes whose working directory is `root` (workers run there)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.readlink(f"/proc/{entry}/cwd") == str(root):
                pids.append(int(entry))
        except OSError:
            pass
    return pids


def test_sigkill_at_random_moments_never_serves_a_damaged_result(tree, env, fast_bin,
                                                                 aftershock_bin, tmp_path):
    """100 runs killed with SIGKILL at random moments over six trees, then each tree's run
    equals a clean run. The kills use the optimised binary (the timing is what matters); the
    checks the sanitized one. A killed run's workers die with it, and the scratch
    directories it could not remove are removed by a later run."""
    rng = random.Random(int(os.environ.get("AFTERSHOCK_KILL_SEED", "20261121")))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(env, TMPDIR=str(scratch))
    start = time.monotonic()
    proc = subprocess.run([str(fast_bin), "run", "-j", "2"], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    full = time.monotonic() - start
    kills = 0
    for _ in range(100):
        set_state(tree, rng.randrange(3), rng.randrange(2))
        p = subprocess.Popen([str(fast_bin), "run", "-j", "2"], cwd=tree, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, full))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait(timeout=60)
    assert kills >= 50, f"only {kills} of 100 runs were still running when killed ({full:.2f} s)"
    deadline = time.monotonic() + 10
    while processes_in(tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_in(tree) == [], "workers of a killed run outlived it"
    # what the kills left is never a temporary file that looks like an entry
    for path in cache_files(tree):
        assert re.fullmatch(r"[0-9a-f]{32}|CACHEDIR\.TAG|last-run|\..*\.tmp", path.name), path
    stale = list(scratch.glob("aftershock-*"))
    assert stale, "the killed runs left no scratch directory: nothing to sweep"
    for d in stale:
        os.utime(d, (time.time() - 120, time.time() - 120))
    for core in range(3):
        for flag in range(2):
            set_state(tree, core, flag)
            verify_against_clean_run(aftershock_bin, tree, env, tmp_path, f"core{core}-flag{flag}")
    assert list(scratch.glob("aftershock-*")) == []


def test_four_concurrent_runs_and_a_prune(tree, env, aftershock_bin, tmp_path):
    for core in range(3):
        set_state(tree, core, core % 2)
        procs = [subprocess.Popen([str(aftershock_bin), "run", "-j", "1"], cwd=tree, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        prune = subprocess.Popen([str(aftershock_bin), "cache", "prune", "--max-size", "2000"],
                                 cwd=tree, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        outs = []
        for p in procs + [prune]:
            out, err = p.communicate(timeout=300)
            _check_sanitizers(subprocess.CompletedProcess([], p.returncode, out, err))
            assert not DAMAGE.search(err), err
            outs.append((p.returncode, counts(out) if p is not prune else ""))
        assert len({o for o in outs[:4]}) == 1, outs
        assert outs[4][0] == 0
        verify_against_clean_run(aftershock_bin, tree, env, tmp_path, f"concurrent{core}")


def namespace_runner():
    """argv prefix running a shell in a private mount namespace, or None where this system
    allows none (no unshare, or user namespaces disabled)."""
    if not shutil.which("unshare"):
        return None
    argv = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c"]
    probe = subprocess.run(argv + ["mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True)
    return argv if probe.returncode == 0 else None


def run_in_namespace(prefix, script, binary, root, env, *args):
    quoted = " ".join(f"'{a}'" for a in (str(binary), "run", "-j", "1", *args))
    return subprocess.run(prefix + [f"{script} && cd '{root}' && exec {quoted}"], env=env,
                          capture_output=True, text=True, timeout=300)


def test_full_disk_warns_runs_the_tests_and_caches_nothing_wrong(tree, env, aftershock_bin,
                                                                 tmp_path):
    prefix = namespace_runner()
    if prefix is None:
        pytest.skip("cannot mount a small file system here (no user namespaces)")
    cache = tmp_path / "cache"
    cache.mkdir()
    env = dict(env, AFTERSHOCK_CACHE_DIR=str(cache))
    # 40 KiB: room for the CACHEDIR.TAG and a few entries, not for every blob
    script = f"mount -t tmpfs -o size=40k tmpfs '{cache}' && " \
             f"head -c 36000 /dev/zero > '{cache}/filler'"
    proc = run_in_namespace(prefix, script, aftershock_bin, tree, env)
    _check_sanitizers(proc)
    assert proc.returncode == 0, proc.stderr
    assert counts(proc.stdout) == "8 passed", proc.stdout
    assert re.search(r"No space left on device", proc.stderr), proc.stderr
    assert len([ln for ln in proc.stderr.splitlines() if "No space left" in ln]) <= 2
    # whatever made it into the cache is right
    verify_against_clean_run(aftershock_bin, tree, dict(env, AFTERSHOCK_CACHE_DIR=str(
        tmp_path / "empty-cache")), tmp_path, "after-full-disk")


def test_read_only_cache_warns_and_runs_the_tests(tree, env, aftershock_bin, tmp_path):
    prefix = namespace_runner()
    if prefix is None:
        pytest.skip("cannot make a read-only mount here (no user namespaces)")
    cache = tmp_path / "cache"
    cache.mkdir()
    first = subprocess.run([str(aftershock_bin), "run", "-j", "1"], cwd=tree, capture_output=True,
                           text=True, env=dict(env, AFTERSHOCK_CACHE_DIR=str(cache)))
    assert first.returncode == 0, first.stderr
    before = sorted((p, p.stat().st_size) for p in cache.rglob("*"))
    (tree / "tests/test_plain.py").write_text(PROJECT["tests/test_plain.py"] + "# edited\n")
    script = f"mount --bind '{cache}' '{cache}' && mount -o remount,bind,ro '{cache}'"
    proc = run_in_namespace(prefix, script, aftershock_bin, tree,
                            dict(env, AFTERSHOCK_CACHE_DIR=str(cache)))
    _check_sanitizers(proc)
    assert proc.returncode == 0, proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if "not writable" in ln]
    assert len(warnings) == 1 and "Read-only file system" in warnings[0], proc.stderr
    assert "1 module run, 5 replayed" in proc.stdout
    assert sorted((p, p.stat().st_size) for p in cache.rglob("*")) == before
