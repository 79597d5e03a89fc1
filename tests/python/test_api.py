"""The Python API (aftershock.Project over aftershock._core): every call on a small project,
compared with the `aftershock` command where it prints the same thing, and its errors."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import aftershock_bin, write_tree

import aftershock
from aftershock import _core

LEAF = """\
from app import core
from . import util
import pytest
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from app import typing_only
try:
    import missing_mod_xyz
except ImportError:
    pass
import importlib
dyn = importlib.import_module("app.dyn")
"""

TREE = {
    "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src"]\n',
    "src/app/__init__.py": "",
    "src/app/core.py": "import os\nX = 1\n",
    "src/app/leaf.py": LEAF,
    "src/app/util.py": "from app.core import X\n",
    "src/app/typing_only.py": "",
    "src/app/dyn.py": "",
    "src/app/a.py": "from app import b\n",
    "src/app/b.py": "from app import a\n",
    "tests/conftest.py": "",
    "tests/test_core.py": "import app.core\n\ndef test_x():\n    pass\n",
    "tests/test_leaf.py": "import app.leaf\n\ndef test_y():\n    pass\n",
    "tests/test_cycle.py": "from app import a\n\ndef test_z():\n    pass\n",
}


@pytest.fixture
def root(tmp_path, interpreter_facts):
    return write_tree(tmp_path / "proj", TREE, interpreter_facts)


@pytest.fixture
def project(root):
    return aftershock.Project(root, config={"python": sys.executable})


def cli(root, *args):
    """The `aftershock` command's stdout in `root`; skips the test when it is not built."""
    binary = aftershock_bin()
    if binary is None:
        pytest.skip("the aftershock command is not built")
    proc = subprocess.run([str(binary), *args], cwd=root, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_project_root_files_and_source_roots(root, project, monkeypatch):
    assert project.root == os.path.realpath(root)
    assert project.files() == sorted(p for p in TREE if p.endswith(".py"))
    assert "src" in project.source_roots
    assert aftershock.__version__ == _core.__version__
    # found from the working directory, as the command finds it
    monkeypatch.chdir(root / "src" / "app")
    assert aftershock.Project().root == project.root


def test_imports(project):
    records = project.imports("src/app/leaf.py")
    by_line = {r["line"]: r for r in records}
    assert [r["line"] for r in records] == [1, 2, 3, 4, 6, 8, 11, 12]
    assert by_line[1] == {
        "kind": "from", "module": "app", "level": 0, "names": ["core"], "line": 1, "flags": [],
        "origin": "project", "distribution": None, "package": None,
        "resolved": ["src/app/__init__.py", "src/app/core.py"],
    }
    assert by_line[2]["level"] == 1 and by_line[2]["module"] == ""
    assert by_line[2]["resolved"] == ["src/app/__init__.py", "src/app/util.py"]
    assert by_line[3]["origin"] == "third-party" and by_line[3]["distribution"] == "pytest"
    assert by_line[3]["resolved"] is None
    assert by_line[4]["origin"] == "stdlib"
    assert by_line[6]["flags"] == ["type_checking"]
    assert by_line[6]["resolved"] == ["src/app/__init__.py", "src/app/typing_only.py"]
    assert by_line[8]["flags"] == ["optional"] and by_line[8]["origin"] == "unknown"
    assert by_line[12]["kind"] == "string" and by_line[12]["module"] == "app.dyn"
    assert by_line[12]["resolved"] == ["src/app/__init__.py", "src/app/dyn.py"]


def test_imports_match_the_command(root, project):
    printed = [json.loads(line) for line in
               cli(root, "imports", "--json", "--resolve", "src/app/leaf.py").splitlines()]
    ours = project.imports("src/app/leaf.py")
    assert len(printed) == len(ours)
    for theirs, mine in zip(printed, ours):
        for field in ("kind", "module", "level", "line", "origin"):
            assert theirs[field] == mine[field], (field, theirs, mine)
        assert theirs.get("names", []) == mine["names"]
        flags = [f for f in ("type_checking", "optional", "lazy") if theirs.get(f)]
        assert flags == mine["flags"]


def test_dependencies_and_dependents(project):
    assert project.dependencies("src/app/leaf.py") == [
        "src/app/__init__.py", "src/app/core.py", "src/app/dyn.py", "src/app/typing_only.py",
        "src/app/util.py"]
    assert project.dependencies("src/app/core.py") == []
    assert project.dependents("src/app/core.py") == [
        "src/app/leaf.py", "src/app/util.py", "tests/test_core.py"]
    assert project.dependents("src/app/core.py", closure=True) == [
        "src/app/leaf.py", "src/app/util.py", "tests/test_core.py", "tests/test_leaf.py"]
    # an import cycle: the closure never holds the file itself
    assert project.dependencies("src/app/a.py", closure=True) == [
        "src/app/__init__.py", "src/app/b.py"]
    assert project.dependents("src/app/a.py", closure=True) == [
        "src/app/b.py", "tests/test_cycle.py"]


def test_dependencies_match_the_graph_command(root, project):
    for direction, method in (("dependencies", project.dependencies),
                              ("dependents", project.dependents)):
        for closure in (False, True):
            args = ["graph", "--direction", direction] + (["--closure"] if closure else [])
            graph = json.loads(cli(root, *args))
            assert {f: method(f, closure=closure) for f in project.files()} == graph


def test_type_checking_imports_can_be_left_out(root):
    (root / "pyproject.toml").write_text(
        TREE["pyproject.toml"] + "[tool.aftershock]\ntype-checking-imports = false\n")
    project = aftershock.Project(root, config={"python": sys.executable})
    assert "src/app/typing_only.py" not in project.dependencies("src/app/leaf.py")
    assert project.dependents("src/app/typing_only.py") == []


def test_closure_hash(root, project):
    leaf = project.closure_hash("src/app/leaf.py")
    assert len(leaf) == 32 and int(leaf, 16) >= 0
    assert project.closure_hash(root / "src" / "app" / "leaf.py") == leaf
    assert project.closure_hash("app.leaf") == leaf
    assert project.closure_hash(Path("src/app")) != leaf
    # files of one import cycle share a key
    assert project.closure_hash("src/app/a.py") == project.closure_hash("src/app/b.py")
    dyn = project.closure_hash("src/app/dyn.py")
    (root / "src" / "app" / "core.py").write_text("import os\nX = 2\n")
    changed = aftershock.Project(root, config={"python": sys.executable})
    assert changed.closure_hash("src/app/leaf.py") != leaf  # core.py is in its closure
    assert changed.closure_hash("src/app/dyn.py") == dyn  # it is not in this one's


def test_closure_hash_matches_the_command(root, project):
    printed = dict(reversed(line.split("  ", 1)) for line in cli(
        root, "hash", "src/app/leaf.py", "src/app", ".", "app.core").splitlines())
    assert printed == {
        "src/app/leaf.py": project.closure_hash("src/app/leaf.py"),
        "src/app/": project.closure_hash("src/app"),
        ".": project.closure_hash(root),
        "app.core": project.closure_hash("app.core"),
    }


def test_test_modules(project):
    assert project.test_modules() == [
        "tests/test_core.py", "tests/test_cycle.py", "tests/test_leaf.py"]


def test_affected(root, project):
    assert project.affected([]) == []
    assert project.affected(["src/app/core.py"]) == [
        {"path": "tests/test_core.py", "reason": "changed", "via": "src/app/core.py"},
        {"path": "tests/test_leaf.py", "reason": "changed", "via": "src/app/core.py"},
    ]
    assert project.affected([root / "src" / "app" / "dyn.py"]) == [
        {"path": "tests/test_leaf.py", "reason": "changed", "via": "src/app/dyn.py"}]
    assert project.affected(["tests/conftest.py"]) == [
        {"path": m, "reason": "changed", "via": "tests/conftest.py"}
        for m in project.test_modules()]
    everything = project.affected([], all_changed=True)
    assert [(a["path"], a["reason"]) for a in everything] == [
        (m, "all") for m in project.test_modules()]
    assert project.affected([root.parent / "elsewhere.py"]) == []


def test_affected_by_deleted_and_added_files(root):
    (root / "tests" / "test_gone.py").write_text("import app.gone\n")
    (root / "tests" / "test_json.py").write_text("import json\n")
    project = aftershock.Project(root, config={"python": sys.executable})
    assert project.affected(["src/app/gone.py"]) == [
        {"path": "tests/test_gone.py", "reason": "deleted", "via": "src/app/gone.py"}]
    # it imports a module found nowhere: it cannot be keyed, and always runs
    assert project._core.inputs_key("tests/test_gone.py") is None
    assert project.affected([]) == [
        {"path": "tests/test_gone.py", "reason": "unresolved", "via": None}]
    (root / "tests" / "json.py").write_text("")  # shadows the standard library's json
    project = aftershock.Project(root, config={"python": sys.executable})
    found = {a["path"]: a for a in project.affected(["tests/json.py"], added=["tests/json.py"])}
    assert found["tests/test_json.py"]["reason"] in ("added", "changed")


def test_why(root, project):
    assert project.why("tests/test_leaf.py", "src/app/core.py") == [
        {"path": "tests/test_leaf.py", "line": 1, "role": None},
        {"path": "src/app/leaf.py", "line": 1, "role": None},
        {"path": "src/app/core.py", "line": None, "role": None},
    ]
    assert project.why(root / "tests" / "test_leaf.py", "tests/conftest.py") == [
        {"path": "tests/test_leaf.py", "line": None, "role": None},
        {"path": "tests/conftest.py", "line": None, "role": "conftest"},
    ]
    assert project.why("tests/test_core.py", "src/app/dyn.py") is None
    assert project.why("tests/test_core.py", "no/such/file.py") is None


def test_errors(root, project):
    with pytest.raises(aftershock.NotFoundError) as info:
        project.imports("src/app/nope.py")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, aftershock.Error)
    assert str(info.value) == "src/app/nope.py: not a Python file of the project"
    assert info.value.code < 0
    with pytest.raises(aftershock.NotFoundError, match="not a test module"):
        project.why("src/app/core.py", "src/app/core.py")
    with pytest.raises(aftershock.NotFoundError, match="no Python file or module"):
        project.closure_hash("app.nothing")
    with pytest.raises(aftershock.NotFoundError, match="not inside the project"):
        project.dependencies(root.parent / "x.py")
    with pytest.raises(aftershock.NotFoundError, match="No such file"):
        aftershock.Project(root / "missing")
    with pytest.raises(TypeError, match="unknown config keys: colour"):
        aftershock.Project(root, config={"colour": "red"})
    with pytest.raises(ValueError):
        aftershock.Project(root, config={"jobs": -1})
    with pytest.raises(TypeError):
        project.affected("src/app/core.py")  # one string, not a list of paths
    with pytest.raises(TypeError):
        _core.Project()  # made by open_project() only


def test_parse_cache_options(root, tmp_path):
    elsewhere = tmp_path / "parse-cache"
    project = aftershock.Project(root, config={"python": sys.executable, "cache_dir": elsewhere})
    project.files()
    assert (elsewhere / "parse-cache.bin").exists()
    assert not (root / ".aftershock" / "parse-cache.bin").exists()
    aftershock.Project(root, config={"python": sys.executable, "no_cache": True,
                                     "jobs": 1}).files()
    assert not (root / ".aftershock" / "parse-cache.bin").exists()


def test_malformed_configuration_is_a_warning(root):
    (root / "pyproject.toml").write_text(TREE["pyproject.toml"] + "[tool.aftershock\n")
    project = aftershock.Project(root, config={"python": sys.executable})
    project.files()
    assert any("pyproject.toml" in w for w in project.warnings)


def test_results_recorded_then_replayed(project):
    core = project._core
    ok = b"ASHW 1\nmodule tests/test_core.py\ncounts 1 0 0 0 0 0\nduration 0.1\nend\n"
    bad = b"ASHW 1\nmodule tests/test_leaf.py\ncounts 0 1 0 0 0 0\nend\n"
    assert core.inputs_key("tests/test_core.py") != core.inputs_key("tests/test_leaf.py")
    with core.results() as results:
        assert results.replayable() == []
        assert not results.passed("tests/test_core.py")
        results.record("tests/test_core.py", ok)
        results.record("tests/test_leaf.py", bad)
        with pytest.raises(aftershock.Error, match="the result is of tests/test_core.py"):
            results.record("tests/test_leaf.py", ok)
        with pytest.raises(aftershock.Error):
            results.record("tests/test_leaf.py", b"junk")
        with pytest.raises(aftershock.NotFoundError):
            results.record("src/app/core.py", ok)
    with pytest.raises(aftershock.Error, match="closed"):
        results.passed("tests/test_core.py")
    results.close()  # again: nothing happens
    with core.results() as results:
        assert results.passed("tests/test_core.py")
        assert not results.passed("tests/test_leaf.py")
        assert results.replayable() == ["tests/test_core.py"]
    assert project.affected([]) == [
        {"path": "tests/test_cycle.py", "reason": "new", "via": None},
        {"path": "tests/test_leaf.py", "reason": "failed", "via": None},
    ]


def test_a_failure_under_the_same_inputs_forgets_the_cached_pass(project):
    ok = b"ASHW 1\nmodule tests/test_core.py\ncounts 1 0 0 0 0 0\nend\n"
    bad = b"ASHW 1\nmodule tests/test_core.py\ncounts 0 1 0 0 0 0\nend\n"
    with project._core.results() as results:
        results.record("tests/test_core.py", ok)
    with project._core.results() as results:
        results.record("tests/test_core.py", bad)  # same inputs: a flaky test, or a hidden input
    with project._core.results() as results:
        assert not results.passed("tests/test_core.py")  # the failure forgot the cached pass
        assert results.replayable() == []


def test_threads_share_a_project(root):
    """Many threads on one fresh Project: the lazy graph and selection are built once, and
    every thread sees the same answers as one thread alone."""
    project = aftershock.Project(root, config={"python": sys.executable})
    expected = aftershock.Project(root, config={"python": sys.executable})
    barrier = threading.Barrier(8)
    errors = []

    def work(n):
        try:
            barrier.wait()
            for _ in range(20):
                if n % 2:
                    assert project.affected(["src/app/core.py"]) == expected.affected(
                        ["src/app/core.py"])
                assert project.dependents("src/app/core.py", closure=True) == \
                    expected.dependents("src/app/core.py", closure=True)
                assert project.closure_hash("src/app") == expected.closure_hash("src/app")
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
