"""The parse cache (`.aftershock/` under the project root) as a user sees it through
`graph --stats`: a warm run reads nothing, a change is picked up, and a damaged or unwritable
cache costs time and one warning, never a wrong graph.

Timestamps less than a second older than a run are not trusted (a racy change could hide
behind them), so tests that expect a warm run let the tree settle first."""

import json
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

STATS = re.compile(r"aftershock: (\d+) files: (\d+) from the parse cache, (\d+) read, "
                   r"(\d+) parsed; (\d+) imports, (\d+) edges, (\d+) unresolved; [\d.]+ s"
                   r" \(list [\d.]+, extract [\d.]+, link [\d.]+\)")

TREE = {
    "pyproject.toml": "",
    "pkg/__init__.py": "",
    "pkg/a.py": "from . import b\n",
    "pkg/b.py": "import pkg.c\n",
    "pkg/c.py": "",
}


def settle():
    """Let every timestamp written so far become old enough to be trusted."""
    time.sleep(1.15)


@pytest.fixture(scope="module")
def _settled_pool(tmp_path_factory):
    """Copies of TREE made together and settled once, so that the tests below do not each
    wait a second."""
    base = tmp_path_factory.mktemp("settled")
    trees = [base / f"tree{i}" for i in range(16)]
    for tree in trees:
        tree.mkdir()
        for rel, content in TREE.items():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            (tree / rel).write_text(content)
    settle()
    return trees


@pytest.fixture
def settled_tree(_settled_pool, make_tree, tmp_path):
    """A project made of TREE whose timestamps are old enough to be trusted."""
    if _settled_pool:
        return _settled_pool.pop()
    make_tree(tmp_path, TREE)
    settle()
    return tmp_path


@pytest.fixture
def stats_run(run):
    """stats_run(root, *args): run `graph --stats`; returns (graph, (files, cached, read,
    parsed), warnings other than the stats line)."""

    def _run(root, *args, check=0):
        proc = run("graph", "--stats", *args, cwd=root, check=check)
        lines = proc.stderr.splitlines()
        matches = [STATS.fullmatch(line) for line in lines]
        assert sum(m is not None for m in matches) == 1, proc.stderr
        counts = next(tuple(int(x) for x in m.groups()[:4]) for m in matches if m)
        warnings = [line for line, m in zip(lines, matches) if not m]
        return json.loads(proc.stdout), counts, warnings

    return _run


def test_cold_run_parses_everything_and_warm_run_reads_nothing(stats_run, settled_tree):
    root = settled_tree
    cold, counts, warnings = stats_run(root)
    assert counts == (4, 0, 4, 4)
    assert warnings == []
    warm, counts, warnings = stats_run(root)
    assert counts == (4, 4, 0, 0)
    assert warm == cold
    assert warnings == []


def test_cache_directory_is_tagged_and_ignored(stats_run, make_tree, git_init, tmp_path):
    make_tree(tmp_path, TREE)
    git_init(tmp_path)
    stats_run(tmp_path)
    cache = tmp_path / ".aftershock"
    assert (cache / "CACHEDIR.TAG").read_text().startswith(
        "Signature: 8a477f597d28d172789f06886806bc55")
    assert "*" in (cache / ".gitignore").read_text().split()
    assert (cache / "parse-cache.bin").stat().st_size > 0
    # the cache never shows up as a change in the user's work tree
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                            cwd=tmp_path, capture_output=True, text=True, check=True)
    assert status.stdout == ""


def test_warm_run_from_a_subdirectory_uses_the_same_cache(run, stats_run, settled_tree):
    root = settled_tree
    cold, _, _ = stats_run(root)
    warm, counts, _ = stats_run(root / "pkg")
    assert counts == (4, 4, 0, 0)
    assert warm == cold
    assert not (root / "pkg" / ".aftershock").exists()


def test_edited_file_is_read_and_parsed_again(stats_run, settled_tree):
    root = settled_tree
    stats_run(root)
    (root / "pkg" / "c.py").write_text("from pkg import a\n")
    g, counts, _ = stats_run(root)
    assert counts == (4, 3, 1, 1)
    assert g["pkg/c.py"] == ["pkg/__init__.py", "pkg/a.py"]


def test_touched_file_is_read_but_not_parsed(stats_run, settled_tree):
    root = settled_tree
    before, _, _ = stats_run(root)
    os.utime(root / "pkg" / "b.py")
    after, counts, _ = stats_run(root)
    assert counts == (4, 3, 1, 0)
    assert after == before


def test_change_right_after_a_run_is_not_missed(stats_run, make_tree, tmp_path):
    # Same size, same second: only a content hash can tell.
    make_tree(tmp_path, {"pyproject.toml": "", "m.py": "import aa\n", "aa.py": "", "bb.py": ""})
    first, _, _ = stats_run(tmp_path)
    assert first["m.py"] == ["aa.py"]
    st = (tmp_path / "m.py").stat()
    (tmp_path / "m.py").write_text("import bb\n")
    os.utime(tmp_path / "m.py", ns=(st.st_atime_ns, st.st_mtime_ns))
    second, counts, _ = stats_run(tmp_path)
    assert second["m.py"] == ["bb.py"]
    assert counts[3] == 1


def test_deleted_file_is_no_longer_a_node(stats_run, settled_tree):
    root = settled_tree
    stats_run(root)
    (root / "pkg" / "c.py").unlink()
    g, counts, warnings = stats_run(root)
    assert sorted(g) == ["pkg/__init__.py", "pkg/a.py", "pkg/b.py"]
    assert g["pkg/b.py"] == ["pkg/__init__.py"]
    assert counts == (3, 3, 0, 0)
    assert any("pkg.c" in w for w in warnings), warnings


def test_renamed_file_is_read_but_not_parsed(stats_run, settled_tree):
    root = settled_tree
    stats_run(root)
    (root / "pkg" / "a.py").rename(root / "pkg" / "renamed.py")
    g, counts, _ = stats_run(root)
    assert "pkg/a.py" not in g
    assert g["pkg/renamed.py"] == ["pkg/__init__.py", "pkg/b.py"]
    assert counts == (4, 3, 1, 0)


def test_copied_file_is_read_but_not_parsed(stats_run, settled_tree):
    root = settled_tree
    stats_run(root)
    (root / "pkg" / "copy.py").write_bytes((root / "pkg" / "b.py").read_bytes())
    g, counts, _ = stats_run(root)
    assert g["pkg/copy.py"] == g["pkg/b.py"] == ["pkg/__init__.py", "pkg/c.py"]
    assert counts == (5, 4, 1, 0)


def flip_middle(data: bytes) -> bytes:
    mid = len(data) // 2
    return data[:mid] + bytes(b ^ 0xFF for b in data[mid:mid + 4]) + data[mid + 4:]


@pytest.mark.parametrize("damage", [
    pytest.param(flip_middle, id="flipped-bytes"),
    pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
    pytest.param(lambda data: data[:40], id="header-only"),
    pytest.param(lambda data: data[:40] + os.urandom(len(data) - 40), id="header-then-garbage"),
    pytest.param(lambda data: os.urandom(len(data)), id="random-garbage"),
    pytest.param(lambda data: b"", id="empty"),
])
def test_corrupt_cache_is_one_warning_and_a_correct_graph(run, stats_run, settled_tree, damage):
    root = settled_tree
    uncached = json.loads(run("graph", "--no-cache", cwd=root, check=0).stdout)
    stats_run(root)
    cache_file = root / ".aftershock" / "parse-cache.bin"
    cache_file.write_bytes(damage(cache_file.read_bytes()))
    g, counts, warnings = stats_run(root)
    assert g == uncached
    assert len(warnings) == 1, warnings
    assert re.fullmatch(r"aftershock: .*/\.aftershock/parse-cache\.bin: .*parse cache.*",
                        warnings[0]), warnings
    assert counts == (4, 0, 4, 4)
    # the cache was rebuilt: the next run is warm and quiet
    g, counts, warnings = stats_run(root)
    assert g == uncached
    assert counts == (4, 4, 0, 0)
    assert warnings == []


def test_cache_of_another_format_version_is_replaced_quietly(run, stats_run, settled_tree):
    root = settled_tree
    stats_run(root)
    cache_file = root / ".aftershock" / "parse-cache.bin"
    data = bytearray(cache_file.read_bytes())
    data[8:12] = (999).to_bytes(4, "little")  # header: "ASHPARSE" format:u32 ...
    cache_file.write_bytes(bytes(data))
    g, counts, warnings = stats_run(root)
    assert counts == (4, 0, 4, 4)
    assert warnings == []
    assert g == json.loads(run("graph", "--no-cache", cwd=root, check=0).stdout)
    assert stats_run(root)[1] == (4, 4, 0, 0)


def test_no_cache_neither_writes_nor_reads(run, stats_run, settled_tree):
    root = settled_tree
    g, counts, _ = stats_run(root, "--no-cache")
    assert counts == (4, 0, 4, 4)
    assert not (root / ".aftershock").exists()
    stats_run(root)
    cache_file = root / ".aftershock" / "parse-cache.bin"
    before = (cache_file.read_bytes(), cache_file.stat().st_mtime_ns)
    (root / "pkg" / "c.py").write_text("import pkg.a\n")
    g, counts, _ = stats_run(root, "--no-cache")
    assert counts == (4, 0, 4, 4)
    assert g["pkg/c.py"] == ["pkg/__init__.py", "pkg/a.py"]
    assert (cache_file.read_bytes(), cache_file.stat().st_mtime_ns) == before


def test_concurrent_runs_share_the_cache_safely(run, stats_run, settled_tree):
    root = settled_tree
    (root / "pkg" / "d.py").write_text("from . import a, b, c\n")
    with ThreadPoolExecutor(max_workers=6) as pool:
        procs = list(pool.map(lambda _: run("graph", cwd=root), range(6)))
    assert {p.returncode for p in procs} == {0}
    assert {p.stderr for p in procs} == {""}
    assert len({p.stdout for p in procs}) == 1
    g, counts, warnings = stats_run(root)
    assert g == json.loads(procs[0].stdout)
    assert warnings == [] and counts[0] == 5
    assert not [f for f in os.listdir(root / ".aftershock") if "tmp" in f]


def test_read_only_cache_directory_is_a_warning(run, stats_run, make_tree, tmp_path, chmod_or_skip):
    make_tree(tmp_path, TREE)
    (tmp_path / ".aftershock").mkdir()
    chmod_or_skip(tmp_path / ".aftershock", 0o555)
    g, _, warnings = stats_run(tmp_path)
    assert g == json.loads(run("graph", "--no-cache", cwd=tmp_path, check=0).stdout)
    assert len(warnings) == 1 and "cannot write the parse cache" in warnings[0], warnings
    run("graph", "--strict", cwd=tmp_path, check=1)


def test_cache_path_taken_by_a_file_is_a_warning(run, stats_run, make_tree, tmp_path):
    make_tree(tmp_path, {**TREE, ".aftershock": "not a directory\n"})
    g, _, warnings = stats_run(tmp_path)
    assert g == json.loads(run("graph", "--no-cache", cwd=tmp_path, check=0).stdout)
    assert len(warnings) == 1 and "cannot write the parse cache" in warnings[0], warnings
    assert (tmp_path / ".aftershock").read_text() == "not a directory\n"


def test_warnings_of_a_bad_file_are_repeated_on_warm_runs(run, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "syntax.py": "import ok\ndef f(:\n",
        "binary.py": b"import ok\x00\x01",
        "ok.py": "",
    })
    cold = run("graph", "--strict", cwd=tmp_path, check=1)
    assert len(cold.stderr.splitlines()) == 2, cold.stderr
    warm = run("graph", "--strict", cwd=tmp_path)
    assert (warm.returncode, warm.stderr) == (1, cold.stderr)
