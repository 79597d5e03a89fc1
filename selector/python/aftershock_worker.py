"""The pytest plugin inside each of `aftershock run`'s worker processes.

The controller starts one pytest session per worker:

    python -m pytest -p aftershock_worker --continue-on-collection-errors -q [args] PATHS...

and talks to it through the environment:

    AFTERSHOCK_ROOT     absolute project root; module paths are relative to it, '/'-separated
    AFTERSHOCK_MODULES  file of NUL-terminated pairs "INDEX\\0RELPATH\\0": this worker's modules
    AFTERSHOCK_RESULTS  directory receiving one result file per finished module, <INDEX>.res
    AFTERSHOCK_FD       inherited file descriptor receiving the event lines
                        "start INDEX" (collection of the module begins), "run INDEX" (its first
                        test begins) and "done INDEX" (its result file is in place)
    AFTERSHOCK_COV      unset: no coverage; "" or ".": coverage.py's defaults and the user's
                        config file; otherwise an os.pathsep-separated list of sources

Without AFTERSHOCK_FD and AFTERSHOCK_MODULES the plugin does nothing. If the process dies, the
controller blames the module that has a "run" (or, during collection, a "start") but no "done".

A result file is written atomically (temp file in the same directory, fsync, rename) after the
module's last test has torn down, or right after collection for a module without tests. Its
grammar is the one selector/src/result.h reads:

    file  = "ASHW 1\\n" field* "end\\n"
    field = "module " PATH "\\n" | "counts " N*6 "\\n" | "duration " SECONDS "\\n"
          | "collected " N "\\n" | ("junit" | "output" | "coverage") " " LEN "\\n" BYTES "\\n"

`junit` holds the module's <testcase> elements as pytest's junitxml writes them, `output` the
module's FAILURES/ERRORS sections as pytest's terminal shows them, `coverage` the module's
coverage data as JSON (see _Coverage for how lines are attributed to modules).
"""

import io
import json
import os
import re
import sys
import tempfile
import time
import warnings
import xml.etree.ElementTree as ET

import pytest

_HERE = os.path.dirname(os.path.realpath(__file__))
_RESULT_MAGIC = b"ASHW 1\n"
_COUNT_INDEX = {"passed": 0, "failed": 1, "skipped": 2, "error": 3, "xfailed": 4, "xpassed": 5}
_WORKER_KEY = pytest.StashKey()
_TERMINAL_WIDTH = 80


# ---------------------------------------------------------------------------------------------
# The controller's side of the protocol: environment, module list, events, result files.


class _Module:
    """One module of this worker's list and what has been seen of it so far."""

    def __init__(self, index, rel_bytes, abspath):
        self.index = index  # str, as the controller wrote it
        self.rel_bytes = rel_bytes  # the path exactly as listed
        self.rel = os.fsdecode(rel_bytes)
        self.abspath = abspath
        self.started = False  # "start" emitted
        self.ran = False  # "run" emitted
        self.finished = False  # result written, "done" emitted
        self.missing = False  # not on disk at startup (taken out of pytest's arguments)
        self.duration = 0.0
        self.counts = [0] * 6
        self.collected = 0
        self.last_item = None
        self.nodeids = []  # of its collected items
        self.junit = None  # _Junit, made once the config is known
        self.failed = []  # reports pytest files under "failed", in order
        self.errors = []  # reports pytest files under "error", in order
        self.teardowns = {}  # nodeid -> passed teardown reports (their sections follow failures)


class _Env:
    """The worker's environment, parsed; None from `load` when the plugin is inactive."""

    def __init__(self, root, fd, results, modules, cov_spec):
        self.root = root
        self.fd = fd
        self.results = results
        self.modules = modules
        self.cov_spec = cov_spec  # None: no coverage
        self._by_path = {}
        self._dirs = set()  # every directory holding a listed module, up to the root
        for module in modules:
            for key in (module.abspath, os.path.realpath(module.abspath)):
                self._by_path.setdefault(key, module)
                d = os.path.dirname(key)
                while d not in self._dirs and len(d) >= len(root):
                    self._dirs.add(d)
                    d = os.path.dirname(d)

    @classmethod
    def load(cls, environ):
        if "AFTERSHOCK_FD" not in environ or "AFTERSHOCK_MODULES" not in environ:
            return None
        missing = [v for v in ("AFTERSHOCK_ROOT", "AFTERSHOCK_RESULTS") if not environ.get(v)]
        if missing:
            raise pytest.UsageError("aftershock_worker: %s not set" % " and ".join(missing))
        try:
            fd = int(environ["AFTERSHOCK_FD"])
            os.fstat(fd)
        except (ValueError, OSError) as e:
            raise pytest.UsageError("aftershock_worker: bad AFTERSHOCK_FD: %s" % e)
        # Tests' own subprocesses (os.system, close_fds=False) must not hold the pipe open.
        os.set_inheritable(fd, False)
        if not os.path.isdir(environ["AFTERSHOCK_RESULTS"]):
            raise pytest.UsageError("aftershock_worker: AFTERSHOCK_RESULTS is not a directory")
        root = os.path.abspath(environ["AFTERSHOCK_ROOT"])
        modules = cls._read_modules(environ["AFTERSHOCK_MODULES"], root)
        return cls(root, fd, environ["AFTERSHOCK_RESULTS"], modules, environ.get("AFTERSHOCK_COV"))

    @staticmethod
    def _read_modules(path, root):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise pytest.UsageError("aftershock_worker: cannot read AFTERSHOCK_MODULES: %s" % e)
        fields = data.split(b"\0")
        if fields[-1] != b"" or len(fields) % 2 != 1:
            raise pytest.UsageError("aftershock_worker: %s: not INDEX\\0PATH\\0 pairs" % path)
        modules, seen = [], set()
        for i in range(0, len(fields) - 1, 2):
            index, rel = fields[i], fields[i + 1]
            if not re.fullmatch(rb"[0-9]+", index) or not rel or b"\n" in rel:
                raise pytest.UsageError("aftershock_worker: %s: bad entry %r" % (path, index + rel))
            if rel in seen or index in seen:
                raise pytest.UsageError("aftershock_worker: %s: %r listed twice" % (
                    path, rel if rel in seen else index))
            seen.update((rel, index))
            abspath = os.path.normpath(os.path.join(root, *os.fsdecode(rel).split("/")))
            modules.append(_Module(index.decode("ascii"), rel, abspath))
        return modules

    def ignores(self, path):
        """Whether collection should leave out `path`: the controller passes the directories
        of its modules, and only the listed modules (and what they need: conftest.py and
        __init__.py files, directories on the way to them) are collected. pytest handles a
        directory far faster than a thousand file arguments, each of which it resolves on its
        own."""
        path = os.fspath(path)
        if self.module_at(path) is not None:
            return False
        name = os.path.basename(path)
        if name in ("conftest.py", "__init__.py"):
            return False
        if os.path.isdir(path):
            return path not in self._dirs and os.path.realpath(path) not in self._dirs
        return True

    def module_at(self, path):
        """The listed module at `path` (a str or os.PathLike), or None."""
        key = os.fspath(path)
        try:
            return self._by_path[key]
        except KeyError:
            pass
        module = self._by_path.get(os.path.normpath(key)) or self._by_path.get(
            os.path.realpath(key))
        self._by_path[key] = module
        return module

    def emit(self, event, module):
        line = ("%s %s\n" % (event, module.index)).encode("ascii")
        # One write: a pipe write of fewer than PIPE_BUF bytes is never split or interleaved.
        # A failure (the controller is gone) propagates and ends the session.
        os.write(self.fd, line)

    def write_result(self, module, blobs):
        data = _result_data(module, blobs)
        name = module.index + ".res"
        # Renamed into place, so the controller never reads a part. No fsync: the directory is
        # the run's scratch space, gone after the run, and a lost machine loses the run anyway.
        fd, tmp = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp", dir=self.results)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, os.path.join(self.results, name))
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


def _result_data(module, blobs):
    """The result of `module` in the grammar above: its counts, duration, and `blobs`, pairs
    of a field name (b"junit", b"output", b"coverage") and its text. Also what the public
    pytest plugin (aftershock.pytest_plugin) hands to the result cache."""
    parts = [
        _RESULT_MAGIC,
        b"module " + module.rel_bytes + b"\n",
        b"counts %d %d %d %d %d %d\n" % tuple(module.counts),
        b"duration %.6f\n" % module.duration,
        b"collected %d\n" % module.collected,
    ]
    for name, text in blobs:
        data = text.encode("utf-8", "backslashreplace")
        parts += [b"%s %d\n" % (name, len(data)), data, b"\n"]
    parts.append(b"end\n")
    return b"".join(parts)


# ---------------------------------------------------------------------------------------------
# JUnit XML: pytest's junitxml.LogXML, per module, without the <testsuite> around it.

# pytest's own expression, quirk included ("\u10000-\u10ffff" is really "\u1000", "0-\u10ff",
# "f": characters beyond the BMP are escaped too), so that the fragments match its output.
_ILLEGAL_XML = re.compile(
    "[^\u0009\u000a\u000d\u0020-\u007e\u0080-\ud7ff\ue000-\ufffd\u10000-\u10ffff]")


def _xml_escape(text):
    """pytest's bin_xml_escape: characters XML cannot hold become a visible #xNN."""

    def repl(match):
        i = ord(match.group())
        return "#x%02X" % i if i <= 0xFF else "#x%04X" % i

    return _ILLEGAL_XML.sub(repl, str(text))


def _mangle_nodeid(nodeid):
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return names


class _JunitSettings:
    """The junitxml ini options and --junitprefix, as pytest's LogXML reads them."""

    def __init__(self, config):
        def ini(name, default):
            try:
                return config.getini(name)
            except (ValueError, KeyError):  # junitxml plugin disabled (-p no:junitxml)
                return default

        self.family = ini("junit_family", "xunit2")
        if self.family == "legacy":
            self.family = "xunit1"
        self.logging = ini("junit_logging", "no")
        self.log_passing = ini("junit_log_passing_tests", True)
        self.duration_report = ini("junit_duration_report", "total")
        self.prefix = getattr(config.option, "junitprefix", None)


class _TestCase:
    """One <testcase> element being built (pytest's _NodeReporter)."""

    def __init__(self, settings):
        self.settings = settings
        self.duration = 0.0
        self.attrs = {}
        self.properties = []
        self.nodes = []

    def record(self, report):
        names = _mangle_nodeid(report.nodeid)
        classnames = names[:-1]
        if self.settings.prefix:
            classnames.insert(0, self.settings.prefix)
        attrs = {"classname": _xml_escape(".".join(classnames)), "name": _xml_escape(names[-1])}
        if self.settings.family == "xunit1":
            attrs["file"] = _xml_escape(report.location[0])
            if report.location[1] is not None:
                attrs["line"] = str(report.location[1])
            if hasattr(report, "url"):
                attrs["url"] = report.url
        self.attrs = attrs

    def add(self, tag, message, text=None):
        node = ET.Element(tag, message=message)
        if text is not None:
            node.text = _xml_escape(text)
        self.nodes.append(node)

    def failure(self, report):
        if hasattr(report, "wasxfail"):
            self.add("skipped", "xfail-marked test passes unexpectedly")
            return
        self.add("failure", _xml_escape(_crash_message(report)), str(report.longrepr))

    def error(self, report):
        when = "teardown" if report.when == "teardown" else "setup"
        message = 'failed on %s with "%s"' % (when, _crash_message(report))
        self.add("error", _xml_escape(message), str(report.longrepr))

    def skipped(self, report):
        if hasattr(report, "wasxfail"):
            reason = report.wasxfail
            if reason.startswith("reason: "):
                reason = reason[8:]
            self.nodes.append(ET.Element("skipped", type="pytest.xfail",
                                         message=_xml_escape(reason)))
            return
        if isinstance(report.longrepr, tuple):
            filename, lineno, reason = report.longrepr
            if reason.startswith("Skipped: "):
                reason = reason[9:]
            details = "%s:%s: %s" % (filename, lineno, reason)
        else:
            reason = details = str(report.longrepr)
        node = ET.Element("skipped", type="pytest.skip", message=_xml_escape(reason))
        node.text = _xml_escape(details)
        self.nodes.append(node)
        self.captured_output(report)

    def captured_output(self, report):
        logging = self.settings.logging
        if (not self.settings.log_passing and report.passed) or logging == "no":
            return

        def section(content, header):
            return "\n".join([header.center(80, "-"), content, ""])

        content = ""
        if logging in ("log", "all"):
            content = section(report.caplog, " Captured Log ")
        if logging in ("system-out", "out-err", "all"):
            content += section(report.capstdout, " Captured Out ")
            self._text_node("system-out", content)
            content = ""
        if logging in ("system-err", "out-err", "all"):
            content += section(report.capstderr, " Captured Err ")
            self._text_node("system-err", content)
            content = ""
        if content:
            self._text_node("system-out", content)

    def _text_node(self, tag, content):
        node = ET.Element(tag)
        node.text = _xml_escape(content)
        self.nodes.append(node)

    def to_xml(self):
        case = ET.Element("testcase", self.attrs, time="%.3f" % self.duration)
        if self.properties:
            props = ET.SubElement(case, "properties")
            for name, value in self.properties:
                ET.SubElement(props, "property", name=name, value=value)
        case.extend(self.nodes)
        return ET.tostring(case, encoding="unicode")


def _crash_message(report):
    reprcrash = getattr(report.longrepr, "reprcrash", None)
    return reprcrash.message if reprcrash is not None else str(report.longrepr)


class _Junit:
    """The <testcase> elements of one module, following LogXML.pytest_runtest_logreport."""

    def __init__(self, settings):
        self.settings = settings
        self.cases = []  # in order of creation, like LogXML.node_reporters_ordered
        self.open = {}  # nodeid -> its _TestCase not yet finalized
        self.call_failures = {}  # nodeid -> failed call report, until its teardown

    def _case(self, report):
        case = self.open.get(report.nodeid)
        if case is None:
            case = self.open[report.nodeid] = _TestCase(self.settings)
            self.cases.append(case)
        return case

    def _opened(self, report):
        case = self._case(report)
        case.record(report)
        return case

    def _finalize(self, report):
        case = self.open.pop(report.nodeid, None)
        if case is not None:
            for name, value in report.user_properties:
                case.properties.append((str(name), _xml_escape(str(value))))

    def runtest(self, report):
        if report.passed:
            if report.when == "call":
                self._opened(report)
        elif report.failed:
            if report.when == "teardown" and report.nodeid in self.call_failures:
                # A failed call and a failed teardown are two <testcase>s, as in pytest.
                self._finalize(self.call_failures[report.nodeid])
            case = self._opened(report)
            if report.when == "call":
                case.failure(report)
                self.call_failures[report.nodeid] = report
                if not self.settings.log_passing:
                    case.captured_output(report)
            else:
                case.error(report)
        elif report.skipped:
            self._opened(report).skipped(report)
        if self.settings.duration_report in ("total", report.when):
            self._case(report).duration += getattr(report, "duration", 0.0)
        if report.when == "teardown":
            self._opened(report).captured_output(report)
            self._finalize(report)
            self.call_failures.pop(report.nodeid, None)

    def collect(self, report):
        case = self._opened(report)
        if report.failed:
            case.add("error", "collection failure", str(report.longrepr))
        else:
            case.add("skipped", "collection skipped", str(report.longrepr))

    def not_collected(self, nodeid, text):
        case = _TestCase(self.settings)
        case.attrs = {"classname": "", "name": _xml_escape(_mangle_nodeid(nodeid)[-1])}
        case.add("error", "collection failure", text)
        self.cases.append(case)

    def text(self):
        return "".join(case.to_xml() for case in self.cases)


# ---------------------------------------------------------------------------------------------
# The FAILURES and ERRORS sections of pytest's terminal summary, for one module.


def _sep(sepchar, title):
    """TerminalWriter.sep at width 80."""
    fullwidth = _TERMINAL_WIDTH - 1 if sys.platform == "win32" else _TERMINAL_WIDTH
    fill = sepchar * max((fullwidth - len(title) - 2) // (2 * len(sepchar)), 1)
    line = "%s %s %s" % (fill, title, fill)
    if len(line) + len(sepchar.rstrip()) <= fullwidth:
        line += sepchar.rstrip()
    return line + "\n"


def _sections(config, report, only_teardown=False):
    showcapture = config.option.showcapture
    out = []
    if showcapture == "no":
        return out
    for name, content in report.sections:
        if showcapture != "all" and showcapture not in name:
            continue
        if only_teardown and "teardown" not in name:
            continue
        if content[-1:] == "\n":
            content = content[:-1]
        out += [_sep("-", name), content, "\n"]
    return out


def _report_text(config, report):
    """What the terminal prints for `report`: its longrepr, then its captured sections."""
    try:
        from _pytest._io import TerminalWriter
    except ImportError:
        text = report.longreprtext
        return ([text, "\n"] if text else []) + _sections(config, report)
    # report.longreprtext is this, stripped of the blank line and indentation around it.
    buf = io.StringIO()
    writer = TerminalWriter(file=buf)
    writer.hasmarkup = False
    writer.fullwidth = _TERMINAL_WIDTH
    report.toterminal(writer)
    return [buf.getvalue()] + _sections(config, report)


def _crash_line(report):
    try:
        return str(report.longrepr.reprcrash)
    except AttributeError:
        return str(report.longrepr)[:50]


def _failure_output(config, module):
    """The module's part of pytest's ERRORS and FAILURES sections, in that order."""
    style = config.option.tbstyle
    out = []
    if style == "no":
        return ""
    for report in module.errors:
        title = report.head_line or "test session"
        if report.when == "collect":
            title = "ERROR collecting " + title
        else:
            title = "ERROR at %s of %s" % (report.when, title)
        out.append(_sep("_", title))
        out += _report_text(config, report)
    for report in module.failed:
        if style == "line":
            out += _report_text(config, report) + [_crash_line(report), "\n"]
            continue
        out.append(_sep("_", report.head_line or "test session"))
        out += _report_text(config, report)
        for teardown in module.teardowns.get(report.nodeid, ()):
            out += _sections(config, teardown, only_teardown=True)
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Coverage.


class _Coverage:
    """Per-module coverage data out of one coverage.py tracer, by dynamic contexts.

    The tracer is ours, or pytest-cov's when the session has one (never two tracers). While a
    module is collected, and while its tests run, the context is "aftershock:<module path>";
    otherwise it is the global one ("" or the static context). pytest-cov's own
    "<nodeid>|<phase>" contexts (--cov-context=test) are mapped back to the item's module.
    A module's data is its contexts plus every context not known to belong to a module:
    what runs outside all modules (startup, conftest imports, plugins) belongs to each.

    The measurements are seen as the tracer hands them to its CoverageData (set_context, then
    add_lines or add_arcs, at every context switch), so a module costs only its own data, not
    one query per measured file. Once per session the result is checked against the data
    itself; should a coverage version store data some other way, the per-file queries are used.

    Limits: code executed once on behalf of several modules (a shared import's module body, a
    session fixture's setup, a cache filled lazily) is attributed to the module that ran it
    first; a session fixture's teardown goes to the module running last; global lines run after
    a module's result was written (pytest_sessionfinish hooks) belong to no module.
    """

    GLOBAL = None

    def __init__(self, env, notice, cov=None, pytest_cov=None):
        self._env = env
        self._notice = notice
        self._cov = cov
        self._pytest_cov = pytest_cov  # the plugin manager to find pytest-cov's tracer in
        self._attached = False
        self._observing = True  # False: the data is queried, see _queried_files
        self._labels = {}  # full context name -> _Module
        self._context_owner = None  # _Module of the context being recorded, or GLOBAL
        self._global = {}  # file -> lines (or arcs) of global contexts
        self._by_module = {}  # _Module -> {file -> lines or arcs}, until it is finished
        self._executed = set()  # files with lines in some context
        self._touched = set()  # files coverage added without lines (never executed)
        self._current = ()
        self._root_real = os.path.realpath(env.root)
        self._ours_cache = {}  # measured file -> whether it is this plugin's

    @classmethod
    def start_own(cls, env, notice):
        import coverage

        spec = env.cov_spec
        sources = None if spec in ("", ".") else [s for s in spec.split(os.pathsep) if s]
        # data_file=None: nothing on disk. config_file=True: the user's .coveragerc, setup.cfg,
        # tox.ini or pyproject.toml in the current directory, which is the project root.
        cov = coverage.Coverage(data_file=None, source=sources, config_file=True)
        # Our contexts are the attribution: a configured dynamic_context would fight them, and
        # sys.monitoring (coverage's default core on Python 3.14+) cannot switch contexts.
        cov.set_option("run:dynamic_context", None)
        try:
            if cov.get_option("run:core") in (None, "sysmon"):
                cov.set_option("run:core", "ctrace")
        except Exception:  # coverage < 7.4 has no choice of core
            pass
        omit = cov.get_option("run:omit") or []
        cov.set_option("run:omit", list(omit) + [os.path.join(_HERE, "*")])
        cov.start()
        own = cls(env, notice, cov=cov)
        own._tracer()  # observe from the first line on
        return own

    def stop(self):
        if self._pytest_cov is None and self._cov is not None:
            self._cov.stop()

    def _tracer(self):
        if self._cov is None and self._pytest_cov is not None:
            plugin = self._pytest_cov.getplugin("_cov")
            self._cov = getattr(getattr(plugin, "cov_controller", None), "cov", None)
            if self._cov is None:
                self._notice("pytest-cov has no tracer: no coverage data")
                self._pytest_cov = None
        if self._cov is not None and not self._attached:
            self._attached = True
            self._attach(self._cov)
        return self._cov

    def _attach(self, cov):
        """Start observing what the tracer stores; what it stored already is global."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = cov.get_data()
        for path, found in self._read_all(data).items():
            if found:
                self._global[path] = found
                self._executed.add(path)
            else:
                self._touched.add(path)
        observer = self

        def set_context(context):
            owner = observer._labels.get(context or "", _Coverage.GLOBAL)
            observer._context_owner = owner
            return original["set_context"](context)

        def add(name):
            def added(measured):
                observer._observe(measured)
                return original[name](measured)

            return added

        def touch_files(filenames, *args, **kwargs):
            observer._touched.update(filenames)
            return original["touch_files"](filenames, *args, **kwargs)

        original = {n: getattr(data, n) for n in ("set_context", "add_lines", "add_arcs",
                                                 "touch_files")}
        data.set_context = set_context
        data.add_lines = add("add_lines")
        data.add_arcs = add("add_arcs")
        data.touch_files = touch_files

    def _observe(self, measured):
        owner = self._context_owner
        if owner is _Coverage.GLOBAL:
            target = self._global
        elif owner.finished:
            return
        else:
            target = self._by_module.setdefault(owner, {})
        for path, found in measured.items():
            found = list(found)
            if found:
                target.setdefault(path, set()).update(found)
                self._executed.add(path)

    def _read_all(self, data):
        arcs = data.has_arcs()
        out = {}
        for path in data.measured_files():
            found = data.arcs(path) if arcs else data.lines(path)
            out[path] = set(found or ())
        return out

    def _label(self, dynamic):
        static = self._tracer().get_option("run:context") or ""
        if static and dynamic:
            return static + "|" + dynamic
        return static or dynamic

    def enter(self, module):
        """Make `module` (or GLOBAL) the context of what runs from now on."""
        # pytest-cov may switch contexts behind our back: then always switch.
        if module is self._current and self._pytest_cov is None:
            return
        cov = self._tracer()
        if cov is None:
            return
        dynamic = "" if module is None else "aftershock:" + module.rel
        if module is not None:
            self._labels[self._label(dynamic)] = module
        self._current = module
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                cov.switch_context(dynamic)  # stores what was measured in the previous one
            except Exception:  # pytest-cov paused (no_cover), or stopped
                self._current = ()

    def collection_finished(self, items_by_module):
        """Know pytest-cov's per-test contexts; check the observation once."""
        cov = self._tracer()
        if cov is None:
            return
        if self._pytest_cov is not None:
            for module, nodeids in items_by_module:
                for nodeid in nodeids:
                    for phase in ("setup", "run", "teardown"):
                        self._labels[self._label(nodeid + "|" + phase)] = module
        with warnings.catch_warnings():
            # Coverage warns about sources not imported *yet*; pytest's filterwarnings=error
            # must not turn that into a crash of this hook.
            warnings.simplefilter("ignore")
            data = cov.get_data()  # also touches the never-executed files under `source`
        seen = dict(self._global)
        for files in self._by_module.values():
            for path, found in files.items():
                seen[path] = seen.get(path, set()) | found
        stored = {f: found for f, found in self._read_all(data).items() if found}
        if stored != {f: found for f, found in seen.items() if found}:
            self._notice("coverage data not seen as stored; querying it per module instead")
            self._observing = False

    def module_json(self, module):
        cov = self._tracer()
        if cov is None:
            return None
        arcs = bool(cov.get_option("run:branch"))
        if self._observing:
            files = self._observed_files(module, arcs)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                files = self._queried_files(cov.get_data(), module, arcs)
        self._by_module.pop(module, None)
        return json.dumps({"version": 1, "arcs": arcs, "files": files}, sort_keys=True,
                          separators=(",", ":"))

    def _observed_files(self, module, arcs):
        own = self._by_module.get(module, {})
        files = {}
        # Never-executed files (touched when `source` is set) stay in, at 0%.
        for path in self._touched - self._executed:
            if not self._ours(path):
                files[self._relative(path)] = []
        for path in set(self._global) | set(own):
            if not self._ours(path):
                found = self._global.get(path, set()) | own.get(path, set())
                files[self._relative(path)] = sorted(list(a) for a in found) if arcs \
                    else sorted(found)
        return files

    def _queried_files(self, data, module, arcs):
        measured = sorted(f for f in data.measured_files() if not self._ours(f))
        data.set_query_contexts(None)
        for f in measured:
            if f not in self._executed and data.lines(f):
                self._executed.add(f)
        contexts = [c for c in data.measured_contexts() if self._labels.get(c, module) is module]
        files = {}
        for f in measured:
            if f not in self._executed:
                files[self._relative(f)] = []
        if contexts:
            # One pattern: SQLite limits the number of parameters of a query.
            pattern = "^(?:%s)$" % "|".join(re.escape(c) for c in sorted(contexts))
            data.set_query_contexts([pattern])
            try:
                for f in measured:
                    found = data.arcs(f) if arcs else data.lines(f)
                    if found:
                        files[self._relative(f)] = sorted(list(x) for x in found) if arcs \
                            else sorted(found)
            finally:
                data.set_query_contexts(None)
        return files

    def _ours(self, path):
        ours = self._ours_cache.get(path)
        if ours is None:
            ours = self._ours_cache[path] = os.path.realpath(path).startswith(_HERE + os.sep)
        return ours

    def _relative(self, path):
        for root in (self._root_real, self._env.root):
            if path.startswith(root + os.sep):
                return path[len(root) + 1:].replace(os.sep, "/")
        return path


def _pytest_cov_requested(early_config):
    """Whether pytest-cov measures this session (then its tracer is the only one)."""
    plugin = early_config.pluginmanager.getplugin("_cov")
    if plugin is not None:  # its pytest_load_initial_conftests ran: it started or is disabled
        return getattr(plugin, "cov_controller", None) is not None
    ns = early_config.known_args_namespace
    return bool(getattr(ns, "cov_source", None)) and not getattr(ns, "no_cov", False)


# ---------------------------------------------------------------------------------------------
# What a module's reports add to its result (the public pytest plugin uses these too).


def _count(module, report, category):
    if category in _COUNT_INDEX and getattr(report, "count_towards_summary", True):
        module.counts[_COUNT_INDEX[category]] += 1


def _add_report(config, module, report):
    """Count one of `module`'s test reports and keep what its JUnit and failure output need."""
    status = config.hook.pytest_report_teststatus(report=report, config=config)
    category = status[0] if status else ""
    _count(module, report, category)
    if category == "failed":
        module.failed.append(report)
    elif category == "error":
        module.errors.append(report)
    elif report.when == "teardown" and report.passed:
        module.teardowns.setdefault(report.nodeid, []).append(report)
    module.junit.runtest(report)


def _add_collect_report(module, report):
    """The report of collecting `module` itself: an error, or a skip of the whole module."""
    if not report.passed:
        _count(module, report, "error" if report.failed else "skipped")
        module.junit.collect(report)
        if report.failed:
            module.errors.append(report)


# ---------------------------------------------------------------------------------------------
# The session.


class _Worker:
    """The plugin object registered for an active worker: follows collection and the run."""

    def __init__(self, env):
        self.env = env
        self.config = None
        self.coverage = None
        self.junit_settings = None
        self.collection_done = False
        self.current = None  # module whose item is running
        self.item_module = {}
        self.collect_failures = []  # (path, report) of failed collectors that are not modules

    def configure(self, config):
        self.config = config
        self.junit_settings = _JunitSettings(config)
        for module in self.env.modules:
            module.junit = _Junit(self.junit_settings)

    def _publish(self, module, blobs):
        if not module.started:
            module.started = True
            self.env.emit("start", module)
        self.env.write_result(module, blobs)
        module.finished = True
        self.env.emit("done", module)

    def _finish(self, module):
        blobs = [(b"junit", module.junit.text()),
                 (b"output", _failure_output(self.config, module))]
        if self.coverage is not None:
            text = self.coverage.module_json(module)
            if text is not None:
                blobs.append((b"coverage", text))
        self._publish(module, blobs)

    def _not_collected(self, module):
        if module.missing or not os.path.exists(module.abspath):
            why, detail = "file not found: " + module.abspath, ""
        else:
            why = "pytest did not collect it (not among its arguments? left out by a plugin?)"
            detail = ""
            for path, report in self.collect_failures:
                base = path if os.path.isdir(path) else os.path.dirname(path)
                if module.abspath.startswith(base + os.sep):
                    why = "not collected: collecting %s failed" % (report.nodeid or ".")
                    detail = report.longreprtext + "\n"
                    break
        text = "aftershock: %s: %s\n%s" % (module.rel, why, detail)
        module.counts[_COUNT_INDEX["error"]] += 1
        try:
            nodeid = os.path.relpath(module.abspath, str(self.config.rootpath))
        except ValueError:  # another drive
            nodeid = module.rel
        nodeid = nodeid.replace(os.sep, "/")
        module.junit.not_collected(nodeid, text)
        output = "" if self.config.option.tbstyle == "no" else (
            _sep("_", "ERROR collecting " + nodeid) + text)
        self._publish(module, [(b"junit", module.junit.text()), (b"output", output)])

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector):
        module = None
        if not isinstance(collector, (pytest.Session, pytest.Package)):
            path = getattr(collector, "path", None)
            module = self.env.module_at(path) if path is not None else None
        if module is None:
            outcome = yield
            if outcome.excinfo is None and outcome.get_result().failed:
                self.collect_failures.append((str(collector.path), outcome.get_result()))
            return
        if not module.started:
            module.started = True
            self.env.emit("start", module)
        if self.coverage is not None:
            self.coverage.enter(module)
        start = time.perf_counter()
        outcome = yield
        module.duration += time.perf_counter() - start
        if self.coverage is not None:
            self.coverage.enter(_Coverage.GLOBAL)
        if outcome.excinfo is None:
            _add_collect_report(module, outcome.get_result())

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self):
        self.collection_done = True

    def pytest_collection_finish(self, session):
        for item in session.items:
            module = self.env.module_at(item.path)
            if module is None:
                continue
            self.item_module[item] = module
            module.collected += 1
            module.last_item = item
            module.nodeids.append(item.nodeid)
        if self.coverage is not None:
            self.coverage.collection_finished(
                [(m, m.nodeids) for m in self.env.modules if m.nodeids])
        for module in self.env.modules:
            if module.finished or module.collected:
                continue
            if module.missing:
                self._not_collected(module)
            elif not self.collection_done:
                continue  # collection was interrupted: the module was not reached
            elif module.started:
                self._finish(module)
            else:
                self._not_collected(module)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item):
        module = self.item_module.get(item)
        if module is None or module.finished:
            yield
            return
        if not module.ran:
            module.ran = True
            self.env.emit("run", module)
        if self.coverage is not None:
            self.coverage.enter(module)
        self.current = module
        start = time.perf_counter()
        outcome = yield
        module.duration += time.perf_counter() - start
        self.current = None
        # An exception out of the protocol (pytest.exit, ^C) ends the session: then the module
        # did not finish.
        if item is module.last_item and outcome.excinfo is None:
            if self.coverage is not None:
                self.coverage.enter(_Coverage.GLOBAL)
            self._finish(module)

    def pytest_runtest_logreport(self, report):
        if self.current is not None:
            _add_report(self.config, self.current, report)

    @pytest.hookimpl(tryfirst=True)
    def pytest_ignore_collect(self, collection_path):
        return True if self.env.ignores(collection_path) else None

    def pytest_unconfigure(self):
        if self.coverage is not None:
            self.coverage.stop()


def _take_out_missing(env, args, early_config):
    """Drop the paths of listed modules that do not exist from pytest's arguments.

    pytest ends the whole session with a usage error for one path not found; without it, the
    other modules run and the missing ones get an error result at the end of collection. When
    every listed path is missing, the arguments stay (with none left, pytest would collect the
    whole project), and the results are still written.
    """
    wanted = {m.abspath: m for m in env.modules if not os.path.exists(m.abspath)}
    if not wanted:
        return
    for module in wanted.values():
        module.missing = True
    drop = [a for a in args if isinstance(a, str) and os.path.normpath(a) in wanted]
    present = [a for a in args if isinstance(a, str) and env.module_at(a) is not None]
    if len(drop) == len(present):
        return
    args[:] = [a for a in args if a not in drop]
    ns = early_config.known_args_namespace
    if isinstance(getattr(ns, "file_or_dir", None), list):
        ns.file_or_dir[:] = [a for a in ns.file_or_dir if a not in drop]


def _notice(config, text):
    """Tell the worker's log (pytest captures sys.stderr while it collects and runs)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("aftershock_worker: " + text)
    else:
        sys.stderr.write("aftershock_worker: %s\n" % text)


def _activate(config, args=None):
    """The _Worker of this session (made on first call), or None when inactive."""
    if _WORKER_KEY in config.stash:
        return config.stash[_WORKER_KEY]
    env = _Env.load(os.environ)
    worker = config.stash[_WORKER_KEY] = None if env is None else _Worker(env)
    if worker is None:
        return None
    if args is not None:
        _take_out_missing(env, args, config)
    if env.cov_spec is not None:
        def notice(text):
            _notice(config, text)

        if _pytest_cov_requested(config):
            worker.coverage = _Coverage(env, notice, pytest_cov=config.pluginmanager)
        else:
            worker.coverage = _Coverage.start_own(env, notice)
    return worker


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # Before conftests are imported, and before other plugins' hooks, which may import the
    # project (pytest-cov's may run first or not: _pytest_cov_requested sees it either way).
    _activate(early_config, args)


def _keep_in_process(config):
    """Switch pytest-xdist's distribution off in this worker (`-n N` given by the user or in
    addopts). aftershock runs modules in parallel workers of its own and attributes results
    and coverage per module, which needs a module's tests in this process; the controller
    turned the `-n` into its own worker count."""
    option = config.option
    if getattr(option, "numprocesses", None) or getattr(option, "dist", "no") != "no":
        option.numprocesses = 0
        option.dist = "no"
        if hasattr(option, "tx"):
            option.tx = []


def pytest_configure(config):  # before pytest-xdist's, which is trylast
    worker = _activate(config)
    if worker is not None:
        _keep_in_process(config)
        worker.configure(config)
        config.pluginmanager.register(worker, "aftershock-worker")
