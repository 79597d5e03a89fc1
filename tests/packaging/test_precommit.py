"""The pre-commit hooks of .pre-commit-hooks.yaml, driven by the real pre-commit: in a temporary
git repository, a commit runs exactly the test modules its staged changes affect, a failing
test blocks the commit, and `aftershock-affected` lists the modules without running them.

pre-commit installs the hooks from a git repository: a temporary one whose single commit holds
this work tree's files (tracked and untracked, not ignored, so without third_party/: the build
fetches the tree-sitter sources as it would for a user). pre-commit builds aftershock into the
hook's environment once per session (a shared PRE_COMMIT_HOME)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pkgtest_util import REPO, git, run

HOOKS = ("aftershock-run", "aftershock-affected")


@pytest.fixture(scope="session")
def pre_commit() -> list[str]:
    if importlib.util.find_spec("pre_commit") is None:
        pytest.skip("pre-commit is not installed (pip install -r requirements-dev.txt)")
    return [sys.executable, "-m", "pre_commit"]


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory, git_env) -> tuple[Path, str]:
    """A git repository with one commit of this work tree: (path, commit)."""
    repo = tmp_path_factory.mktemp("hook-repo")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        src = REPO / name
        if src.is_file():  # a tracked file deleted in the work tree is left out
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / name)
    git("init", "-q", cwd=repo, env=git_env)
    git("add", "-A", cwd=repo, env=git_env)
    git("commit", "-q", "-m", "aftershock work tree", cwd=repo, env=git_env)
    sha = git("rev-parse", "HEAD", cwd=repo, env=git_env).stdout.strip()
    return repo, sha


@pytest.fixture(scope="session")
def hook_env(tmp_path_factory, git_env) -> dict:
    """git's isolated environment with one PRE_COMMIT_HOME for the session: the hook
    environment (a build of aftershock) is made once."""
    return dict(git_env, PRE_COMMIT_HOME=str(tmp_path_factory.mktemp("pre-commit-home")))


SOURCES = {
    "src/shop/__init__.py": "",
    "src/shop/money.py": "def cents(euros):\n    return round(euros * 100)\n",
    "src/shop/cart.py": """
        from shop.money import cents

        def total(prices):
            return sum(cents(p) for p in prices)
        """,
    "src/shop/mail.py": "def subject(order):\n    return f'Order {order}'\n",
}
TESTS = {
    "test_money": ("from shop.money import cents", "assert cents(1.5) == 150"),
    "test_cart": ("from shop.cart import total", "assert total([1, 2.5]) == 350"),
    "test_mail": ("from shop.mail import subject", "assert subject(7) == 'Order 7'"),
}


class Project:
    """A git repository with a small package, a test module per source module (whose test logs
    the module's name when it runs), aftershock's hooks installed, and a first run that filled
    the cache."""

    def __init__(self, root: Path, log: Path, env: dict, pre_commit: list[str]):
        self.root, self.log, self.env, self.pre_commit = root, log, env, pre_commit

    def write(self, name: str, text: str) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())

    def git(self, *args, check=True) -> subprocess.CompletedProcess:
        return git(*args, cwd=self.root, env=self.env, check=check)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.strip()

    def ran(self) -> list[str]:
        """The test modules that ran since the last call."""
        names = sorted(self.log.read_text().split()) if self.log.exists() else []
        self.log.unlink(missing_ok=True)
        return names

    def commit(self, message: str) -> subprocess.CompletedProcess:
        return self.git("commit", "-m", message, check=False)

    def run_hook(self, hook: str) -> subprocess.CompletedProcess:
        return run([*self.pre_commit, "run", hook], cwd=self.root, env=self.env, check=False,
                   timeout=1200)


@pytest.fixture()
def project(tmp_path, hook_repo, hook_env, pre_commit, aftershock_bin) -> Project:
    repo, sha = hook_repo
    p = Project(tmp_path / "project", tmp_path / "ran.log", hook_env, pre_commit)
    # The tests run with this interpreter (it has pytest), not with the hook's environment.
    p.write("pyproject.toml", f"""
        [tool.aftershock]
        python = {sys.executable!r}

        [tool.pytest.ini_options]
        pythonpath = ["src"]
        """)
    for name, text in SOURCES.items():
        p.write(name, text)
    for name, (imp, check) in TESTS.items():
        p.write(f"tests/{name}.py", f"""
            {imp}

            def test_it():
                with open({str(p.log)!r}, "a") as f:
                    f.write("{name}\\n")
                {check}
            """)
    p.write(".gitignore", ".aftershock/\n__pycache__/\n.pytest_cache/\n")
    hooks = "".join(f"      - id: {h}\n" for h in HOOKS)
    p.write(".pre-commit-config.yaml", f"repos:\n  - repo: {repo}\n    rev: {sha}\n"
            f"    hooks:\n{hooks}")
    p.git("init", "-q")
    p.git("add", "-A")
    p.git("commit", "-q", "-m", "shop")
    run([*pre_commit, "install"], cwd=p.root, env=hook_env)
    # A full run fills the result cache, as a developer's first `aftershock run` does.
    run([aftershock_bin, "run"], cwd=p.root, env=hook_env)
    assert p.ran() == ["test_cart", "test_mail", "test_money"]
    return p


def test_commit_runs_exactly_the_dependents_tests(project):
    project.write("src/shop/money.py", "def cents(euros):\n    return int(round(euros * 100))\n")
    project.git("add", "src/shop/money.py")
    before = project.head()
    proc = project.commit("money: int cents")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert project.head() != before
    # test_cart imports shop.cart, which imports shop.money; test_mail imports neither.
    assert project.ran() == ["test_cart", "test_money"]
    # aftershock-affected is verbose: its list is in the commit's output.
    listed = [line.strip() for line in out.splitlines() if line.strip().startswith("tests/")]
    assert listed == ["tests/test_cart.py", "tests/test_money.py"], out


def test_failing_test_blocks_the_commit(project):
    project.write("src/shop/mail.py", "def subject(order):\n    return f'Order #{order}'\n")
    project.git("add", "src/shop/mail.py")
    before = project.head()
    proc = project.commit("mail: number sign")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert project.head() == before, "the commit was made although a test failed"
    assert project.ran() == ["test_mail"]
    assert "tests/test_mail.py" in out and "Failed" in out, out
    # The change is still staged, ready for a fixed commit.
    staged = project.git("diff", "--cached", "--name-only").stdout.split()
    assert staged == ["src/shop/mail.py"]


def test_affected_hook_lists_without_running(project):
    cart = textwrap.dedent(SOURCES["src/shop/cart.py"]).lstrip()
    project.write("src/shop/cart.py", cart + "\n# cheaper\n")
    project.git("add", "src/shop/cart.py")
    proc = project.run_hook("aftershock-affected")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "tests/test_cart.py" in proc.stdout
    assert "tests/test_money.py" not in proc.stdout and "tests/test_mail.py" not in proc.stdout
    assert project.ran() == []


def test_unrelated_staged_file_runs_nothing(project):
    project.write("NOTES.md", "nothing to test here\n")
    project.git("add", "NOTES.md")
    proc = project.commit("notes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert project.ran() == []
