"""Helpers shared by the benchmark scripts: deterministic git commits of generated trees, and
the machine's CPU model for the reports."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import platform
import subprocess


def git_commit(out: str, author: str, message: str) -> None:
    """`git init` + one commit of everything in `out`, with fixed author, committer and
    dates: the same tree always gets the same commit id."""
    env = dict(os.environ, GIT_AUTHOR_DATE="2024-01-01T00:00:00+0000",
               GIT_COMMITTER_DATE="2024-01-01T00:00:00+0000", GIT_CONFIG_NOSYSTEM="1")
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    base = ["git", "-C", out, "-c", f"user.name={author}", "-c",
            "user.email=gen@example.invalid", "-c", "core.autocrlf=false", "-c",
            "commit.gpgsign=false", "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run(base + args, check=True, env=env, stdout=subprocess.DEVNULL)


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo, else what platform knows."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return model


def git_clean(path) -> bool:
    """Is `path` a git work tree without changes?"""
    out = subprocess.run(["git", "-C", str(path), "status", "--porcelain"], capture_output=True,
                         text=True)
    return out.returncode == 0 and out.stdout == ""


def file_digest(path) -> str:
    """sha256 of a file (a generator script: generated trees are reused while it is the same)."""
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def emit(table: str, out, json_path, records: list) -> None:
    """Print the Markdown table; also write it to `out` and `records` as JSON to `json_path`
    (pathlib.Path or None each)."""
    sys.stdout.write(table)
    if out:
        out.write_text(table)
    if json_path:
        json_path.write_text(json.dumps(records, indent=1) + "\n")
