"""aftershock's pytest plugin, inactive unless asked for:

    pytest --aftershock          deselect the test modules whose inputs are unchanged since
                                 they passed; record outcomes into aftershock's result cache
    pytest --aftershock-audit    run everything; report failures in the modules --aftershock
                                 would have deselected (exit 1 if any)

Registered through the `pytest11` entry point `aftershock`. This module holds only hooks: what
they do is in aftershock._plugin, and the selection itself in the C core. The per-session
hooks are methods of objects registered once the options ask for them (a report does not say
which session it belongs to).
"""

import pytest

from aftershock import _plugin


def pytest_addoption(parser):
    _plugin.add_options(parser)


def pytest_configure(config):
    st = _plugin.configure(config)
    if isinstance(st, _plugin.Controller):
        config.pluginmanager.register(_ControllerHooks(st), "aftershock-session")
    elif st is not None:
        config.pluginmanager.register(_DeselectHooks(st), "aftershock-session")


def pytest_unconfigure(config):
    _plugin.unconfigure(config)


class _DeselectHooks:
    """In the process that collects: the only one, or each xdist worker."""

    def __init__(self, st):
        self.st = st

    def pytest_collection_modifyitems(self, items):
        self.st.modifyitems(items)


class _ControllerHooks(_DeselectHooks):
    """In the process that selects and records: the only one, or xdist's controller."""

    def pytest_report_header(self):
        return self.st.header()

    def pytest_collection_finish(self, session):
        self.st.expect(item.nodeid for item in session.items)

    def pytest_collectreport(self, report):
        self.st.collectreport(report)

    def pytest_runtest_logreport(self, report):
        self.st.logreport(report)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node):
        self.st.configure_node(node)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, ids):
        self.st.expect(ids)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node):
        self.st.testnodedown(node)

    def pytest_sessionfinish(self, session):
        self.st.sessionfinish(session)

    def pytest_terminal_summary(self, terminalreporter):
        self.st.summary(terminalreporter)
