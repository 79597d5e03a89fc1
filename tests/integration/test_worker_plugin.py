"""The worker plugin (selector/python/aftershock_worker.py) and the coverage report script
(selector/python/aftershock_report.py), driven as `aftershock run` drives them: real pytest
subprocesses on small projects, an event pipe, result files read with the C side's grammar."""

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from worker_util import (REPORT_SCRIPT, clean_env, lines_by_file, run_worker, start_worker,
                         union, write_project)

pytest.importorskip("coverage")

CONFTEST = '''\
import pytest

IMPORTED = True


@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")


@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown exploded")
'''

MIXED = {
    "pytest.ini": "[pytest]\n",
    # source: the same files measured by any coverage version (5.x measures site-packages).
    ".coveragerc": "[run]\nsource = .\n\n[report]\nshow_missing = True\n",
    "conftest.py": CONFTEST,
    "pkg/__init__.py": "",
    "pkg/alpha.py": "def double(x):\n    return 2 * x\n\n\ndef unused():\n    return 0\n",
    "pkg/beta.py": "def negate(x):\n    if x:\n        return -x\n    return 0\n",
    "pkg/gamma.py": "NEVER_IMPORTED = True\n",
    "tests/test_pass.py": (
        "from pkg import alpha\n\n\n"
        "def test_double():\n    assert alpha.double(2) == 4\n\n\n"
        "def test_double_again():\n    assert alpha.double(0) == 0\n"
    ),
    "tests/test_fail.py": (
        "from pkg import beta\n\n\n"
        "def test_negate():\n    assert beta.negate(1) == -1\n\n\n"
        "def test_wrong():\n    print('about to fail')\n"
        "    assert beta.negate(2) == 2, 'negate(2) is not 2 \\x07'\n"
    ),
    "tests/test_outcomes.py": (
        "import pytest\n\n\n"
        "def test_skipped():\n    pytest.skip('not today')\n\n\n"
        "@pytest.mark.xfail(reason='known bug')\ndef test_xfail():\n    assert False\n\n\n"
        "@pytest.mark.xfail(reason='fixed')\ndef test_xpass():\n    pass\n\n\n"
        "@pytest.mark.xfail(reason='must fail', strict=True)\n"
        "def test_xpass_strict():\n    pass\n"
    ),
    "tests/test_errors.py": (
        "def test_setup_error(broken):\n    pass\n\n\n"
        "def test_fail_and_teardown_error(broken_teardown):\n    assert 1 == 0\n\n\n"
        "def test_ok():\n    pass\n"
    ),
    "tests/test_syntax.py": "def test_x(:\n    pass\n",
    "tests/test_empty.py": "X = 1\n",
}
MIXED_MODULES = [
    "tests/test_pass.py",
    "tests/test_syntax.py",
    "tests/test_fail.py",
    "tests/test_outcomes.py",
    "tests/test_errors.py",
    "tests/test_empty.py",
    "tests/test_gone.py",  # listed, not on disk
]
PRESENT = [m for m in MIXED_MODULES if m != "tests/test_gone.py"]


def counts(passed=0, failed=0, skipped=0, errors=0, xfailed=0, xpassed=0):
    return dict(passed=passed, failed=failed, skipped=skipped, errors=errors,
                xfailed=xfailed, xpassed=xpassed)


@pytest.fixture(scope="module")
def mixed_root(tmp_path_factory):
    return write_project(tmp_path_factory.mktemp("mixed") / "project", MIXED)


@pytest.fixture(scope="module")
def mixed(mixed_root):
    """One worker over every module of the mixed project, with coverage and pytest's own
    --junitxml to compare with."""
    xml = mixed_root.parent / "pytest-junit.xml"
    run = run_worker(mixed_root, MIXED_MODULES, "--junitxml", str(xml), cov="")
    run.junitxml = xml
    return run


def test_counts_follow_pytest_summary(mixed):
    assert mixed.proc.returncode == 1, mixed.log()
    got = {m: (r["counts"], r["collected"]) for m, r in mixed.results.items()}
    assert got == {
        "tests/test_pass.py": (counts(passed=2), 2),
        "tests/test_syntax.py": (counts(errors=1), 0),
        "tests/test_fail.py": (counts(passed=1, failed=1), 2),
        "tests/test_outcomes.py": (counts(skipped=1, failed=1, xfailed=1, xpassed=1), 4),
        "tests/test_errors.py": (counts(passed=1, failed=1, errors=2), 3),
        "tests/test_empty.py": (counts(), 0),
        "tests/test_gone.py": (counts(errors=1), 0),
    }, mixed.log()
    assert mixed.results["tests/test_pass.py"]["duration"] > 0


def test_events_start_run_done(mixed):
    for module in MIXED_MODULES:
        has_tests = mixed.results[module]["collected"] > 0
        expected = ["start", "run", "done"] if has_tests else ["start", "done"]
        assert mixed.events_of(module) == expected, (module, mixed.events)


def test_collection_error_does_not_stop_the_others(mixed):
    syntax = mixed.results["tests/test_syntax.py"]
    assert "ERROR collecting tests/test_syntax.py" in syntax["output"]
    assert "SyntaxError" in syntax["output"]
    case = ET.fromstring(syntax["junit"])
    assert (case.get("classname"), case.get("name")) == ("", "tests.test_syntax")
    assert case[0].tag == "error" and case[0].get("message") == "collection failure"
    # Modules listed after it ran.
    assert mixed.results["tests/test_errors.py"]["counts"]["passed"] == 1


def test_missing_module_gets_an_error_result(mixed):
    gone = mixed.results["tests/test_gone.py"]
    assert "file not found" in gone["output"]
    assert "coverage" not in gone
    # The others ran although pytest stops a whole session for one path not found.
    assert mixed.results["tests/test_pass.py"]["counts"]["passed"] == 2


def test_output_is_pytest_failure_sections(mixed):
    assert mixed.results["tests/test_pass.py"]["output"] == ""
    assert mixed.results["tests/test_empty.py"]["output"] == ""
    out = mixed.results["tests/test_fail.py"]["output"]
    header = out.splitlines()[0]
    assert header.startswith("____") and " test_wrong " in header and len(header) == 80
    assert "negate(2) is not 2" in out
    assert "Captured stdout call" in out and "about to fail" in out
    assert "test_negate" not in out
    errors = mixed.results["tests/test_errors.py"]["output"]
    assert "ERROR at setup of test_setup_error" in errors
    assert "ERROR at teardown of test_fail_and_teardown_error" in errors
    assert "fixture exploded" in errors and "teardown exploded" in errors
    assert "assert 1 == 0" in errors  # the call failure of the same test
    assert errors.index("ERROR at setup") < errors.index("assert 1 == 0")  # ERRORS first


def test_output_is_what_pytest_printed(mixed):
    for module in PRESENT:
        out = mixed.results[module]["output"]
        blocks = [b for b in re.split(r"(?m)^(?=_{3,} .* _{3,}$)", out) if b]
        assert len(blocks) == len(re.findall(r"(?m)^_{3,} .* _{3,}$", out))
        for block in blocks:
            assert block in mixed.proc.stdout, (module, block)


def _describe(case):
    attrs = {k: v for k, v in case.attrib.items() if k != "time"}
    children = [(c.tag, dict(c.attrib), c.text) for c in case]
    return case.tag, attrs, children


def test_junit_matches_pytest_junitxml(mixed):
    reference = list(ET.parse(str(mixed.junitxml)).getroot().iter("testcase"))
    matched = 0
    for module in PRESENT:
        dotted = module[:-3].replace("/", ".")
        expected = [
            c for c in reference
            if c.get("classname") == dotted or c.get("classname", "").startswith(dotted + ".")
            or (c.get("classname") == "" and c.get("name") == dotted)
        ]
        fragment = mixed.results[module]["junit"]
        got = list(ET.fromstring("<testsuite>%s</testsuite>" % fragment))
        assert [_describe(c) for c in got] == [_describe(c) for c in expected], module
        for case in got:
            float(case.get("time"))
        matched += len(expected)
    assert matched == len(reference) == 13
    # The bell in an assertion message is escaped the way pytest escapes it.
    assert "#x07" in mixed.results["tests/test_fail.py"]["junit"]


def _coverage(run, module):
    return json.loads(run.results[module]["coverage"])


def test_coverage_attributed_to_modules(mixed, mixed_root):
    passing = lines_by_file(_coverage(mixed, "tests/test_pass.py"))
    failing = lines_by_file(_coverage(mixed, "tests/test_fail.py"))
    errors = lines_by_file(_coverage(mixed, "tests/test_errors.py"))
    empty = lines_by_file(_coverage(mixed, "tests/test_empty.py"))
    # A module's own lines and those of what it imports and calls.
    assert passing["tests/test_pass.py"] == {1, 4, 5, 8, 9}
    assert passing["pkg/alpha.py"] == {1, 2, 5}
    assert failing["pkg/beta.py"] == {1, 2, 3}
    assert "pkg/beta.py" not in passing and "tests/test_fail.py" not in passing
    assert "pkg/alpha.py" not in failing
    # Under `source`, files never executed are listed empty, so that reports show them at 0%.
    assert passing["pkg/gamma.py"] == set() and failing["pkg/gamma.py"] == set()
    # conftest.py's import is global: every module has it; its fixtures belong to their users.
    for data in (passing, failing, errors, empty):
        assert {1, 3, 6, 7, 11, 12} <= data["conftest.py"]
    assert {8, 13, 14} <= errors["conftest.py"]
    assert 8 not in passing["conftest.py"] and 14 not in passing["conftest.py"]
    # Even a module that failed to collect carries the global lines.
    assert "conftest.py" in lines_by_file(_coverage(mixed, "tests/test_syntax.py"))
    doc = _coverage(mixed, "tests/test_pass.py")
    assert doc["version"] == 1 and doc["arcs"] is False
    assert not any(os.path.isabs(name) for name in doc["files"])
    assert not any("aftershock_worker" in name for name in doc["files"])
    data_files = [p.name for p in mixed_root.glob(".coverage*") if p.name != ".coveragerc"]
    assert data_files == [], "a worker wrote a coverage data file"


UNHOOK = """\
import coverage


def pytest_configure():
    # As if coverage stored its measurements without calling these methods.
    data = coverage.Coverage.current().get_data()
    for name in ("set_context", "add_lines", "add_arcs", "touch_files"):
        data.__dict__.pop(name, None)
"""


def test_coverage_queried_when_not_observable(mixed, mixed_root, tmp_path):
    (tmp_path / "unhook.py").write_text(UNHOOK)
    run = run_worker(mixed_root, PRESENT, "-p", "unhook", cov="", work=tmp_path,
                     env={"PYTHONPATH": clean_env()["PYTHONPATH"] + os.pathsep + str(tmp_path)})
    assert "querying it per module instead" in run.proc.stdout, run.log()
    assert "aftershock_worker:" not in mixed.log()
    for module in PRESENT:
        queried = json.loads(run.results[module]["coverage"])
        queried["files"] = {k: v for k, v in queried["files"].items() if not os.path.isabs(k)}
        assert queried == _coverage(mixed, module), module


def test_coverage_union_is_independent_of_worker_split(mixed, mixed_root):
    started = [start_worker(mixed_root, PRESENT[:3], cov="", work=mixed_root.parent / "first"),
               start_worker(mixed_root, PRESENT[3:], cov="", work=mixed_root.parent / "second")]
    first, second = [s.wait() for s in started]
    split = union(json.loads(r["coverage"]) for r in
                  list(first.results.values()) + list(second.results.values()))
    together = union(_coverage(mixed, m) for m in PRESENT)
    assert split == together
    assert together["pkg/alpha.py"] == {1, 2, 5}


def test_report_matches_coverage_run(mixed, mixed_root, tmp_path):
    inputs = []
    for module in PRESENT:
        path = tmp_path / (module.replace("/", "_") + ".json")
        path.write_text(mixed.results[module]["coverage"])
        inputs.append(str(path))
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1, "arcs": false, "files": {"x.py": ["one"]}}')
    ours_data, ours_xml = tmp_path / "ours.coverage", tmp_path / "ours.xml"
    proc = subprocess.run(
        [sys.executable, str(REPORT_SCRIPT), "--root", str(mixed_root),
         "--data-file", str(ours_data), "--xml", str(ours_xml)],
        input="\n".join(inputs[:2] + [str(bad)] + inputs[2:]) + "\n",
        env=clean_env(), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [proc.stderr.strip()]
    assert str(bad) in proc.stderr
    assert "TOTAL" in proc.stdout and "pkg/alpha.py" in proc.stdout
    assert "Missing" in proc.stdout  # .coveragerc's show_missing

    ref_data, ref_xml = tmp_path / "ref.coverage", tmp_path / "ref.xml"
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--continue-on-collection-errors", *PRESENT],
        cwd=mixed_root, env=clean_env(COVERAGE_FILE=str(ref_data)), capture_output=True,
        timeout=120)
    import coverage

    reference = coverage.Coverage(data_file=str(ref_data), config_file=False)
    reference.load()
    reference.xml_report(outfile=str(ref_xml), ignore_errors=True)  # test_syntax.py
    ours_rate = ET.parse(str(ours_xml)).getroot().get("line-rate")
    ref_rate = ET.parse(str(ref_xml)).getroot().get("line-rate")
    assert ours_rate == ref_rate
    assert float(ours_rate) < 1  # alpha.unused, beta's last line and gamma never ran
    assert 'filename="pkg/gamma.py"' in ours_xml.read_text()

    from coverage import CoverageData

    def lines(path):
        data = CoverageData(basename=str(path))
        data.read()
        return {os.path.relpath(f, str(mixed_root)): set(data.lines(f))
                for f in data.measured_files()}

    assert lines(ours_data) == lines(ref_data)


CRASH = {
    "pytest.ini": "[pytest]\n",
    "tests/test_a.py": "def test_a():\n    pass\n",
    "tests/test_crash.py": (
        "import os\n\n\ndef test_fine():\n    pass\n\n\n"
        "def test_dies():\n    os._exit(3)\n"
    ),
    "tests/test_c.py": "def test_c():\n    pass\n",
}


def test_worker_dying_leaves_finished_results(tmp_path):
    root = write_project(tmp_path / "crash", CRASH)
    modules = ["tests/test_a.py", "tests/test_crash.py", "tests/test_c.py"]
    run = run_worker(root, modules)
    assert run.proc.returncode == 3, run.log()
    assert sorted(run.results) == ["tests/test_a.py"]
    assert run.results["tests/test_a.py"]["counts"] == counts(passed=1)
    assert run.events_of("tests/test_a.py") == ["start", "run", "done"]
    assert run.events_of("tests/test_crash.py") == ["start", "run"]
    assert "run" not in run.events_of("tests/test_c.py")
    # The controller blames the last module run and not done.
    ran = [m for e, m in run.events if e == "run"]
    done = {m for e, m in run.events if e == "done"}
    assert [m for m in ran if m not in done] == ["tests/test_crash.py"]


SEQUENCE = {
    "pytest.ini": "[pytest]\n",
    "tests/test_a.py": "def test_a1():\n    pass\n",
    "tests/test_b.py": "def test_b1():\n    pass\n",
    "tests/test_c.py": "def test_c1():\n    pass\n\n\ndef test_c2():\n    assert False\n",
    "tests/test_d.py": "def test_d1():\n    pass\n",
}


def test_deselected_and_not_reached_modules(tmp_path):
    root = write_project(tmp_path / "seq", SEQUENCE)
    modules = ["tests/test_a.py", "tests/test_b.py", "tests/test_c.py", "tests/test_d.py"]
    run = run_worker(root, modules, "-x", "-k", "not test_b1")
    assert run.proc.returncode == 1, run.log()
    assert sorted(run.results) == modules[:3]
    # Everything deselected: a result with nothing in it, right after collection.
    assert run.results["tests/test_b.py"]["collected"] == 0
    assert run.results["tests/test_b.py"]["counts"] == counts()
    assert run.events.index(("done", "tests/test_b.py")) < run.events.index(
        ("run", "tests/test_a.py"))
    assert run.results["tests/test_c.py"]["counts"] == counts(passed=1, failed=1)
    # -x stopped the session: test_d.py was not reached and has no result.
    assert run.events_of("tests/test_d.py") == ["start"]


def test_plugin_inactive_without_its_environment(tmp_path):
    root = write_project(tmp_path / "plain", SEQUENCE)
    command = [sys.executable, "-m", "pytest", "-p", "aftershock_worker", "-q", "-p",
               "no:cacheprovider", "tests/test_a.py"]
    proc = subprocess.run(command, cwd=root, env=clean_env(), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    # Half an environment is a usage error, before any test runs.
    listing = tmp_path / "modules"
    listing.write_bytes(b"1\0tests/test_a.py\0")
    env = clean_env(AFTERSHOCK_FD="2", AFTERSHOCK_MODULES=str(listing), AFTERSHOCK_ROOT=str(root))
    proc = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "AFTERSHOCK_RESULTS not set" in proc.stderr and "passed" not in proc.stdout


PYTEST_COV = {
    "pytest.ini": "[pytest]\n",
    "pkg/__init__.py": "",
    "pkg/alpha.py": "def double(x):\n    return 2 * x\n",
    "tests/test_tracer.py": (
        "import coverage\nfrom pkg import alpha\n\n\n"
        "def test_one_tracer(request):\n"
        "    plugin = request.config.pluginmanager.getplugin('_cov')\n"
        "    assert coverage.Coverage.current() is plugin.cov_controller.cov\n"
        "    assert alpha.double(1) == 2\n"
    ),
    "tests/test_other.py": "def test_other():\n    assert True\n",
}


def test_pytest_cov_tracer_is_reused(tmp_path):
    pytest.importorskip("pytest_cov")
    root = write_project(tmp_path / "pcov", PYTEST_COV)
    modules = ["tests/test_tracer.py", "tests/test_other.py"]
    run = run_worker(root, modules, "-p", "pytest_cov", "--cov", "--cov-report=",
                     "--cov-context=test", cov="")
    assert run.proc.returncode == 0, run.log()
    assert run.results["tests/test_tracer.py"]["counts"] == counts(passed=1), run.log()
    tracer = lines_by_file(_coverage(run, "tests/test_tracer.py"))
    other = lines_by_file(_coverage(run, "tests/test_other.py"))
    # pytest-cov's per-test contexts are mapped back to the module.
    assert tracer["pkg/alpha.py"] == {1, 2}
    assert tracer["tests/test_tracer.py"] == {1, 2, 5, 6, 7, 8}
    assert "pkg/alpha.py" not in other and other["tests/test_other.py"] == {1, 2}
