"""Shared fixtures of the CLI tests: the aftershock binary under test, helpers to run it, and
helpers that lay out small project trees in a test's tmp_path."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"

# What `aftershock run` prints on stderr for each module it ran.
MODULE_LINE = re.compile(r"^aftershock: (\S+) (passed|failed|error|crashed|timed out) \(")

# What a sanitizer prints when it finds something (ASan, LSan, UBSan with -fsanitize=...).
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def _binary(var: str) -> Path:
    default = REPO / "build" / "aftershock"
    path = Path(os.environ.get(var) or os.environ.get("AFTERSHOCK_BIN") or default)
    path = path.absolute()  # the tests run it from their own directories
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


@pytest.fixture(scope="session")
def fake_venv(tmp_path_factory, fast_bin) -> Path | None:
    """A directory usable as $VIRTUAL_ENV whose `bin/python` answers aftershock's interpreter
    probe instantly with what this interpreter answered once.

    Asking the real interpreter costs a second or more per project (each test's project has
    its own, empty cache directory), which would dominate the suite. The answer is taken
    from the envinfo cache file aftershock itself wrote for the real interpreter, so the
    stdlib and third-party names are the real ones. None if that file cannot be found: the
    tests then ask the real interpreter (slower, same results).
    """
    work = tmp_path_factory.mktemp("probe")
    (work / "pyproject.toml").write_text("")
    (work / "m.py").write_text("import os\n")
    subprocess.run(
        [str(fast_bin), "graph", "--python", sys.executable],
        cwd=work, capture_output=True, timeout=120,
    )
    for cached in sorted((work / ".aftershock").glob("python-*.txt")):
        text = cached.read_text(errors="replace")
        if "\nend\n" in text and "\nstdlib os\n" in text:
            venv = tmp_path_factory.mktemp("venv")
            facts = venv / "facts.txt"
            facts.write_text(text.split("\nend\n", 1)[1])
            python = venv / "bin" / "python"
            python.parent.mkdir()
            python.write_text(f"#!/bin/sh\nexec cat '{facts}'\n")
            python.chmod(0o755)
            return venv
    return None


def _check_sanitizers(proc):
    stderr = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode(errors="replace")
    for marker in SANITIZER_MARKERS:
        assert marker not in stderr, f"sanitizer report:\n{stderr}"


def _arg(a):
    """A command-line argument: bytes and paths stay raw bytes on the way to the process."""
    return os.fsdecode(a) if isinstance(a, (bytes, os.PathLike)) else str(a)


@pytest.fixture
def run(aftershock_bin, fake_venv):
    """Run aftershock with arguments; returns the CompletedProcess (text, undecodable bytes
    replaced; with `raw=True` bytes). Fails the test on a sanitizer report. `check` asserts
    the exit status; `stdout` may redirect the output to an open file; `env` entries are
    added to the environment (None removes one). $VIRTUAL_ENV points at `fake_venv`, so the
    interpreter aftershock asks by default answers at once; `--python` asks another."""

    def _run(*args, cwd=None, env=None, check=None, input=None, raw=False,
             stdout=subprocess.PIPE):
        full_env = dict(os.environ)
        full_env.pop("AFTERSHOCK_CACHE_DIR", None)
        full_env.pop("VIRTUAL_ENV", None)
        if fake_venv is not None:
            full_env["VIRTUAL_ENV"] = str(fake_venv)
        if env:
            full_env.update(env)
        full_env = {k: v for k, v in full_env.items() if v is not None}
        proc = subprocess.run(
            [str(aftershock_bin), *map(_arg, args)],
            cwd=cwd,
            env=full_env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=not raw,
            errors=None if raw else "replace",
            input=input,
            timeout=300,
        )
        _check_sanitizers(proc)
        if check is not None:
            assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
        return proc

    return _run


@pytest.fixture
def graph(run):
    """graph(root, *args, cwd=None, check=0): run `aftershock graph ARGS` in `cwd` (default
    `root`), assert the exit status, return (parsed JSON, warning lines of stderr)."""

    def _graph(root, *args, cwd=None, check=0):
        proc = run("graph", *args, cwd=cwd or root, check=check)
        return json.loads(proc.stdout), warnings_of(proc)

    return _graph


def warnings_of(proc):
    """The lines aftershock printed on stderr, without the --stats line."""
    return [
        line for line in proc.stderr.splitlines()
        if line and not (line.startswith("aftershock: ") and " from the parse cache, " in line)
    ]


def _make_tree(root: Path, files: dict) -> Path:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def make_tree():
    """make_tree(root, {"relative/path": content}): create the files under `root` (str
    content as UTF-8, bytes as is; a path ending in "/" is an empty directory); returns root."""
    return _make_tree


def _git_init(root: Path) -> Path:
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    for cmd in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
    ):
        subprocess.run(cmd, cwd=root, check=True, env=env, capture_output=True)
    return root


@pytest.fixture
def git_init():
    """git_init(root): make `root` a git repository with everything in it committed."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    return _git_init


@pytest.fixture
def copy_fixture(tmp_path):
    """copy_fixture(name): a copy of the static tree tests/fixtures/<name> in tmp_path (runs
    must not write a parse cache into the source tree, and the source tree is inside this
    repository's git work tree, which would be taken as the project root)."""

    def _copy(name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(FIXTURES / name, dest, symlinks=True)
        return dest

    return _copy


@pytest.fixture
def chmod_or_skip():
    """chmod_or_skip(path, mode): chmod, then skip the test if the mode does not actually deny
    access (root ignores permission bits). Modes are restored at teardown so that tmp_path
    can be removed."""
    changed = []

    def _chmod(path: Path, mode: int):
        path = Path(path)
        changed.append((path, path.stat().st_mode & 0o7777))
        path.chmod(mode)
        if path.is_dir():
            probe = path / ".write-probe"
            try:
                probe.write_text("")
            except OSError:
                return
            probe.unlink()
        else:
            try:
                path.open("rb").close()
            except OSError:
                return
        pytest.skip("permission bits do not deny access here (running as root?)")

    yield _chmod
    for path, mode in reversed(changed):
        path.chmod(mode)


@pytest.fixture(scope="session")
def python_wrapper(tmp_path_factory, fake_venv):
    """A venv-like directory whose bin/python answers aftershock's interpreter probe from the
    facts fake_venv recorded (instantly) and runs this interpreter for everything else, so
    that each test's fresh project does not pay a probe but pytest really runs."""
    venv = tmp_path_factory.mktemp("runvenv")
    python = venv / "bin" / "python"
    python.parent.mkdir()
    if fake_venv is None:
        python.symlink_to(sys.executable)
        return venv
    facts = fake_venv / "facts.txt"
    python.write_text(
        "#!/bin/sh\n"
        f'case "$2" in *stdlib_module_names*) exec cat \'{facts}\' ;; esac\n'
        f'exec \'{sys.executable}\' "$@"\n'
    )
    python.chmod(0o755)
    return venv


@pytest.fixture
def ash(run, python_wrapper):
    """ash(root, *args): run aftershock in root with the wrapper interpreter."""

    def _ash(root, *args, env=None, check=None):
        full = {"VIRTUAL_ENV": str(python_wrapper), "APP_MODE": None}
        full.update(env or {})
        return run(*args, cwd=root, env=full, check=check)

    return _ash


def ran(proc) -> dict[str, str]:
    """The modules a run ran, with their outcomes."""
    return {m.group(1): m.group(2) for m in map(MODULE_LINE.match, proc.stderr.splitlines()) if m}
