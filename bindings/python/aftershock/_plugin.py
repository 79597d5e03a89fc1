"""What aftershock's pytest plugin does (its hooks are in aftershock.pytest_plugin).

`pytest --aftershock` opens the project's selection in the C core, keyed like `aftershock run`
(see `keyed_args`), deselects the test modules whose cached pass under the same inputs key
would be replayed, and records what the session runs into the same result cache, as results
of the same kind `aftershock run` replays (made by aftershock._worker, the worker plugin of
`aftershock run`). `pytest --aftershock-audit` deselects nothing and reports failures in the
modules that selection would have left out.

Which process does what: without xdist, the one pytest process. With xdist, the controller
opens the selection before the workers start and hands them the modules to deselect (so every
worker collects the same items whatever the cache holds meanwhile); the workers only deselect;
the controller, which sees every report, records each module once.

A module's result is recorded when every item pytest collected for it has run (a module cut
short by -x or an interruption is not), or whenever it failed. With --lf or --sw, which run
part of a module without saying so in the key, only failures are recorded; nor is a pass
recorded for a module named by node id (`tests/test_a.py::test_x`), as `aftershock run` does.
"""

import os
import sys

import pytest

from aftershock import _core

_STATE = pytest.StashKey()
# aftershock._worker, imported once a session asks for the plugin: every pytest session
# imports this module through the entry point, and the worker's module costs milliseconds.
_worker = None

# pytest options that decide which tests run, in which order or in how many processes, and
# never how a test behaves: left out of the key, so that a run with them shares results with
# a plain one (a module that did not run completely is not recorded as passed, see above).
_UNKEYED = frozenset((
    "--aftershock", "--aftershock-audit",
    "-x", "--exitfirst", "--lf", "--last-failed", "--ff", "--failed-first", "--nf",
    "--new-first", "--sw", "--stepwise", "--sw-skip", "--stepwise-skip", "--sw-reset",
    "--stepwise-reset", "--junitxml", "--junit-xml",
))
# ... and those of them that take a value (`--opt VALUE` or `--opt=VALUE`).
_UNKEYED_VALUE = frozenset((
    "--maxfail", "--lfnf", "--last-failed-no-failures", "--junitxml", "--junit-xml",
    "-n", "--numprocesses", "--maxprocesses", "--dist", "--max-worker-restart", "--tx",
    "--rsyncdir",
))
# `-p NAME` plugins that are parallelism or this plugin.
_UNKEYED_PLUGINS = frozenset((
    "xdist", "xdist.plugin", "xdist.looponfail", "no:xdist", "aftershock",
    "aftershock.pytest_plugin",
))
# pytest's cosmetic options are left out by the C core (as for `aftershock run`).


def keyed_args(args):
    """The session's invocation arguments as `aftershock run -- ARGS` keys them: the pair
    (arguments, coverage sources or None). Left out: aftershock's own options, xdist's
    (parallelism does not change outcomes), run control (-x, --maxfail, --lf, --ff, --nf,
    --sw: they choose which tests run, and partial runs are not recorded as passes),
    --junitxml (a report). `--cov[=SOURCES]` is taken out and returned, as `aftershock run`
    takes it. Paths, node ids and cosmetic options are the C core's to sort out."""
    out, cov = [], None
    args = [os.fspath(a) if not isinstance(a, str) else a for a in args]
    skip_next = False
    for i, arg in enumerate(args):
        if skip_next:
            skip_next = False
            continue
        name, eq, _ = arg.partition("=")
        if arg == "--cov" or name == "--cov" and eq:
            cov = arg[6:] if eq else ""
        elif arg in _UNKEYED_VALUE and i + 1 < len(args):
            skip_next = True
        elif arg in _UNKEYED or (eq and name in _UNKEYED_VALUE):
            pass
        elif arg.startswith("-n") and not arg.startswith("--") and len(arg) > 2:
            pass  # -n4, -nauto
        elif arg == "-p" and i + 1 < len(args) and args[i + 1] in _UNKEYED_PLUGINS:
            skip_next = True
        elif arg.startswith("-p") and arg[2:] in _UNKEYED_PLUGINS:
            pass
        else:
            out.append(arg)
    return out, cov


def add_options(parser):
    group = parser.getgroup("aftershock", "aftershock test selection")
    group.addoption(
        "--aftershock", action="store_true", default=False,
        help="deselect the test modules whose inputs are unchanged since they passed, and "
             "record results into aftershock's result cache")
    group.addoption(
        "--aftershock-audit", action="store_true", default=False,
        help="run every test module and report failures in those --aftershock would have "
             "deselected (exit 1 if any)")


def configure(config):
    """The session's state: a Controller, a Worker (an xdist worker), or None when the plugin
    was not asked for."""
    global _worker
    audit = config.getoption("aftershock_audit")
    if not (audit or config.getoption("aftershock")):
        return None
    if _worker is None:
        from aftershock import _worker
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        given = workerinput.get("aftershock")
        st = None if given is None else Worker(config, given["root"], given["deselect"])
    else:
        st = Controller(config, audit)
    config.stash[_STATE] = st
    return st


def unconfigure(config):
    st = config.stash.get(_STATE, None)
    if isinstance(st, Controller):
        st.close()


class _Deselecting:
    """Deselection of whole test modules, in whichever process collects."""

    def __init__(self, config, root, deselect):
        self.config = config
        self.root = root
        self.deselect = frozenset(deselect)  # relative paths
        self.deselected = []  # node ids
        self._rel = {}

    def rel(self, path):
        """`path` (absolute, str or os.PathLike) relative to the project root, or None."""
        key = os.fspath(path)
        rel = self._rel.get(key, 0)
        if rel == 0:
            rel = os.path.relpath(os.path.realpath(key), self.root).replace(os.sep, "/")
            rel = self._rel[key] = None if rel == ".." or rel.startswith("../") else rel
        return rel

    def rel_of_nodeid(self, nodeid):
        return self.rel(os.path.join(str(self.config.rootpath), nodeid.split("::", 1)[0]))

    def modifyitems(self, items):
        kept, dropped = [], []
        for item in items:
            (dropped if self.rel(item.path) in self.deselect else kept).append(item)
        if dropped:
            self.config.hook.pytest_deselected(items=dropped)
            items[:] = kept
            self.deselected += [item.nodeid for item in dropped]


class Worker(_Deselecting):
    """An xdist worker: deselects what the controller decided and tells it what that was."""

    def modifyitems(self, items):
        super().modifyitems(items)
        self.config.workeroutput["aftershock_deselected"] = self.deselected


class _StandIn:
    """A deselected item of an xdist worker, as the controller's terminal counts it."""

    def __init__(self, nodeid):
        self.nodeid = nodeid


class Controller(_Deselecting):
    """The process that selects and records: the only one, or xdist's controller."""

    def __init__(self, config, audit):
        self.audit = audit
        args, cov = keyed_args(config.invocation_params.args)
        # Coverage of modules that do not run cannot be replayed into pytest-cov's report, and
        # results without their coverage must not stand in for `aftershock run --cov`'s.
        self.coverage = cov is not None or _worker._pytest_cov_requested(config)
        try:
            self.project = _core.open_project(None, python=sys.executable, pytest_args=args,
                                              cov=cov)
            self.results = self.project.results()
            replayable = set(self.results.replayable())
            self.modules = frozenset(self.project.test_modules())
        except _core.Error as e:
            raise pytest.UsageError("aftershock: %s" % e) from None
        super().__init__(config, self.project.root, ())
        # Modules named by node id run only in part: never replayed, never recorded as passed.
        self.pinned = {self.rel(os.path.join(str(config.invocation_params.dir), a.split("::")[0]))
                       for a in args if "::" in a}
        self.would_deselect = replayable - self.pinned
        if not (audit or self.coverage):
            self.deselect = frozenset(self.would_deselect)
        self.partial = bool(config.getoption("lf", False) or config.getoption("stepwise", False))
        self.junit = _worker._JunitSettings(config)
        self.runs = {}  # relative path -> _worker._Module with what it reported
        self.pending = {}  # relative path -> node ids still to finish
        self.expected = False
        self.findings = []  # audit: modules that failed though selection would skip them
        self.nothing_to_run = False
        self.record_errors = []

    # -- what runs ---------------------------------------------------------------------------

    def _run(self, rel):
        run = self.runs.get(rel)
        if run is None:
            run = self.runs[rel] = _worker._Module("0", os.fsencode(rel),
                                                   os.path.join(self.root, rel))
            run.junit = _worker._Junit(self.junit)
            self.pending[rel] = set()
        return run

    def _module_of(self, nodeid):
        rel = self.rel_of_nodeid(nodeid)
        return rel if rel in self.modules else None

    def expect(self, nodeids):
        """The items collected (once: every xdist worker collects the same)."""
        if self.expected:
            return
        self.expected = True
        for nodeid in nodeids:
            rel = self._module_of(nodeid)
            if rel is not None:
                self._run(rel).collected += 1
                self.pending[rel].add(nodeid)

    def collectreport(self, report):
        rel = None if report.passed else self._module_of(report.nodeid)
        if rel is not None:
            _worker._add_collect_report(self._run(rel), report)

    def logreport(self, report):
        rel = self._module_of(report.nodeid)
        if rel is None:
            return
        run = self._run(rel)
        _worker._add_report(self.config, run, report)
        run.duration += getattr(report, "duration", 0.0)
        if report.when == "teardown":
            self.pending[rel].discard(report.nodeid)

    # -- xdist -------------------------------------------------------------------------------

    def configure_node(self, node):
        node.workerinput["aftershock"] = {"root": self.root, "deselect": sorted(self.deselect)}

    def testnodedown(self, node):
        output = getattr(node, "workeroutput", None) or {}
        ids = output.get("aftershock_deselected")
        if ids is None or self.deselected:
            return
        self.deselected = list(ids)
        # Only the terminal counts them: other plugins' pytest_deselected expect real items.
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and ids:
            reporter.pytest_deselected([_StandIn(i) for i in ids])

    # -- the end -----------------------------------------------------------------------------

    def _failed(self, run):
        return run.counts[1] or run.counts[3]  # failed, errors

    def _record(self):
        for rel, run in sorted(self.runs.items()):
            finished = not self.pending[rel] and not self.partial and rel not in self.pinned
            if self.coverage or not (finished or self._failed(run)):
                continue
            blobs = [(b"junit", run.junit.text()),
                     (b"output", _worker._failure_output(self.config, run))]
            try:
                self.results.record(rel, _worker._result_data(run, blobs))
            except _core.Error as e:
                self.record_errors.append(str(e))

    def sessionfinish(self, session):
        self._record()
        self.close()
        if self.audit:
            self.findings = sorted(rel for rel in self.would_deselect
                                   if rel in self.runs and self._failed(self.runs[rel]))
            if self.findings and session.exitstatus in (pytest.ExitCode.OK,
                                                        pytest.ExitCode.TESTS_FAILED):
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        elif self.deselected and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            self.nothing_to_run = True
            session.exitstatus = pytest.ExitCode.OK

    def close(self):
        if self.results is not None:
            try:
                self.results.close()
            except _core.Error as e:
                self.record_errors.append(str(e))
            self.results = None

    def _deselected_modules(self):
        return {self.rel_of_nodeid(i) for i in self.deselected}

    def header(self):
        if self.coverage:
            return ("aftershock: coverage is measured: every test module runs and no result is "
                    "recorded (`aftershock run --cov` replays coverage)")
        if self.audit:
            return ("aftershock audit: running all test modules; %d of %d would be deselected"
                    % (len(self.would_deselect), len(self.modules)))
        return "aftershock: %s (of %d)" % (_unchanged(len(self.deselect)), len(self.modules))

    def summary(self, reporter):
        for error in self.record_errors:
            reporter.write_line("aftershock: results not recorded: %s" % error, yellow=True)
        unchanged = _unchanged(len(self._deselected_modules()))
        if self.audit:
            self._audit_summary(reporter)
        elif self.nothing_to_run:
            reporter.write_line("aftershock: %s; nothing to run" % unchanged, green=True)
        elif self.deselected:
            reporter.write_line("aftershock: %s: %d tests deselected"
                                % (unchanged, len(self.deselected)))

    def _audit_summary(self, reporter):
        if not self.findings:
            reporter.write_line("aftershock audit: no failure in the %d test modules "
                                "--aftershock would have deselected" % len(self.would_deselect),
                                green=True)
            return
        reporter.write_sep("=", "aftershock audit", red=True)
        reporter.write_line(
            "%d test module(s) failed that --aftershock would have deselected as unchanged "
            "since they passed (an input aftershock does not see, or a flaky test):"
            % len(self.findings), red=True)
        for rel in self.findings:
            reporter.write_line("  " + rel, red=True)


def _unchanged(count):
    if count == 1:
        return "1 test module unchanged since it passed"
    return "%d test modules unchanged since they passed" % count
