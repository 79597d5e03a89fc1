"""Shared set-up of the tests of the Python package (the extension aftershock._core, the
Project API and the pytest plugin).

Which `aftershock` is tested: the installed one (a wheel) when $AFTERSHOCK_TEST_INSTALLED is
set (`make test-python` sets it); else $AFTERSHOCK_PYTHONPATH, a directory holding the
aftershock package; else the package a CMake build with -DASH_PYTHON=ON assembled in build-py/
or build/ (bindings/python/); else the installed one. The choice goes into
PYTHONPATH too, so that pytest subprocesses (xdist workers, runpytest_subprocess) see it.
"""

import os
import shutil
import sys
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytest_plugins = ["pytester"]


def _package_dir():
    if os.environ.get("AFTERSHOCK_TEST_INSTALLED", "0") not in ("", "0"):
        return None
    chosen = os.environ.get("AFTERSHOCK_PYTHONPATH")
    candidates = [Path(chosen)] if chosen else [REPO / b / "bindings" / "python"
                                                for b in ("build-py", "build")]
    for candidate in candidates:
        if (candidate / "aftershock" / "__init__.py").exists():
            return candidate.resolve()
    if chosen:
        raise RuntimeError("AFTERSHOCK_PYTHONPATH=%s holds no aftershock package" % chosen)
    return None


PACKAGE_DIR = _package_dir()
if PACKAGE_DIR is not None:
    sys.path.insert(0, str(PACKAGE_DIR))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(PACKAGE_DIR)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])

import aftershock  # noqa: E402  (after the path is set)


def _entry_point_registered():
    try:
        eps = metadata.entry_points()
        group = eps.select(group="pytest11") if hasattr(eps, "select") else eps.get("pytest11", [])
    except Exception:
        return False
    return any(ep.value == "aftershock.pytest_plugin" for ep in group)


# An installed distribution registers the plugin through its pytest11 entry point; otherwise
# it is named on the command line (naming it twice is an error).
PLUGIN = () if _entry_point_registered() else ("-p", "aftershock.pytest_plugin")


def aftershock_bin():
    """The `aftershock` command, for tests that check the plugin against it; None if absent."""
    for candidate in (os.environ.get("AFTERSHOCK_BIN"), REPO / "build-py" / "aftershock",
                      REPO / "build" / "aftershock", shutil.which("aftershock")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


@pytest.fixture(autouse=True)
def _no_outer_cache_dir(monkeypatch):
    """The tests' projects keep their result caches under their own roots."""
    monkeypatch.delenv("AFTERSHOCK_CACHE_DIR", raising=False)


@pytest.fixture(scope="session")
def interpreter_facts(tmp_path_factory):
    """The C core's cache file of this interpreter's facts (stdlib names, distributions),
    made once: asking the interpreter costs a few hundred milliseconds per new project. The
    file is keyed by the interpreter and checked against its stamps, so it is valid in any
    project's `.aftershock/`."""
    work = tmp_path_factory.mktemp("facts")
    (work / "pyproject.toml").write_text("")
    (work / "test_x.py").write_text("import os\n")
    aftershock.Project(work, config={"python": sys.executable}).test_modules()
    return sorted((work / ".aftershock").glob("python-*.txt"))


def write_tree(root, files, facts=()):
    """Write {relative path: text} under `root`, with the interpreter facts in place."""
    root = Path(root)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if facts:
        (root / ".aftershock").mkdir(exist_ok=True)
        for f in facts:
            shutil.copy(f, root / ".aftershock" / f.name)
    return root
