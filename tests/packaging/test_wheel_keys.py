"""Wheel keys (examples/wheel-keys): a package's key changes exactly when a file in its closure
(its own files, and the files of other packages it imports) or its environment changes, and the
example's build step skips a package whose key already has a wheel."""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest
from pkgtest_util import REPO, base_env, copy_tree, run

EXAMPLE = REPO / "examples" / "wheel-keys"


@pytest.fixture()
def monorepo(tmp_path, aftershock_bin, monkeypatch) -> Path:
    """A copy of the example, its wheelkeys module imported, the CLI under test as $AFTERSHOCK."""
    root = copy_tree(EXAMPLE, tmp_path / "monorepo")
    monkeypatch.setenv("AFTERSHOCK", str(aftershock_bin))
    monkeypatch.delenv("WHEEL_BUILD_FLAGS", raising=False)
    return root


@pytest.fixture()
def wheelkeys(monorepo):
    spec = importlib.util.spec_from_file_location("wheelkeys", monorepo / "wheelkeys.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hash_keys(aftershock_bin, root: Path, *args: str, env=None) -> dict:
    """`aftershock hash --json` of the package directories: {"a": key, ...}."""
    dirs = [f"libs/{p}" for p in ("a", "b", "c")]
    out = run([aftershock_bin, "hash", "--json", "-q", "--root", root, *args, *dirs],
              cwd=root, env=env).stdout
    return {path.strip("/").split("/")[-1]: key for path, key in json.loads(out).items()}


def append(path: Path, text: str = "\n# touched\n") -> None:
    with open(path, "a") as f:
        f.write(text)


@pytest.mark.parametrize("touched, changed", [
    ("libs/a/src/a/money.py", {"a", "b"}),  # in b's closure: b's cart imports a.money
    ("libs/a/src/a/__init__.py", {"a", "b"}),  # a's package, executed by `import a.money`
    ("libs/a/src/a/fx.py", {"a"}),  # part of a, imported by nothing of b
    ("libs/b/src/b/cart.py", {"b"}),
    ("libs/c/src/c/__init__.py", {"c"}),
    ("pyproject.toml", set()),  # no Python file imports it
])
def test_closure_key_changes_exactly_with_the_closure(monorepo, aftershock_bin, touched,
                                                      changed):
    before = hash_keys(aftershock_bin, monorepo)
    append(monorepo / touched)
    after = hash_keys(aftershock_bin, monorepo)
    assert {p for p in before if before[p] != after[p]} == changed


def test_new_stub_in_the_closure_changes_the_key(monorepo, aftershock_bin):
    before = hash_keys(aftershock_bin, monorepo)
    # A stub beside an imported module is an input of its importers too.
    (monorepo / "libs/a/src/a/money.pyi").write_text("class Money: ...\n")
    after = hash_keys(aftershock_bin, monorepo)
    assert before["b"] != after["b"] and before["c"] == after["c"]


def test_key_is_the_same_in_another_checkout(monorepo, aftershock_bin, tmp_path):
    other = copy_tree(EXAMPLE, tmp_path / "elsewhere" / "checkout")
    assert hash_keys(aftershock_bin, monorepo) == hash_keys(aftershock_bin, other)


def test_env_key_follows_the_configured_variables(monorepo, aftershock_bin):
    plain = hash_keys(aftershock_bin, monorepo, "--env", env=base_env())
    again = hash_keys(aftershock_bin, monorepo, "--env", env=base_env())
    assert plain == again
    # WHEEL_BUILD_FLAGS is listed in [tool.aftershock] env: every key changes with it.
    flagged = hash_keys(aftershock_bin, monorepo, "--env", env=base_env(WHEEL_BUILD_FLAGS="-O3"))
    assert all(flagged[p] != plain[p] for p in plain)
    # A variable that is not listed changes nothing; without --env the variable is not mixed in.
    assert hash_keys(aftershock_bin, monorepo, "--env", env=base_env(UNLISTED="1")) == plain
    without = hash_keys(aftershock_bin, monorepo, env=base_env())
    assert without == hash_keys(aftershock_bin, monorepo, env=base_env(WHEEL_BUILD_FLAGS="-O3"))
    assert without != plain


def test_package_key_covers_the_packages_own_files(wheelkeys, monorepo):
    b, c = monorepo / "libs/b", monorepo / "libs/c"
    before = (wheelkeys.package_key(b), wheelkeys.package_key(c))
    # The wheel's metadata is in pyproject.toml, which no Python file imports.
    append(b / "pyproject.toml", '\n[tool.setuptools]\nzip-safe = false\n')
    after = (wheelkeys.package_key(b), wheelkeys.package_key(c))
    assert after[0] != before[0] and after[1] == before[1]
    # Build outputs under the package are not inputs.
    (b / "build" / "lib").mkdir(parents=True)
    (b / "build" / "lib" / "junk.txt").write_text("x")
    assert wheelkeys.package_key(b) == after[0]


def test_build_skips_packages_whose_key_has_a_wheel(wheelkeys, monorepo):
    wheelhouse = monorepo / "wheelhouse"
    built = []

    def fake_pip_wheel(package: Path, out: Path) -> None:
        built.append(package.name)
        (out / f"{package.name}-1.0.0-py3-none-any.whl").write_bytes(b"wheel")

    def build_all() -> list[str]:
        built.clear()
        for package in wheelkeys.packages(monorepo):
            wheelkeys.build(package, fake_pip_wheel, root=monorepo, wheelhouse=wheelhouse)
        return sorted(built)

    assert build_all() == ["a", "b", "c"]
    assert build_all() == []
    append(monorepo / "libs/a/src/a/money.py")
    assert build_all() == ["a", "b"]
    append(monorepo / "libs/a/src/a/fx.py")
    assert build_all() == ["a"]
    # One wheel directory per package: the stale keys were removed.
    assert sorted(d.name.split("-")[0] for d in wheelhouse.iterdir()) == ["a", "b", "c"]


def test_failed_build_leaves_no_artifact(wheelkeys, monorepo):
    wheelhouse = monorepo / "wheelhouse"

    def failing(package: Path, out: Path) -> None:
        (out / "partial.whl").write_bytes(b"")
        raise RuntimeError("compiler crashed")

    with pytest.raises(RuntimeError):
        wheelkeys.build(monorepo / "libs/a", failing, root=monorepo, wheelhouse=wheelhouse)
    assert list(wheelhouse.iterdir()) == []


def test_key_command_prints_one_key_per_package_or_a_combined_one(monorepo, aftershock_bin):
    def key(*args: str) -> str:
        return run([sys.executable, "wheelkeys.py", "key", *args], cwd=monorepo).stdout.strip()

    b, all_packages = key("libs/b"), key()
    assert len(b) == 32 and len(all_packages) == 32 and b != all_packages
    append(monorepo / "libs/c/src/c/__init__.py")
    assert key("libs/b") == b and key() != all_packages


def test_python_api_gives_the_cli_key(monorepo, aftershock_bin):
    aftershock = pytest.importorskip("aftershock", reason="the aftershock package is not "
                                     "installed in this interpreter (make test-python does)")
    project = aftershock.Project(monorepo)
    assert {p: project.closure_hash(f"libs/{p}") for p in ("a", "b", "c")} == \
        hash_keys(aftershock_bin, monorepo)
    # with the environment mixed in, as `aftershock hash --env` does
    with_env = {p: project.closure_hash(f"libs/{p}", env=True) for p in ("a", "b", "c")}
    assert with_env == hash_keys(aftershock_bin, monorepo, "--env")
    assert with_env["a"] != project.closure_hash("libs/a")


def test_noxfile_session_builds_then_skips(monorepo, monkeypatch, tmp_path, request):
    """The noxfile's `wheels` session, with a stand-in for nox (not installed here)."""
    fake_nox = types.ModuleType("nox")
    fake_nox.Session = object
    fake_nox.session = lambda **kwargs: (lambda f: f)
    monkeypatch.setitem(sys.modules, "nox", fake_nox)
    monkeypatch.setattr(sys, "path", list(sys.path))
    sys.modules.pop("wheelkeys", None)
    request.addfinalizer(lambda: sys.modules.pop("wheelkeys", None))
    monkeypatch.chdir(tmp_path)  # nox imports the noxfile from anywhere
    spec = importlib.util.spec_from_file_location("noxfile", monorepo / "noxfile.py")
    noxfile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(noxfile)
    assert Path(noxfile.wheelkeys.__file__).resolve() == (monorepo / "wheelkeys.py").resolve()

    class Session:
        def __init__(self):
            self.built, self.logs = [], []

        def run(self, *args):
            out, package = Path(args[args.index("-w") + 1]), Path(args[-1])
            self.built.append(package.name)
            (out / f"{package.name}-1.0.0-py3-none-any.whl").write_bytes(b"wheel")

        def log(self, message):
            self.logs.append(message)

    first, second = Session(), Session()
    noxfile.wheels(first)
    noxfile.wheels(second)
    assert first.built == ["a", "b", "c"] and second.built == []
    assert all("up to date" in line for line in second.logs)
