"""Reference counts and memory: the API run thousands of times in a loop must not grow.

Python objects are counted by tracemalloc (which also sees the extension's PyMem_Raw buffers)
and, on a debug build of Python, by sys.gettotalrefcount; what the C core allocates with
malloc is counted by glibc's mallinfo2 where there is one (else the resident set size, which
only catches large leaks)."""

import ctypes
import ctypes.util
import gc
import sys
import tracemalloc

import pytest
from conftest import write_tree
from test_api import TREE

import aftershock

LOOPS = 2000


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _malloc_in_use():
    """Bytes the C heap has handed out and not taken back, or None."""
    libc_name = ctypes.util.find_library("c")
    try:
        mallinfo2 = ctypes.CDLL(libc_name).mallinfo2
    except (OSError, AttributeError, TypeError):
        return None
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return info.uordblks + info.hblkhd


def _resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _measure():
    gc.collect()
    total = getattr(sys, "gettotalrefcount", lambda: 0)()
    return tracemalloc.get_traced_memory()[0], _malloc_in_use(), _resident_bytes(), total


def _check_growth(loop, iterations):
    loop(iterations // 10)  # warm up: interned strings, free lists, the OS's page cache
    tracemalloc.start()
    try:
        before = _measure()
        loop(iterations)
        after = _measure()
    finally:
        tracemalloc.stop()
    traced, heap, resident, refs = (a - b if a is not None and b is not None else 0
                                    for a, b in zip(after, before))
    # A leak of one small object per call would be tens of kilobytes over the loop.
    assert traced < 64 * 1024, "Python memory grew by %d bytes" % traced
    assert heap < 64 * 1024, "the C heap grew by %d bytes" % heap
    assert resident < 16 * 1024 * 1024, "the resident set grew by %d bytes" % resident
    assert refs < 100, "the total reference count grew by %d" % refs


@pytest.fixture
def root(tmp_path, interpreter_facts):
    return write_tree(tmp_path / "proj", TREE, interpreter_facts)


def test_queries_in_a_loop(root):
    project = aftershock.Project(root, config={"python": sys.executable})
    path = "src/app/leaf.py"
    changed = ["src/app/core.py", "src/app/gone.py"]
    refs = sys.getrefcount(path), sys.getrefcount(changed)

    def loop(n):
        for _ in range(n):
            project.files()
            project.imports(path)
            project.dependencies(path, closure=True)
            project.dependents("src/app/core.py", closure=True)
            project.closure_hash(path)
            project.closure_hash("src/app")
            project.closure_hash("app.core")
            project.test_modules()
            project.affected(changed, added=["src/app/dyn.py"])
            project.why("tests/test_leaf.py", "src/app/core.py")
            project._core.inputs_key("tests/test_core.py")
            for bad in (lambda: project.imports("src/app/nope.py"),
                        lambda: project.why("src/app/core.py", path),
                        lambda: project.closure_hash("app.nothing")):
                try:
                    bad()
                except aftershock.NotFoundError:
                    pass

    _check_growth(loop, LOOPS)
    assert (sys.getrefcount(path), sys.getrefcount(changed)) == refs


def test_projects_and_results_in_a_loop(root):
    ok = b"ASHW 1\nmodule tests/test_core.py\ncounts 1 0 0 0 0 0\nend\n"
    with aftershock.Project(root, config={"python": sys.executable})._core.results() as r:
        r.record("tests/test_core.py", ok)

    def loop(n):
        for _ in range(n):
            project = aftershock.Project(root, config={"python": sys.executable})
            project.files()
            project.warnings
            with project._core.results() as results:
                results.passed("tests/test_core.py")
                results.replayable()
                try:
                    results.record("tests/test_leaf.py", b"junk")
                except aftershock.Error:
                    pass
            try:
                aftershock.Project(root / "missing")
            except aftershock.NotFoundError:
                pass

    _check_growth(loop, LOOPS // 4)  # each opens a project: a tree walk and a graph build
