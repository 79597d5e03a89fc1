"""Fixtures of the packaging tests: the wheel under test installed in a fresh virtualenv, git
isolated from the user's configuration, and the aftershock CLI.

Environment:
  AFTERSHOCK_WHEEL  a built wheel to install (`make test-python` sets it); without it the tests
                    install the repository itself (`pip install <repo>`, a full build).
  AFTERSHOCK_BIN    the CLI the wheel-key tests drive (default: build/aftershock).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pkgtest_util import REPO, Venv, base_env, has_package, pinned


@pytest.fixture(scope="session")
def wheel_or_repo() -> Path:
    """What `pip install` installs: $AFTERSHOCK_WHEEL, else the repository itself."""
    wheel = os.environ.get("AFTERSHOCK_WHEEL")
    if wheel:
        path = Path(wheel).resolve()
        assert path.is_file(), f"AFTERSHOCK_WHEEL={wheel}: no such file"
        return path
    return REPO


@pytest.fixture(scope="session")
def installed(tmp_path_factory, wheel_or_repo) -> Venv:
    """A fresh virtualenv with aftershock (wheel or repository) and the pinned pytest."""
    env = Venv(tmp_path_factory.mktemp("venv") / "env")
    env.pip_install(wheel_or_repo, pinned("pytest"))
    return env


@pytest.fixture(scope="session")
def installed_package(installed) -> Venv:
    """`installed`, skipping the test while the wheel has no Python package yet."""
    if not has_package(installed):
        where = "bindings/ does not exist" if not (REPO / "bindings").exists() else \
            "bindings/ installs nothing into the wheel"
        pytest.skip(f"the wheel has no `aftershock` Python package yet ({where})")
    return installed


@pytest.fixture(scope="session")
def aftershock_bin() -> Path:
    """The CLI the wheel-key tests drive."""
    path = Path(os.environ.get("AFTERSHOCK_BIN") or REPO / "build" / "aftershock").absolute()
    if not path.exists():
        pytest.skip(f"{path}: aftershock not built (run `make`)")
    return path


@pytest.fixture(scope="session")
def git_env(tmp_path_factory) -> dict:
    """An environment in which git ignores the user's and the system's configuration."""
    home = tmp_path_factory.mktemp("gitconfig")
    config = home / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    return base_env(
        GIT_CONFIG_GLOBAL=str(config), GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid",
    )
