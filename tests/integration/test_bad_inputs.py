"""Files and trees a real repository throws at the tool: binary and mis-encoded files, syntax
errors, huge and deeply nested files, unreadable files, odd directory entries, bad file
names and bad configuration. Each is at most one warning naming the file, and every other
edge of the graph is still right."""

import json
import os

import pytest

GOOD = {
    "pyproject.toml": "",
    "pkg/__init__.py": "",
    "pkg/core.py": "",
    "app.py": "import pkg.core\n",
}
GOOD_EDGES = {"app.py": ["pkg/__init__.py", "pkg/core.py"]}


def check_good_part(g):
    """The well-formed part of the tree came out right."""
    for path, deps in GOOD_EDGES.items():
        assert g[path] == deps
    assert g["pkg/__init__.py"] == [] and g["pkg/core.py"] == []


def one_warning(warnings, path):
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"aftershock: {path}: "), warnings
    return warnings[0][len(f"aftershock: {path}: "):]


def test_binary_file_with_nul_bytes(graph, make_tree, tmp_path):
    make_tree(tmp_path, {**GOOD, "blob.py": b"import pkg\x00\x01\x02\xff\xfe" * 100})
    g, warnings = graph(tmp_path)
    check_good_part(g)
    assert g["blob.py"] == []
    assert "NUL bytes" in one_warning(warnings, "blob.py")


def test_invalid_utf8(graph, make_tree, tmp_path):
    make_tree(tmp_path, {**GOOD, "latin.py": b"import pkg.core\n# caf\xe9\nimport app\n"})
    g, warnings = graph(tmp_path)
    check_good_part(g)
    assert g["latin.py"] == ["app.py", "pkg/__init__.py", "pkg/core.py"]
    reason = one_warning(warnings, "latin.py")
    assert "invalid UTF-8" in reason and "line 2" in reason


def test_invalid_utf8_inside_a_name_gives_no_edge_to_a_truncated_name(graph, make_tree, tmp_path):
    make_tree(tmp_path, {**GOOD, "caf.py": "", "bad.py": b"import caf\xe9\nimport app\n"})
    g, _ = graph(tmp_path)
    assert "caf.py" not in g["bad.py"]
    assert g["bad.py"] == ["app.py"]


def test_unknown_coding_cookie(graph, make_tree, tmp_path):
    make_tree(tmp_path, {**GOOD, "klingon.py": "# -*- coding: klingon -*-\nimport pkg.core\n"})
    g, warnings = graph(tmp_path)
    check_good_part(g)
    assert g["klingon.py"] == ["pkg/__init__.py", "pkg/core.py"]
    assert "klingon" in one_warning(warnings, "klingon.py")


def test_wrong_coding_cookie(graph, make_tree, tmp_path):
    make_tree(tmp_path, {**GOOD, "liar.py": "# coding: ascii\nimport pkg.core\ns = 'é'\n"})
    g, warnings = graph(tmp_path)
    check_good_part(g)
    assert g["liar.py"] == ["pkg/__init__.py", "pkg/core.py"]
    assert "ascii" in one_warning(warnings, "liar.py")


def test_bom_contradicting_the_cookie(graph, make_tree, tmp_path):
    make_tree(tmp_path, {**GOOD, "bom.py": b"\xef\xbb\xbf# coding: latin-1\nimport pkg.core\n"})
    g, warnings = graph(tmp_path)
    assert g["bom.py"] == ["pkg/__init__.py", "pkg/core.py"]
    assert "BOM" in one_warning(warnings, "bom.py")


def test_latin1_file_with_a_correct_cookie(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        **GOOD,
        "café.py": "",
        "legacy.py": "#!/usr/bin/env python\n# -*- coding: latin-1 -*-\n"
                     "s = 'déjà vu'\nimport café\nimport pkg.core\n".encode("latin-1"),
    })
    g, warnings = graph(tmp_path)
    check_good_part(g)
    # the name is decoded from latin-1, so it matches the UTF-8 file name
    assert g["legacy.py"] == ["café.py", "pkg/__init__.py", "pkg/core.py"]
    assert warnings == []


@pytest.mark.parametrize("content", [
    pytest.param(b"\xef\xbb\xbfimport pkg.core\n", id="utf8-bom"),
    pytest.param(b"import pkg.core\r\nx = (\r\n  1)\r\n", id="crlf"),
    pytest.param(b"x = 1\rimport pkg.core\r", id="old-mac-cr"),
    pytest.param(b"\x0cimport pkg.core\n", id="form-feed"),
    pytest.param(b"import pkg.core", id="no-final-newline"),
    pytest.param(b"x = 1 \\\n  + 2\nimport pkg.core\n", id="backslash-continuation"),
])
def test_unusual_but_valid_sources(graph, make_tree, tmp_path, content):
    make_tree(tmp_path, {**GOOD, "odd.py": content})
    g, warnings = graph(tmp_path)
    assert g["odd.py"] == ["pkg/__init__.py", "pkg/core.py"]
    assert warnings == []


def test_empty_file(graph, make_tree, tmp_path):
    make_tree(tmp_path, {**GOOD, "empty.py": b""})
    g, warnings = graph(tmp_path, "--strict")
    assert g["empty.py"] == [] and warnings == []


def test_syntax_error_keeps_the_imports_around_it(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        **GOOD,
        "broken.py": "import pkg\n"
                     "\n"
                     "def f(:\n"
                     "    pass\n"
                     "\n"
                     "import app\n"
                     "from pkg import core\n",
    })
    g, warnings = graph(tmp_path)
    check_good_part(g)
    assert g["broken.py"] == ["app.py", "pkg/__init__.py", "pkg/core.py"]
    reason = one_warning(warnings, "broken.py")
    assert "syntax error" in reason and "line 3" in reason


def test_incomplete_import_statement_keeps_the_next_import(graph, make_tree, tmp_path):
    make_tree(tmp_path, {**GOOD, "broken.py": "import pkg\nfrom pkg import\nimport app\n"})
    g, warnings = graph(tmp_path)
    check_good_part(g)
    assert g["broken.py"] == ["app.py", "pkg/__init__.py"]
    reason = one_warning(warnings, "broken.py")
    assert "syntax error" in reason and "line 2" in reason


def test_100_mb_generated_file(graph, make_tree, tmp_path):
    body = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(2000))
    copies = 100_000_000 // len(body) + 1
    make_tree(tmp_path, {
        **GOOD,
        "generated.py": "import pkg\n" + body * copies + "import app\nfrom pkg import core\n",
    })
    g, warnings = graph(tmp_path, "--no-cache")
    check_good_part(g)
    assert g["generated.py"] == ["app.py", "pkg/__init__.py", "pkg/core.py"]
    assert warnings == []


def test_100000_nested_brackets(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        **GOOD,
        "nested.py": "import pkg\nx = " + "(" * 100_000 + ")" * 100_000 + "\nimport app\n",
        "unclosed.py": "import app\nx = " + "[{(" * 40_000 + "\n",
    })
    g, warnings = graph(tmp_path)
    check_good_part(g)
    assert g["nested.py"] == ["app.py", "pkg/__init__.py"]
    assert g["unclosed.py"] == ["app.py"]
    assert all(w.startswith(("aftershock: nested.py: ", "aftershock: unclosed.py: "))
               for w in warnings), warnings


def test_unreadable_file(graph, make_tree, tmp_path, chmod_or_skip):
    make_tree(tmp_path, {**GOOD, "secret.py": "import app\n"})
    chmod_or_skip(tmp_path / "secret.py", 0o000)
    g, warnings = graph(tmp_path)
    check_good_part(g)
    assert g["secret.py"] == []
    assert one_warning(warnings, "secret.py") == "Permission denied"


def test_unreadable_directory(graph, make_tree, tmp_path, chmod_or_skip):
    make_tree(tmp_path, {**GOOD, "locked/m.py": "import app\n"})
    chmod_or_skip(tmp_path / "locked", 0o000)
    g, warnings = graph(tmp_path)
    check_good_part(g)
    assert "locked/m.py" not in g
    assert len(warnings) == 1 and "locked" in warnings[0], warnings


def test_directory_named_like_a_module(graph, make_tree, tmp_path):
    make_tree(tmp_path, {**GOOD, "x.py/": None, "weird.py/inner.txt": "import app\n",
                         "user.py": "import x\n"})
    g, _ = graph(tmp_path)
    check_good_part(g)
    assert "x.py" not in g and "weird.py" not in g
    assert g["user.py"] == []


def test_tracked_file_replaced_by_a_directory(graph, make_tree, git_init, tmp_path):
    make_tree(tmp_path, {**GOOD, "gone.py": "", "user.py": "import gone\nimport app\n"})
    git_init(tmp_path)
    (tmp_path / "gone.py").unlink()
    (tmp_path / "gone.py").mkdir()
    g, _ = graph(tmp_path)
    check_good_part(g)
    assert "gone.py" not in g
    assert g["user.py"] == ["app.py"]


def test_broken_symlink(graph, make_tree, tmp_path):
    make_tree(tmp_path, GOOD)
    (tmp_path / "dangling.py").symlink_to("nowhere.py")
    g, warnings = graph(tmp_path)
    check_good_part(g)
    assert "dangling.py" not in g
    assert "broken symlink" in one_warning(warnings, "dangling.py")


def test_symlink_loop_outside_git(graph, make_tree, tmp_path):
    make_tree(tmp_path, GOOD)
    (tmp_path / "pkg" / "loop").symlink_to("..")
    (tmp_path / "self").symlink_to("self")
    (tmp_path / "alias").symlink_to("pkg")
    (tmp_path / "link.py").symlink_to("app.py")
    g, warnings = graph(tmp_path)
    check_good_part(g)
    # every file once; a symlinked file is a file of its own name
    assert sorted(g) == ["app.py", "link.py", "pkg/__init__.py", "pkg/core.py"]
    assert g["link.py"] == g["app.py"]
    assert sorted(warnings) == ["aftershock: pkg/loop: symlink loop; skipped",
                                "aftershock: self: symlink loop; skipped"]


def test_non_utf8_file_names_give_valid_json(run, make_tree, tmp_path):
    make_tree(tmp_path, GOOD)
    root = os.fsencode(tmp_path)
    os.mkdir(root + b"/d\xe9j\xe0")
    with open(root + b"/d\xe9j\xe0/caf\xe9.py", "wb") as f:
        f.write(b"import pkg.core\n")
    with open(root + b"/\xff\xfe.py", "wb") as f:
        f.write(b"import app\n")
    for args in ((), ("--direction", "dependents"), ("--closure",)):
        proc = run("graph", *args, cwd=tmp_path, raw=True, check=0)
        g = json.loads(proc.stdout.decode("utf-8"))  # strict: JSON is UTF-8
        assert "d\ufffdj\ufffd/caf\ufffd.py" in g and "\ufffd\ufffd.py" in g
    g = json.loads(run("graph", cwd=tmp_path, raw=True, check=0).stdout.decode("utf-8"))
    check_good_part(g)
    assert g["d\ufffdj\ufffd/caf\ufffd.py"] == ["pkg/__init__.py", "pkg/core.py"]
    assert g["\ufffd\ufffd.py"] == ["app.py"]


def test_non_utf8_file_names_give_utf8_dot(run, make_tree, tmp_path):
    make_tree(tmp_path, GOOD)
    with open(os.fsencode(tmp_path) + b"/caf\xe9.py", "wb") as f:
        f.write(b"import app\n")
    dot = run("graph", "--format", "dot", cwd=tmp_path, raw=True, check=0).stdout
    assert '  "caf\ufffd.py" -> "app.py";' in dot.decode("utf-8").splitlines()


def test_malformed_pyproject_is_one_warning_and_defaults(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        **GOOD,
        "pyproject.toml": "[project]\nname = 'x'\n\n[tool.aftershock]\n"
                          "type-checking-imports = false\nroots = [\"src\"\n",
        "tc.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import app\n",
    })
    g, warnings = graph(tmp_path)
    check_good_part(g)
    assert g["tc.py"] == ["app.py"]  # the default keeps TYPE_CHECKING imports
    reason = one_warning(warnings, "pyproject.toml")
    assert reason.startswith("line ") and "default configuration" in reason


def test_roots_of_the_wrong_type(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        **GOOD,
        "pyproject.toml": "[tool.aftershock]\nroots = \"lib\"\n",
        "lib/util.py": "",
        "src/mylib/__init__.py": "",
        "user.py": "import mylib\n",
    })
    g, warnings = graph(tmp_path)
    check_good_part(g)
    assert g["user.py"] == ["src/mylib/__init__.py"]  # detected roots: src/ is one
    reason = one_warning(warnings, "pyproject.toml")
    assert reason.startswith("line 2: ") and "roots" in reason


@pytest.mark.parametrize("root, why", [
    ("/abs/path", "absolute"),
    ("../outside", "outside"),
])
def test_unusable_root_entry_is_skipped_with_a_warning(graph, make_tree, tmp_path, root, why):
    make_tree(tmp_path, {
        **GOOD,
        "pyproject.toml": f'[tool.aftershock]\nroots = ["{root}", "lib"]\n',
        "lib/util.py": "",
        "user.py": "import util\n",
    })
    g, warnings = graph(tmp_path)
    assert g["user.py"] == ["lib/util.py"]
    reason = one_warning(warnings, "pyproject.toml")
    assert root in reason and why in reason


def test_unknown_configuration_key(graph, make_tree, tmp_path):
    make_tree(tmp_path, {**GOOD, "pyproject.toml": "[tool.aftershock]\nrootz = [\"lib\"]\n"})
    g, warnings = graph(tmp_path)
    check_good_part(g)
    assert "rootz" in one_warning(warnings, "pyproject.toml")


def test_deleted_but_still_tracked_file(graph, make_tree, git_init, tmp_path):
    make_tree(tmp_path, {**GOOD, "old.py": "import app\n", "user.py": "import old\nimport app\n"})
    git_init(tmp_path)
    (tmp_path / "old.py").unlink()
    g, warnings = graph(tmp_path)
    check_good_part(g)
    assert "old.py" not in g
    assert g["user.py"] == ["app.py"]
    assert all("old" in w for w in warnings), warnings
