"""`aftershock hash`: closure keys change exactly when a file of the closure changes, are the
same in another checkout path and with or without the parse cache, and name files,
directories and modules."""

import json
import shutil

import pytest

TREE = {
    "pyproject.toml": "",
    "app/__init__.py": "",
    "app/main.py": "from app import service\n",
    "app/service.py": "import app.models\n",
    "app/models.py": "X = 1\n",
    "app/cycle_a.py": "from app import cycle_b\n",
    "app/cycle_b.py": "from app import cycle_a\n",
    "tools/alone.py": "import json\n",
}


def keys(run, root, *args, env=None):
    return json.loads(run("hash", "--json", *args, cwd=root, env=env, check=0).stdout)


@pytest.fixture
def tree(tmp_path, make_tree):
    return make_tree(tmp_path / "repo", TREE)


def test_every_file_has_a_key(run, tree):
    k = keys(run, tree)
    assert sorted(k) == sorted(p for p in TREE if p.endswith(".py"))
    assert all(len(v) == 32 and int(v, 16) >= 0 for v in k.values())
    text = run("hash", cwd=tree, check=0).stdout.splitlines()
    assert text == [f"{k[p]}  {p}" for p in sorted(k)]


def test_a_change_reaches_exactly_its_importers(run, tree):
    before = keys(run, tree)
    (tree / "app/models.py").write_text("X = 2\n")
    after = keys(run, tree)
    changed = {p for p in before if before[p] != after[p]}
    # models.py and everything that imports it, directly or not, including through the
    # parent package app/__init__.py, which every module of app executes
    assert {"app/models.py", "app/service.py", "app/main.py"} <= changed
    assert "tools/alone.py" not in changed
    assert "app/__init__.py" not in changed  # it imports nothing


def test_parent_package_is_in_every_importer_closure(run, tree):
    """`import app.models` executes app/__init__.py first, so it is in the closure of every
    file that imports a module of app; models.py itself imports nothing."""
    before = keys(run, tree)
    (tree / "app/__init__.py").write_text("VERSION = 2\n")
    after = keys(run, tree)
    for p in ("app/service.py", "app/main.py", "app/cycle_a.py", "app/__init__.py"):
        assert before[p] != after[p], p
    assert before["app/models.py"] == after["app/models.py"]
    assert before["tools/alone.py"] == after["tools/alone.py"]


def test_cycle_members_share_a_key(run, tree):
    k = keys(run, tree)
    assert k["app/cycle_a.py"] == k["app/cycle_b.py"]
    assert k["app/cycle_a.py"] != k["app/models.py"]


def test_same_keys_in_another_checkout_and_without_cache(run, tree, tmp_path):
    first = keys(run, tree)
    copy = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(tree, copy, ignore=shutil.ignore_patterns(".aftershock"))
    assert keys(run, copy) == first
    assert keys(run, tree, "--no-cache") == first
    assert keys(run, tree) == first  # warm, from the parse cache


def test_arguments_files_directories_modules(run, tree):
    k = keys(run, tree)
    picked = keys(run, tree, "app/models.py", "app", "app.service")
    assert picked["app/models.py"] == k["app/models.py"]
    assert picked["app.service"] == k["app/service.py"]
    assert picked["app/"] not in k.values()  # one key over the directory's files
    # the directory key moves when any of its files does, not when a file outside does
    (tree / "tools/alone.py").write_text("import os\n")
    assert keys(run, tree, "app")["app/"] == picked["app/"]
    (tree / "app/cycle_b.py").write_text("from app import cycle_a  # edited\n")
    assert keys(run, tree, "app")["app/"] != picked["app/"]


def test_unknown_argument_is_an_error(run, tree):
    proc = run("hash", "no.such.module", cwd=tree, check=2)
    assert "no.such.module: no Python file or module of the project" in proc.stderr


def test_env_mixes_in_the_environment_key(run, tree):
    pyproject = tree / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.aftershock]\nenv = ["ASH_HASH_MODE"]\n')
    plain = keys(run, tree, "app")["app/"]
    with_env = keys(run, tree, "--env", "app", env={"ASH_HASH_MODE": None})["app/"]
    assert with_env != plain
    assert keys(run, tree, "--env", "app", env={"ASH_HASH_MODE": None})["app/"] == with_env
    changed = keys(run, tree, "--env", "app", env={"ASH_HASH_MODE": "1"})["app/"]
    assert changed != with_env
    # a variable the configuration does not list does not count, nor does it without --env
    assert keys(run, tree, "--env", "app", env={"ASH_HASH_MODE": None, "OTHER": "x"})[
        "app/"] == with_env
    assert keys(run, tree, "app", env={"ASH_HASH_MODE": "1"})["app/"] == plain
