#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, built afresh into OUT/<target>/ (fuzz/run.sh, `make fuzz`).

From the repository's files: the Python files of tests/, examples/, selector/python/ and
benchmarks/, and a sample of the standard library's (extract, scan); every TOML file,
pytest.ini, tox.ini and setup.cfg, and those of the tree-sitter sdists in third_party/ (toml,
config, pytest_config). From one
`aftershock run --cov` of examples/demo in a temporary copy (when --bin is given and the run
works): its parse cache (pcache), result-cache entries (rcache), last-run state (state), the
interpreter facts (envinfo), and result files composed from the cached entries and blobs
(result). Inputs of the targets that take a flag byte first (see each fuzz_<name>.c) get one.
The handwritten seeds of fuzz/seeds/<target>/ are passed to the fuzzers beside these.
"""
import argparse
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import sysconfig
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY_MAX = 64 << 10  # larger Python files slow extraction down more than they add
STDLIB_SAMPLE = 100  # standard-library modules added to the extraction seeds
PYTEST_CONFIG_NAMES = ["pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"]


def files_under(dirs, predicate):
    """The repository's files (tracked, or untracked but not ignored) under `dirs`."""
    try:
        out = subprocess.run(["git", "-C", ROOT, "ls-files", "-co", "--exclude-standard", "-z",
                              "--"] + dirs, capture_output=True, check=True).stdout
        rels = sorted(p.decode() for p in out.split(b"\0") if p)
    except (OSError, subprocess.CalledProcessError):
        rels = sorted(os.path.relpath(os.path.join(d, n), ROOT)
                      for top in dirs for d, subdirs, names in os.walk(os.path.join(ROOT, top))
                      if not any(part.startswith((".", "build")) and part != "."
                                 for part in os.path.relpath(d, ROOT).split(os.sep))
                      for n in names)
    for rel in rels:
        path = os.path.join(ROOT, rel)
        if predicate(os.path.basename(rel)) and os.path.isfile(path):
            yield path


def stdlib_sample():
    """Every n-th small module of the interpreter's standard library: real-world syntax."""
    root = sysconfig.get_paths()["stdlib"]
    paths = sorted(os.path.join(d, n) for d, subdirs, names in os.walk(root)
                   if "site-packages" not in d and "dist-packages" not in d
                   for n in names if n.endswith(".py"))
    paths = [p for p in paths if os.path.getsize(p) <= PY_MAX // 4]
    step = max(1, len(paths) // STDLIB_SAMPLE)
    return paths[::step][:STDLIB_SAMPLE]


class Corpus:
    def __init__(self, out):
        self.out = out
        self.counts = {}

    def add(self, target, data):
        d = os.path.join(self.out, target)
        os.makedirs(d, exist_ok=True)
        name = hashlib.sha1(data).hexdigest()
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        self.counts[target] = self.counts.get(target, 0) + 1


def read(path):
    with open(path, "rb") as f:
        return f.read()


def fixture_seeds(corpus):
    for path in list(files_under(["tests", "examples", "selector/python", "benchmarks"],
                                 lambda n: n.endswith(".py"))) + stdlib_sample():
        data = read(path)
        if len(data) <= PY_MAX:
            corpus.add("extract", data)
            corpus.add("scan", data)
    third = [os.path.join(ROOT, "third_party", d, n)
             for d in sorted(os.listdir(os.path.join(ROOT, "third_party")))
             if os.path.isdir(os.path.join(ROOT, "third_party", d))
             for n in ("pyproject.toml", "setup.cfg")] if os.path.isdir(
                 os.path.join(ROOT, "third_party")) else []
    configs = list(files_under(["."],
                               lambda n: n in PYTEST_CONFIG_NAMES or n.endswith(".toml")))
    for path in sorted(set(configs + [p for p in third if os.path.isfile(p)])):
        name = os.path.basename(path)
        data = read(path)
        if name.endswith(".toml"):
            corpus.add("toml", data)
            corpus.add("config", data)
        if name in PYTEST_CONFIG_NAMES:
            corpus.add("pytest_config", bytes([PYTEST_CONFIG_NAMES.index(name)]) + data)


def run_demo(binary, work):
    """`aftershock run` on a copy of examples/demo; the copy's .aftershock, or None."""
    project = os.path.join(work, "demo")
    shutil.copytree(os.path.join(ROOT, "examples", "demo"), project,
                    ignore=shutil.ignore_patterns(".aftershock", "__pycache__"))
    python = os.environ.get("PYTHON", "python3")
    has_cov = subprocess.run([python, "-c", "import coverage"], capture_output=True).returncode == 0
    cmd = [binary, "run", "--python", python] + (["--cov"] if has_cov else [])
    try:
        proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"seeds: {' '.join(cmd)}: {e}; no seeds from the demo run", file=sys.stderr)
        return None
    if proc.returncode != 0:
        print(f"seeds: {' '.join(cmd)} exited {proc.returncode}; using what it left",
              file=sys.stderr)
    state = os.path.join(project, ".aftershock")
    return state if os.path.isdir(state) else None


def result_file(entry, cas):
    """A worker result file with the content of result-cache entry `entry` (see rcache.c)."""
    (mlen,) = struct.unpack_from("<I", entry, 24)
    at = 28
    module = entry[at:at + mlen]
    at += mlen
    outcome, *rest = struct.unpack_from("<I6II", entry, at)
    counts, collected = rest[:6], rest[6]
    at += 32
    (duration,) = struct.unpack_from("<d", entry, at)
    at += 16
    text = b"ASHW 1\nmodule %s\ncounts %s\ncollected %d\nduration %.6f\n" % (
        module, " ".join(map(str, counts)).encode(), collected, duration)
    for name in (b"junit", b"output", b"coverage"):
        size, digest = struct.unpack_from("<Q16s", entry, at)
        at += 24
        if size:
            path = os.path.join(cas, digest.hex()[:2], digest.hex())
            blob = read(path) if os.path.isfile(path) else b""
            text += b"%s %d\n%s\n" % (name, len(blob), blob)
    return text + b"end\n"


def demo_seeds(corpus, state):
    pcache = os.path.join(state, "parse-cache.bin")
    if os.path.isfile(pcache):
        corpus.add("pcache", b"\x01" + read(pcache))
    cache = os.path.join(state, "cache")
    last_run = os.path.join(cache, "last-run")
    if os.path.isfile(last_run):
        corpus.add("state", b"\x01" + read(last_run))
    ac = os.path.join(cache, "ac")
    entries = sorted(os.path.join(d, n) for d, subdirs, names in os.walk(ac)
                     for n in names if len(n) == 32)
    for path in entries:
        entry = read(path)
        # fix key + checksum, with blobs stored / missing / corrupt (see fuzz_rcache.c)
        for flags in (0x07, 0x03, 0x0f):
            corpus.add("rcache", bytes([flags]) + entry)
        corpus.add("result", result_file(entry, os.path.join(cache, "cas")))
    for name in sorted(os.listdir(state)):
        if name.startswith("python-") and name.endswith(".txt"):
            text = read(os.path.join(state, name))
            end = text.find(b"\nend\n")
            corpus.add("envinfo", text[end + 5:] if end >= 0 else text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="directory to fill with <target>/ seed directories")
    ap.add_argument("--bin", help="an aftershock binary to run on examples/demo")
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    corpus = Corpus(args.out)
    fixture_seeds(corpus)
    if args.bin and os.access(args.bin, os.X_OK):
        with tempfile.TemporaryDirectory(prefix="ash-fuzz-seeds-") as work:
            state = run_demo(os.path.abspath(args.bin), work)
            if state:
                demo_seeds(corpus, state)
    elif args.bin:
        print(f"seeds: {args.bin} is not an executable; no seeds from the demo run",
              file=sys.stderr)
    print("seeds: " + ", ".join(f"{t} {n}" for t, n in sorted(corpus.counts.items())))


if __name__ == "__main__":
    main()
