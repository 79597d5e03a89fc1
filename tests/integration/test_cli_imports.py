"""`aftershock imports`: the import records of files as written, as text or JSON lines, and how
the command treats bad arguments and files it cannot read."""

import json
import os
import re

import pytest

KEYS = ["file", "line", "kind", "module", "level", "names", "type_checking", "optional", "lazy"]


def json_records(proc):
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_json_lines_have_exactly_the_documented_keys_in_order(run, make_tree, tmp_path):
    make_tree(tmp_path, {
        "m.py": "import os\n"
                "from . import sibling\n"
                "import importlib\n"
                "importlib.import_module('a.b')\n"
                "importlib.import_module('.x', package='pkg')\n",
    })
    proc = run("imports", "--json", "m.py", cwd=tmp_path, check=0)
    records = json_records(proc)
    assert len(records) == 5
    for r in records[:4]:
        assert list(r) == KEYS, r
    # "package" only on a string import that has one, and then last.
    assert list(records[4]) == KEYS + ["package"]
    assert records[4]["package"] == "pkg"
    assert proc.stderr == ""


def test_import_statement_gives_one_record_per_name(run, make_tree, tmp_path):
    make_tree(tmp_path, {"m.py": "x = 1\nimport a.b.c as abc, d\n"})
    records = json_records(run("imports", "--json", "m.py", cwd=tmp_path, check=0))
    assert records == [
        {"file": "m.py", "line": 2, "kind": "import", "module": "a.b.c", "level": 0, "names": [],
         "type_checking": False, "optional": False, "lazy": False},
        {"file": "m.py", "line": 2, "kind": "import", "module": "d", "level": 0, "names": [],
         "type_checking": False, "optional": False, "lazy": False},
    ]


def test_from_import_gives_one_record_per_statement_with_names_and_level(run, make_tree, tmp_path):
    make_tree(tmp_path, {
        "m.py": "from a.b import (\n    c as cc,\n    d,\n)\n"
                "from . import x\n"
                "from ..p import q\n"
                "from .m import *\n",
    })
    records = json_records(run("imports", "--json", "m.py", cwd=tmp_path, check=0))
    got = [(r["line"], r["kind"], r["module"], r["level"], r["names"]) for r in records]
    assert got == [
        (1, "from", "a.b", 0, ["c", "d"]),  # the line where the statement starts; no aliases
        (5, "from", "", 1, ["x"]),
        (6, "from", "p", 2, ["q"]),
        (7, "from", "m", 1, ["*"]),
    ]


def test_string_imports(run, make_tree, tmp_path):
    make_tree(tmp_path, {
        "conftest.py": "import importlib\n"
                       "from importlib import import_module\n"
                       "importlib.import_module('a.b')\n"
                       "import_module('.x', package='a')\n"
                       "__import__('c.d')\n"
                       "name = 'dynamic'\n"
                       "importlib.import_module(name)\n"
                       "pytest_plugins = ['plug.one', 'plug.two']\n",
    })
    records = json_records(run("imports", "--json", "conftest.py", cwd=tmp_path, check=0))
    strings = [(r["line"], r["module"], r["level"], r.get("package"))
               for r in records if r["kind"] == "string"]
    assert strings == [
        (3, "a.b", 0, None),
        (4, "x", 1, "a"),
        (5, "c.d", 0, None),
        # a non-literal argument is no import
        (8, "plug.one", 0, None),
        (8, "plug.two", 0, None),
    ]


def test_flags_type_checking_optional_lazy(run, make_tree, tmp_path):
    make_tree(tmp_path, {
        "m.py": "from typing import TYPE_CHECKING\n"          # 1
                "import typing\n"                             # 2
                "if TYPE_CHECKING:\n"                         # 3
                "    import tc1\n"                            # 4
                "else:\n"                                     # 5
                "    import runtime1\n"                       # 6
                "if typing.TYPE_CHECKING:\n"                  # 7
                "    import tc2\n"                            # 8
                "try:\n"                                      # 9
                "    import opt1\n"                           # 10
                "except ImportError:\n"                       # 11
                "    pass\n"                                  # 12
                "try:\n"                                      # 13
                "    import opt2\n"                           # 14
                "except (ValueError, ModuleNotFoundError):\n" # 15
                "    pass\n"                                  # 16
                "try:\n"                                      # 17
                "    import notopt\n"                         # 18
                "except ValueError:\n"                        # 19
                "    pass\n"                                  # 20
                "def f():\n"                                  # 21
                "    import lazy1\n"                          # 22
                "class C:\n"                                  # 23
                "    import classbody\n",                     # 24
    })
    records = json_records(run("imports", "--json", "m.py", cwd=tmp_path, check=0))
    flags = {r["module"]: (r["type_checking"], r["optional"], r["lazy"]) for r in records}
    assert flags["tc1"] == (True, False, False)
    assert flags["runtime1"] == (False, False, False)  # the else branch runs
    assert flags["tc2"] == (True, False, False)
    assert flags["opt1"] == (False, True, False)
    assert flags["opt2"] == (False, True, False)
    assert flags["notopt"] == (False, False, False)
    assert flags["lazy1"] == (False, False, True)
    assert flags["classbody"] == (False, False, False)  # a class body runs at import


def test_text_output_one_line_per_import(run, make_tree, tmp_path):
    make_tree(tmp_path, {
        "m.py": "import a\n"
                "from ..p import q, r\n"
                "def f():\n"
                "    import lazy\n",
    })
    proc = run("imports", "m.py", cwd=tmp_path, check=0)
    assert proc.stdout.splitlines() == [
        "m.py:1: import a",
        "m.py:2: from ..p import q, r",
        "m.py:4: import lazy [lazy]",
    ]


def test_records_follow_argument_order(run, make_tree, tmp_path):
    make_tree(tmp_path, {"b.py": "import from_b\n", "a.py": "import from_a\n"})
    records = json_records(run("imports", "--json", "b.py", "a.py", cwd=tmp_path, check=0))
    assert [(r["file"], r["module"]) for r in records] == [("b.py", "from_b"), ("a.py", "from_a")]


def test_file_named_like_an_option_after_double_dash(run, make_tree, tmp_path):
    make_tree(tmp_path, {"-dash.py": "import x\n"})
    proc = run("imports", "--", "-dash.py", cwd=tmp_path, check=0)
    assert proc.stdout == "-dash.py:1: import x\n"


def test_strict_exits_1_when_a_file_gave_a_warning(run, make_tree, tmp_path):
    make_tree(tmp_path, {"bad.py": "import a\ndef f(:\n    pass\nimport b\n",
                         "ok.py": "import c\n"})
    plain = run("imports", "bad.py", "ok.py", cwd=tmp_path, check=0)
    strict = run("imports", "--strict", "bad.py", "ok.py", cwd=tmp_path, check=1)
    assert strict.stdout == plain.stdout
    assert "bad.py:1: import a" in strict.stdout and "bad.py:4: import b" in strict.stdout
    assert re.fullmatch(r"aftershock: bad\.py: .*line 2.*\n", strict.stderr)
    run("imports", "--strict", "ok.py", cwd=tmp_path, check=0)


@pytest.mark.parametrize("args, message", [
    ((), "no FILE given"),
    (("--json",), "no FILE given"),
    (("--bogus", "m.py"), "unknown option '--bogus'"),
    (("--json=yes", "m.py"), "takes no value"),
])
def test_usage_errors_exit_2(run, make_tree, tmp_path, args, message):
    make_tree(tmp_path, {"m.py": "import a\n"})
    proc = run("imports", *args, cwd=tmp_path, check=2)
    assert proc.stdout == ""
    assert message in proc.stderr
    assert proc.stderr.startswith("aftershock imports: ")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_unwritable_output_exits_2(run, make_tree, tmp_path):
    make_tree(tmp_path, {"m.py": "import a\n"})
    with open("/dev/full", "w") as full:
        proc = run("imports", "--json", "m.py", cwd=tmp_path, stdout=full, check=2)
    assert "cannot write" in proc.stderr


def test_help_exits_0(run):
    proc = run("imports", "--help", check=0)
    assert proc.stdout.startswith("usage: aftershock imports")
    assert "--json" in proc.stdout and "--strict" in proc.stdout


def test_missing_file_is_one_warning_and_the_others_are_printed(run, make_tree, tmp_path):
    make_tree(tmp_path, {"a.py": "import x\n", "c.py": "import y\n"})
    proc = run("imports", "a.py", "missing.py", "c.py", cwd=tmp_path, check=0)
    assert proc.stdout.splitlines() == ["a.py:1: import x", "c.py:1: import y"]
    assert proc.stderr.splitlines() == ["aftershock: missing.py: No such file or directory"]
    run("imports", "--strict", "a.py", "missing.py", cwd=tmp_path, check=1)


def test_unreadable_file_is_one_warning(run, make_tree, tmp_path, chmod_or_skip):
    make_tree(tmp_path, {"a.py": "import x\n", "secret.py": "import y\n"})
    chmod_or_skip(tmp_path / "secret.py", 0o000)
    proc = run("imports", "secret.py", "a.py", cwd=tmp_path, check=0)
    assert proc.stdout == "a.py:1: import x\n"
    assert proc.stderr.splitlines() == ["aftershock: secret.py: Permission denied"]


def test_directory_argument_is_one_warning(run, make_tree, tmp_path):
    make_tree(tmp_path, {"pkg/m.py": "import x\n", "a.py": "import y\n"})
    proc = run("imports", "--json", "pkg", "a.py", cwd=tmp_path, check=0)
    assert [r["file"] for r in json_records(proc)] == ["a.py"]
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and re.fullmatch(r"aftershock: pkg: .*directory.*", lines[0]), lines


def test_non_utf8_file_name_gives_valid_json(run, tmp_path):
    name = b"caf\xe9.py"
    (tmp_path / "x").mkdir()
    with open(bytes(tmp_path / "x") + b"/" + name, "wb") as f:
        f.write(b"import a\n")
    proc = run("imports", "--json", b"x/" + name, cwd=tmp_path, raw=True, check=0)
    record = json.loads(proc.stdout.decode("utf-8"))  # strict UTF-8, as JSON requires
    assert record["file"] == "x/caf\ufffd.py"
    assert record["module"] == "a"
