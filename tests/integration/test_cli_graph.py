"""`aftershock graph`: the JSON shape (ruff's `analyze graph`), how the project root is found,
the direction/closure/format/type-checking options and the exit statuses."""

import json
import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

CYCLE = {
    "pyproject.toml": "",
    "a.py": "import b\n",
    "b.py": "import c\n",
    "c.py": "import a\n",
    "d.py": "import b\n",
    "lonely.py": "",
}


def test_json_shape_every_file_a_key_sorted_relative_pretty(run, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "zeta.py": "import pkg.sub.mod\nimport alpha\n",
        "alpha.py": "",
        "pkg/__init__.py": "",
        "pkg/sub/__init__.py": "",
        "pkg/sub/mod.py": "from . import helper\n",
        "pkg/sub/helper.py": "",
        "pkg/stub.pyi": "",
        "scripts/run.py": "",
        "README.md": "import alpha\n",
    })
    proc = run("graph", cwd=tmp_path, check=0)
    expected = {
        "alpha.py": [],
        "pkg/__init__.py": [],
        "pkg/stub.pyi": [],
        "pkg/sub/__init__.py": [],
        "pkg/sub/helper.py": [],
        "pkg/sub/mod.py": ["pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/helper.py"],
        "scripts/run.py": [],
        "zeta.py": ["alpha.py", "pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/mod.py"],
    }
    # byte for byte what ruff (serde_json's pretty printer) writes: 2 spaces, `[]` when empty
    assert proc.stdout == json.dumps(expected, indent=2) + "\n"
    assert proc.stderr == ""


def test_keys_are_sorted_bytewise(graph, make_tree, tmp_path):
    # "pkg.py" < "pkg/__init__.py" < "pkg_x.py" in byte order ('.' < '/' < '_')
    make_tree(tmp_path, {
        "pyproject.toml": "", "pkg.py": "", "pkg/__init__.py": "", "pkg_x.py": "", "Z.py": "",
    })
    g, _ = graph(tmp_path)
    assert list(g) == ["Z.py", "pkg.py", "pkg/__init__.py", "pkg_x.py"]


def test_project_without_python_files_is_an_empty_object(run, make_tree, tmp_path):
    make_tree(tmp_path, {"pyproject.toml": "", "notes.txt": "import x\n"})
    assert run("graph", cwd=tmp_path, check=0).stdout == "{}\n"


def test_names_that_need_escaping_give_valid_json(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "",
        'we"ird\\ name.py': "import a\n",
        "tab\there.py": "import a\n",
        "a.py": "",
    })
    g, _ = graph(tmp_path)
    assert g == {"a.py": [], "tab\there.py": ["a.py"], 'we"ird\\ name.py': ["a.py"]}


def test_run_from_a_subdirectory_finds_the_git_top_level(graph, make_tree, git_init, tmp_path):
    make_tree(tmp_path, {
        "top.py": "",
        "sub/pyproject.toml": "",
        "sub/a/__init__.py": "",
        "sub/a/deep/x.py": "import top\n",
    })
    git_init(tmp_path)
    g, _ = graph(tmp_path, cwd=tmp_path / "sub" / "a" / "deep")
    assert g == {
        "sub/a/__init__.py": [],
        "sub/a/deep/x.py": ["top.py"],
        "top.py": [],
    }


def test_run_from_a_subdirectory_without_git_finds_the_nearest_pyproject(graph, make_tree,
                                                                          tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "top.py": "",
        "sub/pyproject.toml": "",
        "sub/a/__init__.py": "",
        "sub/a/deep/x.py": "import a\n",
    })
    g, _ = graph(tmp_path, cwd=tmp_path / "sub" / "a" / "deep")
    assert g == {"a/__init__.py": [], "a/deep/x.py": ["a/__init__.py"]}


def test_root_option(run, make_tree, tmp_path):
    make_tree(tmp_path, {"proj/pyproject.toml": "", "proj/m.py": "import n\n", "proj/n.py": ""})
    elsewhere = make_tree(tmp_path / "elsewhere", {})
    for root in (tmp_path / "proj", "../proj/"):
        proc = run("graph", "--root", root, cwd=elsewhere, check=0)
        assert json.loads(proc.stdout) == {"m.py": ["n.py"], "n.py": []}


def test_no_project_found_exits_2(run, make_tree, tmp_path):
    make_tree(tmp_path, {"m.py": "import os\n"})
    proc = run("graph", cwd=tmp_path, check=2)
    assert proc.stdout == ""
    assert "not inside a git repository or a directory with pyproject.toml" in proc.stderr


def test_missing_root_exits_2(run, tmp_path):
    proc = run("graph", "--root", tmp_path / "nope", cwd=tmp_path, check=2)
    assert proc.stdout == ""
    assert re.search(r"aftershock: .*nope: No such file or directory", proc.stderr)


def test_git_worktree_is_a_root(graph, make_tree, git_init, tmp_path):
    main = make_tree(tmp_path / "main", {"pkg/__init__.py": "", "pkg/m.py": "import pkg\n"})
    git_init(main)
    subprocess.run(["git", "worktree", "add", "-q", str(tmp_path / "wt")], cwd=main, check=True,
                   capture_output=True)
    (tmp_path / "wt" / "pkg" / "new.py").write_text("from pkg import m\n")
    g, _ = graph(tmp_path / "wt", cwd=tmp_path / "wt" / "pkg")
    assert g == {"pkg/__init__.py": [], "pkg/m.py": ["pkg/__init__.py"],
                 "pkg/new.py": ["pkg/__init__.py", "pkg/m.py"]}


def test_git_file_names_that_git_would_quote(run, make_tree, git_init, tmp_path):
    make_tree(tmp_path, {
        "b.py": "", "café.py": "import b\n", 'we"ird.py': "import b\n",
        "tab\there.py": "import b\n", "sp ace.py": "import café\n",
    })
    with open(bytes(tmp_path) + b"/n\xff.py", "wb") as f:
        f.write(b"import b\n")
    git_init(tmp_path)
    proc = run("graph", cwd=tmp_path, raw=True, check=0)
    assert json.loads(proc.stdout.decode("utf-8")) == {
        "b.py": [], "café.py": ["b.py"], "n\ufffd.py": ["b.py"], "sp ace.py": ["café.py"],
        "tab\there.py": ["b.py"], 'we"ird.py': ["b.py"],
    }


def test_git_lists_untracked_files_but_not_ignored_ones(graph, make_tree, git_init, tmp_path):
    make_tree(tmp_path, {".gitignore": "ignored.py\ngen/\n", "m.py": "import new\n"})
    git_init(tmp_path)
    make_tree(tmp_path, {"new.py": "", "ignored.py": "", "gen/x.py": ""})
    g, _ = graph(tmp_path)
    assert g == {"m.py": ["new.py"], "new.py": []}


def test_exclude_config(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": '[tool.aftershock]\nexclude = ["tests/fixtures/**", "*_pb2.py"]\n',
        "tests/fixtures/broken.py": "import m\n",
        "tests/test_m.py": "import m\n",
        "m.py": "",
        "api_pb2.py": "",
    })
    g, _ = graph(tmp_path)
    assert g == {"m.py": [], "tests/test_m.py": ["m.py"]}


def test_direction_dependents(graph, make_tree, tmp_path):
    make_tree(tmp_path, CYCLE)
    g, _ = graph(tmp_path, "--direction", "dependents")
    assert g == {
        "a.py": ["c.py"],
        "b.py": ["a.py", "d.py"],
        "c.py": ["b.py"],
        "d.py": [],
        "lonely.py": [],
    }
    same, _ = graph(tmp_path, "--direction", "dependencies")
    assert same == graph(tmp_path)[0]


def test_closure_is_transitive_and_survives_cycles(graph, make_tree, tmp_path):
    make_tree(tmp_path, CYCLE)
    g, _ = graph(tmp_path, "--closure")
    assert g == {
        # on a cycle: everything else on it, never itself
        "a.py": ["b.py", "c.py"],
        "b.py": ["a.py", "c.py"],
        "c.py": ["a.py", "b.py"],
        "d.py": ["a.py", "b.py", "c.py"],
        "lonely.py": [],
    }


def test_closure_of_dependents(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "base.py": "", "mid.py": "import base\n", "top.py": "import mid\n",
        "other.py": "",
    })
    g, _ = graph(tmp_path, "--direction", "dependents", "--closure")
    assert g == {
        "base.py": ["mid.py", "top.py"],
        "mid.py": ["top.py"],
        "other.py": [],
        "top.py": [],
    }


def parse_dot(text):
    """(nodes, edges) of aftershock's dot output; asserts the overall shape."""
    lines = text.splitlines()
    assert lines[0] == "digraph imports {" and lines[-1] == "}", text
    nodes, edges = set(), set()
    for line in lines[1:-1]:
        m = re.fullmatch(r'  "((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)"( \[[^\]]*\])?;', line)
        if m:
            edges.add((m.group(1), m.group(2)))
            continue
        m = re.fullmatch(r'  "((?:[^"\\]|\\.)*)";', line)
        assert m, f"not a node or edge statement: {line!r}"
        nodes.add(m.group(1))
    return nodes, edges


def test_dot_format_has_every_node_and_edge(run, make_tree, tmp_path):
    make_tree(tmp_path, {
        **CYCLE,
        "pkg/__init__.py": "",
        "pkg/m.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\n"
                    "def f():\n    import d\n",
    })
    g = json.loads(run("graph", cwd=tmp_path, check=0).stdout)
    proc = run("graph", "--format", "dot", cwd=tmp_path, check=0)
    nodes, edges = parse_dot(proc.stdout)
    assert nodes == set(g)
    assert edges == {(src, dst) for src, dsts in g.items() for dst in dsts}
    # a TYPE_CHECKING import is drawn dashed, a lazy one dotted
    assert '  "pkg/m.py" -> "a.py" [style=dashed];' in proc.stdout.splitlines()
    assert '  "pkg/m.py" -> "d.py" [style=dotted];' in proc.stdout.splitlines()


def test_dot_format_dependents_turns_arrows_around(run, make_tree, tmp_path):
    make_tree(tmp_path, {"pyproject.toml": "", "a.py": "import b\n", "b.py": ""})
    nodes, edges = parse_dot(run("graph", "--format", "dot", "--direction", "dependents",
                                 cwd=tmp_path, check=0).stdout)
    assert nodes == {"a.py", "b.py"}
    assert edges == {("b.py", "a.py")}


TYPE_CHECKING_TREE = {
    "only_tc.py": "from typing import TYPE_CHECKING\n"
                  "if TYPE_CHECKING:\n"
                  "    import x\n"
                  "    import y\n"
                  "import y\n",
    "x.py": "import z\n",
    "y.py": "",
    "z.py": "",
}


def test_no_type_checking_imports_drops_type_checking_only_edges(graph, make_tree, tmp_path):
    make_tree(tmp_path, {"pyproject.toml": "", **TYPE_CHECKING_TREE})
    full, _ = graph(tmp_path)
    assert full["only_tc.py"] == ["x.py", "y.py"]
    g, _ = graph(tmp_path, "--no-type-checking-imports")
    # y is also imported at run time: that edge stays
    assert g == {"only_tc.py": ["y.py"], "x.py": ["z.py"], "y.py": [], "z.py": []}
    closure, _ = graph(tmp_path, "--no-type-checking-imports", "--closure")
    assert closure["only_tc.py"] == ["y.py"]


def test_no_type_checking_imports_keeps_edges_also_made_at_run_time(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "x.py": "", "pkg/__init__.py": "", "pkg/tc.py": "", "pkg/rt.py": "",
        "lazy.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x\n"
                   "def f():\n    import x\n",
        "optional.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x\n"
                       "try:\n    import x\nexcept ImportError:\n    pass\n",
        "parent.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.tc\n"
                     "import pkg.rt\n",
    })
    g, _ = graph(tmp_path, "--no-type-checking-imports")
    assert g["lazy.py"] == ["x.py"]
    assert g["optional.py"] == ["x.py"]
    # pkg/__init__.py runs for pkg.rt; pkg/tc.py only for the type checker
    assert g["parent.py"] == ["pkg/__init__.py", "pkg/rt.py"]
    rev, _ = graph(tmp_path, "--no-type-checking-imports", "--direction", "dependents")
    assert rev["pkg/tc.py"] == [] and rev["x.py"] == ["lazy.py", "optional.py"]


@pytest.mark.parametrize("key", ["type-checking-imports", "type_checking_imports"])
def test_type_checking_imports_false_in_config(graph, make_tree, tmp_path, key):
    make_tree(tmp_path, {"pyproject.toml": f"[tool.aftershock]\n{key} = false\n",
                         **TYPE_CHECKING_TREE})
    g, warnings = graph(tmp_path)
    assert g["only_tc.py"] == ["y.py"]
    assert warnings == []


def test_strict_exits_1_on_warnings_and_0_without(run, make_tree, tmp_path):
    make_tree(tmp_path / "clean", {"pyproject.toml": "", "a.py": "import b\nimport os\n",
                                   "b.py": ""})
    run("graph", "--strict", cwd=tmp_path / "clean", check=0)
    make_tree(tmp_path / "warn", {"pyproject.toml": "", "a.py": "from .. import b\n"})
    plain = run("graph", cwd=tmp_path / "warn", check=0)
    strict = run("graph", "--strict", cwd=tmp_path / "warn", check=1)
    assert strict.stdout == plain.stdout == '{\n  "a.py": []\n}\n'
    assert "beyond the top-level package" in strict.stderr
    quiet = run("graph", "--strict", "-q", cwd=tmp_path / "warn", check=1)
    assert quiet.stderr == ""


@pytest.mark.parametrize("args, message", [
    (("--direction", "sideways"), "--direction is dependencies or dependents, not 'sideways'"),
    (("--format", "xml"), "--format is json or dot, not 'xml'"),
    (("-j", "0"), "-j needs a number of jobs"),
    (("--jobs=many",), "-j needs a number of jobs"),
    (("--bogus",), "unknown option '--bogus'"),
    (("extra",), "unexpected argument 'extra'"),
    (("--root",), "needs a value"),
    (("--closure=yes",), "takes no value"),
])
def test_usage_errors_exit_2(run, make_tree, tmp_path, args, message):
    make_tree(tmp_path, {"pyproject.toml": "", "a.py": ""})
    proc = run("graph", *args, cwd=tmp_path, check=2)
    assert proc.stdout == ""
    assert proc.stderr.startswith("aftershock graph: ") and message in proc.stderr
    assert not (tmp_path / ".aftershock").exists()  # nothing was done


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["json", "dot"])
def test_unwritable_output_exits_2(run, make_tree, tmp_path, fmt):
    make_tree(tmp_path, {"pyproject.toml": "", "a.py": "import b\n", "b.py": ""})
    with open("/dev/full", "w") as full:
        proc = run("graph", "--format", fmt, cwd=tmp_path, stdout=full, check=2)
    assert proc.stderr == "aftershock: cannot write the graph: No space left on device\n"


def test_help_exits_0(run, tmp_path):
    proc = run("graph", "--help", cwd=tmp_path, check=0)
    assert proc.stdout.startswith("usage: aftershock graph")
    for option in ("--root", "--direction", "--closure", "--format", "--no-type-checking-imports",
                   "--jobs", "--no-cache", "--strict", "--stats"):
        assert option in proc.stdout


def test_top_level_usage(run):
    assert run("--help", check=0).stdout.startswith("usage: aftershock <command>")
    assert "unknown command 'frobnicate'" in run("frobnicate", check=2).stderr
    assert run(check=2).stdout == ""


def test_threads_give_the_same_output_as_one(run, make_tree, tmp_path):
    files = {"pyproject.toml": "", "pkg/__init__.py": ""}
    for i in range(300):
        files[f"pkg/m{i:03}.py"] = f"from . import m{(i * 7) % 300:03}\nfrom .. import up{i}\n"
    make_tree(tmp_path, files)
    one = run("graph", "-j", "1", "--no-cache", cwd=tmp_path, check=0)
    many = run("graph", "-j", "8", "--no-cache", cwd=tmp_path, check=0)
    assert many.stdout == one.stdout
    assert len(json.loads(one.stdout)) == 301
    # warnings come in path order whatever the threads did
    assert many.stderr == one.stderr
    assert many.stderr.count("beyond the top-level package") == 300


def test_virtualenvs_and_tool_directories_are_skipped_outside_git(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "app.py": "import requests\n",
        "env/pyvenv.cfg": "home = /usr/bin\n",
        "env/lib/python3.11/site-packages/requests/__init__.py": "",
        "node_modules/x/y.py": "",
        "__pycache__/app.py": "",
        ".tox/py311/lib/z.py": "",
    })
    g, _ = graph(tmp_path)
    assert g == {"app.py": []}


def test_package_named_venv_is_not_skipped(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "venv/__init__.py": "",
        "tools/venv/__init__.py": "",
        "app.py": "import venv\n",
    })
    g, _ = graph(tmp_path)
    assert g == {"app.py": ["venv/__init__.py"], "tools/venv/__init__.py": [],
                 "venv/__init__.py": []}


# ---- the whole standard library: real code nobody here wrote ----

STDLIB = Path(sysconfig.get_paths()["stdlib"])


@pytest.fixture(scope="module")
def stdlib_graph(tmp_path_factory, fast_bin, fake_venv):
    """The interpreter's standard library copied to a temporary project (no site-packages),
    and the output of two `graph` runs over it (cold, then with the parse cache)."""
    root = tmp_path_factory.mktemp("stdlib") / "lib"
    shutil.copytree(STDLIB, root, symlinks=True,
                    ignore=shutil.ignore_patterns("site-packages", "__pycache__", "*.pyc"))
    (root / "pyproject.toml").write_text("")
    env = dict(os.environ)
    env.pop("AFTERSHOCK_CACHE_DIR", None)
    if fake_venv is not None:
        env["VIRTUAL_ENV"] = str(fake_venv)
    runs = [subprocess.run([str(fast_bin), "graph", "--stats"], cwd=root, env=env,
                           capture_output=True, text=True, timeout=300) for _ in range(2)]
    return root, runs


def stdlib_files(root):
    found = set()
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".aftershock"]
        for name in files:
            if name.endswith((".py", ".pyi")):
                found.add(Path(dirpath, name).relative_to(root).as_posix())
    return found


def test_stdlib_graph(stdlib_graph):
    root, (cold, warm) = stdlib_graph
    assert cold.returncode == 0, cold.stderr[-2000:]
    g = json.loads(cold.stdout)
    files = stdlib_files(root)
    assert len(files) > 500  # Debian's python3.11 without its test suite has ~670
    # every file is a key (but see test_stdlib_graph_has_venv), nothing else is
    assert set(g) <= files
    assert {f for f in files if not f.startswith("venv/")} <= set(g)
    assert list(g) == sorted(g)
    for path, deps in g.items():
        assert deps == sorted(set(deps)) and path not in deps and set(deps) <= set(g), path
    # a few edges anyone can check by reading the code
    assert {"json/decoder.py", "json/encoder.py"} <= set(g["json/__init__.py"])
    assert {"email/__init__.py", "email/mime/__init__.py", "email/mime/nonmultipart.py"} <= set(
        g["email/mime/text.py"])
    # the parse cache gives the same graph
    assert warm.returncode == 0 and warm.stdout == cold.stdout
    assert f"aftershock: {len(g)} files: " in warm.stderr


def test_stdlib_graph_has_venv(stdlib_graph):
    root, (cold, _) = stdlib_graph
    assert set(json.loads(cold.stdout)) == stdlib_files(root)
