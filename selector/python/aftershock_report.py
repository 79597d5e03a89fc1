"""Merge the per-module coverage data of an `aftershock run` into coverage.py's reports.

    python aftershock_report.py --root ROOT [--data-file PATH] [--xml PATH] [--no-term] < LIST

LIST (standard input) names one per-module coverage JSON file per line, as the worker plugin
(aftershock_worker.py) writes them:

    {"version": 1, "arcs": false, "files": {"rel/path.py": [1, 2, 5]}}
    {"version": 1, "arcs": true, "files": {"rel/path.py": [[-1, 1], [1, 2], [2, -1]]}}

with paths relative to ROOT where they are under it. Their union becomes one coverage data file
(--data-file, default ROOT/.coverage), coverage.xml (--xml, default ROOT/coverage.xml) and, unless
--no-term, the terminal report `coverage report` prints. Reports follow the user's coverage
configuration in ROOT (omit, include, show_missing, precision, ...); fail_under is left to the
caller. Source files that no longer exist are left out of the reports.

Exit status: 0, or 1 when an input file was unreadable or malformed (one line on stderr names it
and why; the other files are still merged and reported). Requires coverage.py 5.0 or later.
"""

import argparse
import json
import os
import sys
import warnings

PROG = "aftershock_report"


class BadInput(Exception):
    pass


def _load(path):
    """(arcs, {path relative or absolute: [lines or arcs]}) of one JSON file; BadInput if not."""
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise BadInput(str(e))
    if not isinstance(doc, dict) or doc.get("version") != 1:
        raise BadInput("not version 1 coverage data")
    arcs, files = doc.get("arcs"), doc.get("files")
    if not isinstance(arcs, bool) or not isinstance(files, dict):
        raise BadInput('"arcs" must be a boolean and "files" an object')
    for name, entries in files.items():
        if not name or not isinstance(entries, list):
            raise BadInput("bad entry for %r" % name)
        for entry in entries:
            if arcs:
                ok = (isinstance(entry, list) and len(entry) == 2
                      and all(type(n) is int for n in entry))
            else:
                ok = type(entry) is int and entry >= 0  # 0: an empty module ran
            if not ok:
                raise BadInput("bad %s %r in %r" % ("arc" if arcs else "line", entry, name))
    return arcs, files


def _absolute(root, name):
    if os.path.isabs(name):
        return name
    return os.path.join(root, *name.split("/"))


def _merge(root, paths, warn):
    """{absolute path: set of lines or arcs}, arcs flag, number of bad inputs."""
    merged, arcs_seen, lines_seen, bad = {}, False, False, 0
    inputs = []
    for path in paths:
        try:
            arcs, files = _load(path)
        except BadInput as e:
            warn("%s: %s" % (path, e))
            bad += 1
            continue
        inputs.append((arcs, files))
        arcs_seen |= arcs
        lines_seen |= not arcs
    # Line and branch data cannot share one data file: if both came (the configuration changed
    # between the runs that produced them), branches are reduced to the lines they touch.
    as_arcs = arcs_seen and not lines_seen
    if arcs_seen and lines_seen:
        warn("line and branch data mixed; reporting lines only")
    for arcs, files in inputs:
        for name, entries in files.items():
            target = merged.setdefault(_absolute(root, name), set())
            if as_arcs:
                target.update(tuple(e) for e in entries)
            elif arcs:
                target.update(n for e in entries for n in e if n > 0)
            else:
                target.update(entries)
    return merged, as_arcs, bad


def _write_data(data_file, merged, as_arcs):
    from coverage import CoverageData

    for stale in (data_file, data_file + "-journal"):
        try:
            os.unlink(stale)
        except FileNotFoundError:
            pass
    data = CoverageData(basename=data_file)
    if as_arcs:
        data.add_arcs({f: sorted(v) for f, v in merged.items()})
    else:
        data.add_lines({f: sorted(v) for f, v in merged.items()})
    data.write()


def main(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="the project root")
    parser.add_argument("--data-file", help="coverage data file (default ROOT/.coverage)")
    parser.add_argument("--xml", help="XML report (default ROOT/coverage.xml)")
    parser.add_argument("--no-term", action="store_true", help="no terminal report")
    args = parser.parse_args(argv)

    def warn(message):
        sys.stderr.write("%s: %s\n" % (PROG, message))

    # coverage's warnings (a source file deleted since it was measured, ...) on one line too.
    warnings.showwarning = lambda message, *args, **kwargs: warn(message)

    root = os.path.abspath(args.root)
    data_file = os.path.abspath(args.data_file or os.path.join(root, ".coverage"))
    xml_file = os.path.abspath(args.xml or os.path.join(root, "coverage.xml"))
    paths = [os.path.abspath(line) for line in sys.stdin.read().splitlines() if line.strip()]

    merged, as_arcs, bad = _merge(root, paths, warn)
    _write_data(data_file, merged, as_arcs)

    import coverage

    # The user's configuration is found, and file names are shown, relative to the root.
    os.chdir(root)
    cov = coverage.Coverage(data_file=data_file, config_file=True)
    cov.load()
    try:
        cov.xml_report(outfile=xml_file, ignore_errors=True)
        if not args.no_term:
            sys.stdout.flush()
            cov.report(file=sys.stdout, ignore_errors=True)
    except coverage.CoverageException as e:  # "No data to report.", and the like
        warn(str(e))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
