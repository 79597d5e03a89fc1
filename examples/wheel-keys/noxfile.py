"""nox sessions of the monorepo: `nox -s wheels` builds the wheel of every package under libs/
whose key has no wheel in wheelhouse/ yet, and skips the others (wheelkeys.py has the logic,
usable without nox: `python wheelkeys.py build`)."""

import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).resolve().parent))  # nox does not put it there
import wheelkeys  # noqa: E402


@nox.session(venv_backend="none")
def wheels(session: nox.Session) -> None:
    def pip_wheel(package, out):
        session.run("python", "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(package))

    for package in wheelkeys.packages():
        dest, built = wheelkeys.build(package, builder=pip_wheel)
        session.log(f"{package.name}: {'built' if built else 'up to date, skipped'}: {dest.name}")
