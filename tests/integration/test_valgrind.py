"""The optimised binary under valgrind's memcheck on real code: the interpreter's standard
library (cold, then warm from the caches it wrote) and an `aftershock run` of a small project.
No invalid read or write, no use of uninitialised memory, no leak. The sanitizer build covers
the rest of the suite; this covers the binary users run, built without instrumentation."""

import os
import shutil
import subprocess
import sysconfig

import pytest

VALGRIND = ["valgrind", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect,possible", "--show-leak-kinds=definite",
            "--track-fds=no", "-q"]


@pytest.fixture(scope="module")
def memcheck():
    if not shutil.which("valgrind"):
        pytest.skip("valgrind is not installed (make setup installs it)")

    def _memcheck(binary, *args, cwd, env=None):
        full = dict(os.environ)
        full.pop("AFTERSHOCK_CACHE_DIR", None)
        full.update(env or {})
        proc = subprocess.run(VALGRIND + [str(binary), *args], cwd=cwd, env=full,
                              capture_output=True, text=True, errors="replace", timeout=900)
        report = [ln for ln in proc.stderr.splitlines() if ln.startswith("==")]
        assert proc.returncode != 99 and not report, "\n".join(report[:60])
        return proc

    return _memcheck


def test_graph_of_the_standard_library(memcheck, fast_bin, tmp_path):
    stdlib = tmp_path / "stdlib"
    shutil.copytree(sysconfig.get_paths()["stdlib"], stdlib, symlinks=True,
                    ignore=shutil.ignore_patterns("site-packages", "__pycache__", "test"))
    (stdlib / "pyproject.toml").write_text("")
    cold = memcheck(fast_bin, "graph", "--stats", "-j", "2", cwd=stdlib)
    assert cold.returncode in (0, 1)
    assert '"json/__init__.py"' in cold.stdout
    warm = memcheck(fast_bin, "graph", "--stats", "-j", "2", cwd=stdlib)
    assert warm.stdout == cold.stdout
    assert "from the parse cache" in warm.stderr


def test_run_of_a_small_project(memcheck, fast_bin, make_tree, git_init, tmp_path,
                                python_wrapper):
    root = git_init(make_tree(tmp_path / "proj", {
        "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
                          'pythonpath = ["src"]\n',
        "src/lib/__init__.py": "",
        "src/lib/core.py": "def one():\n    return 1\n",
        "tests/test_core.py": "from lib.core import one\n\ndef test_one():\n    assert one() == 1\n",
        "tests/test_fail.py": "def test_fail():\n    assert False\n",
    }))
    env = {"VIRTUAL_ENV": str(python_wrapper)}
    first = memcheck(fast_bin, "run", "-j", "2", cwd=root, env=env)
    assert first.returncode == 1 and "1 failed, 1 passed" in first.stdout
    second = memcheck(fast_bin, "run", "-j", "2", "--junitxml", str(tmp_path / "j.xml"),
                      cwd=root, env=env)
    assert second.returncode == 1 and "1 module run, 1 replayed" in second.stdout
    # test_fail.py is affected too: it failed last time
    assert memcheck(fast_bin, "affected", "--files", "src/lib/core.py", cwd=root,
                    env=env).stdout.split() == ["tests/test_core.py", "tests/test_fail.py"]
