"""Module resolution as `aftershock graph` shows it: one test per rule of Python's import
system that the graph follows (parent packages, submodules vs attributes, relative imports,
source roots, namespace packages, stubs, string imports, pytest's prepend mode) and how imports
that leave the project are classified."""

import re
import sys
from pathlib import Path

import pytest

UNKNOWN = re.compile(r"aftershock: (\d+) imports of (\d+) modules found neither in the project, "
                     r"the standard library nor .*'s site-packages: (.*)")


def installed_third_party():
    """pytest as a third-party distribution the interpreter has in its site-packages."""
    if not any(part in ("site-packages", "dist-packages") for part in Path(pytest.__file__).parts):
        pytest.skip("pytest is not installed in a site-packages directory")
    return "pytest"


def edges(graph, root, path, *args):
    g, warnings = graph(root, *args)
    return g[path], warnings


def test_import_dotted_name_depends_on_every_parent_package(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "a/__init__.py": "", "a/b/__init__.py": "", "a/b/c.py": "", "a/b/other.py": "",
        "main.py": "import a.b.c\n",
    })
    assert edges(graph, tmp_path, "main.py") == (
        ["a/__init__.py", "a/b/__init__.py", "a/b/c.py"], [])


def test_from_package_import_submodule(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "a/__init__.py": "", "a/b.py": "", "a/unrelated.py": "",
        "main.py": "from a import b\n",
    })
    assert edges(graph, tmp_path, "main.py") == (["a/__init__.py", "a/b.py"], [])


def test_from_package_import_attribute(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "a/__init__.py": "value = 1\n", "a/b.py": "",
        "main.py": "from a import value\n",
    })
    assert edges(graph, tmp_path, "main.py") == (["a/__init__.py"], [])


def test_from_module_import_name(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "a/__init__.py": "", "a/b.py": "c = 1\n", "a/c.py": "",
        "main.py": "from a.b import c\n",
    })
    # c is an attribute of the module a.b (a module has no submodules), not a/c.py
    assert edges(graph, tmp_path, "main.py") == (["a/__init__.py", "a/b.py"], [])


def test_relative_from_dot_import_name(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "p/__init__.py": "", "p/x.py": "", "p/m.py": "from . import x\n",
    })
    assert edges(graph, tmp_path, "p/m.py") == (["p/__init__.py", "p/x.py"], [])


def test_builtin_modules_are_never_project_files(graph, make_tree, tmp_path):
    # sys and gc are compiled into the interpreter, found before any sys.path entry; json is
    # a file of the standard library, which a json.py beside the importer does shadow
    make_tree(tmp_path, {
        "pyproject.toml": "", "gc.py": "", "sys.py": "", "json.py": "",
        "m.py": "import gc, sys, json\n",
    })
    assert edges(graph, tmp_path, "m.py") == (["json.py"], [])


def test_relative_import_in_a_file_named_unlike_a_module(graph, make_tree, tmp_path):
    # Django loads migrations (0002_x.py) with import_module: their relative imports work,
    # though the file's own name is no identifier
    make_tree(tmp_path, {
        "pyproject.toml": "", "p/__init__.py": "", "p/f.py": "", "p/q/__init__.py": "",
        "p/q/m.py": "", "p/q/0002_x.py": "from ..f import x\nfrom . import m\n",
    })
    assert edges(graph, tmp_path, "p/q/0002_x.py") == (
        ["p/__init__.py", "p/f.py", "p/q/__init__.py", "p/q/m.py"], [])


def test_relative_from_parent_package(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "p/__init__.py": "", "p/q.py": "", "p/sub/__init__.py": "",
        "p/sub/m.py": "from ..q import thing\n",
    })
    assert edges(graph, tmp_path, "p/sub/m.py") == (["p/__init__.py", "p/q.py"], [])


def test_relative_import_in_an_init_is_relative_to_its_own_package(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "p/__init__.py": "from .sub import m\n",
        "p/sub/__init__.py": "from . import m\n",
        "p/sub/m.py": "",
    })
    g, warnings = graph(tmp_path)
    assert g["p/__init__.py"] == ["p/sub/__init__.py", "p/sub/m.py"]
    assert g["p/sub/__init__.py"] == ["p/__init__.py", "p/sub/m.py"]
    assert warnings == []


def test_relative_import_in_a_namespace_package(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "ns/b.py": "", "ns/a.py": "from . import b\nfrom .b import thing\n",
    })
    assert edges(graph, tmp_path, "ns/a.py") == (["ns/b.py"], [])


def test_relative_import_in_src_layout(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "src/pkg/__init__.py": "", "src/pkg/x.py": "", "src/pkg/sub/__init__.py": "",
        "src/pkg/sub/m.py": "from .. import x\n",
    })
    assert edges(graph, tmp_path, "src/pkg/sub/m.py") == (
        ["src/pkg/__init__.py", "src/pkg/x.py"], [])


def test_relative_star_import(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "p/__init__.py": "", "p/m.py": "", "p/user.py": "from .m import *\n",
    })
    assert edges(graph, tmp_path, "p/user.py") == (["p/__init__.py", "p/m.py"], [])


@pytest.mark.parametrize("path, source", [
    ("p/m.py", "from ... import x\n"),       # two levels above p/
    ("top.py", "from . import x\n"),          # not in a package at all
    ("p/sub/m.py", "from ....q import r\n"),
])
def test_relative_import_beyond_the_top_level_package(graph, make_tree, tmp_path, path, source):
    make_tree(tmp_path, {
        "pyproject.toml": "", "p/__init__.py": "", "p/sub/__init__.py": "", "x.py": "",
        "q/r.py": "",
        path: "import os\n\n" + source,
    })
    g, warnings = graph(tmp_path)
    assert g[path] == []
    assert warnings == [
        f"aftershock: {path}: line 3: relative import beyond the top-level package; no edge"]


def test_src_layout_is_detected_without_configuration(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "[project]\nname = 'pkg'\n",
        "src/pkg/__init__.py": "", "src/pkg/core.py": "",
        "src/pkg/api.py": "from pkg import core\n",
        "tests/test_api.py": "import pkg.api\n",
    })
    g, warnings = graph(tmp_path)
    assert g["src/pkg/api.py"] == ["src/pkg/__init__.py", "src/pkg/core.py"]
    assert g["tests/test_api.py"] == ["src/pkg/__init__.py", "src/pkg/api.py"]
    assert warnings == []


def test_configured_roots_are_used(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": '[tool.aftershock]\nroots = ["code", "./vendor/"]\n',
        "code/lib/__init__.py": "", "code/lib/util.py": "",
        "vendor/ext.py": "",
        "app.py": "import lib.util\nimport ext\n",
    })
    assert edges(graph, tmp_path, "app.py") == (
        ["code/lib/__init__.py", "code/lib/util.py", "vendor/ext.py"], [])


def test_configured_roots_replace_detection(graph, make_tree, tmp_path):
    # With roots given, src/ is not searched: only what the user listed.
    make_tree(tmp_path, {
        "pyproject.toml": '[tool.aftershock]\nroots = ["code"]\n',
        "code/lib.py": "",
        "src/hidden.py": "",
        "app.py": "import lib\nimport hidden\n",
    })
    g, warnings = graph(tmp_path)
    assert g["app.py"] == ["code/lib.py"]
    assert any("hidden" in w and UNKNOWN.match(w) for w in warnings), warnings


def test_monorepo_distributions_are_detected(graph, copy_fixture):
    root = copy_fixture("monorepo")
    g, warnings = graph(root)
    assert g["libs/b/src/libb/__init__.py"] == [
        "libs/a/src/liba/__init__.py", "libs/a/src/liba/core.py"]
    assert g["libs/b/tests/test_b.py"] == [
        "libs/a/src/liba/__init__.py", "libs/b/src/libb/__init__.py", "libs/b/tests/helpers.py"]
    assert g["services/api/main.py"] == [
        "libs/b/src/libb/__init__.py", "services/api/handlers.py"]
    assert warnings == []


def test_namespace_package_split_across_roots(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": '[tool.aftershock]\nroots = ["libs/a", "libs/b"]\n',
        "libs/a/company/x/__init__.py": "",
        "libs/b/company/y/__init__.py": "",
        "libs/b/company/y/z.py": "",
        "main.py": "import company.x\nimport company.y\nfrom company.y import z\n",
    })
    g, warnings = graph(tmp_path)
    assert g["main.py"] == [
        "libs/a/company/x/__init__.py", "libs/b/company/y/__init__.py", "libs/b/company/y/z.py"]
    assert warnings == []


def test_module_in_a_later_root_wins_over_a_namespace_portion(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": '[tool.aftershock]\nroots = ["libs/a", "libs/b"]\n',
        "libs/a/company/x.py": "",
        "libs/b/company.py": "",
        "main.py": "import company\n",
    })
    assert edges(graph, tmp_path, "main.py") == (["libs/b/company.py"], [])


def test_regular_package_in_a_later_root_replaces_namespace_portions(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": '[tool.aftershock]\nroots = ["libs/a", "libs/b"]\n',
        "libs/a/company/x.py": "",
        "libs/b/company/__init__.py": "",
        "libs/b/company/y.py": "",
        "main.py": "import company.x\nimport company.y\n",
    })
    g, warnings = graph(tmp_path)
    assert g["main.py"] == ["libs/b/company/__init__.py", "libs/b/company/y.py"]
    assert len(warnings) == 1 and UNKNOWN.match(warnings[0]).group(3) == "company.x", warnings


def test_regular_package_wins_over_module_of_the_same_name(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "pkg/__init__.py": "", "pkg.py": "", "main.py": "import pkg\n",
    })
    assert edges(graph, tmp_path, "main.py") == (["pkg/__init__.py"], [])


def test_module_wins_over_namespace_directory(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "thing/data.py": "", "thing.py": "", "main.py": "import thing\n",
    })
    assert edges(graph, tmp_path, "main.py") == (["thing.py"], [])


def test_stub_beside_module_gives_edges_to_both(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "mod.py": "", "mod.pyi": "", "main.py": "import mod\n",
    })
    assert edges(graph, tmp_path, "main.py") == (["mod.py", "mod.pyi"], [])


def test_stub_only_module(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "pkg/__init__.pyi": "", "pkg/stubbed.pyi": "",
        "main.py": "import pkg.stubbed\n",
    })
    assert edges(graph, tmp_path, "main.py") == (["pkg/__init__.pyi", "pkg/stubbed.pyi"], [])


def test_same_top_level_module_in_two_roots_is_one_warning(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "src/dup/__init__.py": "",
        "other/dup/__init__.py": "",
        "other/second/__init__.py": "",
        "a.py": "import dup\n",
        "b.py": "import dup\n",
    })
    g, warnings = graph(tmp_path)
    assert len(warnings) == 1, warnings
    assert "'dup'" in warnings[0] and "'src'" in warnings[0] and "'other'" in warnings[0]
    assert g["a.py"] == g["b.py"] and len(g["a.py"]) == 1


def test_importlib_import_module(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "a/__init__.py": "", "a/b.py": "",
        "main.py": "import importlib\nimportlib.import_module('a.b')\n",
    })
    assert edges(graph, tmp_path, "main.py") == (["a/__init__.py", "a/b.py"], [])


def test_import_module_relative_with_package(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "a/__init__.py": "", "a/x.py": "", "x.py": "",
        "main.py": "from importlib import import_module\nimport_module('.x', package='a')\n",
    })
    assert edges(graph, tmp_path, "main.py") == (["a/__init__.py", "a/x.py"], [])


def test_dunder_import(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "a/__init__.py": "", "a/b.py": "", "main.py": "__import__('a.b')\n",
    })
    assert edges(graph, tmp_path, "main.py") == (["a/__init__.py", "a/b.py"], [])


def test_pytest_plugins_in_conftest(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "plugins/__init__.py": "", "plugins/db.py": "", "plugins/web.py": "",
        "tests/conftest.py": "pytest_plugins = ['plugins.db', 'plugins.web']\n",
    })
    assert edges(graph, tmp_path, "tests/conftest.py") == (
        ["plugins/__init__.py", "plugins/db.py", "plugins/web.py"], [])


def test_pytest_plugins_as_one_string(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "plug.py": "", "tests/conftest.py": "pytest_plugins = 'plug'\n",
    })
    assert edges(graph, tmp_path, "tests/conftest.py") == (["plug.py"], [])


def test_pytest_prepend_mode_finds_helpers_beside_the_test(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "tests/test_x.py": "import helpers\n",
        "tests/helpers.py": "",
        "tests/unit/test_y.py": "import helpers\n",
        "helpers.py": "",
    })
    g, warnings = graph(tmp_path)
    # the test's own directory comes before the roots
    assert g["tests/test_x.py"] == ["tests/helpers.py"]
    assert g["tests/unit/test_y.py"] == ["helpers.py"]
    assert warnings == []


def test_stdlib_and_third_party_imports_make_no_edge_and_no_warning(graph, make_tree, tmp_path):
    third_party = installed_third_party()
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "main.py": "import os\nimport json\nimport os.path\nfrom collections import abc\n"
                   f"import {third_party}\nfrom {third_party} import fixture\n",
    })
    assert edges(graph, tmp_path, "main.py", "--strict") == ([], [])


def test_classification_asks_the_real_interpreter(graph, make_tree, tmp_path):
    """The same without the quick stand-in interpreter of the other tests."""
    third_party = installed_third_party()
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "main.py": f"import os\nimport json\nimport {third_party}\n"
                   "import surely_not_installed_xyz\n",
    })
    g, warnings = graph(tmp_path, "--python", sys.executable)
    assert g == {"main.py": []}
    assert len(warnings) == 1 and UNKNOWN.match(warnings[0]), warnings
    assert UNKNOWN.match(warnings[0]).groups() == ("1", "1", "surely_not_installed_xyz")


def test_interpreter_probe_does_not_run_project_code(graph, make_tree, tmp_path):
    marker = tmp_path / "EXECUTED"
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "csv.py": f"open({str(marker)!r}, 'w').write('project code ran')\n",
        "main.py": "import csv\nimport os\n",
    })
    g, warnings = graph(tmp_path, "--python", sys.executable)
    assert g["main.py"] == ["csv.py"]
    assert warnings == []
    assert not marker.exists()


@pytest.mark.parametrize("python, reason", [
    ("/nonexistent/python3", "interpreter not found"),
    ("/bin/false", "cannot ask the interpreter for its modules"),
])
def test_unusable_interpreter_is_one_warning(graph, make_tree, tmp_path, python, reason):
    make_tree(tmp_path, {"pyproject.toml": "", "main.py": "import os\nimport nope\nimport b\n",
                         "b.py": ""})
    g, warnings = graph(tmp_path, "--python", python)
    assert g == {"b.py": [], "main.py": ["b.py"]}
    # nothing is classified, so nothing is reported as unknown either
    assert len(warnings) == 1 and warnings[0].startswith(f"aftershock: {python}: "), warnings
    assert reason in warnings[0]


def test_unknown_imports_are_one_summarised_warning(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "a.py": "import nope_one\nimport nope_two.sub\nfrom nope_one import x\n",
        "b.py": "import nope_one.deep\n"
                "try:\n    import nope_optional\nexcept ImportError:\n    pass\n"
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    import nope_typing\n",
    })
    g, warnings = graph(tmp_path)
    assert g == {"a.py": [], "b.py": []}
    assert len(warnings) == 1, warnings
    m = UNKNOWN.match(warnings[0])
    assert m, warnings
    # 4 imports of 2 modules, the most imported first; optional and TYPE_CHECKING ones not counted
    assert m.groups() == ("4", "2", "nope_one, nope_two")


def test_project_module_shadows_the_stdlib_module_of_the_same_name(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "",
        "json.py": "",
        "main.py": "import json\nimport os\n",
        "pkg/__init__.py": "import json\n",
    })
    g, warnings = graph(tmp_path)
    assert g["main.py"] == ["json.py"]
    assert g["pkg/__init__.py"] == ["json.py"]
    assert warnings == []


def test_import_of_missing_submodule_depends_on_the_parent_package(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "a/__init__.py": "", "a/b/__init__.py": "",
        "main.py": "import a.b.missing\n",
    })
    g, _ = graph(tmp_path)
    # Python executes a/__init__.py and a/b/__init__.py before failing on a.b.missing
    assert g["main.py"] == ["a/__init__.py", "a/b/__init__.py"]


def test_missing_submodule_warning_names_the_missing_module(graph, make_tree, tmp_path):
    make_tree(tmp_path, {
        "pyproject.toml": "", "a/__init__.py": "", "main.py": "import a.missing\n",
    })
    g, warnings = graph(tmp_path)
    assert g["main.py"] == ["a/__init__.py"]
    assert len(warnings) == 1, warnings
    m = UNKNOWN.match(warnings[0])
    assert m and m.group(3) == "a.missing", warnings


def test_import_dunder_main_is_no_unknown_module(graph, make_tree, tmp_path):
    make_tree(tmp_path, {"pyproject.toml": "", "main.py": "import __main__\nimport builtins\n"})
    assert edges(graph, tmp_path, "main.py", "--strict") == ([], [])
