"""The shared remote cache end to end: `aftershock run` against a real nginx WebDAV store, the
way CI machines share results. Each machine is its own checkout of one small project with its
own `.aftershock/`; what they share is the server. Checked: results written by one machine are
replayed on another, scopes keep branches apart, a broken, slow or refusing server costs one
warning and never the run, and `--cache-summary` reports where each result came from."""

import hashlib
import json
import re
import time

import pytest

from conftest import ran
from remote_server import (  # noqa: F401 (fixtures used by name)
    closed_port_url, dav_server, dav_server_factory, remote_env, slow_server)

PROJECT = {
    "pyproject.toml": (
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src"]\n\n'
        '[tool.aftershock]\nenv = ["APP_MODE"]\n'
    ),
    "src/app/__init__.py": "",
    "src/app/core.py": "def add(a, b):\n    return a + b\n",
    "src/app/leaf.py": "from app.core import add\n\ndef double(x):\n    return add(x, x)\n",
    "src/app/other.py": "def other():\n    return 'other'\n",
    "tests/conftest.py": "import pytest\n\n@pytest.fixture\ndef one():\n    return 1\n",
    "tests/helpers.py": "def two():\n    return 2\n",
    "tests/api/test_api.py": "from app.other import other\n\ndef test_api():\n    assert other()\n",
    "tests/test_core.py": (
        "from app.core import add\n\ndef test_add(one):\n    assert add(one, 1) == 2\n\n"
        "def test_skip():\n    import pytest\n    pytest.skip('not today')\n"
    ),
    "tests/test_leaf.py": (
        "from app.leaf import double\nfrom helpers import two\n\n"
        "def test_double():\n    assert double(1) == two()\n"
    ),
    "tests/test_other.py": "from app.other import other\n\ndef test_other():\n    assert other()\n",
}
MODULES = {"tests/api/test_api.py", "tests/test_core.py", "tests/test_leaf.py",
           "tests/test_other.py"}

# The same modules with other contents: other inputs, so other cache keys.
LEAF_EDITED = PROJECT["tests/test_leaf.py"] + "\n\ndef test_four():\n    assert double(2) == 4\n"
OTHER_EDITED = PROJECT["tests/test_other.py"] + "\n\ndef test_again():\n    assert other()\n"

# A test module that stops the cache server when it runs: the run's lookups are done by then,
# its uploads are not. Sorts last, so with one worker it runs after every other module.
STOPPER = """\
import os, signal, socket, time

def test_stop_the_cache_server():
    os.kill(int(os.environ["CACHE_SERVER_PID"]), signal.SIGTERM)
    deadline = time.monotonic() + 10
    port = int(os.environ["CACHE_SERVER_PORT"])
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
        except ConnectionRefusedError:
            return
        time.sleep(0.01)
    raise AssertionError("the cache server still accepts connections")
"""

HEX64 = re.compile(r"[0-9a-f]{64}")
WARNING = "aftershock: remote cache "
# What one upload of PROJECT puts under <scope>/ac/: a result and a duration per module, and
# the state snapshot.
AC_PER_UPLOAD = 2 * 4 + 1


@pytest.fixture
def machine(tmp_path, make_tree, git_init):
    """machine(name, {path: content}): a fresh checkout of PROJECT (those files replaced or
    added) in its own directory, standing for one CI machine."""

    def _machine(name, changes=None):
        return git_init(make_tree(tmp_path / name, {**PROJECT, **(changes or {})}))

    return _machine


@pytest.fixture
def run_on(ash):
    """run_on(root, *args, remote=URL, env={...}, jobs=2, check=0): `aftershock run` in root,
    with AFTERSHOCK_REMOTE=remote (None: the variable unset) and no other remote variable
    from the surroundings."""

    def _run(root, *args, remote=None, env=None, jobs=2, check=0):
        return ash(root, "run", "-j", str(jobs), *args, env=remote_env(remote, **(env or {})),
                   check=check)

    return _run


def summary(proc):
    return proc.stdout.strip().splitlines()[-1]


def remote_warnings(proc):
    return [line for line in proc.stderr.splitlines() if line.startswith(WARNING)]


def cache_summary(path):
    """The --cache-summary file, remote hit counts of zero left out (a scope without hits may
    be listed or not)."""
    data = json.loads(path.read_text())
    data["hits"]["remote"] = {k: v for k, v in data["hits"]["remote"].items() if v}
    return data


def expect(data, **fields):
    """Compare the summary's fields named (nested dicts whole); others are not looked at."""
    assert {k: data.get(k) for k in fields} == fields, data


def test_results_written_on_one_machine_replay_on_another(dav_server, machine, run_on, tmp_path):
    a, b = machine("a"), machine("b")
    written = run_on(a, "--remote-write", "--cache-summary", tmp_path / "a.json",
                     remote=dav_server.url)
    assert set(ran(written)) == MODULES
    assert remote_warnings(written) == []
    expect(cache_summary(tmp_path / "a.json"), modules=4, run=4, replayed=0, misses=4,
           cache_hit="none", hits={"local": 0, "remote": {}},
           remote={"url": dav_server.url, "status": "ok", "error": None, "written": 4})
    # four results and the state snapshot; blobs are named by the SHA-256 of their bytes
    results = dav_server.ac("default")
    assert len(results) == AC_PER_UPLOAD and all(HEX64.fullmatch(p.name) for p in results)
    blobs = dav_server.cas()
    assert blobs and all(p.name == hashlib.sha256(p.read_bytes()).hexdigest() for p in blobs)

    before = len(dav_server.requests())
    replayed = run_on(b, "--cache-summary", tmp_path / "b.json", remote=dav_server.url)
    assert ran(replayed) == {}
    assert re.fullmatch(r"4 passed, 1 skipped in .*; 0 modules run, 4 replayed",
                        summary(replayed)), replayed.stdout
    expect(cache_summary(tmp_path / "b.json"), run=0, replayed=4, misses=0, cache_hit="full",
           hits={"local": 0, "remote": {"default": 4}}, state={"restored_from": "default"})
    assert dav_server.count("PUT", since=before) == 0

    # the remote hits were kept locally: the next run asks the server nothing
    before = len(dav_server.requests())
    local = run_on(b, "--cache-summary", tmp_path / "b2.json", remote=dav_server.url)
    assert ran(local) == {} and summary(local).endswith("0 modules run, 4 replayed")
    assert [r for r in dav_server.requests()[before:] if r.method == "GET"] == []
    expect(cache_summary(tmp_path / "b2.json"), hits={"local": 4, "remote": {}},
           state={"restored_from": None})


def test_without_remote_write_nothing_is_uploaded(dav_server, machine, run_on):
    proc = run_on(machine("a"), remote=dav_server.url)
    assert set(ran(proc)) == MODULES
    assert remote_warnings(proc) == []
    assert dav_server.count("GET", status=404) >= 4  # each module was looked up
    assert dav_server.count("PUT") == 0
    assert dav_server.files("") == []


def test_corrupt_blob_runs_only_its_module(dav_server, machine, run_on):
    run_on(machine("a"), "--remote-write", remote=dav_server.url)
    leaf = [p for p in dav_server.cas() if b'name="test_double"' in p.read_bytes()]
    assert len(leaf) == 1, "one blob holds test_leaf.py's JUnit test cases"
    blob = leaf[0]
    # still well-formed, only the digest tells: replaying it would report a test that is not
    blob.write_bytes(blob.read_bytes().replace(b'name="test_double"', b'name="test_triple"'))

    proc = run_on(machine("b"), remote=dav_server.url)
    assert ran(proc) == {"tests/test_leaf.py": "passed"}
    assert summary(proc).endswith("1 module run, 3 replayed"), proc.stdout
    assert any(blob.name in line for line in proc.stderr.splitlines()), proc.stderr
    assert "test_triple" not in proc.stdout


def test_server_stopped_before_the_uploads(dav_server, machine, run_on):
    run_on(machine("a"), "--remote-write", remote=dav_server.url)
    before = len(dav_server.requests())
    b = machine("b", {"tests/test_zz_stop.py": STOPPER})
    proc = run_on(b, "--remote-write", remote=dav_server.url, jobs=1, env={
        "CACHE_SERVER_PID": str(dav_server.pid), "CACHE_SERVER_PORT": str(dav_server.port)})
    # the lookups were answered; the uploads after the stop failed, and said so once
    assert ran(proc) == {"tests/test_zz_stop.py": "passed"}
    assert summary(proc).endswith("1 module run, 4 replayed"), proc.stdout
    assert dav_server.count("GET", status=200, since=before) >= 4
    warnings = remote_warnings(proc)
    assert len(warnings) == 1 and dav_server.url in warnings[0], proc.stderr


def test_unreachable_server_is_one_warning(closed_port_url, machine, run_on, tmp_path):
    proc = run_on(machine("a"), "--remote-write", "--cache-summary", tmp_path / "s.json",
                  remote=closed_port_url)
    assert set(ran(proc)) == MODULES
    warnings = remote_warnings(proc)
    assert len(warnings) == 1 and closed_port_url in warnings[0], proc.stderr
    data = cache_summary(tmp_path / "s.json")
    expect(data, run=4, replayed=0, misses=4, cache_hit="none")
    assert data["remote"]["status"] == "failed" and data["remote"]["error"], data
    assert data["remote"]["written"] == 0


def test_slow_server_is_abandoned_after_one_timeout(slow_server, machine, run_on, ash):
    timeout = 1
    a = machine("a")
    start = time.monotonic()
    run_on(a, jobs=1)  # how long a run takes here without a remote
    alone = time.monotonic() - start
    # results gone, the state kept: the run looks up each module on the server
    ash(a, "cache", "clear", env=remote_env(), check=0)
    start = time.monotonic()
    proc = run_on(a, "--remote-write", remote=slow_server.url, jobs=1,
                  env={"AFTERSHOCK_REMOTE_TIMEOUT": str(timeout)})
    elapsed = time.monotonic() - start
    assert set(ran(proc)) == MODULES
    warnings = remote_warnings(proc)
    assert len(warnings) == 1 and slow_server.url in warnings[0], proc.stderr
    assert slow_server.accepted >= 1
    # Waiting once per request (four lookups, four uploads, the state) would cost nine
    # timeouts more than a run without a remote; giving up on the server after the first, one.
    assert elapsed - alone < 2 * timeout + 3, (elapsed, alone)


def test_scopes_keep_branches_apart(dav_server, machine, run_on):
    run_on(machine("a"), "--remote-write", "--scope", "main", remote=dav_server.url)
    main = {p.name: p.read_bytes() for p in dav_server.ac("main")}
    assert len(main) == AC_PER_UPLOAD

    hit = run_on(machine("b1"), "--scope", "pr-1", "--read-scopes", "main",
                 remote=dav_server.url)
    assert ran(hit) == {} and summary(hit).endswith("0 modules run, 4 replayed"), hit.stdout

    # main is not read: everything runs, and is written under pr-1 only
    puts_to_main = dav_server.count("PUT", under="main")
    miss = run_on(machine("b2"), "--scope", "pr-1", "--remote-write", remote=dav_server.url)
    assert set(ran(miss)) == MODULES
    pr = dav_server.ac("pr-1")
    assert len(pr) == AC_PER_UPLOAD
    assert {p.name: p.read_bytes() for p in dav_server.ac("main")} == main
    assert dav_server.count("PUT", under="main") == puts_to_main
    # the names hash the scope in: a server that ignored the path would still keep them apart
    assert {p.name for p in pr}.isdisjoint(main)
    assert sorted(p.name for p in (dav_server.root / "cache").iterdir()) == [
        "cas", "main", "pr-1"]


@pytest.mark.parametrize("auth, credentials", [
    (("basic", "ci", "s3cret-pw"),
     {"AFTERSHOCK_REMOTE_USER": "ci", "AFTERSHOCK_REMOTE_PASSWORD": "s3cret-pw"}),
    (("bearer", "tok-5f2c9a"), {"AFTERSHOCK_REMOTE_TOKEN": "tok-5f2c9a"}),
], ids=["basic", "bearer"])
def test_credentials_come_from_the_environment(dav_server_factory, machine, run_on, auth,
                                               credentials):
    server = dav_server_factory(auth=auth)
    written = run_on(machine("a"), "--remote-write", remote=server.url, env=credentials)
    assert set(ran(written)) == MODULES and remote_warnings(written) == [], written.stderr
    assert len(server.ac("default")) == AC_PER_UPLOAD

    refused = run_on(machine("b"), remote=server.url)
    assert set(ran(refused)) == MODULES
    warnings = remote_warnings(refused)
    assert len(warnings) == 1 and "401" in warnings[0], refused.stderr

    hit = run_on(machine("c"), remote=server.url, env=credentials)
    assert ran(hit) == {} and summary(hit).endswith("0 modules run, 4 replayed"), hit.stdout


def test_test_code_cannot_read_the_credentials(dav_server, machine, run_on):
    peek = ("import os\n\ndef test_peek():\n"
            "    assert 'AFTERSHOCK_REMOTE_TOKEN' not in os.environ\n"
            "    assert 'AFTERSHOCK_REMOTE_PASSWORD' not in os.environ\n")
    root = machine("a", {"tests/test_peek.py": peek})
    # a working remote, one refused at set-up, and none (--force: the module runs each time)
    for remote in (dav_server.url, "ftp://nowhere/x", None):
        proc = run_on(root, "tests/test_peek.py", "--force", remote=remote,
                      env={"AFTERSHOCK_REMOTE_TOKEN": "tok", "AFTERSHOCK_REMOTE_PASSWORD": "pw"})
        assert ran(proc) == {"tests/test_peek.py": "passed"}, (remote, proc.stdout)


def test_credentials_in_pyproject_are_refused(dav_server, machine, run_on):
    url = dav_server.url.replace("http://", "http://ci:s3cret-pw@")
    a = machine("a", {"pyproject.toml": PROJECT["pyproject.toml"] + f'remote = "{url}"\n'})
    proc = run_on(a, "--remote-write")
    assert set(ran(proc)) == MODULES
    assert dav_server.requests() == []
    assert any("remote" in line for line in proc.stderr.splitlines()), proc.stderr
    assert "s3cret-pw" not in proc.stdout + proc.stderr


def test_cache_summary_counts_hits_per_scope(dav_server, machine, run_on, tmp_path):
    run_on(machine("a"), "--remote-write", "--cache-summary", tmp_path / "a.json",
           remote=dav_server.url, env={"AFTERSHOCK_SCOPE": "main"})
    expect(cache_summary(tmp_path / "a.json"), version=1, scope="main", read_scopes=[],
           state={"restored_from": None})

    # a branch that changed test_leaf.py: the other three come from main
    b = machine("b", {"tests/test_leaf.py": LEAF_EDITED})
    first = run_on(b, "--cache-summary", tmp_path / "b1.json", remote=dav_server.url,
                   env={"AFTERSHOCK_SCOPE": "pr-42", "AFTERSHOCK_READ_SCOPES": "main"})
    assert set(ran(first)) == {"tests/test_leaf.py"}
    expect(cache_summary(tmp_path / "b1.json"),
           version=1, scope="pr-42", read_scopes=["main"], modules=4, run=1, replayed=3,
           unaffected=0, hits={"local": 0, "remote": {"main": 3}}, misses=1,
           cache_hit="partial",
           remote={"url": dav_server.url, "status": "ok", "error": None, "written": 0},
           state={"restored_from": "main"})

    # test_leaf.py back as on main (a remote hit), test_other.py changed (a miss), the other
    # two as in the last run (local hits)
    (b / "tests/test_leaf.py").write_text(PROJECT["tests/test_leaf.py"])
    (b / "tests/test_other.py").write_text(OTHER_EDITED)
    second = run_on(b, "--scope", "pr-42", "--read-scopes", "main", "--cache-summary",
                    tmp_path / "b2.json", remote=dav_server.url)
    assert set(ran(second)) == {"tests/test_other.py"}
    expect(cache_summary(tmp_path / "b2.json"),
           scope="pr-42", read_scopes=["main"], modules=4, run=1, replayed=3,
           hits={"local": 2, "remote": {"main": 1}}, misses=1, cache_hit="partial",
           state={"restored_from": None})


def test_new_scope_starts_from_the_snapshot_of_its_base(dav_server, machine, run_on, tmp_path):
    run_on(machine("a"), "--remote-write", "--scope", "main", remote=dav_server.url)

    # the first run of a branch has no snapshot of its own: it takes main's, and writes its own
    b = machine("b", {"tests/test_other.py": OTHER_EDITED})
    run_on(b, "--remote-write", "--scope", "feature", "--read-scopes", "main",
           "--cache-summary", tmp_path / "b.json", remote=dav_server.url)
    expect(cache_summary(tmp_path / "b.json"), state={"restored_from": "main"})

    run_on(machine("c"), "--scope", "feature", "--read-scopes", "main", "--cache-summary",
           tmp_path / "c.json", remote=dav_server.url)
    expect(cache_summary(tmp_path / "c.json"), state={"restored_from": "feature"})


def test_remote_in_pyproject_and_the_variable_overrides_it(dav_server_factory, machine, run_on,
                                                           tmp_path):
    configured, other = dav_server_factory(), dav_server_factory()
    files = {"pyproject.toml": PROJECT["pyproject.toml"] + f'remote = "{configured.url}"\n'}

    written = run_on(machine("a", files), "--remote-write")
    assert set(ran(written)) == MODULES
    assert len(configured.ac("default")) == AC_PER_UPLOAD
    hit = run_on(machine("b", files))
    assert ran(hit) == {} and summary(hit).endswith("0 modules run, 4 replayed"), hit.stdout

    asked = len(configured.requests())
    elsewhere = run_on(machine("c", files), "--remote-write", remote=other.url)
    assert set(ran(elsewhere)) == MODULES
    assert len(other.ac("default")) == AC_PER_UPLOAD

    off = run_on(machine("d", files), "--cache-summary", tmp_path / "d.json", remote="")
    assert set(ran(off)) == MODULES and remote_warnings(off) == []
    assert cache_summary(tmp_path / "d.json")["remote"]["status"] == "off"
    assert configured.requests()[asked:] == []
