"""Imports in every block context the extractor tells apart."""
from __future__ import annotations

import os, sys as system
import a.b.c as abc
from . import sibling
from ..parent.mod import (name_a,
                          name_b as b)
from .pkg import *
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
elif sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

try:
    import ujson as json
except (ImportError, ModuleNotFoundError):
    import json
finally:
    pass

pytest_plugins = ["tests.plugins.one", "tests.plugins.two"]


def lazy():
    import importlib
    mod = importlib.import_module("pkg.lazy_mod")
    rel = importlib.import_module(".rel", package="pkg")
    return __import__("dunder.mod"), mod, rel


class K:
    @staticmethod
    def m():
        from pkg import in_method
        return in_method


async def co():
    async with ctx() as c:
        import in_async


match command:
    case "load":
        import loaded
    case _:
        pass

x = f"{'import not_real'} {f'{y!r:>{width}}'}"
s = """import not_a_statement
"""
long = 1 + \
    2; import after_semicolon
