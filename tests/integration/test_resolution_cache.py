"""The resolution cache (`.aftershock/resolve-cache.bin`): a run where nothing changed takes
every file's links from it, and after any change the graph, the edge kinds and flags, where
each import was found and the warnings are exactly what a run without caches gives.

Every step below changes one thing that resolution depends on (a file that shadows a module,
a file removed, a namespace package made regular and back, a stub, the configured roots, an
import, the interpreter's facts, a tracked file deleted from the work tree) and then compares
`graph` (JSON and dot, which shows edge kinds and flags) and `imports --resolve` with the
caches against the same commands without them."""

import json
import os
import sys
from pathlib import Path

import pytest

TREE = {
    "pyproject.toml": "",
    "app/__init__.py": "from . import core\n",
    "app/core.py": (
        "import json\nimport requests\nfrom app import util\nimport nothere.sub\n"
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import thing\n"
        "def f():\n    import ns.part.mod\n"
        "try:\n    import yaml\nexcept ImportError:\n    pass\n"
    ),
    "app/util.py": "import app.core\nfrom ... import beyond\n",
    "ns/part/mod.py": "X = 1\n",
    "tests/test_core.py": (
        "import app.core\nfrom ns.part import mod\nimport util\nimport helpers\n"
        "import importlib\nimportlib.import_module('app.util')\nimport json\n"
    ),
    "tests/helpers.py": "",
    "lib/thing.py": "import json\n",
}


def cache_file(root: Path) -> Path:
    return root / ".aftershock" / "resolve-cache.bin"


def python_files(root: Path):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.py*")
                  if ".aftershock" not in p.parts and ".git" not in p.parts)


@pytest.fixture
def check(run):
    """check(root, env=None): the cached commands give what the uncached ones give (with `env`
    added to the environment); returns the cached graph as JSON."""

    def _check(root, env=None):
        graphs = []
        for fmt in ("json", "dot"):
            cached = run("graph", "--format", fmt, cwd=root, env=env)
            uncached = run("graph", "--no-cache", "--format", fmt, cwd=root, env=env)
            assert cached.returncode == uncached.returncode, (cached.stderr, uncached.stderr)
            assert cached.stdout == uncached.stdout, fmt
            assert cached.stderr == uncached.stderr, fmt
            graphs.append(cached.stdout)
        files = python_files(root)
        warm = run("imports", "--resolve", "--json", *files, cwd=root, env=env)
        cache_file(root).unlink(missing_ok=True)
        cold = run("imports", "--resolve", "--json", *files, cwd=root, env=env)
        assert (warm.returncode, warm.stdout, warm.stderr) == \
            (cold.returncode, cold.stdout, cold.stderr)
        return json.loads(graphs[0])

    return _check


def stamp(path: Path):
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, path.read_bytes()


def test_every_kind_of_change_gives_the_uncached_graph(run, check, make_tree, tmp_path):
    root = make_tree(tmp_path / "proj", TREE)
    g = check(root)
    assert g["app/core.py"] == ["app/__init__.py", "app/util.py", "ns/part/mod.py"]
    assert g["tests/test_core.py"] == ["app/__init__.py", "app/core.py", "app/util.py",
                                       "ns/part/mod.py", "tests/helpers.py"]

    # nothing changed: the cache answers and is not rewritten
    check(root)
    before = stamp(cache_file(root))
    run("graph", cwd=root, check=0)
    assert stamp(cache_file(root)) == before

    # files that shadow modules: a stdlib one at the root, one beside a test (its base
    # directory comes first)
    (root / "json.py").write_text("")
    (root / "tests" / "util.py").write_text("")
    g = check(root)
    assert "json.py" in g["app/core.py"] and "json.py" in g["lib/thing.py"]
    assert "tests/util.py" in g["tests/test_core.py"]

    # a file renamed (the same number of files)
    (root / "tests" / "util.py").rename(root / "tests" / "utils.py")
    g = check(root)
    assert "tests/util.py" not in g["tests/test_core.py"]

    # a file removed
    (root / "tests" / "helpers.py").unlink()
    g = check(root)
    assert "tests/helpers.py" not in g["tests/test_core.py"]

    # a namespace package made regular, and back
    (root / "ns" / "__init__.py").write_text("")
    g = check(root)
    assert "ns/__init__.py" in g["app/core.py"]
    (root / "ns" / "__init__.py").unlink()
    g = check(root)
    assert "ns/__init__.py" not in g

    # a directory without Python files changes nothing; a module in it makes it a package
    (root / "nothere").mkdir()
    (root / "nothere" / "README").write_text("")
    check(root)
    (root / "nothere" / "sub.py").write_text("")
    g = check(root)
    assert "nothere/sub.py" in g["app/core.py"]

    # a stub beside a module
    (root / "app" / "util.pyi").write_text("def f() -> int: ...\n")
    g = check(root)
    assert {"app/util.py", "app/util.pyi"} <= set(g["app/core.py"])

    # the configured source roots, and their order when two provide a module
    (root / "lib" / "json.py").write_text("")
    (root / "pyproject.toml").write_text('[tool.aftershock]\nroots = ["", "lib"]\n')
    g = check(root)
    assert "lib/thing.py" in g["app/core.py"]
    assert "json.py" in g["tests/test_core.py"] and "lib/json.py" not in g["tests/test_core.py"]
    (root / "pyproject.toml").write_text('[tool.aftershock]\nroots = ["lib", ""]\n')
    g = check(root)
    assert "lib/json.py" in g["tests/test_core.py"] and "json.py" not in g["tests/test_core.py"]
    (root / "pyproject.toml").write_text("")
    g = check(root)
    assert "lib/thing.py" not in g["app/core.py"]

    # an import edited: only that file's links change
    (root / "app" / "util.py").write_text("import lib.thing\nfrom . import core\n")
    g = check(root)
    assert g["app/util.py"] == ["app/__init__.py", "app/core.py", "lib/thing.py"]
    (root / "lib" / "thing.py").write_text("import app\nimport nothere.sub\n")
    check(root)


def test_interpreter_facts_are_part_of_the_key(run, check, make_tree, tmp_path, fake_venv):
    if fake_venv is None:
        pytest.skip("no recorded interpreter facts")
    root = make_tree(tmp_path / "proj", TREE)
    facts = (fake_venv / "facts.txt").read_text()
    lines = [line for line in facts.splitlines()
             if not line.startswith(("top requests ", "stdlib json"))]
    variants = {
        "without-requests": "\n".join(lines + ["stdlib json"]) + "\n",
        "json-not-stdlib": "\n".join(lines + ["top requests requests"]) + "\n",
        "helpers-builtin": facts + "builtin helpers\nbuiltin util\n",
    }
    base = check(root)
    # one interpreter whose answer changes (its script too, so that the facts' own cache,
    # kept while the interpreter's stamp holds, asks it again)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    for name, text in [("original", facts), *variants.items()]:
        (venv / "facts.txt").write_text(text)
        python.write_text(f"#!/bin/sh\n# {name}\nexec cat '{venv / 'facts.txt'}'\n")
        python.chmod(0o755)
        g = check(root, env={"VIRTUAL_ENV": str(venv)})
        if name == "helpers-builtin":
            # builtin modules are found before any project file
            assert "tests/helpers.py" not in g["tests/test_core.py"]
    assert check(root) == base


def test_deleted_tracked_file(run, check, make_tree, git_init, tmp_path):
    root = git_init(make_tree(tmp_path / "proj", TREE))
    check(root)
    (root / "app" / "util.py").unlink()  # still listed by git
    g = check(root)
    assert "app/util.py" not in g


@pytest.mark.parametrize("damage", [
    pytest.param(lambda d: d[: len(d) // 2], id="truncated"),
    pytest.param(lambda d: d[:100] + bytes([d[100] ^ 0xFF]) + d[101:], id="flipped-byte"),
    pytest.param(lambda d: b"ASHPARSE" + d[8:], id="foreign"),
    pytest.param(lambda d: b"", id="empty"),
])
def test_damaged_cache_is_one_warning_and_the_right_graph(run, check, make_tree, tmp_path,
                                                          damage):
    root = make_tree(tmp_path / "proj", TREE)
    uncached = run("graph", "--no-cache", cwd=root, check=0)
    run("graph", cwd=root, check=0)
    cache_file(root).write_bytes(damage(cache_file(root).read_bytes()))
    damaged = run("graph", cwd=root, check=0)
    assert damaged.stdout == uncached.stdout
    extra = [line for line in damaged.stderr.splitlines()
             if line not in uncached.stderr.splitlines()]
    assert len(extra) == 1 and "resolve-cache.bin" in extra[0] \
        and "ignoring the resolution cache" in extra[0], damaged.stderr
    # rebuilt: the next run is quiet
    again = run("graph", cwd=root, check=0)
    assert (again.stdout, again.stderr) == (uncached.stdout, uncached.stderr)


def test_unwritable_cache_directory_is_one_warning(run, make_tree, tmp_path):
    root = make_tree(tmp_path / "proj", {**TREE, ".aftershock": "not a directory\n"})
    proc = run("graph", cwd=root, check=0)
    assert proc.stdout == run("graph", "--no-cache", cwd=root, check=0).stdout
    warnings = [line for line in proc.stderr.splitlines() if "cannot write" in line]
    assert len(warnings) == 1 and "parse cache" in warnings[0], proc.stderr


def test_root_conflict_warning_follows_the_configuration(check, run, make_tree, tmp_path):
    """Configured roots equal to the detected ones resolve the same, but source-root conflicts
    are only reported for detected roots: the cached warnings must follow."""
    root = make_tree(tmp_path / "proj", {
        "pyproject.toml": "", "x.py": "", "src/x.py": "", "a.py": "import x\n"})
    warned = run("graph", cwd=root, check=0).stderr
    assert "module 'x' is in source roots" in warned
    check(root)
    (root / "pyproject.toml").write_text('[tool.aftershock]\nroots = ["", "src"]\n')
    check(root)
    assert "source roots" not in run("graph", cwd=root, check=0).stderr
    (root / "pyproject.toml").write_text("")
    check(root)
    assert run("graph", cwd=root, check=0).stderr == warned
