"""`aftershock run`, `affected`, `why` and `cache` end to end: real pytest runs on small
repositories made in tmp_path, checking which test modules run, which are replayed, and that
reports of a replayed run equal a full run's."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import MODULE_LINE, _check_sanitizers, ran

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
    "tests/api/conftest.py": "import pytest\n\n@pytest.fixture\ndef three():\n    return 3\n",
    "tests/api/test_api.py": (
        "from app.other import other\n\ndef test_api(three):\n    assert other() == 'other'\n"
        "    assert three == 3\n"
    ),
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


@pytest.fixture
def project(tmp_path, make_tree, git_init):
    root = make_tree(tmp_path / "proj", PROJECT)
    return git_init(root)


def summary(proc):
    return proc.stdout.strip().splitlines()[-1]


def test_first_run_runs_everything_second_replays(project, ash):
    first = ash(project, "run", "-j", "2", check=0)
    assert set(ran(first)) == {
        "tests/api/test_api.py", "tests/test_core.py", "tests/test_leaf.py", "tests/test_other.py"
    }
    assert re.search(r"^4 passed, 1 skipped in [0-9.]+s; 4 modules run, 0 replayed$",
                     summary(first), re.M), first.stdout
    second = ash(project, "run", check=0)
    assert ran(second) == {}
    assert re.search(r"^4 passed, 1 skipped in .*; 0 modules run, 4 replayed$", summary(second))
    assert "nothing to run" in second.stderr


def test_leaf_edit_runs_only_its_dependents(project, ash):
    ash(project, "run", check=0)
    (project / "src/app/leaf.py").write_text(
        "from app.core import add\n\ndef double(x):\n    return add(x, x)  # edited\n")
    assert set(ran(ash(project, "run", check=0))) == {"tests/test_leaf.py"}
    (project / "src/app/core.py").write_text("def add(a, b):\n    return b + a\n")
    assert set(ran(ash(project, "run", check=0))) == {"tests/test_core.py", "tests/test_leaf.py"}


def test_workers_collect_only_their_modules(project, ash):
    # workers are given directories; modules of those directories that need not run must
    # not even be imported
    ash(project, "run", check=0)
    (project / "tests/test_other.py").write_text(
        "open('imported-other', 'w').close()\n" + PROJECT["tests/test_other.py"])
    (project / "tests/test_core.py").write_text(
        "open('imported-core', 'w').close()\n" + PROJECT["tests/test_core.py"])
    assert set(ran(ash(project, "run", "--", "tests/test_other.py", check=0))) == {
        "tests/test_other.py"}
    assert (project / "imported-other").exists()
    assert not (project / "imported-core").exists()


def test_conftest_edit_runs_its_subtree(project, ash):
    ash(project, "run", check=0)
    conftest = project / "tests/api/conftest.py"
    conftest.write_text(conftest.read_text() + "# edited\n")
    assert set(ran(ash(project, "run", check=0))) == {"tests/api/test_api.py"}
    root_conftest = project / "tests/conftest.py"
    root_conftest.write_text(root_conftest.read_text() + "# edited\n")
    assert len(ran(ash(project, "run", check=0))) == 4


def test_helper_in_test_directory_is_an_input(project, ash):
    ash(project, "run", check=0)
    (project / "tests/helpers.py").write_text("def two():\n    return 3\n")
    proc = ash(project, "run", check=1)
    assert ran(proc) == {"tests/test_leaf.py": "failed"}
    assert "assert 2 == 3" in proc.stdout


def test_shadowing_module_runs_its_importers(project, ash):
    ash(project, "run", check=0)
    # tests/ is every test module's base directory, first on sys.path: a new tests/app.py
    # shadows the src/app package for all of them
    (project / "tests/app.py").write_text("raise ImportError('shadowed')\n")
    data = json.loads(ash(project, "affected", "--json", check=0).stdout)
    assert {m["path"]: m["reason"] for m in data["affected"]} == {
        "tests/api/test_api.py": "added", "tests/test_core.py": "changed",
        "tests/test_leaf.py": "changed", "tests/test_other.py": "changed"}
    proc = ash(project, "run", check=1)
    assert ran(proc) == {
        "tests/api/test_api.py": "error", "tests/test_core.py": "error",
        "tests/test_leaf.py": "error", "tests/test_other.py": "error"}
    assert "shadowed" in proc.stdout


def test_env_var_change_runs_everything(project, ash):
    ash(project, "run", check=0)
    assert ran(ash(project, "run", check=0)) == {}
    assert len(ran(ash(project, "run", env={"APP_MODE": "x"}, check=0))) == 4
    assert ran(ash(project, "run", env={"APP_MODE": "x"}, check=0)) == {}


def test_failing_module_runs_again(project, ash):
    (project / "tests/test_other.py").write_text("def test_other():\n    assert False, 'boom'\n")
    first = ash(project, "run", check=1)
    assert first.returncode == 1
    assert "boom" in first.stdout and "FAILURES" in first.stdout
    assert re.search(r"^1 failed, 3 passed, 1 skipped", summary(first), re.M)
    second = ash(project, "run", check=1)
    assert ran(second) == {"tests/test_other.py": "failed"}


def test_pytest_args_are_keyed_cosmetic_ones_are_not(project, ash):
    ash(project, "run", check=0)
    assert ran(ash(project, "run", "--", "-q", "--tb=short", check=0)) == {}
    assert len(ran(ash(project, "run", "--", "-k", "add or api or double or other", check=0))) == 4


def test_path_arguments_select_modules(project, ash):
    proc = ash(project, "run", "--", "tests/api", check=0)
    assert set(ran(proc)) == {"tests/api/test_api.py"}
    proc = ash(project, "run", "--", "tests/test_core.py::test_add", check=0)
    assert set(ran(proc)) == {"tests/test_core.py"}
    assert re.search(r"^1 passed in", summary(proc), re.M)


def test_junit_and_coverage_of_a_cached_run_equal_a_full_run(project, ash, tmp_path):
    pytest.importorskip("coverage")
    full_xml, cached_xml = tmp_path / "full.xml", tmp_path / "cached.xml"
    full = ash(project, "run", "--cov", "--junitxml", full_xml, check=0)
    full_cov = (project / "coverage.xml").read_text()
    cached = ash(project, "run", "--cov", "--junitxml", cached_xml, check=0)
    assert ran(cached) == {}
    cached_cov = (project / "coverage.xml").read_text()

    def cases(path):
        suite = ET.parse(path).getroot().find("testsuite")
        return suite.attrib["tests"], sorted(
            (c.get("classname"), c.get("name"), tuple(ch.tag for ch in c)) for c in suite)

    assert cases(full_xml) == cases(cached_xml)
    assert cases(full_xml)[0] == "5"

    def lines(xml):
        root = ET.fromstring(xml)
        return root.get("line-rate"), sorted(
            (c.get("filename"), l.get("number"), l.get("hits"))
            for c in root.iter("class") for l in c.iter("line"))

    assert lines(full_cov) == lines(cached_cov)
    assert float(lines(full_cov)[0]) > 0.5
    # the terminal report has the same total line
    total = [l for l in full.stdout.splitlines() if l.startswith("TOTAL")]
    assert total and total == [l for l in cached.stdout.splitlines() if l.startswith("TOTAL")]


def test_corrupt_entry_is_a_miss_with_a_warning(project, ash):
    ash(project, "run", check=0)
    entries = sorted((project / ".aftershock/cache/ac").rglob("*"))
    entries = [e for e in entries if e.is_file()]
    assert len(entries) == 4
    data = bytearray(entries[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    entries[0].write_bytes(bytes(data))
    proc = ash(project, "run", check=0)
    assert len(ran(proc)) == 1
    assert "removed" in proc.stderr
    assert ran(ash(project, "run", check=0)) == {}


def test_two_concurrent_runs(project, ash, aftershock_bin, python_wrapper):
    env = dict(os.environ, VIRTUAL_ENV=str(python_wrapper))
    env.pop("APP_MODE", None)
    env.pop("AFTERSHOCK_CACHE_DIR", None)
    procs = [subprocess.Popen([str(aftershock_bin), "run", "-j", "1"], cwd=project, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, (out, err)
        assert re.search(r"^4 passed, 1 skipped", out, re.M)
        _check_sanitizers(subprocess.CompletedProcess([], 0, out, err))
    assert ran(ash(project, "run", check=0)) == {}


def test_interrupt_keeps_completed_results(project, ash, aftershock_bin, python_wrapper):
    flag = project / "hang"
    flag.write_text("")
    (project / "tests/test_slow.py").write_text(
        "import os, time\n\ndef test_slow():\n    if os.path.exists('hang'):\n"
        "        time.sleep(60)\n")
    env = dict(os.environ, VIRTUAL_ENV=str(python_wrapper))
    env.pop("AFTERSHOCK_CACHE_DIR", None)
    env.pop("APP_MODE", None)
    p = subprocess.Popen([str(aftershock_bin), "run", "-j", "1", "--isolate"], cwd=project,
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = []
    for line in p.stderr:  # modules run in path order: test_slow is last
        if MODULE_LINE.match(line):
            done.append(line)
        if len(done) == 4:
            break
    time.sleep(1.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 2, (out, err)
    flag.unlink()
    # the four completed modules were kept; the interrupted one left nothing behind
    assert ran(ash(project, "run", check=0)) == {"tests/test_slow.py": "passed"}


def test_affected_and_why(project, ash):
    (project / "src/app/core.py").write_text("def add(a, b):\n    return a + b  # edited\n")
    proc = ash(project, "affected", check=0)
    assert proc.stdout.split() == ["tests/test_core.py", "tests/test_leaf.py"]
    data = json.loads(ash(project, "affected", "--json", check=0).stdout)
    assert {m["path"]: m["via"] for m in data["affected"]} == {
        "tests/test_core.py": "src/app/core.py", "tests/test_leaf.py": "src/app/core.py"}
    assert data["total"] == 4 and data["all"] is None
    why = ash(project, "why", "tests/test_leaf.py", check=0).stdout.splitlines()
    assert why == [
        "tests/test_leaf.py depends on src/app/core.py:",
        "  tests/test_leaf.py:1",
        "  src/app/leaf.py:1",
        "  src/app/core.py",
    ]
    other = ash(project, "why", "tests/test_other.py", "--changed", "src/app/core.py")
    assert other.returncode == 1 and "does not depend on" in other.stdout
    files = ash(project, "affected", "--files", "tests/api/conftest.py", check=0)
    assert files.stdout.split() == ["tests/api/test_api.py"]
    conf = ash(project, "affected", "--files", "pyproject.toml", check=0)
    assert len(conf.stdout.split()) == 4 and "pyproject.toml changed" in conf.stderr


def test_affected_deleted_module_and_no_git(project, ash, tmp_path, make_tree):
    (project / "src/app/other.py").unlink()
    out = ash(project, "affected", check=0).stdout.split()
    assert out == ["tests/api/test_api.py", "tests/test_other.py"]
    plain = make_tree(tmp_path / "nogit", PROJECT)
    proc = ash(plain, "affected", check=0)
    assert len(proc.stdout.split()) == 4
    assert "git" in proc.stderr


def test_cache_commands(project, ash):
    ash(project, "run", check=0)
    stats = json.loads(ash(project, "cache", "stats", "--json", check=0).stdout)
    assert stats["entries"] == 4 and stats["bytes"] > 0
    assert (project / ".aftershock/cache/CACHEDIR.TAG").read_text().startswith(
        "Signature: 8a477f597d28d172789f06886806bc55")
    pruned = json.loads(ash(project, "cache", "prune", "--max-size", "1", "--json", check=0).stdout)
    assert pruned["entries"] == 0
    assert len(ran(ash(project, "run", check=0))) == 4
    ash(project, "cache", "clear", check=0)
    assert json.loads(ash(project, "cache", "stats", "--json", check=0).stdout)["entries"] == 0
    assert ash(project, "cache", "bogus").returncode == 2


def test_nothing_collected_exits_5(tmp_path, make_tree, ash):
    root = make_tree(tmp_path / "empty", {"pyproject.toml": "", "src/m.py": "x = 1\n"})
    proc = ash(root, "run")
    assert proc.returncode == 5 and "no test modules" in proc.stdout


@pytest.mark.parametrize("body, why", [
    ("import os\n\ndef test_crash():\n    os._exit(3)\n", "exited with status 3"),
    ("import ctypes\n\ndef test_crash():\n    ctypes.string_at(0)\n",
     "killed by signal 11 (Segmentation fault)"),
])
def test_crashing_module_is_blamed_others_complete(project, ash, body, why):
    (project / "tests/test_crash.py").write_text(body)
    proc = ash(project, "run", "-j", "1", check=1)
    outcomes = ran(proc)
    assert outcomes.pop("tests/test_crash.py") == "crashed"
    assert set(outcomes.values()) == {"passed"} and len(outcomes) == 4
    assert f"tests/test_crash.py: the worker was {why}" in proc.stdout or \
        f"tests/test_crash.py: the worker {why}" in proc.stdout, proc.stdout
    # a crash is never cached: the module runs again
    assert ran(ash(project, "run", check=1)) == {"tests/test_crash.py": "crashed"}


def test_module_timeout_stops_a_hanging_module(project, ash):
    # test_a_hang sorts first: in one worker the other modules come after it
    (project / "tests/test_a_hang.py").write_text(
        "import time\n\ndef test_hang():\n    time.sleep(300)\n")
    proc = ash(project, "run", "-j", "1", "--module-timeout", "1.5", check=1)
    outcomes = ran(proc)
    assert outcomes.pop("tests/test_a_hang.py") == "crashed"
    assert set(outcomes.values()) == {"passed"} and len(outcomes) == 4
    assert "tests/test_a_hang.py: timed out after 1.5 s (--module-timeout)" in proc.stdout
    assert "test_a_hang.py:4: KeyboardInterrupt" in proc.stdout  # where it hung
    bad = ash(project, "run", "--module-timeout", "0")
    assert bad.returncode == 4 and "--module-timeout needs a number of seconds" in bad.stderr


def test_missing_interpreter_is_one_message_and_exit_3(project, ash, tmp_path):
    proc = ash(project, "run", "--python", str(tmp_path / "no-such-python"), check=3)
    assert f"{tmp_path / 'no-such-python'}: interpreter not found" in proc.stderr
    assert ran(proc) == {}


def test_interpreter_without_pytest_names_it(project, ash, tmp_path):
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    proc = ash(project, "run", "-j", "1", "--python", str(python), check=1)
    assert set(ran(proc).values()) == {"error"}
    assert f"{python}: No module named pytest" in proc.stdout


def test_conftest_that_does_not_import_fails_every_module(project, ash):
    (project / "tests/conftest.py").write_text("import not_installed_anywhere\n")
    proc = ash(project, "run", "-j", "1", check=1)
    assert set(ran(proc).values()) == {"error"} and len(ran(proc)) == 4
    assert "not_installed_anywhere" in proc.stdout
    assert proc.stdout.count("the same as above") == 3
    # nothing was cached: fixing the conftest runs everything
    (project / "tests/conftest.py").write_text(PROJECT["tests/conftest.py"])
    assert len(ran(ash(project, "run", check=0))) == 4


def test_cache_size_cap_evicts_after_a_run(project, ash):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'cache-size = "1"\n')
    ash(project, "run", check=0)
    stats = json.loads(ash(project, "cache", "stats", "--json", check=0).stdout)
    assert stats["entries"] == 0


def test_progress_line_on_a_terminal(project, python_wrapper, aftershock_bin):
    import pty
    master, slave = pty.openpty()
    env = dict(os.environ, VIRTUAL_ENV=str(python_wrapper))
    env.pop("AFTERSHOCK_CACHE_DIR", None)
    env.pop("APP_MODE", None)
    p = subprocess.Popen([str(aftershock_bin), "run", "-j", "1"], cwd=project, env=env,
                         stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    p.wait(timeout=60)
    os.close(master)
    err = b"".join(chunks).decode()
    assert p.returncode == 0
    assert re.search(r"\r\x1b\[K\[4/4\] 0 replayed, 0 failed, [0-9.]+s", err), err
    assert not MODULE_LINE.search(err)


def test_run_staged_runs_what_the_staged_changes_affect(project, ash):
    ash(project, "run", check=0)
    env = dict(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    (project / "src/app/leaf.py").write_text(PROJECT["src/app/leaf.py"] + "# staged\n")
    (project / "src/app/other.py").write_text(PROJECT["src/app/other.py"] + "# not staged\n")
    subprocess.run(["git", "add", "src/app/leaf.py"], cwd=project, check=True,
                   env=dict(os.environ, **env))
    proc = ash(project, "run", "--staged", check=0)
    assert set(ran(proc)) == {"tests/test_leaf.py"}
    assert "1 of 4 test modules affected by the staged changes" in proc.stderr
    assert re.search(r"^1 passed in .*; 1 module run, 0 replayed$", summary(proc), re.M)
    (project / "src/app/other.py").write_text(PROJECT["src/app/other.py"])
    subprocess.run(["git", "reset", "-q"], cwd=project, check=True, env=dict(os.environ, **env))
    subprocess.run(["git", "checkout", "-q", "--", "."], cwd=project, check=True,
                   env=dict(os.environ, **env))
    nothing = ash(project, "run", "--staged", check=0)
    assert ran(nothing) == {} and "no test module is affected" in nothing.stderr
    assert ash(project, "run", "--staged", "--since", "HEAD").returncode == 4


def test_under_pre_commit_the_hook_environment_is_not_the_interpreter(
        project, run, python_wrapper, tmp_path):
    # pre-commit runs hooks with $VIRTUAL_ENV and the front of $PATH set to the hook's own
    # environment, which has aftershock but not the project's pytest
    hook_env = tmp_path / "hook-env"
    (hook_env / "bin").mkdir(parents=True)
    marker = tmp_path / "hook-python-ran"
    for name in ("python", "python3"):
        py = hook_env / "bin" / name
        py.write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 1\n")
        py.chmod(0o755)
    (python_wrapper / "bin" / "python3").exists() or (python_wrapper / "bin" / "python3").symlink_to(
        python_wrapper / "bin" / "python")
    path = f"{hook_env / 'bin'}:{python_wrapper / 'bin'}:{os.environ['PATH']}"
    proc = run("run", cwd=project, env={"PRE_COMMIT": "1", "VIRTUAL_ENV": str(hook_env),
                                         "PATH": path, "APP_MODE": None})
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    assert len(ran(proc)) == 4


@pytest.mark.parametrize("args", [
    ["--ignore", "tests/test_other.py"],
    ["--ignore=tests/test_other.py"],
    ["--ignore-glob=*/test_oth*.py"],
    ["-v", "--tb", "short", "--ignore", "tests/test_other.py"],
    ["--unknown-plugin-option", "tests/test_core.py", "--ignore", "tests/test_other.py"],
])
def test_ignored_modules_are_not_selected_and_option_values_are_not_paths(project, ash, args):
    # the path after an option is its value, not a selection: the other three modules run,
    # the ignored one does not (a plugin option pytest does not know is its error, reported)
    proc = ash(project, "run", "--", *args)
    if "--unknown-plugin-option" in args:
        assert proc.returncode == 1 and "unrecognized arguments" in proc.stdout
        assert set(ran(proc)) == {"tests/api/test_api.py", "tests/test_core.py",
                                  "tests/test_leaf.py"}
        return
    assert proc.returncode == 0, proc.stderr
    assert set(ran(proc)) == {"tests/api/test_api.py", "tests/test_core.py", "tests/test_leaf.py"}
    assert "tests/test_other.py" not in proc.stdout + proc.stderr


def test_ignore_in_addopts_and_deselect(project, ash):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        'pythonpath = ["src"]', 'pythonpath = ["src"]\naddopts = "--ignore=tests/test_other.py"'))
    assert set(ran(ash(project, "run", check=0))) == {
        "tests/api/test_api.py", "tests/test_core.py", "tests/test_leaf.py"}
    # --deselect ID: its module still runs (its other tests), and so do all the others
    proc = ash(project, "run", "--force", "--", "--deselect", "tests/test_core.py::test_skip",
               check=0)
    assert set(ran(proc)) == {"tests/api/test_api.py", "tests/test_core.py", "tests/test_leaf.py"}
    assert "3 passed, 1 deselected" in proc.stdout or "3 passed" in proc.stdout
