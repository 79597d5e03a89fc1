"""Helpers of the packaging tests: commands, fresh virtualenvs, git isolated from the user's
configuration.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def pinned(name: str) -> str:
    """`name==version` as requirements-dev.txt pins it."""
    text = (REPO / "requirements-dev.txt").read_text()
    match = re.search(rf"^{re.escape(name)}==\S+", text, re.M)
    assert match, f"requirements-dev.txt does not pin {name}"
    return match.group(0)


def run(cmd, cwd=None, env=None, timeout=600, check=True) -> subprocess.CompletedProcess:
    """Run a command, output captured as text; on an unexpected status the output is shown."""
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} exited {proc.returncode}\n--- stdout\n{proc.stdout}"
                             f"\n--- stderr\n{proc.stderr}")
    return proc


def base_env(**extra: str) -> dict:
    """The environment without this interpreter's virtualenv (the tests make their own)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


class Venv:
    """A virtualenv made with `python -m venv`."""

    def __init__(self, path: Path):
        self.path = path
        venv.EnvBuilder(with_pip=True, clear=True).create(path)

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    def env(self, **extra: str) -> dict:
        env = base_env(VIRTUAL_ENV=str(self.path), **extra)
        env["PATH"] = f"{self.path / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return env

    def pip_install(self, *args) -> subprocess.CompletedProcess:
        return run([self.python, "-m", "pip", "install", "-q", *args], env=self.env(),
                   timeout=1200)


def has_package(env: Venv) -> bool:
    """Whether the installed distribution holds the `aftershock` Python package (the extension
    and the plugin come from bindings/, built with ASH_PYTHON=ON)."""
    proc = run([env.python, "-c", "import importlib.util as u, sys; "
                "sys.exit(u.find_spec('aftershock') is None)"], cwd=env.path, check=False)
    return proc.returncode == 0


def git(*args, cwd: Path, env: dict, check=True) -> subprocess.CompletedProcess:
    return run(["git", *args], cwd=cwd, env=env, check=check)


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
        ".aftershock", "wheelhouse", "__pycache__", "build", "*.egg-info"))
    return dst
