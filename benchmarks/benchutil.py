"""Helpers shared by the benchmark scripts: PyPI sdists fetched and checked, deterministic git
commits of generated and downloaded trees, and the machine's CPU model for the reports."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

INDEX = os.environ.get("AFTERSHOCK_BENCH_INDEX", "https://pypi.org/simple")


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


def fetch_sdist(requirement: str, dest: Path, author: str) -> Path:
    """The sdist of `requirement` ("name==version") from PyPI's simple index (PEP 503; INDEX,
    or $AFTERSHOCK_BENCH_INDEX), its sha256 checked against the index's, extracted into `dest`
    and committed to git; reused while `dest` is a clean work tree.

    Not `pip download`: that builds the sdist's metadata, which for projects with compiled
    parts (pandas: meson) needs their whole build toolchain."""
    if dest.is_dir() and git_clean(dest):
        return dest
    name, _, version = requirement.partition("==")
    if not version:
        raise ValueError(f"{requirement}: pin an exact version (name==version)")
    norm = re.sub(r"[-_.]+", "-", name).lower()
    print(f"benchmarks: downloading {requirement} ...", file=sys.stderr)
    with urllib.request.urlopen(f"{INDEX}/{norm}/", timeout=60) as r:
        page = r.read().decode("utf-8", "replace")
    stem = "[-_.]+".join(re.escape(part) for part in re.split(r"[-_.]+", name))
    pat = re.compile(rf'href="([^"#]*/({stem}-{re.escape(version)}\.tar\.gz))'
                     r'#sha256=([0-9a-f]{64})"', re.IGNORECASE)
    m = pat.search(page)
    if not m:
        raise ValueError(f"{requirement}: no .tar.gz sdist on {INDEX}/{norm}/")
    url, filename, digest = m.groups()
    with urllib.request.urlopen(url, timeout=300) as r:
        data = r.read()
    if hashlib.sha256(data).hexdigest() != digest:
        raise ValueError(f"{filename}: sha256 differs from the index's {digest}")
    subprocess.run(["rm", "-rf", str(dest)], check=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        archive = Path(tmp) / filename
        archive.write_bytes(data)
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        top = next(p for p in Path(tmp).iterdir() if p.is_dir())
        top.rename(dest)
    git_commit(str(dest), author, f"{requirement} sdist")
    return dest


def ensure_venv(venv: Path, requirements: Path, who: str) -> Path:
    """A virtualenv at `venv` with `requirements` installed, reused while that file is
    unchanged (its sha256 is kept in the venv) and made anew when it changes."""
    stamp = venv / "requirements.sha256"
    digest = file_digest(requirements)
    if stamp.is_file() and stamp.read_text().strip() == digest:
        return venv
    print(f"{who}: creating {venv} ...", file=sys.stderr)
    subprocess.run(["rm", "-rf", str(venv)], check=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                    "-r", str(requirements)], check=True, stdout=sys.stderr)
    stamp.write_text(digest + "\n")
    return venv
