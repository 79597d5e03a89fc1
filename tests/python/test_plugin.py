"""The pytest plugin (`pytest --aftershock`, `--aftershock-audit`) on small projects, run
with pytester: selection and recording, with -k, -x, --lf, node ids and xdist; the audit; the
all-deselected exit status; results shared with `aftershock run`; error paths."""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from conftest import PLUGIN, aftershock_bin, write_tree

import aftershock

PYPROJECT = '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src"]\n'
SUITE = {
    "pyproject.toml": PYPROJECT,
    "src/app/__init__.py": "",
    "src/app/core.py": "X = 1\n",
    "src/app/leaf.py": "from app import core\n\nY = core.X\n",
    "tests/test_core.py": "import app.core\n\n\ndef test_a():\n    assert app.core.X\n\n\n"
                          "def test_b():\n    pass\n",
    "tests/test_leaf.py": "import app.leaf\n\n\ndef test_c():\n    assert app.leaf.Y\n",
    "tests/test_other.py": "def test_d():\n    pass\n\n\ndef test_e():\n    pass\n",
}


@pytest.fixture
def suite(pytester, interpreter_facts):
    write_tree(pytester.path, SUITE, interpreter_facts)
    return pytester


def run(pytester, *args):
    return pytester.runpytest(*PLUGIN, *args)


def run_subprocess(pytester, *args):
    """pytest in a new interpreter (xdist gives its workers the sys.path the interpreter
    started with, so the package must be on PYTHONPATH from the start), without the
    `--basetemp` that pytester's own runs add: a different one each run would be a different
    key each run."""
    return pytester.run(sys.executable, "-m", "pytest", *PLUGIN, *args, timeout=300)


def edit(pytester, rel, text):
    (pytester.path / rel).write_text(text)


def test_inactive_unless_asked(suite):
    result = run(suite)
    result.assert_outcomes(passed=5)
    assert "aftershock:" not in result.stdout.str()
    assert not (suite.path / ".aftershock" / "cache").exists()


def test_unchanged_modules_are_deselected(suite):
    first = run(suite, "--aftershock")
    first.assert_outcomes(passed=5)
    first.stdout.fnmatch_lines(["aftershock: 0 test modules unchanged since they passed (of 3)"])
    again = run(suite, "--aftershock")
    assert again.ret == 0  # not pytest's 5 (no tests ran)
    again.assert_outcomes(deselected=5)
    again.stdout.fnmatch_lines([
        "collected 5 items / 5 deselected / 0 selected",
        "aftershock: 3 test modules unchanged since they passed; nothing to run",
        "*= 5 deselected in *",
    ])


def test_a_change_runs_the_modules_it_reaches(suite):
    run(suite, "--aftershock").assert_outcomes(passed=5)
    edit(suite, "src/app/core.py", "X = 2\n")
    result = run(suite, "--aftershock", "-v")
    result.assert_outcomes(passed=3, deselected=2)
    result.stdout.fnmatch_lines(["aftershock: 1 test module unchanged since it passed: "
                                 "2 tests deselected"])
    assert "test_other.py" not in result.stdout.str()


def test_failed_modules_run_until_they_pass(suite):
    edit(suite, "tests/test_leaf.py", "def test_c():\n    assert 0\n")
    run(suite, "--aftershock").assert_outcomes(passed=4, failed=1)
    run(suite, "--aftershock").assert_outcomes(failed=1, deselected=4)
    edit(suite, "tests/test_leaf.py", "def test_c():\n    assert 1\n")
    run(suite, "--aftershock").assert_outcomes(passed=1, deselected=4)
    assert run(suite, "--aftershock").ret == 0


def test_k_is_keyed(suite):
    run(suite, "--aftershock", "-k", "test_a or test_d").assert_outcomes(passed=2, deselected=3)
    again = run(suite, "--aftershock", "-k", "test_a or test_d")
    assert again.ret == 0
    again.assert_outcomes(deselected=5)
    # what passed under -k says nothing about the tests -k left out
    run(suite, "--aftershock").assert_outcomes(passed=5)


def test_exitfirst_records_only_what_finished(suite):
    edit(suite, "tests/test_leaf.py", "def test_c():\n    assert 0\n")
    result = run(suite, "--aftershock", "-x")
    result.assert_outcomes(passed=2, failed=1)  # test_other never ran
    # -x is not keyed: the plain run replays test_core and runs the rest
    run(suite, "--aftershock").assert_outcomes(passed=2, failed=1, deselected=2)


def test_last_failed_runs_are_not_recorded_as_passes(suite):
    leaf = "import app.leaf\n\n\ndef test_c():\n    assert %s\n\n\ndef test_c2():\n    assert %s\n"
    edit(suite, "tests/test_leaf.py", leaf % (1, 1))
    run(suite, "--aftershock").assert_outcomes(passed=6)
    edit(suite, "tests/test_leaf.py", leaf % (0, 1))
    run(suite, "--aftershock").assert_outcomes(passed=1, failed=1, deselected=4)
    # test_c2 breaks while --lf runs only test_c: the module must not count as passed
    edit(suite, "tests/test_leaf.py", leaf % (1, 0))
    run(suite, "--aftershock", "--lf").assert_outcomes(passed=1)
    run(suite, "--aftershock").assert_outcomes(passed=1, failed=1, deselected=4)


def test_node_ids_run_but_are_not_recorded_as_passes(suite):
    run(suite, "--aftershock", "tests/test_core.py::test_a").assert_outcomes(passed=1)
    run(suite, "--aftershock", "tests/test_core.py").assert_outcomes(passed=2)
    run(suite, "--aftershock").assert_outcomes(passed=3, deselected=2)


def test_collection_errors_are_recorded(suite):
    edit(suite, "tests/test_other.py", "def test_d(:\n")
    args = ["--continue-on-collection-errors", "--basetemp=%s" % (suite.path / "tmp")]
    run(suite, "--aftershock", *args).assert_outcomes(passed=3, errors=1)
    run(suite, "--aftershock", *args).assert_outcomes(errors=1, deselected=3)
    # the last run's state says it failed (the key is the runs': same arguments)
    project = aftershock.Project(suite.path, config={"python": sys.executable,
                                                     "pytest_args": args})
    assert {"path": "tests/test_other.py", "reason": "failed", "via": None} in \
        project.affected([])


def test_xdist(suite):
    pytest.importorskip("xdist")
    run_subprocess(suite, "--aftershock", "-n", "2").assert_outcomes(passed=5)
    again = run_subprocess(suite, "--aftershock", "-n", "2")
    assert again.ret == 0
    again.stdout.fnmatch_lines([
        "aftershock: 3 test modules unchanged since they passed; nothing to run",
        "*= 5 deselected in *",
    ])
    # parallelism is not keyed: a run without xdist replays what the workers ran
    run_subprocess(suite, "--aftershock").assert_outcomes(deselected=5)
    edit(suite, "src/app/core.py", "X = 3\n")
    edit(suite, "tests/test_leaf.py", "import app.leaf\n\n\ndef test_c():\n    assert 0\n")
    result = run_subprocess(suite, "--aftershock", "-n", "2")
    result.assert_outcomes(passed=2, failed=1, deselected=2)
    result = run_subprocess(suite, "--aftershock", "-n", "2")
    result.assert_outcomes(failed=1, deselected=4)


def test_audit_reports_failures_selection_would_skip(suite):
    # test_other reads a file aftershock does not know is one of its inputs
    edit(suite, "tests/test_other.py", "import pathlib\n\n\ndef test_d():\n"
                                       "    assert pathlib.Path(__file__).with_name("
                                       "'data.txt').read_text() == 'good'\n")
    edit(suite, "tests/data.txt", "good")
    run(suite, "--aftershock").assert_outcomes(passed=4)
    clean = run(suite, "--aftershock-audit")
    assert clean.ret == 0
    clean.assert_outcomes(passed=4)
    clean.stdout.fnmatch_lines([
        "aftershock audit: running all test modules; 3 of 3 would be deselected",
        "aftershock audit: no failure in the 3 test modules --aftershock would have deselected",
    ])
    edit(suite, "tests/data.txt", "bad")
    run(suite, "--aftershock").assert_outcomes(deselected=4)  # stale: the input is hidden
    audit = run(suite, "--aftershock-audit")
    assert audit.ret == 1
    audit.assert_outcomes(passed=3, failed=1)
    audit.stdout.fnmatch_lines([
        "*= aftershock audit =*",
        "1 test module(s) failed that --aftershock would have deselected*",
        "  tests/test_other.py",
    ])
    # the audit's failure is recorded: selection runs the module again
    run(suite, "--aftershock").assert_outcomes(failed=1, deselected=3)


def test_audit_with_xdist(suite):
    pytest.importorskip("xdist")
    edit(suite, "tests/test_other.py", "import os\n\n\ndef test_d():\n"
                                       "    assert os.environ.get('HIDDEN') != 'bad'\n")
    run_subprocess(suite, "--aftershock").assert_outcomes(passed=4)
    suite._monkeypatch.setenv("HIDDEN", "bad")  # not a configured `env` variable
    audit = run_subprocess(suite, "--aftershock-audit", "-n", "2")
    assert audit.ret == 1
    audit.stdout.fnmatch_lines(["  tests/test_other.py"])


def test_coverage_runs_everything_and_records_nothing(suite):
    pytest.importorskip("pytest_cov")
    run_subprocess(suite, "--aftershock").assert_outcomes(passed=5)
    result = run_subprocess(suite, "--aftershock", "--cov=src", "-p", "pytest_cov")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["aftershock: coverage is measured: every test module runs*"])
    result = run_subprocess(suite, "--aftershock", "--cov=src", "-p", "pytest_cov")
    result.assert_outcomes(passed=5)


def test_outside_a_project_is_a_usage_error(pytester):
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = run(pytester, "--aftershock")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: aftershock: *"])


def test_keyed_args():
    from aftershock._plugin import keyed_args

    assert keyed_args(["--aftershock", "-x", "-n", "4", "-p", "xdist", "--maxfail=2",
                       "--lf", "-k", "a", "-q", "--dist", "load", "-nauto",
                       "-p", "aftershock.pytest_plugin", "--junitxml", "out.xml",
                       "tests/test_a.py::test_x"]) == (
        ["-k", "a", "-q", "tests/test_a.py::test_x"], None)
    assert keyed_args(["--cov=src", "-p", "no:randomly"]) == (["-p", "no:randomly"], "src")
    assert keyed_args(["--cov"]) == ([], "")


def test_results_are_replayed_by_aftershock_run(suite):
    """What `pytest --aftershock` records is what `aftershock run` replays (its JUnit test
    cases included), and the other way round."""
    binary = aftershock_bin()
    if binary is None:
        pytest.skip("the aftershock command is not built")
    edit(suite, "pyproject.toml", PYPROJECT + "[tool.aftershock]\npython = %r\n" % sys.executable)
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    env.pop("PYTEST_ADDOPTS", None)
    pytest_cmd = [sys.executable, "-m", "pytest", "-p", "aftershock.pytest_plugin",
                  "--aftershock"]
    proc = subprocess.run(pytest_cmd, cwd=suite.path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "5 passed" in proc.stdout
    proc = subprocess.run([str(binary), "run", "--junitxml", "out.xml"], cwd=suite.path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "5 passed" in proc.stdout and "0 modules run, 3 replayed" in proc.stdout
    cases = ET.parse(suite.path / "out.xml").getroot().iter("testcase")
    assert sorted(c.get("name") for c in cases) == ["test_a", "test_b", "test_c", "test_d",
                                                   "test_e"]
    # and the other way round
    edit(suite, "src/app/core.py", "X = 5\n")
    proc = subprocess.run([str(binary), "run"], cwd=suite.path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert re.search(r"2 modules run, 1 replayed", proc.stdout), proc.stdout + proc.stderr
    proc = subprocess.run(pytest_cmd, cwd=suite.path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 test modules unchanged since they passed; nothing to run" in proc.stdout
