"""`aftershock plan` and `aftershock run --shard K/N [--plan FILE]`: the modules that must run,
split into shards that together run each of them exactly once."""

import importlib.util
import json
import xml.etree.ElementTree as ET

import pytest

from conftest import ran
from remote_server import dav_server, dav_server_factory, remote_env  # noqa: F401 (fixtures)

SLOW = "import time\n\ndef test_slow():\n    time.sleep(0.6)\n"
FAST = "def test_fast():\n    assert True\n"

PROJECT = {
    "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["src"]\n',
    "src/app/core.py": "def add(a, b):\n    return a + b\n",
    "tests/test_core.py": "from app.core import add\n\ndef test_add():\n    assert add(1, 1) == 2\n",
    "tests/test_slow.py": SLOW,
    **{f"tests/test_f{i}.py": FAST for i in range(5)},
}
MODULES = {p for p in PROJECT if p.startswith("tests/")}


@pytest.fixture
def project(tmp_path, make_tree, git_init):
    return git_init(make_tree(tmp_path / "proj", PROJECT))


def plan_json(ash, root, *args, env=None):
    proc = ash(root, "plan", "--json", *args, env=env, check=0)
    return json.loads(proc.stdout)


def junit_files(path):
    """The module paths of a JUnit file's test cases (classname "tests.test_x")."""
    return {case.get("classname").replace(".", "/") + ".py"
            for case in ET.parse(path).iter("testcase")}


def test_plan_lists_cold_and_warm_and_splits_the_cold_exactly(project, ash):
    first = plan_json(ash, project, "--shards", "3")
    assert set(first["cold_modules"]) == MODULES and first["warm_modules"] == []
    assert first["modules"] == len(MODULES) and first["cold"] == len(MODULES)
    split = [m for shard in first["plan"] for m in shard["modules"]]
    assert sorted(split) == sorted(MODULES)
    assert [s["shard"] for s in first["plan"]] == [1, 2, 3]
    assert [m["shard"] for m in first["matrix"]["include"]] == ["1/3", "2/3", "3/3"]

    ash(project, "run", "-j", "2", "tests/test_core.py", check=0)
    after = plan_json(ash, project, "--shards", "2")
    assert after["warm_modules"] == ["tests/test_core.py"]
    assert "tests/test_core.py" not in [m for s in after["plan"] for m in s["modules"]]
    cold = ash(project, "plan", "--cache-status", "cold", check=0).stdout.split()
    assert sorted(cold) == sorted(MODULES - {"tests/test_core.py"})


def test_plan_balances_by_the_last_durations(project, ash):
    ash(project, "run", "-j", "2", check=0)
    (project / "src/app/core.py").write_text("def add(a, b):\n    return b + a\n")
    for name in MODULES - {"tests/test_core.py"}:  # every module cold again
        (project / name).write_text((project / name).read_text() + "# again\n")
    plan = plan_json(ash, project, "--shards", "2")
    slow_shard = next(s for s in plan["plan"] if "tests/test_slow.py" in s["modules"])
    # the slow module outweighs the six fast ones: it gets a shard of its own
    assert slow_shard["modules"] == ["tests/test_slow.py"]
    assert slow_shard["seconds"] >= 0.5


def test_shards_of_a_plan_run_each_cold_module_once(project, ash, tmp_path):
    ash(project, "run", "-j", "2", "tests/test_f0.py", check=0)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(ash(project, "plan", "--shards", "3", "--json", check=0).stdout)
    plan = json.loads(plan_file.read_text())
    seen = []
    covered = set()
    for k in (1, 2, 3):
        junit = tmp_path / f"junit-{k}.xml"
        proc = ash(project, "run", "--shard", f"{k}/3", "--plan", plan_file,
                   "--junitxml", junit, check=0)
        seen += list(ran(proc))
        shard_files = junit_files(junit)
        assert not shard_files & covered, "a module reported by two shards"
        covered |= shard_files
        if k == 1:
            assert "1 replayed" in proc.stdout  # shard 1 replays the warm module
    assert sorted(seen) == sorted(plan["cold_modules"])  # each cold module run exactly once
    assert len(covered) == len(MODULES)


def test_shards_without_a_plan_cover_the_suite_once(project, ash):
    seen = []
    for k in (1, 2):
        seen += list(ran(ash(project, "run", "--shard", f"{k}/2", check=0)))
    assert sorted(seen) == sorted(MODULES)


def test_bad_shard_and_plan_arguments_are_usage_errors(project, ash, tmp_path):
    assert ash(project, "run", "--shard", "3/2").returncode == 4
    assert ash(project, "run", "--plan", "x.json").returncode == 4
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(ash(project, "plan", "--shards", "2", "--json", check=0).stdout)
    wrong = ash(project, "run", "--shard", "1/3", "--plan", plan_file)
    assert wrong.returncode == 4 and "a plan of 2 shards" in wrong.stderr
    plan_file.write_text('{"version": 1, "shards": 2')
    broken = ash(project, "run", "--shard", "1/2", "--plan", plan_file)
    assert broken.returncode == 4 and str(plan_file) in broken.stderr


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="pytest-xdist not installed")
def test_xdist_inside_a_shard_keeps_per_module_results(project, ash, tmp_path):
    junit = tmp_path / "junit.xml"
    proc = ash(project, "run", "--shard", "1/2", "--junitxml", junit, "--", "-n", "2", check=0)
    mine = set(ran(proc))
    assert mine and all(outcome == "passed" for outcome in ran(proc).values())
    assert junit_files(junit) == mine
    # -n decides no outcome: the results replay without it (and with another count)
    again = ash(project, "run", "--shard", "1/2", check=0)
    assert ran(again) == {} and f"{len(mine)} replayed" in again.stdout
    other = ash(project, "run", "--shard", "1/2", "--", "-n3", check=0)
    assert ran(other) == {}


def test_plan_on_a_fresh_machine_balances_by_the_shared_durations(dav_server, tmp_path,
                                                                  make_tree, git_init, ash):
    env = remote_env(dav_server.url)
    a = git_init(make_tree(tmp_path / "a", PROJECT))
    ash(a, "run", "-j", "2", "--remote-write", env=env, check=0)
    # another machine, at a commit that makes every module cold, with a parse cache of its
    # own (so no state snapshot is restored): only the shared durations can tell it
    b = git_init(make_tree(tmp_path / "b", {
        **PROJECT, **{m: PROJECT[m] + "# changed\n" for m in MODULES}}))
    ash(b, "graph", check=0)
    plan = plan_json(ash, b, "--shards", "2", env=env)
    assert plan["cold"] == len(MODULES)
    slow_shard = next(s for s in plan["plan"] if "tests/test_slow.py" in s["modules"])
    assert slow_shard["modules"] == ["tests/test_slow.py"] and slow_shard["seconds"] >= 0.5
    # without the remote, nothing is known: the modules are spread by count
    blind = plan_json(ash, b, "--shards", "2")
    assert max(len(s["modules"]) for s in blind["plan"]) == (len(MODULES) + 1) // 2
