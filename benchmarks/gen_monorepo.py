#!/usr/bin/env python3
"""Generate a deterministic, realistic Python monorepo to benchmark `aftershock graph` on.

The same --files and --seed always give a byte-identical tree (and, with --git, the same commit
id: author, committer and dates are fixed). --files counts Python sources (.py and .pyi);
pyproject.toml, py.typed, .gitignore and README.md files come on top.

Layout; every source root is listed in the root pyproject's `[tool.aftershock] roots`:

    pyproject.toml conftest.py noxfile.py docs/ scripts/   root "." (pytest_plugins in conftest)
    tests/                      tests of the src packages, tests/plugins/ for pytest_plugins
    <tool>/  <tool>/tests/      a plain top-level package, its tests inside it
    src/<pkg>/                  src-layout packages; the first is the core every unit uses
    libs/<lib>/<lib>/  libs/<lib>/tests/  libs/<lib>/pyproject.toml   one distribution per lib
    libs/<ns>-<x>/<ns>/<x>/     a PEP 420 namespace package <ns> split over several roots

Packages nest 1-5 deep; __init__.py files are empty, small, or re-export submodules; some
modules have a .pyi stub beside them; each distribution has a py.typed. Tests directories hold
conftest.py chains, test_*.py and *_test.py files and helpers.

Imports take every form Python has, at frequencies resembling real code (absolute, aliased,
parenthesised, relative, star, backslash-continued, __future__, lazy in functions, under
`if TYPE_CHECKING:` with or without else, in try/except ImportError, importlib.import_module,
__import__, pytest_plugins), with stdlib, third-party and unknown modules and names. Module
bodies (classes, docstrings, f-strings, match, decorators, comments, ...) make import statements
about 4-5% of the bytes. A few files are CRLF, tab-indented, latin-1 with a coding cookie, or
start with a BOM; half the 150-260 KB giants are generated data tables. Four files are bad as in
real repositories: a committed merge conflict (syntax error), an empty module, one with a NUL
byte, one with invalid UTF-8 in a string (their paths: --manifest).

The import graph is planned, not left to chance. Units (distributions) are ordered and import
only earlier units; inside a unit, modules import only lower-ranked modules, except for planted
rings of 2-20 modules. Package __init__ files re-export only modules that import nothing from
their own unit, so edges to parent packages close no cycle either: the strongly connected
components of the graph are exactly the planted rings, listed by --manifest.

Usage: python3 benchmarks/gen_monorepo.py --files 10000 --seed 1 --out /tmp/mono [--git]
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import multiprocessing
import os
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass, field

import benchutil

# --------------------------------------------------------------------------------------------
# Vocabulary

NOUNS = """
account action adapter address agent alert allocation archive asset audit backend backlog
balance batch billing blob bridge broker bucket budget buffer bundle cache calendar campaign
catalog channel checkout claim client cluster codec cohort collector column command comment
compiler component connector consumer contract cursor customer dashboard dataset deadline
decoder delivery deployment device digest dispatch document domain draft driver edge encoder
endpoint engine entity envelope estimate event exchange export feature feed fixture flag
forecast gateway grant graph grid handler header health history hook identity image incident
inventory invoice issue item job journal kernel label ledger lease limit listing loader locale
lock mailer manifest mapping market matrix media member message meter metric migration mirror
monitor node notice offer order outbox owner package page panel parser partition payload
payment payout peer permission pipeline plan planner plugin policy pool portal post preference
price printer probe product profile project prompt provider proxy publisher quota rate reader
receipt record refund region registry release report request resource response result review
role route rule runner sample scanner schedule schema scope score search segment sensor session
setting shard shipment sink slot snapshot source span spec stage storage store stream
subscriber summary supplier survey table tag target task tenant ticket timer tracker transfer
trigger upload usage user vault vendor view voucher wallet warehouse webhook widget window
worker workflow writer zone
""".split()

VERBS = """
get build load parse compute render validate resolve fetch create update delete apply merge
normalize serialize deserialize encode decode collect dispatch register schedule sync export
check ensure find filter sort group split join publish refresh reset retry scan store transform
translate wrap emit flush prepare summarize estimate convert extract
""".split()

CLASS_SUFFIXES = """
Manager Service Client Repository Config Error Handler Builder Factory Record Model View Schema
Policy Event Result Adapter Registry Spec State Mixin Base Info Options Backend Cache Loader
""".split()

VARS = """
result items payload value data record entries config count total name key options buffer
batch state context response cursor rows chunk mapping pending seen parts
""".split()

UNIT_PREFIXES = """
orbit nova quanta helix vertex lumen aurora cobalt ember flux granite harbor iris juniper
kestrel lattice mosaic nimbus onyx prism quartz raven sierra tundra umbra vesper willow
xenon yarrow zephyr atlas beacon cedar delta falcon glacier
""".split()

HUB_NAMES = ["utils", "errors", "types", "config", "constants", "compat"]
CORE_HUB_NAMES = HUB_NAMES + ["logging", "registry", "settings", "_version"]

# Statements as written in real files; repeated entries are the common ones.
STDLIB_IMPORTS = [
    "import os", "import os", "import sys", "import json", "import json", "import re",
    "import logging", "import logging", "import time", "import math", "import uuid",
    "import hashlib", "import functools", "import itertools", "import asyncio",
    "import subprocess", "import shutil", "import tempfile", "import io", "import copy",
    "import warnings", "import inspect", "import threading", "import contextlib", "import struct",
    "import base64", "import operator", "import string", "import random", "import socket",
    "import sqlite3", "import csv", "import pickle", "import gzip", "import argparse",
    "import weakref", "import heapq", "import bisect", "import secrets", "import platform",
    "import traceback", "import textwrap", "import enum", "import abc", "import types",
    "import collections.abc", "import urllib.parse", "import xml.etree.ElementTree as ET",
    "import os.path as osp", "import concurrent.futures", "from pathlib import Path",
    "from pathlib import Path", "from pathlib import Path, PurePosixPath",
    "from dataclasses import dataclass", "from dataclasses import dataclass, field",
    "from dataclasses import asdict, dataclass, field, replace",
    "from collections import defaultdict", "from collections import Counter, OrderedDict",
    "from collections import defaultdict, deque", "from collections.abc import Iterable, Mapping",
    "from collections.abc import Callable, Iterator, Sequence",
    "from collections.abc import Mapping", "from datetime import datetime, timedelta",
    "from datetime import datetime, timezone", "from datetime import date",
    "from enum import Enum", "from enum import Enum, IntEnum, auto",
    "from abc import ABC, abstractmethod", "from functools import lru_cache, partial",
    "from functools import cached_property, wraps", "from itertools import chain, islice",
    "from contextlib import contextmanager", "from contextlib import ExitStack, suppress",
    "from decimal import Decimal", "from decimal import ROUND_HALF_UP, Decimal",
    "from http import HTTPStatus", "from urllib.parse import urlencode, urlparse",
    "from concurrent.futures import ThreadPoolExecutor, as_completed",
    "from uuid import UUID, uuid4", "from types import MappingProxyType, SimpleNamespace",
    "from operator import attrgetter, itemgetter", "from email.message import EmailMessage",
    "from string import Template", "from threading import Lock, RLock",
    "from io import BytesIO, StringIO", "from fractions import Fraction",
    "from statistics import mean, median", "from unittest import mock", "from os import environ",
    "from os.path import join as path_join",
]

TYPING_NAMES = """
Any Any Any Optional Optional Union cast overload Protocol TypeVar Generic ClassVar Final
Literal NamedTuple TypedDict Callable Iterator Iterable NoReturn IO Self TypeAlias Annotated
""".split()

THIRD_PARTY_IMPORTS = [
    "import numpy as np", "import numpy as np", "import numpy as np", "import requests",
    "import requests", "import pandas as pd", "import yaml", "import attr", "import click",
    "from pydantic import BaseModel, Field",
    "from pydantic import BaseModel, ConfigDict, field_validator",
    "from sqlalchemy import Column, Integer, String, select",
    "from sqlalchemy.orm import Session, relationship",
    "from fastapi import APIRouter, Depends, HTTPException",
    "from jinja2 import Environment, PackageLoader", "import boto3", "import redis",
    "from celery import shared_task", "import httpx",
    "from typing_extensions import Self, TypedDict",
    "from tenacity import retry, stop_after_attempt", "import structlog",
    "from rich.console import Console", "from google.protobuf import json_format",
    "from google.cloud import storage", "import matplotlib.pyplot as plt",
    "from dateutil import parser as date_parser", "import scipy.sparse as sp", "import orjson",
    "from packaging.version import Version", "import msgpack",
    "from botocore.exceptions import ClientError", "import grpc",
    "from kafka import KafkaProducer", "import jwt", "from marshmallow import Schema, fields",
    "from more_itertools import chunked", "import attrs", "from opentelemetry import trace",
]

TEST_IMPORTS = [
    "import pytest", "from unittest import mock", "from unittest.mock import MagicMock, patch",
    "from hypothesis import given, strategies as st", "import freezegun",
    "from pytest import approx",
]

LATIN1_TEXT = ["café", "Müller", "naïve", "façade", "Ærøskøbing", "±0.5 °C", "µs", "© ACME",
               "«citation»", "señor", "Größe", "déjà vu"]
UTF8_TEXT = ["✓ done", "→ next", "日本語テキスト", "emoji 🚀", "naïve café", "Σ total", "≥ limit",
             "ƒ(x)", "“quoted”", "Привет"]

KEYWORDS = frozenset("""False None True and as assert async await break class continue def del
elif else except finally for from global if import in is lambda nonlocal not or pass raise
return try while with yield match case type""".split())


def camel(*words: str) -> str:
    return "".join(w.capitalize() for w in words)


class FastRandom(random.Random):
    """random.Random with cheaper choice/randint/randrange (one float draw each).

    Rendering draws millions of values; these shortcuts triple its speed. Slightly uneven for
    huge ranges, which do not occur here; deterministic like the base class.
    """

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if stop is None and step == 1:
            return int(self.random() * start)
        return super().randrange(start, stop, step)


def _make_sentences(n: int) -> list[str]:
    r = FastRandom("monorepo-sentences")
    out = []
    for _ in range(n):
        words = [r.choice(NOUNS if i % 2 else VERBS) for i in range(r.randint(4, 11))]
        out.append(" ".join(words).capitalize() + ".")
    return out


SENTENCES = _make_sentences(8192)


# --------------------------------------------------------------------------------------------
# The plan: units, modules and edges


@dataclass(eq=False)
class Unit:
    """One distribution (a src package, a lib, a namespace portion, the top-level package)."""

    index: int
    kind: str  # "src", "top", "lib", "ns"
    root: str  # source root, relative to the repository ("." for the repository itself)
    package: str  # dotted top package ("company.billing" for a namespace portion)
    pkg_dir: str  # directory of the top package
    dist: str  # distribution name
    tests_dir: str
    tests_package: str | None  # dotted name of tests_dir, None when not importable
    budget: int = 0
    modules: list[Module] = field(default_factory=list)
    hubs: list[Module] = field(default_factory=list)
    public: list[Module] = field(default_factory=list)
    cycles: list[list[Module]] = field(default_factory=list)
    ranked: list[Module] = field(default_factory=list)  # non-init modules, ascending rank
    by_package: dict[str, list[Module]] = field(default_factory=dict)
    inits: list[Module] = field(default_factory=list)
    import_inits: list[Module] = field(default_factory=list)  # inits worth importing


@dataclass(eq=False)
class Module:
    name: str  # dotted; "" for files that are not importable
    path: str
    unit: Unit | None
    kind: str  # init module stub | test-init test conftest helper plugin | script
    size: int
    is_package: bool = False
    rel_top: int = 0  # relative imports may not climb above this many leading name parts
    classes: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    constants: list[str] = field(default_factory=list)
    reexports: list[Module] = field(default_factory=list)
    imports: list[tuple[Module, str]] = field(default_factory=list)  # (target, mode)
    init_kind: str = ""  # for inits: empty, plain, reexport
    stub_of: Module | None = None
    hub: bool = False
    has_stub: bool = False
    generated: bool = False  # a giant made of data tables rather than code
    exportable: bool = False  # re-exported by its package: imports nothing from its own unit
    in_cycle: bool = False
    bad: str = ""
    style: str = "plain"  # plain crlf tabs latin1 bom utf8
    rank: int = 0
    depth: int = 0

    @property
    def exports(self) -> list[str]:
        names = self.classes + self.functions + self.constants
        for child in self.reexports:
            names = names + child.exports[:3]
        return names

    @property
    def package_parts(self) -> list[str]:
        parts = self.name.split(".") if self.name else []
        return parts if self.is_package else parts[:-1]


class Planner:
    """Decides every file, its symbols and its imports; renders nothing."""

    def __init__(self, files: int, seed: int):
        self.r = FastRandom(f"monorepo-plan/{seed}/{files}")
        self.files = files
        self.seed = seed
        self.units: list[Unit] = []
        self.modules: list[Module] = []
        self.extra_files: dict[str, str] = {}  # non-Python files: path -> text
        self.roots: list[str] = []
        self.taken_tops: set[str] = set()

    # -- sizes and names ------------------------------------------------------------------

    def size_for(self, kind: str) -> int:
        r = self.r
        if kind == "module":
            return int(min(90_000, max(350, r.lognormvariate(math.log(4600), 0.78))))
        if kind == "test":
            return int(min(60_000, max(400, r.lognormvariate(math.log(4000), 0.7))))
        if kind in ("conftest", "helper", "plugin"):
            return int(max(300, r.lognormvariate(math.log(1800), 0.6)))
        if kind == "script":
            return int(max(600, r.lognormvariate(math.log(3500), 0.5)))
        return 0

    def fresh_names(self, k: int, taken: set[str]) -> list[str]:
        out = []
        while len(out) < k:
            w = self.r.choice(NOUNS)
            if self.r.random() < 0.25:
                w = f"{w}_{self.r.choice(NOUNS)}"
            if w in taken or w in KEYWORDS or w.startswith("test") or w == "tests":
                continue
            taken.add(w)
            out.append(w)
        return out

    def symbols(self, m: Module) -> None:
        r = self.r
        taken: set[str] = set()
        n_cls = r.randint(0, 2) + m.size // 7000
        n_fn = r.randint(1, 3) + m.size // 5000
        n_const = r.choice([0, 0, 1, 1, 2])
        if m.size > 100_000:  # a giant file: keep the export list sane
            n_cls, n_fn = min(n_cls, 12), min(n_fn, 12)
        while len(m.classes) < n_cls:
            c = camel(r.choice(NOUNS), r.choice(CLASS_SUFFIXES))
            if c not in taken:
                taken.add(c)
                m.classes.append(c)
        while len(m.functions) < n_fn:
            f = f"{r.choice(VERBS)}_{r.choice(NOUNS)}"
            if f not in taken:
                taken.add(f)
                m.functions.append(f)
        while len(m.constants) < n_const:
            suffix = r.choice(["LIMIT", "TIMEOUT", "NAME", "DEFAULTS", "VERSION"])
            c = f"{r.choice(NOUNS).upper()}_{suffix}"
            if c not in taken:
                taken.add(c)
                m.constants.append(c)

    def add(self, m: Module) -> Module:
        self.modules.append(m)
        if m.unit is not None and m.kind in ("init", "module"):
            m.unit.modules.append(m)
        return m

    # -- units ---------------------------------------------------------------------------

    def top_name(self) -> str:
        stdlib = set(sys.stdlib_module_names)
        while True:
            w = self.r.choice(UNIT_PREFIXES)
            if self.r.random() < 0.7:
                w = f"{w}_{self.r.choice(NOUNS)}"
            if w not in self.taken_tops and w not in stdlib:
                self.taken_tops.add(w)
                return w

    def plan_units(self) -> None:
        n = self.files
        n_src = 2 if n < 50_000 else 3
        n_ns = 2 if n < 50_000 else 3
        n_libs = max(3, n // 1500)
        specs: list[tuple[str, str]] = [("src", "acme_core")]
        self.taken_tops.update(["acme_core", "company", "tests", "scripts", "docs"])
        specs += [("src", self.top_name()) for _ in range(n_src - 1)]
        specs.append(("top", self.top_name()))
        specs += [("lib", self.top_name()) for _ in range(n_libs)]
        ns_words = self.r.sample(NOUNS, n_ns)
        specs += [("ns", f"company.{w}") for w in ns_words]
        # Unit 0 (the core) comes first; the others in a random dependency order.
        rest = specs[1:]
        self.r.shuffle(rest)
        for i, (kind, pkg) in enumerate([specs[0]] + rest):
            self.units.append(self.make_unit(i, kind, pkg))

        fixed = 12  # the root files and tests/ scaffolding of plan_root_scaffold
        weights = [3.0] + [self.r.lognormvariate(0, 0.55) for _ in self.units[1:]]
        total = n - fixed
        budgets = [max(14, int(total * w / sum(weights))) for w in weights]
        budgets[0] += total - sum(budgets)
        for u, b in zip(self.units, budgets):
            u.budget = b

    def make_unit(self, index: int, kind: str, pkg: str) -> Unit:
        last = pkg.split(".")[-1]
        if kind == "src":
            root, pkg_dir = "src", f"src/{pkg}"
            tests_dir, tests_pkg = f"tests/{pkg}", f"tests.{pkg}"
        elif kind == "top":
            root, pkg_dir = ".", pkg
            tests_dir, tests_pkg = f"{pkg}/tests", f"{pkg}.tests"
        elif kind == "lib":
            root = f"libs/{pkg}"
            pkg_dir = f"{root}/{pkg}"
            tests_dir, tests_pkg = f"{root}/tests", "tests"
        else:
            root = f"libs/company-{last}"
            pkg_dir = f"{root}/{pkg.replace('.', '/')}"
            tests_dir, tests_pkg = f"{root}/tests", None
        dist = "acme-" + pkg.replace(".", "-").replace("_", "-")
        if root not in self.roots:
            self.roots.append(root)
        return Unit(index, kind, root, pkg, pkg_dir, dist, tests_dir, tests_pkg)

    # -- source trees --------------------------------------------------------------------

    def plan_sources(self, u: Unit) -> None:
        test_budget = int(u.budget * self.r.uniform(0.2, 0.34))
        src_budget = u.budget - test_budget
        max_depth = max(1, min(5, round(math.log(max(src_budget, 2), 7)) + self.r.choice([0, 1])))
        if u.index == 0:
            max_depth = 5
        self.build_package(u, u.pkg_dir, u.package, 1, src_budget, max_depth)
        self.plan_tests(u, test_budget)

    def build_package(self, u: Unit, directory: str, dotted: str, depth: int, budget: int,
                      max_depth: int) -> None:
        """Create package `dotted` in `directory` using exactly `budget` (>= 1) files."""
        r = self.r
        init = self.add(Module(dotted, f"{directory}/__init__.py", u, "init", 0, is_package=True,
                               depth=depth))
        init.rel_top = len(u.package.split("."))
        x = r.random()
        init.init_kind = "empty" if x < 0.42 else "reexport" if x < 0.8 else "plain"
        if init.init_kind == "plain":
            init.size = int(r.lognormvariate(math.log(700), 0.6))
            self.symbols(init)
        u.inits.append(init)
        budget -= 1
        taken: set[str] = set()
        if depth == 1:
            hub_names = CORE_HUB_NAMES if u.index == 0 else r.sample(HUB_NAMES, r.randint(2, 4))
            for name in hub_names[: max(0, budget - 2)]:
                taken.add(name)
                hub = self.new_module(u, directory, dotted, name, depth)
                hub.hub = True
                u.hubs.append(hub)
                budget -= 1
        if budget <= 0:
            return
        direct = min(budget, r.randint(3, 9) if depth < max_depth - 1 else r.randint(5, 22))
        rest = budget - direct
        if depth >= max_depth or rest < 4:
            direct, rest = budget, 0
        subs: list[int] = []
        if rest:
            n_sub = max(1, min(9, rest // r.randint(6, 30)))
            weights = [r.lognormvariate(0, 0.7) for _ in range(n_sub)]
            subs = [max(2, int(rest * w / sum(weights))) for w in weights]
            while sum(subs) > rest:
                subs[subs.index(max(subs))] -= 1
            subs[subs.index(min(subs))] += rest - sum(subs)
        names = self.fresh_names(len(subs), taken)
        for name, b in zip(names, subs):
            self.build_package(u, f"{directory}/{name}", f"{dotted}.{name}", depth + 1, b,
                               max_depth)
        while direct > 0:
            (name,) = self.fresh_names(1, taken)
            m = self.new_module(u, directory, dotted, name, depth)
            direct -= 1
            if direct > 0 and r.random() < 0.045:
                stub = self.add(Module(m.name, m.path[:-3] + ".pyi", u, "stub", 0, stub_of=m))
                stub.rel_top = m.rel_top
                m.has_stub = True
                direct -= 1

    def new_module(self, u: Unit, directory: str, dotted: str, name: str, depth: int) -> Module:
        m = self.add(Module(f"{dotted}.{name}", f"{directory}/{name}.py", u, "module",
                            self.size_for("module"), depth=depth))
        m.rel_top = len(u.package.split("."))
        self.symbols(m)
        if depth <= 3:
            u.public.append(m)
        return m

    # -- tests ---------------------------------------------------------------------------

    def plan_tests(self, u: Unit, budget: int) -> None:
        """Mirror the source tree under the unit's tests directory with exactly `budget` files."""
        r = self.r
        packaged = u.tests_package is not None
        made_dirs: dict[str, str | None] = {}  # directory -> dotted package (None: not importable)
        names_in: dict[str, set[str]] = {}
        helpers: list[Module] = []

        rel_top = len(u.tests_package.split(".")) if packaged else 0
        conftests: list[Module] = []

        def tdir(directory: str, dotted: str | None, conftest: bool) -> None:
            nonlocal budget
            made_dirs[directory] = dotted
            names_in[directory] = set()
            if packaged and budget > 0:
                m = self.add(Module(dotted or "", f"{directory}/__init__.py", u, "test-init", 0,
                                    is_package=True))
                m.rel_top = rel_top
                budget -= 1
            if conftest and budget > 0:
                name = f"{dotted}.conftest" if dotted else ""
                c = self.add(Module(name, f"{directory}/conftest.py", u, "conftest",
                                    self.size_for("conftest")))
                c.rel_top = rel_top
                self.symbols(c)
                conftests.append(c)
                budget -= 1

        tdir(u.tests_dir, u.tests_package, True)
        if packaged and budget > 2 and u.kind != "src":
            h = self.add(Module(f"{u.tests_package}.helpers", f"{u.tests_dir}/helpers.py", u,
                                "helper", self.size_for("helper")))
            h.rel_top = rel_top
            self.symbols(h)
            helpers.append(h)
            budget -= 1
        if u.kind == "src":
            helpers.append(self.root_helpers)
        subjects = [m for m in u.modules if m.kind == "module"] or u.modules
        others = [m for m in u.modules if m.kind in ("module", "init")]
        prefix_len = len(u.package.split("."))
        while budget > 0:
            subject = r.choice(subjects)
            kind_dir = "unit" if r.random() < 0.8 else "integration"
            rel = subject.name.split(".")[prefix_len:-1][:3]
            directory, dotted = u.tests_dir, u.tests_package
            for part in [kind_dir] + rel:
                if f"{directory}/{part}" not in made_dirs:
                    if budget < 3:  # a new directory costs up to 2 files before the test
                        break
                    tdir(f"{directory}/{part}", f"{dotted}.{part}" if dotted else None,
                         r.random() < 0.45)
                directory = f"{directory}/{part}"
                dotted = made_dirs[directory]
            base = subject.name.rsplit(".", 1)[-1]
            fname = f"test_{base}" if r.random() < 0.8 else f"{base}_test"
            while fname in names_in[directory]:
                fname = f"{fname}_{r.choice(NOUNS)}" if fname.startswith("test_") \
                    else f"{r.choice(NOUNS)}_{fname}"
            names_in[directory].add(fname)
            t = self.add(Module(f"{dotted}.{fname}" if dotted else "", f"{directory}/{fname}.py",
                                u, "test", self.size_for("test")))
            t.rel_top = rel_top
            self.symbols(t)
            budget -= 1
            t.imports.append((subject, "top"))
            for target in r.sample(others, min(len(others), r.choice([0, 1, 1, 2, 3]))):
                t.imports.append((target, "top" if r.random() < 0.9 else "lazy"))
            if helpers and r.random() < 0.4:
                t.imports.append((r.choice(helpers), "top"))
            if u.index > 0 and r.random() < 0.3:
                t.imports.append((r.choice(self.units[0].hubs), "top"))
        for c in conftests:
            c.imports += [(x, "top") for x in r.sample(subjects, min(2, len(subjects)))]
            if helpers and r.random() < 0.6:
                c.imports.append((r.choice(helpers), "top"))
        for h in helpers:
            if h.unit is u:
                h.imports += [(x, "top") for x in r.sample(subjects, min(2, len(subjects)))]

    # -- the repository root ------------------------------------------------------------

    def plan_root_scaffold(self) -> None:
        """The 12 fixed files: root conftest, scripts, docs, and the root tests/ package."""
        self.add(Module("tests", "tests/__init__.py", None, "test-init", 0, is_package=True))
        self.add(Module("tests.plugins", "tests/plugins/__init__.py", None, "test-init", 0,
                        is_package=True))
        self.root_conftest = self.add(Module("conftest", "conftest.py", None, "conftest",
                                             self.size_for("conftest")))
        self.tests_conftest = self.add(Module("tests.conftest", "tests/conftest.py", None,
                                              "conftest", self.size_for("conftest")))
        self.root_helpers = self.add(Module("tests.helpers", "tests/helpers.py", None, "helper",
                                            self.size_for("helper")))
        self.plugins = [self.add(Module(f"tests.plugins.{n}", f"tests/plugins/{n}.py", None,
                                        "plugin", self.size_for("plugin")))
                        for n in ("database", "http_mock", "clock")]
        self.scripts = [self.add(Module(name, path, None, "script", self.size_for("script")))
                        for name, path in (("noxfile", "noxfile.py"), ("docs.conf", "docs/conf.py"),
                                           ("scripts.release", "scripts/release.py"),
                                           ("scripts.check_deps", "scripts/check_deps.py"))]
        for m in self.modules:
            m.rel_top = 1
            if m.kind != "test-init":
                self.symbols(m)

    def plan_root_imports(self) -> None:
        r = self.r
        core = self.units[0]
        targets = [m for u in self.units for m in u.public if not m.bad]
        for m in self.plugins + [self.root_helpers]:
            m.imports += [(x, "top") for x in r.sample(core.public, min(3, len(core.public)))]
        for m in self.scripts:
            m.imports += [(x, r.choice(["top", "top", "lazy"])) for x in r.sample(targets, 4)]
        self.root_conftest.imports += [(x, "top") for x in r.sample(core.hubs, 2)]
        self.root_conftest.imports += [(p, "plugin") for p in self.plugins]
        self.tests_conftest.imports += [(self.root_helpers, "top")]

    # -- ranks, cycles, re-exports, edges ------------------------------------------------

    def plan_bad_files(self) -> None:
        candidates = [m for u in self.units[1:] for m in u.modules
                      if m.kind == "module" and not m.hub]
        for m, bad in zip(self.r.sample(candidates, 4), ("syntax", "empty", "nul", "utf8")):
            m.bad = bad
            if bad == "empty":
                m.size, m.classes, m.functions, m.constants = 0, [], [], []

    def plan_styles(self) -> None:
        r = self.r
        pool = [m for m in self.modules if m.size > 0 and not m.bad]
        order = r.sample(pool, len(pool))
        i = 0
        for style, rate in (("crlf", 0.006), ("tabs", 0.004), ("latin1", 0.004), ("bom", 0.0005),
                            ("utf8", 0.035)):
            k = max(3, round(rate * len(pool)))
            for m in order[i:i + k]:
                m.style = style
            i += k

    def plan_giants(self) -> None:
        pool = [m for m in self.modules if m.kind == "module" and not m.bad and not m.hub]
        for i, m in enumerate(self.r.sample(pool, 3 + self.files // 10_000)):
            m.size = self.r.randint(150_000, 260_000)
            m.classes, m.functions, m.constants = [], [], []
            self.symbols(m)
            m.generated = i % 2 == 1  # every other giant is a generated data table

    def plan_cycles(self) -> None:
        r = self.r
        n_groups = max(6, round(self.files / 1000))
        sizes = [20, 2, 3] + [r.choice([2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 6, 7, 8, 10, 12, 15, 18])
                              for _ in range(n_groups - 3)]
        units = [u for u in self.units]
        weights = [len(u.modules) for u in units]
        for s in sizes:
            for _ in range(20):
                u = r.choices(units, weights)[0]
                # Not stubbed modules: importers may resolve to the stub instead (type checkers
                # and aftershock do), which would move the ring onto the .pyi.
                free = [m for m in u.modules if m.kind == "module" and not (m.bad or m.hub
                        or m.in_cycle or m.has_stub)]
                if len(free) < s + 5:
                    continue
                # Prefer siblings: pick a package, widen to the unit if it is too small.
                seed = r.choice(free)
                parent = seed.name.rsplit(".", 1)[0]
                siblings = [m for m in free if m.name.rsplit(".", 1)[0] == parent]
                group = r.sample(siblings, s) if len(siblings) >= s else r.sample(free, s)
                for m in group:
                    m.in_cycle = True
                u.cycles.append(group)
                break

    def plan_ranks(self, u: Unit) -> None:
        r = self.r
        mods = [m for m in u.modules if m.kind == "module" and not m.bad]
        hubs = [m for m in mods if m.hub]
        rest = [m for m in mods if not (m.hub or m.in_cycle)]
        r.shuffle(hubs)
        r.shuffle(rest)
        for group in u.cycles:  # a ring occupies consecutive ranks
            at = r.randint(0, len(rest))
            rest[at:at] = [group]
        order: list[Module] = hubs[:]
        for item in rest:
            order.extend(item if isinstance(item, list) else [item])
        for i, m in enumerate(order):
            m.rank = i
        u.ranked = order
        u.hubs.sort(key=lambda m: m.rank)
        for m in order:
            u.by_package.setdefault(m.name.rsplit(".", 1)[0], []).append(m)

    def plan_reexports(self, u: Unit) -> None:
        r = self.r
        children_of: dict[str, list[Module]] = {}
        for m in u.modules:
            if not (m.bad or m.in_cycle) and m.name != u.package:
                children_of.setdefault(m.name.rsplit(".", 1)[0], []).append(m)
        for init in u.inits:
            if init.init_kind != "reexport":
                continue
            # A re-exported sub-package must not re-export in turn: its own imports pass through
            # this package, and the parent edge back here would close a cycle.
            children = [c for c in children_of.get(init.name, []) if c.init_kind != "reexport"]
            for child in r.sample(children, min(len(children), r.randint(1, 4))):
                if child.kind == "module":
                    child.exportable = True
                init.reexports.append(child)
                init.imports.append((child, "reexport"))
            if not init.reexports:
                init.init_kind = "empty"

    def pick_below(self, pool: list[Module], rank: int) -> Module | None:
        i = bisect.bisect_left(pool, rank, key=lambda m: m.rank)
        return pool[self.r.randrange(i)] if i else None

    def pick_other_unit(self, u: Unit) -> Module | None:
        if u.index == 0:
            return None
        r = self.r
        v = self.units[0] if r.random() < 0.4 else self.units[r.randrange(u.index)]
        if v.import_inits and r.random() < 0.12:  # `import lib.sub`, `from lib.sub import Name`
            return r.choice(v.import_inits)
        pool = v.hubs if (v.hubs and r.random() < 0.4) else v.public
        return r.choice(pool) if pool else None

    def plan_edges(self, u: Unit) -> None:
        r = self.r
        for group in u.cycles:
            for i, m in enumerate(group):
                nxt = group[(i + 1) % len(group)]
                closing = i == len(group) - 1
                mode = r.choice(["top", "lazy", "lazy", "typing"]) if closing else "top"
                m.imports.append((nxt, mode))
            for _ in range(len(group) // 4):  # chords stay inside the component
                a, b = r.sample(group, 2)
                a.imports.append((b, "top"))
        modes = ["top"] * 84 + ["lazy"] * 7 + ["typing"] * 6 + ["try"] * 2 + ["dynamic"] * 2
        for m in u.ranked:
            want = 0 if r.random() < 0.1 else max(0, round(r.gauss(1.0 + m.size / 3000, 1.3)))
            want = min(want, 24)
            seen = {id(t) for t, _ in m.imports}
            for _ in range(want):
                if m.exportable:
                    t = self.pick_other_unit(u)
                else:
                    x = r.random()
                    if x < 0.38:
                        t = self.pick_below(u.by_package.get(m.name.rsplit(".", 1)[0], []), m.rank)
                    elif x < 0.66:
                        t = self.pick_below(u.ranked, m.rank)
                    elif x < 0.78:
                        t = self.pick_below(u.hubs, m.rank) if m.hub else \
                            (r.choice(u.hubs) if u.hubs else None)
                    elif x < 0.84:
                        t = r.choice(u.import_inits) if u.import_inits else None
                    else:
                        t = self.pick_other_unit(u)
                if t is None or t is m or id(t) in seen:
                    continue
                seen.add(id(t))
                m.imports.append((t, r.choice(modes)))
        for init in u.inits:
            if init.init_kind == "plain" and u.index > 0 and r.random() < 0.3:
                t = self.pick_other_unit(u)
                if t is not None:
                    init.imports.append((t, "top"))

    def plan(self) -> None:
        self.plan_units()
        self.plan_root_scaffold()
        for u in self.units:
            self.plan_sources(u)
        assert len(self.modules) == self.files, (len(self.modules), self.files)
        self.plan_bad_files()
        self.plan_giants()
        self.plan_styles()
        self.plan_cycles()
        for u in self.units:
            u.public = [m for m in u.public if not m.bad]
            self.plan_ranks(u)
            self.plan_reexports(u)
            u.import_inits = [i for i in u.inits if i.exports or i.depth > 1]
        for u in self.units:
            self.plan_edges(u)
        for m in self.modules:  # a stub repeats some of its module's imports
            if m.stub_of is not None:
                m.imports = [(t, "top") for t, mode in m.stub_of.imports if mode == "top"][:3]
        self.plan_root_imports()
        self.roots.sort(key=lambda x: (x != ".", x))
        self.plan_extra_files()

    # -- non-Python files ----------------------------------------------------------------

    def plan_extra_files(self) -> None:
        roots = ", ".join(f'"{x}"' for x in self.roots)
        testpaths = ['"tests"'] + sorted({f'"{u.tests_dir}"' for u in self.units
                                          if u.kind != "src"})
        self.extra_files["pyproject.toml"] = f"""\
[project]
name = "acme-monorepo"
version = "2024.1.0"
description = "ACME platform monorepo"
requires-python = ">=3.11"

[tool.pytest.ini_options]
testpaths = [{", ".join(testpaths)}]
python_files = ["test_*.py", "*_test.py"]
addopts = "-ra --import-mode=importlib"
pythonpath = [{roots}]
markers = ["slow: long-running tests", "integration: needs external services"]

[tool.aftershock]
roots = [{roots}]

[tool.ruff]
line-length = 100
target-version = "py311"

[tool.mypy]
python_version = "3.11"
namespace_packages = true
explicit_package_bases = true
"""
        self.extra_files[".gitignore"] = ("__pycache__/\n*.pyc\n.aftershock/\n.venv/\n/build/\n"
                                          "/dist/\n")
        self.extra_files["README.md"] = "# ACME monorepo\n\nGenerated by gen_monorepo.py.\n"
        for u in self.units:
            self.extra_files[f"{u.pkg_dir}/py.typed"] = "" if u.kind != "ns" else "partial\n"
            if u.kind in ("lib", "ns"):
                deps = [self.units[0].dist] + [self.units[i].dist for i in
                                               sorted(self.r.sample(range(1, max(u.index, 1)),
                                                                    min(3, max(u.index - 1, 0))))]
                deps += self.r.sample(["requests>=2.31", "numpy>=1.26", "pydantic>=2.5",
                                       "sqlalchemy>=2.0", "httpx>=0.26", "pyyaml>=6"], 2)
                pkgs = u.package.split(".")[0]
                dep_lines = "".join(f'    "{d}",\n' for d in deps)
                self.extra_files[f"{u.root}/pyproject.toml"] = f"""\
[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "{u.dist}"
version = "0.{u.index}.{self.r.randint(0, 30)}"
requires-python = ">=3.11"
dependencies = [
{dep_lines}]

[tool.hatch.build.targets.wheel]
packages = ["{pkgs}"]
"""


# --------------------------------------------------------------------------------------------
# Rendering: Python source text from the plan


def relative_spec(m: Module, t: Module) -> tuple[int, list[str]] | None:
    """(level, remaining parts) to name `t` relatively from `m`, or None if not possible."""
    if not m.name or not t.name or m.unit is not t.unit:
        return None
    base = m.package_parts
    parts = t.name.split(".")
    if not base or m.rel_top == 0:
        return None
    common = 0
    for a, b in zip(base, parts):
        if a != b:
            break
        common += 1
    if common < m.rel_top:
        return None
    return len(base) - common + 1, parts[common:]


class Renderer:
    """Turns one planned Module into bytes. One instance per file, seeded by its path."""

    def __init__(self, seed: int, m: Module, planner: Planner):
        self.r = FastRandom(f"monorepo-file/{seed}/{m.path}")
        self.m = m
        self.p = planner
        self.n_imports = 0
        self.import_bytes = 0
        self.need: set[str] = set()  # stdlib modules the generated body relies on

    # -- small pieces -------------------------------------------------------------------

    def word(self) -> str:
        return self.r.choice(NOUNS)

    def var(self) -> str:
        return self.r.choice(VARS)

    def sentence(self) -> str:
        return self.r.choice(SENTENCES)

    def text_sample(self) -> str:
        if self.m.style == "latin1":
            return self.r.choice(LATIN1_TEXT)
        if self.m.style in ("utf8", "bom"):
            return self.r.choice(UTF8_TEXT)
        return self.sentence()

    def imp(self, text: str) -> str:
        """Count an import statement (`text` holds exactly one) and return it."""
        self.n_imports += 1
        self.import_bytes += len(text)
        return text

    # -- import statements --------------------------------------------------------------

    def names_from(self, t: Module, k: int) -> list[str]:
        ex = t.exports
        return self.r.sample(ex, min(k, len(ex))) if ex else []

    def edge(self, t: Module, ind: str = "") -> str:
        """One import statement (or call) that makes `self.m` depend on `t`."""
        r = self.r
        m = self.m
        rel = relative_spec(m, t)
        names = self.names_from(t, r.choice([1, 1, 1, 2, 2, 3, 4]))
        parts = t.name.split(".")
        # Relative imports are common for siblings, rarer the further up they climb.
        p_rel = 0.85 if t.kind == "helper" else (0.5, 0.25, 0.08)[min(rel[0], 3) - 1] if rel else 0
        if rel and r.random() < p_rel:
            level, rest = rel
            dots = "." * level
            if names and (r.random() < 0.7 or not rest):
                return self.imp(f"{ind}from {dots}{'.'.join(rest)} import {', '.join(names)}\n")
            if rest:
                return self.imp(f"{ind}from {dots}{'.'.join(rest[:-1])} import {rest[-1]}\n")
        x = r.random()
        if names and x < 0.50:
            if r.random() < 0.08:
                n = names[0]
                alias = f"{n} as {n}_impl" if n[0].islower() else f"{n} as Base{n}"
                names = [alias] + names[1:]
            return self.imp(f"{ind}from {t.name} import {', '.join(names)}\n")
        if names and x < 0.62:
            many = self.names_from(t, r.randint(3, 7))
            lines = []
            for i, n in enumerate(many):
                if r.random() < 0.12:
                    n = f"{n} as _{n.lower()}"
                comment = "  # noqa: F401" if r.random() < 0.05 else ""
                comma = "," if i < len(many) - 1 or r.random() < 0.85 else ""
                lines.append(f"{ind}    {n}{comma}{comment}\n")
            return self.imp(f"{ind}from {t.name} import (\n{''.join(lines)}{ind})\n")
        if names and len(names) > 1 and x < 0.635:
            return self.imp(f"{ind}from {t.name} import {names[0]}, \\\n{ind}    "
                            f"{', '.join(names[1:])}\n")
        if names and x < 0.645 and t.kind == "module" and not ind:
            return self.imp(f"{ind}from {t.name} import *  # noqa: F403\n")
        if len(parts) > 1 and x < 0.78:
            return self.imp(f"{ind}from {'.'.join(parts[:-1])} import {parts[-1]}\n")
        if x < 0.89:
            return self.imp(f"{ind}import {t.name}\n")
        alias = r.choice([parts[-1] + "_mod", "_" + parts[-1], "".join(p[0] for p in parts)])
        if alias in KEYWORDS:
            alias = "_" + alias
        return self.imp(f"{ind}import {t.name} as {alias}\n")

    def unknown(self, ind: str = "") -> str:
        """An import of something that does not exist."""
        r = self.r
        m = self.m
        x = r.random()
        # Files that a package re-exports must not even name their own unit (see Planner).
        sealed = m.exportable or m.kind == "init"
        if x < 0.3 and m.imports:
            t = r.choice(m.imports)[0]
            return self.imp(f"{ind}from {t.name} import {camel(self.word(), 'Legacy')}\n")
        if sealed:
            x = 1.0
        if x < 0.6 and m.unit is not None:
            return self.imp(f"{ind}from {m.unit.package}.{self.word()}_legacy import "
                            f"{camel(self.word(), r.choice(CLASS_SUFFIXES))}\n")
        if x < 0.75 and relative_spec(m, m) is not None:
            return self.imp(f"{ind}from .{self.word()}_old import {self.word()}\n")
        return self.imp(f"{ind}import {self.word()}_{r.choice(['sdk', 'client', 'vendor'])}\n")

    def stdlib_block(self) -> list[str]:
        r = self.r
        m = self.m
        k = min(12, r.randint(1, 3) + m.size // 6000)
        chosen = set(r.sample(STDLIB_IMPORTS, k))
        if "logging" in self.need:
            chosen.add("import logging")
        typing_names = set(r.sample(TYPING_NAMES, r.randint(1, 4))) if r.random() < 0.55 else set()
        if "typing" in self.need:
            if r.random() < 0.8:
                typing_names.add("TYPE_CHECKING")
            else:
                chosen.add("import typing")
        if typing_names:
            chosen.add(f"from typing import {', '.join(sorted(typing_names))}")
        if "importlib" in self.need:
            chosen.add("import importlib")
        # isort order; the full text breaks ties so that set order never shows
        lines = sorted(chosen, key=lambda s: (s.startswith("from"), s.split()[1], s))
        if r.random() < 0.05 and "import os" in lines and "import sys" in lines:
            lines.remove("import os")
            lines[lines.index("import sys")] = "import os, sys"
        return [self.imp(x + "\n") for x in lines]

    def third_block(self) -> list[str]:
        r = self.r
        k = r.choice([0, 0, 1, 1, 1, 2, 2, 3])
        testing = self.m.kind in ("test", "conftest", "plugin", "helper")
        pool = TEST_IMPORTS if testing else THIRD_PARTY_IMPORTS
        lines = sorted(set(r.sample(pool, min(k, len(pool)))))
        if testing and "import pytest" not in lines:
            lines.insert(0, "import pytest")
        return [self.imp(x + "\n") for x in lines]

    # -- the header: docstring, future, imports, TYPE_CHECKING, try ---------------------

    def header(self) -> tuple[str, list[tuple[Module, str]]]:
        """Render everything above the body; return it and the imports left for the body."""
        r = self.r
        m = self.m
        out: list[str] = []
        if m.style == "latin1":
            out.append(f"# -*- coding: latin-1 -*-\n# Auteur: {self.text_sample()}\n")
        elif m.kind == "script":
            out.append("#!/usr/bin/env python3\n")
        if r.random() < 0.8:
            out.append(f'"""{self.sentence()}\n\n{self.paragraph()}\n"""\n\n')
        elif r.random() < 0.5:
            out.append(f"# {self.sentence()}\n# {self.text_sample()}\n\n")
        if r.random() < 0.35 or m.kind == "stub":
            out.append(self.imp("from __future__ import annotations\n") + "\n")
        top, typing_, try_, later = [], [], [], []
        for t, mode in m.imports:
            if mode in ("top", "reexport", "plugin"):
                if mode != "plugin":
                    top.append(t)
            elif mode == "typing":
                typing_.append(t)
            elif mode == "try":
                try_.append(t)
            else:
                later.append((t, mode))
        if typing_:
            self.need.add("typing")
        if any(mode == "dynamic" for _, mode in later):
            self.need.add("importlib")
        if m.kind != "stub":
            self.need.add("logging")
        stdlib = self.stdlib_block()
        third = self.third_block()
        first = [self.edge(t) for t in top]
        if len(top) >= 2 and r.random() < 0.03:  # `import a.b, c.d`
            a, b = r.sample(top, 2)
            first.append(self.imp(f"import {a.name}, {b.name}\n"))
        if r.random() < 0.09:
            first.append(self.unknown())
        first.sort(key=lambda s: (s.startswith("from ."), s.removeprefix("from ").lower()))
        for group in (stdlib, third, first):
            if group:
                out.append("".join(group) + "\n")
        if r.random() < 0.03:
            out.append("if sys.version_info >= (3, 11):\n" + self.imp("    import tomllib\n") +
                       "else:\n" + self.imp("    import tomli as tomllib\n") + "\n")
        for t in try_:
            out.append(self.try_block(t))
        if m.kind not in ("stub", "test") and r.random() < 0.05:
            out.append("try:\n" + self.imp("    import ujson as json\n") +
                       "except ImportError:  # pragma: no cover\n" +
                       self.imp("    import json\n\n"))
        if typing_:
            out.append(self.typing_block(typing_, "typing" if "import typing\n" in stdlib else ""))
        if m.kind == "module" and m.exports and r.random() < 0.3:
            names = m.exports
            out.append("__all__ = [\n" + "".join(f'    "{n}",\n' for n in names) + "]\n\n")
        return "".join(out), later

    def try_block(self, t: Module) -> str:
        r = self.r
        names = self.names_from(t, 1)
        body = self.edge(t, "    ")
        x = r.random()
        if x < 0.5 or not names:
            name = (names or [t.name.rsplit(".", 1)[-1]])[0]
            fallback = f"    {name} = None  # type: ignore[assignment]\n"
        elif x < 0.75:
            fallback = self.unknown("    ")
        else:
            fallback = f"    raise RuntimeError({t.name!r} ' is required') from None\n"
        exc = r.choice(["ImportError", "ImportError", "ModuleNotFoundError",
                        "(ImportError, AttributeError)"])
        return f"try:\n{body}except {exc}:  # pragma: no cover\n{fallback}\n"

    def typing_block(self, targets: list[Module], qualifier: str) -> str:
        r = self.r
        head = f"if {qualifier + '.' if qualifier else ''}TYPE_CHECKING:\n"
        body = [self.edge(t, "    ") for t in targets]
        if r.random() < 0.4:
            extra = r.choice(["from collections.abc import Sequence", "import numpy.typing as npt",
                              "from _typeshed import SupportsRead"])
            body.append(self.imp(f"    {extra}\n"))
        text = head + "".join(body)
        if r.random() < 0.3:
            names = [n for t in targets for n in t.exports[:1]] or ["Any"]
            text += "else:\n" + "".join(f"    {n} = object\n" for n in names)
        return text + "\n"

    # -- bodies -------------------------------------------------------------------------

    def paragraph(self) -> str:
        return "\n".join(self.sentence() for _ in range(self.r.randint(1, 3)))

    def docstring(self, ind: str, params: list[str]) -> str:
        r = self.r
        x = r.random()
        if x < 0.45:
            return f'{ind}"""{self.sentence()}"""\n'
        if x < 0.9 or not params:
            args = "".join(f"{ind}    {p}: {self.sentence()}\n" for p in params)
            section = f"\n{ind}Args:\n{args}" if args else ""
            return (f'{ind}"""{self.sentence()}\n\n{ind}{self.sentence()}\n{section}\n'
                    f'{ind}Returns:\n{ind}    {self.sentence()}\n{ind}"""\n')
        mod = self.m.name or "pkg.module"
        return (f'{ind}"""{self.sentence()}\n\n{ind}>>> from {mod} import {params[0]}\n'
                f'{ind}>>> import {mod.split(".")[0]}\n{ind}"""\n')

    def fstring(self) -> str:
        v, w = self.var(), self.word()
        return self.r.choice([
            f'f"{{{v}!r}} ({{len({w}s)}} items)"',
            f'f"{{key}}={{value!r}}"',
            f"f'{{\", \".join(sorted({v}))}}'",
            f"f\"{{'enabled' if {v} else 'disabled'}}\"",
            f'f"{{{{literal braces}}}} {{{v}:>{{width}}}}"',
            f'f"{{{v}:,.2f}} {w}"',
            f"f\"{{{v}['{w}']}}\"",
            f"f\"{{f'{{{v}:.1%}}':>8}}\"",
            f'rf"^{{{v}}}\\d+(?:\\.\\d+)?$"',
            f"f\"{{ {{'{w}': 1}}['{w}'] }}\"",
            f'f"{{{v} = }}"',
            f'f"{{{v}!s:^{{width}}.{{precision}}}}"',
            f'f"""{w} report:\n  total={{{v}}}\n  ok={{not {v}}}\n"""',
        ])

    def stmt(self, ind: str) -> str:
        r = self.r
        v, a, w = self.var(), self.var(), self.word()
        k = r.randrange(22)
        if k == 0:
            return f'{ind}{v} = {a}.get("{w}", {r.randint(0, 99)})\n'
        if k == 1:
            default = r.choice(["[]", "{}", "0", "None", repr(w)])
            return f"{ind}if {v} is None:\n{ind}    {v} = {default}\n"
        if k == 2:
            return (f"{ind}for item in {a}:\n{ind}    if not item:\n{ind}        continue\n"
                    f"{ind}    {v}.append(item)\n")
        if k == 3:
            return f"{ind}{v} = [x.strip() for x in {a} if x]\n"
        if k == 4:
            return f"{ind}{v} = {{k: v for k, v in {a}.items() if v is not None}}\n"
        if k == 5:
            return (f"{ind}try:\n{ind}    {v} = {a}[{w!r}]\n"
                    f"{ind}except (KeyError, ValueError) as exc:\n"
                    f'{ind}    raise RuntimeError(f"cannot {r.choice(VERBS)} {{{a}!r}}: {{exc}}") '
                    "from exc\n")
        if k == 6:
            return f'{ind}with open({a}, encoding="utf-8") as fh:\n{ind}    {v} = fh.read()\n'
        if k == 7:
            return f'{ind}logger.debug("%s: %d {w} items", {a}, len({v}))\n'
        if k == 8:
            return f"{ind}{v} = {self.fstring()}\n"
        if k == 9:
            return f'{ind}assert {v} is not None, "{w} must be set"\n'
        if k == 10:
            return f"{ind}{v} = {a} + \\\n{ind}    {self.var()} - \\\n{ind}    {r.randint(1, 9)}\n"
        if k == 11:
            return f"{ind}if (n := len({v})) > {r.randint(2, 64)}:\n{ind}    {v} = {v}[: n // 2]\n"
        if k == 12:
            return (f"{ind}{v} = (\n{ind}    {a}\n{ind}    .{r.choice(VERBS)}_{w}()\n"
                    f'{ind}    .{r.choice(VERBS)}("{self.word()}")\n{ind})\n')
        if k == 13:
            return f"{ind}{v} = sorted({a}, key=lambda item: (item.{w}, -item.rank))\n"
        if k == 14:
            # `match` as a plain name: a soft keyword that parsers must not take for a statement
            return (f"{ind}match = _PATTERN.match({a})\n{ind}if match is not None:\n"
                    f"{ind}    {v} = match.group(1)\n")
        if k == 15:
            return (f'{ind}{v} = {{\n{ind}    "{w}": {a},\n'
                    f'{ind}    "{self.word()}": [{r.randint(0, 9)}, {r.randint(10, 99)}],\n'
                    f'{ind}    "nested": {{"enabled": True, "ratio": 0.{r.randint(1, 99)}}},\n'
                    f"{ind}}}\n")
        if k == 16:
            return f"{ind}# TODO: import {w} lazily once the {self.word()} migration lands\n"
        if k == 17:
            return f'{ind}{v} = "{w}" "-{self.word()}" \'{self.text_sample()}\'\n'
        if k == 18:
            return f"{ind}{v} = {a} if {self.var()} else {r.choice(['None', '()', repr(w)])}\n"
        if k == 19:
            return f"{ind}{v} = (1_000_000, 0xFF_FF, 1e-9, 3j, 0o755, 0b1010, b'\\x00{w}')\n"
        if k == 20:
            return (f"{ind}for i, ({v}, {a}) in enumerate(zip({self.var()}, {self.var()}), "
                    "start=1):\n"
                    f"{ind}    total += i * len({v})\n")
        return f'{ind}while {v} and len({v}) > {r.randint(1, 20)}:\n{ind}    {v}.pop()\n'

    def params(self) -> tuple[str, list[str]]:
        r = self.r
        names = r.sample(VARS, r.randint(0, 4))
        hints = ["int", "str", "float | None", "list[str]", "dict[str, Any]", "Mapping[str, int]",
                 "Callable[[int], str]", "Sequence[tuple[int, ...]]", "bool"]
        out = [f"{n}: {r.choice(hints)}" for n in names]
        if len(out) > 1 and r.random() < 0.2:
            out.insert(1, "*")
        if r.random() < 0.15:
            out.append("**kwargs: Any")
        return ", ".join(out), names

    def function(self, name: str, ind: str = "", lazy: list[tuple[Module, str]] = ()) -> str:
        r = self.r
        deco = ""
        x = r.random()
        if x < 0.08:
            deco = f"{ind}@functools.lru_cache(maxsize={r.choice([None, 32, 128, 1024])})\n"
        elif x < 0.13:
            deco = f"{ind}@contextlib.contextmanager\n"
        elif x < 0.17:
            deco = (f'{ind}@register(\n{ind}    "{self.word()}",\n'
                    f"{ind}    priority={r.randint(0, 9)},\n{ind})\n")
        args, names = self.params()
        prefix = "async def" if r.random() < 0.08 else "def"
        ret = r.choice(["None", "str", "int", "dict[str, Any]", "list[str] | None", "bool", "Any"])
        body = [self.docstring(ind + "    ", names)]
        for t, mode in lazy:
            if mode == "dynamic":
                body.append(self.dynamic(t, ind + "    "))
            else:
                body.append(self.edge(t, ind + "    "))
        for _ in range(r.randint(2, 7)):
            body.append(self.stmt(ind + "    "))
        if prefix == "async def" and r.random() < 0.7:
            body.append(f"{ind}    await asyncio.sleep(0)\n")
        body.append(f"{ind}    return {r.choice(VARS)}\n")
        return f"{deco}{ind}{prefix} {name}({args}) -> {ret}:\n{''.join(body)}"

    def dynamic(self, t: Module, ind: str) -> str:
        r = self.r
        x = r.random()
        v = self.var()
        rel = relative_spec(self.m, t)
        if x < 0.55:
            return f'{ind}{v} = importlib.import_module("{t.name}")\n'
        if x < 0.7 and rel and rel[1]:
            level, rest = rel
            anchor = ".".join(self.m.package_parts)
            if r.random() < 0.5:
                return (f'{ind}{v} = importlib.import_module("{"." * level}{".".join(rest)}", '
                        "__package__)\n")
            return (f'{ind}{v} = importlib.import_module("{"." * level}{".".join(rest)}", '
                    f'package="{anchor}")\n')
        if x < 0.85:
            return f'{ind}{v} = __import__("{t.name}", fromlist=["{t.name.rsplit(".", 1)[-1]}"])\n'
        return (f'{ind}{v} = importlib.import_module("{t.name}")\n'
                f'{ind}plugin = importlib.import_module(f"{t.name.rsplit(".", 1)[0]}.{{name}}")\n')

    def klass(self, name: str) -> str:
        r = self.r
        x = r.random()
        lines = []
        if x < 0.3:
            args = r.choice(["", "(frozen=True)", "(slots=True, kw_only=True)"])
            lines.append(f"@dataclass{args}\n")
            base = ""
        elif x < 0.45 and name.endswith("Error"):
            base = "(RuntimeError)"
        else:
            base = r.choice(["", "", "(ABC)", "(Generic[T])", f"({camel(self.word(), 'Base')})",
                             "(Protocol)", "(Enum)"])
        lines.append(f"class {name}{base}:\n")
        lines.append(f'    """{self.sentence()}\n\n    {self.sentence()}\n    """\n\n')
        if base == "(Enum)":
            lines += [f'    {w.upper()} = "{w}"\n' for w in r.sample(NOUNS, r.randint(2, 6))]
            return "".join(lines) + "\n"
        for f in r.sample(VARS, r.randint(1, 4)):
            lines.append(f"    {f}: {r.choice(['int', 'str', 'list[str]', 'float | None'])} = "
                         f"{r.choice(['0', repr(f), 'None', 'field(default_factory=list)'])}\n")
        lines.append("\n")
        for _ in range(r.randint(1, 4)):
            meth = f"{r.choice(VERBS)}_{self.word()}"
            y = r.random()
            if y < 0.15:
                lines.append("    @property\n")
                lines.append(f"    def {meth}(self) -> str:\n        return {self.fstring()}\n\n")
                continue
            if y < 0.25:
                lines.append("    @classmethod\n")
                lines.append(f"    def from_{self.word()}(cls, {self.var()}: Mapping[str, Any]) -> "
                             f"{name}:\n"
                             f"        return cls(**{{k: v for k, v in {self.var()}.items()}})\n\n")
                continue
            fn = self.function(meth, "    ")
            fn = fn.replace(f"def {meth}(", f"def {meth}(self, ", 1).replace("(self, )", "(self)")
            lines.append(fn + "\n")
        if r.random() < 0.4:
            lines.append(f"    def __repr__(self) -> str:\n"
                         f'        return f"{name}({{self.__dict__!r}})"\n\n')
        return "".join(lines)

    def match_fn(self, name: str) -> str:
        w = self.word()
        return f"""def {name}(event: dict[str, Any] | list[Any] | str) -> str:
    \"\"\"Classify a {w} event.\"\"\"
    match event:
        case {{"type": "created", "id": int(ident)}}:
            return f"created:{{ident}}"
        case {{"type": "deleted"}} | {{"type": "purged"}}:
            return "gone"
        case [first, *rest] if rest:
            return f"{{first}}+{{len(rest)}}"
        case {camel(w, 'Point')}(x=0, y=0):
            return "origin"
        case str() as text:
            return text.upper()
        case _:
            return "unknown"

"""

    def constant(self, name: str | None = None) -> str:
        r = self.r
        name = name or f"_{self.word().upper()}_{r.choice(['MAP', 'TABLE', 'ALIASES', 'CHOICES'])}"
        x = r.random()
        if x < 0.3:
            value = r.choice([repr(self.word()), str(r.randint(1, 10_000)), "30.0"])
            return f"{name}: Final = {value}\n\n"
        if x < 0.6:
            rows = "".join(f'    "{self.word()}": ("{self.word()}", {r.randint(0, 500)}),\n'
                           for _ in range(r.randint(3, 12)))
            return f"{name} = {{\n{rows}}}\n\n"
        if x < 0.8:
            rows = "".join(f"    {self.word()!r},\n" for _ in range(r.randint(3, 10)))
            return f"{name} = [\n{rows}]\n\n"
        return (f'{name} = re.compile(r"^(?P<{self.word()}>[a-z_]+)\\s*=\\s*(?P<value>.+)$", '
                "re.M)\n\n")

    def data_table(self) -> str:
        """A chunk of generated data: one large literal, as in *_pb2.py or unicode tables."""
        r = self.r
        name = f"_{self.word().upper()}_{r.choice(['TABLE', 'INDEX', 'DESCRIPTOR', 'RANGES'])}"
        if r.random() < 0.5:
            rows = "".join(f"    ({r.randint(0, 0x10FFFF):#08x}, {r.randint(0, 0x10FFFF):#08x}, "
                           f"{r.randint(0, 255)}),\n" for _ in range(r.randint(50, 200)))
            return f"{name}: tuple[tuple[int, int, int], ...] = (\n{rows})\n\n"
        rows = "".join(f'    "{self.word()}.{self.word()}": {{"id": {r.randint(1, 99_999)}, '
                       f'"type": "{r.choice(["int64", "string", "bytes", "bool"])}", '
                       f'"label": "{r.choice(["optional", "repeated"])}"}},\n'
                       for _ in range(r.randint(30, 120)))
        return f"{name} = {{\n{rows}}}\n\n"

    def trap(self) -> str:
        """Text that looks like imports but is not: strings and comments."""
        r = self.r
        mod = self.m.name or "pkg"
        x = r.random()
        if x < 0.35:
            return (f'_TEMPLATE = """\nfrom {mod} import {self.word()}\nimport os, sys\n'
                    f'{{placeholder}}\n"""\n\n')
        if x < 0.6:
            return (f"# from {mod}.{self.word()} import {camel(self.word(), 'Legacy')}  "
                    f"# removed in 2.0\n# import {self.word()}_compat\n\n")
        if x < 0.8:
            return (f'_SQL = """\n    SELECT id, {self.word()} FROM {self.word()}s\n'
                    f"    WHERE {self.word()} "
                    f'= :value  -- import from staging\n"""\n\n')
        return f'print("import this")  # {self.text_sample()}\n\n'

    def body(self, later: list[tuple[Module, str]]) -> str:
        r = self.r
        m = self.m
        out: list[str] = []
        size = 0
        if m.kind != "stub":
            out.append("logger = logging.getLogger(__name__)\n")
            if r.random() < 0.3:
                out.append('T = TypeVar("T")\n_PATTERN = re.compile(r"(\\w+)")\n')
            out.append("\n\n")
        defs = [("class", c) for c in m.classes] + [("fn", f) for f in m.functions] + \
               [("const", c) for c in m.constants]
        r.shuffle(defs)
        if m.generated:
            out.append("# Code generated by tools/gen_tables.py. DO NOT EDIT.\n\n")
        lazy_spots = list(later)
        target = m.size
        i = 0
        while i < len(defs) or lazy_spots or size < target - 400:
            if i < len(defs) and (r.random() < 0.6 or size >= target - 400):
                kind, name = defs[i]
                i += 1
            else:
                kind, name = "filler", ""
            if lazy_spots and r.random() < 0.4:
                n = r.randint(1, min(2, len(lazy_spots)))
                chunk, lazy_spots = lazy_spots[:n], lazy_spots[n:]
                text = self.function(f"_load_{self.word()}", lazy=chunk) + "\n\n"
            elif kind == "class":
                text = self.klass(name) + "\n"
            elif kind == "fn":
                text = self.function(name) + "\n\n"
            elif kind == "const":
                text = self.constant(name)
            else:
                y = r.random()
                if m.generated:
                    text = self.data_table()
                elif y < 0.55:
                    text = self.function(f"_{r.choice(VERBS)}_{self.word()}") + "\n\n"
                elif y < 0.75:
                    text = self.klass(f"_{camel(self.word(), r.choice(CLASS_SUFFIXES))}") + "\n"
                elif y < 0.83:
                    text = self.constant()
                elif y < 0.9:
                    text = self.match_fn(f"classify_{self.word()}")
                else:
                    text = self.trap()
            out.append(text)
            size += len(text)
        return "".join(out)

    # -- kinds of files -----------------------------------------------------------------

    def render_stub(self) -> str:
        r = self.r
        src = self.m.stub_of
        out = ["from typing import Any, overload\n"]
        self.imp(out[0])
        out += [self.edge(t) for t, _ in self.m.imports]
        out.append("\n")
        for c in src.classes:
            out.append(f"class {c}:\n")
            for f in r.sample(VARS, r.randint(1, 3)):
                out.append(f"    {f}: {r.choice(['int', 'str', 'list[str]'])}\n")
            out.append(f"    def __init__(self, *args: Any, **kwargs: Any) -> None: ...\n\n")
        for f in src.functions:
            args, _ = self.params()
            out.append(f"def {f}({args}) -> Any: ...\n")
        for c in src.constants:
            out.append(f"{c}: Any\n")
        return "".join(out)

    def render_init(self) -> str:
        r = self.r
        m = self.m
        if m.init_kind == "empty" or m.kind == "test-init":
            return ""
        out = []
        if r.random() < 0.6:
            out.append(f'"""{self.sentence()}"""\n\n')
        if m.init_kind == "reexport":
            for child in m.reexports:
                names = child.exports[:3]
                leaf = child.name.rsplit(".", 1)[-1]
                if not names:
                    out.append(self.imp(f"from . import {leaf}\n"))
                elif r.random() < 0.75:
                    out.append(self.imp(f"from .{leaf} import {', '.join(names)}\n"))
                else:
                    out.append(self.imp(f"from {child.name} import {', '.join(names)}\n"))
            others = [t for t, mode in m.imports if mode != "reexport"]
            out += [self.edge(t) for t in others]
            out.append("\n__all__ = [\n" + "".join(f'    "{n}",\n' for n in m.exports) + "]\n")
            if r.random() < 0.3:
                version = f"{r.randint(0, 5)}.{r.randint(0, 20)}.{r.randint(0, 9)}"
                out.append(f'__version__ = "{version}"\n')
            return "".join(out)
        # plain: a little code of its own
        head, later = self.header()
        return head + self.body(later)

    def render_test(self) -> str:
        r = self.r
        m = self.m
        head, later = self.header()
        out = [head]
        if r.random() < 0.2:
            out.append(f'np = pytest.importorskip("numpy")\n\n')
        for f in m.functions:
            out.append(f"@pytest.fixture\ndef {f}():\n    return {self.var()}\n\n\n")
        n_tests = max(2, m.size // 450)
        cls, methods = None, 0
        for i in range(n_tests):
            ind = ""
            if cls is not None and methods and r.random() < 0.15:
                cls = None
            if cls is None and r.random() < 0.1:
                cls, methods = camel("Test", self.word()), 0
                out.append(f"class {cls}:\n")
            if cls is not None:
                ind = "    "
                methods += 1
            name = f"test_{r.choice(VERBS)}_{self.word()}_{i}"
            if r.random() < 0.2:
                out.append(f"{ind}@pytest.mark.parametrize(\n"
                           f'{ind}    ("{self.var()}", "expected"),\n'
                           f"{ind}    [\n{ind}        (1, 2),\n"
                           f"{ind}        ({self.word()!r}, None),\n"
                           f"{ind}    ],\n{ind})\n")
            self_ = "self, " if ind else ""
            body = [f'{ind}    """{self.sentence()}"""\n'] if r.random() < 0.3 else []
            for t, mode in later if i == 0 else []:
                body.append(self.edge(t, ind + "    "))
            for _ in range(r.randint(1, 4)):
                body.append(self.stmt(ind + "    "))
            expected = r.choice(["expected", "[]", repr(self.word())])
            body.append(f"{ind}    assert {self.var()} == {expected}\n")
            out.append(f"{ind}def {name}({self_}{', '.join(r.sample(VARS, r.randint(0, 2)))}):\n"
                       + "".join(body) + "\n\n")
        return "".join(out)

    def render_conftest(self) -> str:
        head, later = self.header()
        out = [head]
        if self.m is self.p.root_conftest:
            plugins = [t.name for t, mode in self.m.imports if mode == "plugin"] + ["pytester"]
            out.append("pytest_plugins = [\n" + "".join(f'    "{p}",\n' for p in plugins) + "]\n\n")
            self.n_imports += 0  # pytest_plugins is a string import, not a statement
        for f in self.m.functions:
            scope = self.r.choice(["", "", '(scope="session")', "(autouse=True)"])
            first = self.stmt("    ").lstrip()
            out.append(f"@pytest.fixture{scope}\ndef {f}(tmp_path):\n    {first}"
                       f"    yield {self.var()}\n\n\n")
        if self.r.random() < 0.5:
            out.append("def pytest_collection_modifyitems(config, items):\n"
                       "    for item in items:\n        item.add_marker(pytest.mark.slow)\n")
        return "".join(out)

    def render_script(self) -> str:
        head, later = self.header()
        insert = ('sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))\n'
                  + self.imp(f"import {self.p.units[0].package}  # noqa: E402\n") + "\n")
        main = ('def main() -> int:\n    """Entry point."""\n    return 0\n\n\n'
                'if __name__ == "__main__":\n    raise SystemExit(main())\n')
        return head + insert + self.body(later) + main

    def render_bad(self) -> bytes:
        m = self.m
        if m.bad == "empty":
            return b""
        head, later = self.header()
        if m.bad == "syntax":  # a merge conflict committed by mistake, in the import block
            conflict = ("<<<<<<< HEAD\n" + self.imp("import json\n") + "=======\n" +
                        self.imp("import simplejson as json\n") +
                        self.imp("from decimal import Decimal\n") + ">>>>>>> origin/main\n\n")
            return (head + conflict + self.body(later)).encode()
        text = head + self.body(later)
        if m.bad == "nul":
            cut = len(text) // 2
            cut = text.index("\n", cut) + 1
            return (text[:cut] + '_MAGIC = "PK\x03\x04\x00\x00"\n' + text[cut:]).encode()
        # invalid UTF-8: latin-1 bytes in a string without a coding cookie
        return text.encode() + b'\nGREETING = "Gr\xfc\xdfe aus K\xf6ln"\n'

    def render(self) -> bytes:
        m = self.m
        if m.bad:
            return self.render_bad()
        if m.kind in ("init", "test-init"):
            text = self.render_init()
        elif m.kind == "stub":
            text = self.render_stub()
        elif m.kind == "test":
            text = self.render_test()
        elif m.kind in ("conftest", "plugin"):
            text = self.render_conftest()
        elif m.kind == "script":
            text = self.render_script()
        else:
            head, later = self.header()
            text = head + self.body(later)
        if m.style == "tabs":
            text = re.sub(r"^((?:    )+)", lambda g: "\t" * (len(g.group(1)) // 4), text,
                          flags=re.M)
        elif m.style == "crlf":
            text = text.replace("\n", "\r\n")
        elif m.style == "latin1":
            return text.encode("latin-1")
        elif m.style == "bom":
            return b"\xef\xbb\xbf" + text.encode()
        return text.encode()


# --------------------------------------------------------------------------------------------
# Driver


_WORK: tuple[Planner, str] | None = None  # what forked render workers inherit


def render_slice(start: int, step: int = 1) -> dict[str, int]:
    """Render and write modules[start::step] of the inherited plan; return their statistics."""
    planner, out = _WORK
    stats = dict.fromkeys(("files", "py_files", "pyi_files", "bytes", "imports", "import_bytes"), 0)
    for m in planner.modules[start::step]:
        rd = Renderer(planner.seed, m, planner)
        data = rd.render()
        with open(os.path.join(out, m.path), "wb") as fh:
            fh.write(data)
        stats["files"] += 1
        stats["pyi_files" if m.path.endswith(".pyi") else "py_files"] += 1
        stats["bytes"] += len(data)
        stats["imports"] += rd.n_imports
        stats["import_bytes"] += rd.import_bytes
    return stats


def write_tree(planner: Planner, out: str, jobs: int) -> dict[str, int]:
    """Write every file; each file's bytes depend only on the plan, so any `jobs` gives the
    same tree."""
    global _WORK
    paths = [m.path for m in planner.modules] + list(planner.extra_files)
    for d in sorted({os.path.dirname(os.path.join(out, p)) for p in paths}):
        os.makedirs(d, exist_ok=True)
    _WORK = (planner, out)
    try:
        if jobs <= 1:
            parts = [render_slice(0)]
        else:
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                parts = pool.starmap(render_slice, [(i, jobs) for i in range(jobs)])
    finally:
        _WORK = None
    for rel, text in sorted(planner.extra_files.items()):
        with open(os.path.join(out, rel), "wb") as fh:
            fh.write(text.encode())
    return {k: sum(p[k] for p in parts) for k in parts[0]}


def git_commit(out: str) -> None:
    benchutil.git_commit(out, "gen_monorepo", "Generated monorepo")


def manifest(planner: Planner, stats: dict[str, int], args: argparse.Namespace) -> dict:
    return {
        "files": args.files,
        "seed": args.seed,
        "stats": stats,
        "roots": planner.roots,
        "bad_files": {m.bad: m.path for m in planner.modules if m.bad},
        "cycles": [sorted(m.path for m in g) for u in planner.units for g in u.cycles],
        "units": [{"package": u.package, "kind": u.kind, "root": u.root, "index": u.index}
                  for u in planner.units],
        "edges": {m.path: sorted({t.path for t, mode in m.imports}) for m in planner.modules
                  if m.imports},
    }


def generate(files: int, seed: int, out: str, git: bool = False,
             manifest_path: str | None = None, jobs: int = 0) -> dict[str, int]:
    """Generate the tree into `out` (which must not exist or be empty); return statistics.

    `jobs` render processes (0: one per CPU) do not change the output.
    """
    if os.path.exists(out) and os.listdir(out):
        raise SystemExit(f"gen_monorepo: {out} exists and is not empty")
    planner = Planner(files, seed)
    planner.plan()
    stats = write_tree(planner, out, jobs or os.cpu_count() or 1)
    if git:
        git_commit(out)
    if manifest_path:
        ns = argparse.Namespace(files=files, seed=seed)
        with open(manifest_path, "w") as fh:
            json.dump(manifest(planner, stats, ns), fh, indent=1, sort_keys=True)
    return stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1000,
                    help="number of Python files (.py + .pyi) to generate, e.g. 1000, 10000, "
                         "100000 (at least 300; default 1000)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--out", required=True, help="output directory (must not exist or be empty)")
    ap.add_argument("--git", action="store_true", help="git init the tree and commit it")
    ap.add_argument("--manifest", metavar="FILE",
                    help="write a JSON manifest: statistics, roots, bad files, planted cycles, "
                         "planned edges")
    ap.add_argument("--force", action="store_true", help="delete --out first if it exists")
    ap.add_argument("-j", "--jobs", type=int, default=0,
                    help="render processes (default: one per CPU; the output does not depend "
                         "on it)")
    args = ap.parse_args()
    if args.files < 300:
        ap.error("--files must be at least 300")
    if args.force and os.path.exists(args.out):
        shutil.rmtree(args.out)
    t0 = time.perf_counter()
    stats = generate(args.files, args.seed, args.out, args.git, args.manifest, args.jobs)
    dt = time.perf_counter() - t0
    print(f"gen_monorepo: {stats['files']} files ({stats['pyi_files']} .pyi), "
          f"{stats['bytes'] / 1e6:.1f} MB, {stats['imports']} import statements "
          f"({100 * stats['import_bytes'] / max(stats['bytes'], 1):.1f}% of bytes) "
          f"in {dt:.1f}s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
