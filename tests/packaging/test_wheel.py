"""The distribution: `pip install` of the repository (or of the wheel `make wheel` built) into a
fresh virtualenv gives the `aftershock` command on PATH, the importable package and the pytest
plugin, and nothing it installs needs a shared library beyond the C library."""

from __future__ import annotations

import re
import shutil
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest
from pkgtest_util import REPO, run

# glibc's libraries (libpthread, libdl, librt and libm are part of it) and its dynamic loader.
GLIBC = re.compile(r"^(libc|libm|libpthread|libdl|librt)\.so\.\d+$|^ld-linux[-\w.]*\.so\.\d+$")


def project_version() -> str:
    match = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert match
    return match.group(1)


def installed_files(env) -> list[Path]:
    """Every file the `aftershock` distribution installed (its RECORD)."""
    out = run([env.python, "-c", "import importlib.metadata as m; "
               "d = m.distribution('aftershock'); "
               "print('\\n'.join(str(d.locate_file(f)) for f in d.files))"], cwd=env.path).stdout
    return [Path(line).resolve() for line in out.splitlines() if line]


def test_version_matches_the_c_sources():
    header = (REPO / "analyzer/include/aftershock/analyzer.h").read_text()
    assert f'#define ASH_VERSION "{project_version()}"' in header


def test_cli_is_on_path(installed, tmp_path):
    env = installed.env()
    exe = shutil.which("aftershock", path=env["PATH"])
    assert exe and Path(exe).parent == installed.path / "bin", exe
    proc = run(["aftershock", "--version"], cwd=tmp_path, env=env)
    assert proc.stdout.strip() == f"aftershock {project_version()}"


def test_installed_binaries_need_only_glibc(installed):
    elves = [f for f in installed_files(installed)
             if f.is_file() and f.read_bytes()[:4] == b"\x7fELF"]
    assert any(f.name == "aftershock" for f in elves), elves
    for elf in elves:
        dynamic = run(["readelf", "-d", elf]).stdout
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
        foreign = [lib for lib in needed if not GLIBC.match(lib)]
        assert not foreign, f"{elf.name} links {foreign}: the wheel is not self-contained"


def test_package_imports(installed_package, tmp_path):
    proc = run([installed_package.python, "-c",
                "import aftershock, aftershock._core; print(aftershock.__file__)"],
               cwd=tmp_path, env=installed_package.env())
    assert Path(proc.stdout.strip()).is_relative_to(installed_package.path)


def write_project(root: Path, log: Path) -> None:
    """Two source modules, each tested by one test module whose test logs when it runs."""
    files = {
        "pyproject.toml": """
            [tool.pytest.ini_options]
            pythonpath = ["src"]
            """,
        "src/calc.py": "def add(a, b):\n    return a + b\n",
        "src/words.py": "def shout(s):\n    return s.upper()\n",
        "tests/test_calc.py": f"""
            import calc

            def test_add():
                with open({str(log)!r}, "a") as f:
                    f.write("test_calc\\n")
                assert calc.add(1, 2) == 3
            """,
        "tests/test_words.py": f"""
            import words

            def test_shout():
                with open({str(log)!r}, "a") as f:
                    f.write("test_words\\n")
                assert words.shout("a") == "A"
            """,
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def test_pytest_plugin_runs_only_what_changed(installed_package, tmp_path):
    project, log = tmp_path / "project", tmp_path / "ran.log"
    write_project(project, log)
    env = installed_package.env()

    def pytest_aftershock():
        log.unlink(missing_ok=True)
        proc = run([installed_package.python, "-m", "pytest", "--aftershock"], cwd=project,
                   env=env, check=False)
        ran = sorted(log.read_text().split()) if log.exists() else []
        return proc, ran

    proc, ran = pytest_aftershock()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ran == ["test_calc", "test_words"]
    assert "2 passed" in proc.stdout

    proc, ran = pytest_aftershock()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ran == [], "nothing changed, yet test modules ran"
    assert "deselected" in proc.stdout, proc.stdout

    (project / "src/words.py").write_text("def shout(s):\n    return s.upper() + ''\n")
    proc, ran = pytest_aftershock()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ran == ["test_words"]


@pytest.mark.parametrize("missing", ["tree-sitter-lib", "tree-sitter-python-src"])
def test_build_without_third_party_says_what_to_do(tmp_path, missing):
    third_party = tmp_path / "third_party"
    (third_party / "tree-sitter-lib/src").mkdir(parents=True)
    (third_party / "tree-sitter-python-src").mkdir(parents=True)
    other = "tree-sitter-python-src/parser.c" if missing == "tree-sitter-lib" \
        else "tree-sitter-lib/src/lib.c"
    (third_party / other).write_text("")
    proc = run(["cmake", "-S", REPO, "-B", tmp_path / "build", "-DASH_TESTS=OFF",
                f"-DASH_THIRD_PARTY={third_party}", "-DASH_FETCH_THIRD_PARTY=OFF"],
               check=False, timeout=120)
    assert proc.returncode != 0
    assert "run `make setup`" in proc.stderr, proc.stderr


def test_sdist_holds_what_a_build_needs_and_no_third_party_code(tmp_path):
    pytest.importorskip("scikit_build_core", reason="scikit-build-core is not installed "
                        "(pip install -r requirements-dev.txt)")
    run([sys.executable, "-c", "import sys; from scikit_build_core.build import build_sdist; "
         "build_sdist(sys.argv[1])", tmp_path], cwd=REPO, timeout=300)
    (sdist,) = tmp_path.glob("aftershock-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    needed = {"pyproject.toml", "CMakeLists.txt", "cmake/third_party.cmake", "scripts/deps.txt",
              "analyzer/include/aftershock/analyzer.h", "cli/main.c", "README.md"}
    if (REPO / "bindings/CMakeLists.txt").exists():
        needed.add("bindings/CMakeLists.txt")
    assert needed <= names, needed - names
    # The tree-sitter sources are fetched by the build (scripts/deps.txt), never shipped.
    assert not [n for n in names if n.startswith(("third_party/", "build", "dist/"))]
