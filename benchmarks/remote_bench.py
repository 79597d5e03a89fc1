#!/usr/bin/env python3
"""Benchmark the shared cache and sharding of `aftershock run` on a generated test suite.

The suite is run_bench.py's (gen_suite.py, --modules test modules, reused under --work). A
real nginx with WebDAV (Debian's nginx-light, as the tests start it) serves the cache on
loopback. Two clones of the suite stand for two CI machines. Each round measures, in order:

    pytest          python -m pytest -q -p no:cacheprovider     on machine B (the baseline)
    write           aftershock run -j J --force --remote-write  on machine A, its .aftershock/
                                                                removed first: runs everything
                                                                (--force: not even the server's
                                                                results replay) and uploads
    remote          aftershock run -j J                         on machine B with no .aftershock/:
                                                                state restored, every module
                                                                replayed from the server
    local           aftershock run -j J                         on B again: from its local cache

Then, once: a change to core/numbers.py (which every test module imports) makes every module
cold; `aftershock plan --shards S --json` splits them by the durations the write runs stored,
and the S shards run one after another on machine B (`run --shard K/S --plan`), each timed:
the longest shard against the mean shard is the balance a CI matrix would see.

Wall time is time.perf_counter around spawn and wait; medians of --runs rounds, ratios to
pytest measured in the same rounds.

Usage: python3 benchmarks/remote_bench.py [--bin build/aftershock] [--modules 2000] [--runs 3]
           [--jobs 2] [--shards 4] [--work benchmarks/.work] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchutil
import run_bench

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
from remote_server import DavServer  # noqa: E402 (the tests' nginx harness)


def timed(argv, cwd, env):
    t0 = time.perf_counter()
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=3600)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"remote_bench: {' '.join(map(str, argv))} exited {proc.returncode}:\n"
                         f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return seconds, proc


def clone(src: Path, dest: Path) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(src), str(dest)], check=True)
    return dest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(HERE.parent / "build" / "aftershock"))
    ap.add_argument("--modules", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--work", default=str(HERE / ".work"))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    work = Path(args.work).resolve()
    suite, manifest = run_bench.ensure_generated(work, args.modules, 1)
    binary = work / "remote-aftershock"
    shutil.copy2(args.bin, binary)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "PYTEST_ADDOPTS") and
           not k.startswith("AFTERSHOCK_")}
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)
    tmp = Path(tempfile.mkdtemp(prefix="remote-bench-"))
    server = DavServer(tmp / "dav")
    env.update(AFTERSHOCK_REMOTE=server.url, AFTERSHOCK_SCOPE="main", no_proxy="127.0.0.1")
    a, b = clone(suite, tmp / "a"), clone(suite, tmp / "b")
    jobs = ["-j", str(args.jobs)]
    times = {k: [] for k in ("pytest", "write", "remote", "local")}
    try:
        timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], b, env)  # warm-up
        for r in range(args.runs):
            print(f"remote_bench: round {r + 1}/{args.runs}", file=sys.stderr, flush=True)
            times["pytest"].append(timed(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], b, env)[0])
            shutil.rmtree(a / ".aftershock", ignore_errors=True)
            times["write"].append(timed([binary, "run", *jobs, "--force", "--remote-write"], a,
                                         env)[0])
            shutil.rmtree(b / ".aftershock", ignore_errors=True)
            seconds, proc = timed([binary, "run", *jobs, "--cache-summary", "-"], b, env)
            hits = json.loads(proc.stdout[proc.stdout.index("{"):])
            assert hits["run"] == 0 and hits["state"]["restored_from"] == "main", hits
            times["remote"].append(seconds)
            times["local"].append(timed([binary, "run", *jobs], b, env)[0])
        core = b / manifest["core"]
        original = core.read_bytes()
        core.write_bytes(original + b"\n# cold\n")
        plan_file = tmp / "plan.json"
        plan_s, proc = timed([binary, "plan", "--shards", args.shards, "--json"], b, env)
        plan_file.write_text(proc.stdout)
        plan = json.loads(proc.stdout)
        shard_times = [timed([binary, "run", *jobs, "--shard", f"{k}/{args.shards}", "--plan",
                              plan_file], b, env)[0] for k in range(1, args.shards + 1)]
        core.write_bytes(original)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    rng = {k: f"{min(v):.2f}–{max(v):.2f}" for k, v in times.items()}
    rows = [
        ("pytest (everything, one process)", "pytest"),
        ("machine A: run everything, upload (`--force --remote-write`)", "write"),
        ("machine B, fresh: replay everything from the server", "remote"),
        ("machine B again: replay from its local cache", "local"),
    ]
    lines = [
        f"- suite: gen_suite.py --modules {manifest['test_modules']} ({manifest['tests']} tests); "
        f"{args.runs} rounds, medians (range); `-j {args.jobs}`; nginx {nginx_version()} "
        "WebDAV on loopback",
        "",
        "| scenario | seconds | ÷ pytest |",
        "|---|--:|--:|",
    ]
    for label, key in rows:
        lines.append(f"| {label} | {med[key]:.2f} ({rng[key]}) | {med[key] / med['pytest']:.3f}× |")
    expected = [s["seconds"] for s in plan["plan"]]
    lines += [
        "",
        f"After a change to `{manifest['core']}` ({plan['cold']} modules cold): `plan --shards "
        f"{args.shards}` took {plan_s:.2f} s; expected shard seconds "
        f"{', '.join(f'{x:.1f}' for x in expected)}.",
        "",
        "| shard | modules | measured seconds |",
        "|---|--:|--:|",
    ]
    for k, seconds in enumerate(shard_times):
        lines.append(f"| {k + 1}/{args.shards} | {len(plan['plan'][k]['modules'])} | "
                     f"{seconds:.2f} |")
    mean = statistics.mean(shard_times)
    lines += ["", f"Longest shard ÷ mean shard: {max(shard_times) / mean:.2f} (1.00 is a "
              f"perfect split; the shards ran one after another on this machine)."]
    table = "\n".join(lines) + "\n"
    benchutil.emit(table, Path(args.out) if args.out else None, None, [])
    return 0


def nginx_version() -> str:
    proc = subprocess.run(["nginx", "-v"], capture_output=True, text=True)
    return proc.stderr.strip().rsplit("/", 1)[-1]


if __name__ == "__main__":
    sys.exit(main())
