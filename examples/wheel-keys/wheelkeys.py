"""Wheel keys: build a package's wheel only when no wheel was built from the same inputs.

A package's key is aftershock's closure key of its directory with the environment mixed in
(`aftershock hash --env libs/<pkg>`: every Python file of the package and, transitively, every
file they import, in other packages of the monorepo too; the interpreter, the installed
distributions, the [tool.aftershock] env variables), together with the package's own files
that are not Python (pyproject.toml, package data), which go into its wheel but import nothing.
Wheels are kept in wheelhouse/<name>-<key>/; a package whose directory already holds a wheel is
not built again.

    python wheelkeys.py key [libs/b ...]     # one package's key, or one key over several/all
    python wheelkeys.py build [libs/b ...]   # build the missing wheels (all packages by default)

The noxfile calls the same functions. The aftershock CLI is $AFTERSHOCK, else `aftershock` on
PATH (`pip install aftershock`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterable

ROOT = Path(__file__).resolve().parent
WHEELHOUSE = ROOT / "wheelhouse"
# Directories under a package that are build outputs, not inputs.
SKIP_DIRS = {"build", "dist", "__pycache__", ".aftershock", ".nox", ".tox", ".venv"}

Builder = Callable[[Path, Path], None]


def aftershock() -> str:
    exe = os.environ.get("AFTERSHOCK") or shutil.which("aftershock")
    if not exe:
        sys.exit("wheelkeys: aftershock not found: pip install aftershock, or set $AFTERSHOCK")
    return exe


def packages(root: Path = ROOT) -> list[Path]:
    """The package directories: libs/<name> with a pyproject.toml."""
    return sorted(p.parent for p in (root / "libs").glob("*/pyproject.toml"))


def closure_key(package: Path, root: Path = ROOT) -> str:
    """aftershock's key of the package directory, environment included."""
    rel = package.resolve().relative_to(root.resolve()).as_posix()
    out = subprocess.run(
        [aftershock(), "hash", "--env", "--json", "--quiet", "--root", str(root), rel],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout
    keys = json.loads(out)
    if len(keys) != 1:
        raise RuntimeError(f"aftershock hash {rel}: expected one key, got {keys}")
    return next(iter(keys.values()))


def own_files(package: Path) -> Iterable[Path]:
    """The package's files that are not Python sources: metadata and package data."""
    for dirpath, dirnames, filenames in os.walk(package):
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(filenames):
            if not name.endswith((".py", ".pyi", ".pyc")):
                yield Path(dirpath) / name


def package_key(package: Path, root: Path = ROOT) -> str:
    """The key of the package's wheel: 32 hex digits."""
    h = hashlib.sha256()
    h.update(b"closure\0" + closure_key(package, root).encode() + b"\0")
    for path in own_files(package):
        rel = path.relative_to(package).as_posix()
        data = path.read_bytes()
        # Tag and length before every field, so that no two file sets hash alike.
        h.update(b"file\0%s\0%d\0" % (rel.encode(), len(data)))
        h.update(data)
    return h.hexdigest()[:32]


def combined_key(keys: Iterable[str]) -> str:
    """One key over several packages' keys (a CI cache key for the whole wheelhouse)."""
    return hashlib.sha256("\0".join(keys).encode()).hexdigest()[:32]


def pip_wheel(package: Path, out: Path) -> None:
    """The default builder: `pip wheel` of the package alone."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(package)],
        check=True,
    )


def build(package: Path, builder: Builder = pip_wheel, root: Path = ROOT,
          wheelhouse: Path = WHEELHOUSE) -> tuple[Path, bool]:
    """The directory holding the package's wheel for its current key, and whether it was built
    now (False: a wheel with this key was there already). A failed build leaves nothing."""
    key = package_key(package, root)
    dest = wheelhouse / f"{package.name}-{key}"
    if any(dest.glob("*.whl")):
        return dest, False
    tmp = wheelhouse / f".{package.name}-{key}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        builder(package, tmp)
        if not any(tmp.glob("*.whl")):
            raise RuntimeError(f"{package}: the builder made no wheel")
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # Older keys of this package are stale: keep the wheelhouse (a CI cache) small.
    for old in wheelhouse.glob(f"{package.name}-*"):
        if old != dest and old.is_dir():
            shutil.rmtree(old)
    return dest, True


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("key", "build"):
        print(__doc__.strip().split("\n\n")[2], file=sys.stderr)
        return 2
    chosen = [ROOT / p for p in argv[1:]] or packages()
    if argv[0] == "key":
        keys = [package_key(p) for p in chosen]
        print(keys[0] if len(argv) == 2 else combined_key(keys))
        return 0
    for package in chosen:
        dest, built = build(package)
        state = "built" if built else "up to date"
        print(f"{package.name}: {state}: {dest.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
