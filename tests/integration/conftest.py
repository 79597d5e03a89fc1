"""Shared fixtures of the CLI tests: the aftershock binary under test and helpers to run it."""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"


def _binary(var: str) -> Path:
    path = Path(os.environ.get(var) or os.environ.get("AFTERSHOCK_BIN") or REPO / "build" / "aftershock")
    if not path.exists():
        pytest.exit(f"{path}: aftershock binary not built (run `make`)", returncode=3)
    return path


@pytest.fixture(scope="session")
def aftershock_bin() -> Path:
    """The binary the CLI tests drive (the sanitized build under `make test`)."""
    return _binary("AFTERSHOCK_BIN")


@pytest.fixture(scope="session")
def fast_bin() -> Path:
    """An optimised binary, for tests that feed it thousands of files."""
    return _binary("AFTERSHOCK_FAST_BIN")


@pytest.fixture
def run(aftershock_bin):
    """Run aftershock with arguments; returns the CompletedProcess (text mode)."""

    def _run(*args, cwd=None, env=None, check=None, input=None):
        full_env = dict(os.environ)
        full_env.pop("AFTERSHOCK_CACHE_DIR", None)
        if env:
            full_env.update(env)
        proc = subprocess.run(
            [str(aftershock_bin), *map(str, args)],
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            errors="replace",
            input=input,
            timeout=300,
        )
        if check is not None:
            assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
        return proc

    return _run
