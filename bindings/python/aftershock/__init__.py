"""aftershock: the import graph of a Python project, closure keys over it, and the test modules
a change affects, computed by aftershock's C core (`aftershock._core`).

    import aftershock

    project = aftershock.Project("path/to/repo")
    project.dependencies("src/shop/cart.py", closure=True)
    project.affected(["src/shop/pricing.py"])

Paths given to a Project may be absolute or relative to the project root (str, bytes or
os.PathLike); paths it returns are str, relative to the root, with "/" separators.

Errors raise `aftershock.Error` carrying the C core's one-line message (its `code` attribute is
the negative ASH_E* code), or `aftershock.NotFoundError` (a subclass of both Error and
FileNotFoundError) for a file, module, test module or project that is not there; MemoryError
when memory runs out.

Threads: a Project may be shared by any number of threads. It never changes once built: the
import graph is built on the first call that needs it and the test selection on the first call
that needs that, each once, under a lock; the C work (listing, parsing, hashing, searches)
runs without the GIL, so threads using one Project proceed in parallel. A `Results` object
(`Project.results()`, used by the pytest plugin) serialises its calls.

`aftershock.pytest_plugin` is the pytest plugin (`pytest --aftershock`).
"""

import os
import re

from aftershock import _core
from aftershock._core import Error, NotFoundError

__all__ = ["Error", "NotFoundError", "Project", "__version__"]
__version__ = _core.__version__

# What `config` may hold, and the keyword of _core.open_project each one is.
_CONFIG_KEYS = ("python", "cache_dir", "no_cache", "jobs", "pytest_args", "cov")
_ROLES = {"its package": "package", "its conftest": "conftest", "a -p plugin": "plugin"}
_ROLE_SUFFIX = re.compile(r"(.*)  \((%s)\)" % "|".join(re.escape(r) for r in _ROLES))
_MODULE_NAME = re.compile(r"[^\W\d]\w*(\.[^\W\d]\w*)*")


class Project:
    """A Python project: its files, their imports, the import graph and its closure keys, and
    its pytest test suite.

    `root` is the project directory; None finds it the way the `aftershock` command does: the
    git top level of the working directory, else the nearest directory above it with a
    pyproject.toml. `[tool.aftershock]` in the root's pyproject.toml applies. `config`
    overrides, a mapping of:

        python       interpreter that classifies stdlib/third-party imports and whose
                     environment keys the tests' results (default: the configuration's, then
                     $VIRTUAL_ENV/bin/python, then python3 on PATH)
        cache_dir    directory of the parse cache (default: .aftershock under the root)
        no_cache     True: neither read nor write the parse cache
        jobs         extraction threads (default 0: one per CPU)
        pytest_args  pytest arguments: paths select test modules, the rest is part of the
                     key results are cached under (as with `aftershock run -- ARGS`)
        cov          coverage sources as `aftershock run --cov=...` takes them (keys only)

    The test suite is the one pytest would collect when started in the current working
    directory (from the root when that is outside the project), as for `aftershock affected`.

    Thread-safe: see the package documentation.
    """

    def __init__(self, root=None, *, config=None):
        options = dict(config or {})
        unknown = sorted(set(options) - set(_CONFIG_KEYS))
        if unknown:
            raise TypeError("unknown config keys: %s (known: %s)"
                            % (", ".join(unknown), ", ".join(_CONFIG_KEYS)))
        if root is not None:
            root = os.path.abspath(os.fsdecode(os.fspath(root)))
        self._core = _core.open_project(root, **options)
        #: Absolute path of the project root.
        self.root = self._core.root

    def __repr__(self):
        return "<aftershock.Project %r>" % self.root

    @property
    def source_roots(self):
        """The directories imports are resolved from (sys.path entries), relative to the root;
        "" is the root itself."""
        return self._core.source_roots

    @property
    def warnings(self):
        """The warnings of what has been built so far ("path: message" lines): unreadable
        files, syntax errors around imports, imports found nowhere, a malformed configuration."""
        return self._core.warnings

    # -- the import graph --------------------------------------------------------------------

    def files(self):
        """Every Python file of the project (sorted)."""
        return self._core.files()

    def imports(self, path):
        """The imports of the file at `path`, in source order: one dict each, with

            kind          "import", "from" or "string" (importlib.import_module, __import__,
                          pytest_plugins)
            module        the dotted name as written, without leading dots ("" for
                          `from . import x`)
            level         the number of leading dots
            names         the names after `import` in a `from` import ("*" for a star import)
            line          the line where the statement (or call) starts
            flags         any of "type_checking", "optional", "lazy"
            origin        where the module was found: "project", "stdlib", "third-party",
                          "unknown"
            distribution  the distribution of a third-party module (None if unknown)
            package       the literal `package=` of a string import, else None
            resolved      the project files the import executes (the module, its parent
                          packages' __init__.py, imported submodules), sorted; None when
                          the origin is not "project"
        """
        rel = self._rel(path)
        records = self._core.imports(rel)
        edges = self._core.edges(rel)
        own = self._core.module_name(rel)
        is_init = os.path.basename(rel) in ("__init__.py", "__init__.pyi")
        for rec in records:
            rec["resolved"] = (_resolved(rec, edges, own, is_init)
                               if rec["origin"] == "project" else None)
        return records

    def dependencies(self, path, closure=False):
        """The files the file at `path` imports (sorted). An import also depends on the
        `__init__.py` of every parent package. `closure=True`: every file reached
        transitively, never the file itself (even in an import cycle). Imports made only under
        TYPE_CHECKING are left out when `[tool.aftershock] type-checking-imports = false`."""
        return self._core.dependencies(self._rel(path), closure)

    def dependents(self, path, closure=False):
        """The files that import the file at `path` (sorted); `closure=True`: transitively."""
        return self._core.dependents(self._rel(path), closure)

    def closure_hash(self, path_or_module, *, env=False):
        """The closure key, as 32 hex digits, that `aftershock hash` prints: for a file, a hash
        over its content and path and the keys of what it imports (transitively); for a
        directory, one key over its files; for a dotted module name, its file's key (one key
        over its files when a .py and a .pyi share the name). A str that names no existing
        path is taken as a module name. `env=True` mixes in the environment key (interpreter,
        installed distributions or configured lockfiles, configured env vars), as
        `aftershock hash --env` does: the key of a wheel build."""
        target = os.fspath(path_or_module)
        if isinstance(target, bytes):
            target = os.fsdecode(target)
        candidate = os.path.join(self.root, target)
        if (isinstance(path_or_module, os.PathLike) or os.path.exists(candidate)
                or not _MODULE_NAME.fullmatch(target)):
            rel = self._rel(target, allow_root=True)
            kind = "dir" if os.path.isdir(os.path.join(self.root, rel)) else "file"
            return self._core.closure_hash(rel, kind, env)
        return self._core.closure_hash(target, "module", env)

    # -- the test suite ----------------------------------------------------------------------

    def test_modules(self):
        """The test modules pytest would collect (sorted), as `aftershock run` finds them."""
        return self._core.test_modules()

    def affected(self, changed_paths, *, added=(), all_changed=False):
        """The test modules whose inputs the changed files reach, as `aftershock affected
        --json` lists them: [{"path": test module, "reason": why, "via": changed file or
        None}], sorted by path.

        A changed path that no longer exists is a deleted file (it affects the modules that
        imported it); `added` names the changed paths that are new files (they affect the
        modules importing a module of their name); `all_changed=True` says the change set is
        unknown. Reasons: "changed", "deleted", "added", "data", "all" (configuration or
        environment changed since the last run), "unresolved" (imports a module found
        nowhere: always runs), "failed" (did not pass last time), "new" (the last run did not
        know it). Changed paths outside the project are ignored.
        """
        if isinstance(changed_paths, (str, bytes, os.PathLike)) or isinstance(
                added, (str, bytes, os.PathLike)):
            raise TypeError("expected a sequence of paths, not one path")
        changed = [r for r in (self._rel(p, strict=False) for p in changed_paths) if r]
        added = [r for r in (self._rel(p, strict=False) for p in added) if r]
        return self._core.affected(changed, added=added, all_changed=all_changed)

    def why(self, test_path, changed_path):
        """The shortest import chain by which the test module at `test_path` depends on the
        file at `changed_path`: a list of steps {"path", "line", "role"} from the test module
        to the file, where `line` is the line of the step's import of the next step (None for
        the last), and `role` says how pytest reaches a step that is not imported by the one
        before: "conftest", "package" (an __init__.py the module is imported through) or
        "plugin" (named by -p); else None. None when the module does not depend on the file.
        Raises NotFoundError when `test_path` is not a test module."""
        lines = self._core.why(self._rel(test_path), self._rel(changed_path, strict=False) or "")
        return None if lines is None else [_step(line) for line in lines]

    # -- helpers -----------------------------------------------------------------------------

    def _rel(self, path, strict=True, allow_root=False):
        """`path` relative to the root with "/" separators; "" (strict=False) or NotFoundError
        for a path outside the project."""
        path = os.fsdecode(os.fspath(path))
        if os.path.isabs(path):
            real = os.path.realpath(path)
            rel = os.path.relpath(real, self.root)
        else:
            rel = os.path.normpath(path)
        rel = "" if rel == os.curdir else rel.replace(os.sep, "/")
        if rel == ".." or rel.startswith("../") or (rel == "" and not allow_root):
            if strict:
                raise NotFoundError("%s: not inside the project at %s" % (path, self.root))
            return ""
        return rel


def _step(line):
    role = None
    match = _ROLE_SUFFIX.fullmatch(line)
    if match:
        line, role = match.group(1), _ROLES[match.group(2)]
    path, sep, number = line.rpartition(":")
    if sep and number.isdigit():
        return {"path": path, "line": int(number), "role": role}
    return {"path": line, "line": None, "role": role}


def _resolved(rec, edges, own, is_init):
    """The targets of the file's edges that import record `rec` reaches.

    The graph keeps one edge per (file, target) pair, so edges are matched to imports by the
    module names the import executes: each parent package of the absolute name, the module,
    and for `from` imports its submodules of the imported names. Where no name matches (a
    file imported under a name its source root does not give it), the edges made on the
    import's line are its targets.
    """
    base = rec["module"]
    if rec["level"]:
        anchor = rec["package"] if rec["package"] is not None else (
            own if is_init else own.rpartition(".")[0])
        parts = anchor.split(".") if anchor else []
        drop = rec["level"] - 1
        if own or rec["package"] is not None:
            parts = parts[:len(parts) - drop] if drop <= len(parts) else []
            base = ".".join(parts + ([rec["module"]] if rec["module"] else []))
    names = set()
    pieces = base.split(".") if base else []
    for i in range(1, len(pieces) + 1):
        names.add(".".join(pieces[:i]))
    if rec["kind"] == "from":
        names.update((base + "." + n) if base else n for n in rec["names"] if n != "*")
    found = sorted({path for path, module, _, _, _ in edges if module and module in names})
    if not found:
        found = sorted({path for path, _, line, _, _ in edges if line == rec["line"]})
    return found
