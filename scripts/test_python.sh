#!/usr/bin/env bash
# The Python tests against the installed wheel (make test-python): a fresh virtualenv with the
# wheel and the pinned test packages, then tests/python (the extension and the pytest plugin)
# and tests/packaging (the wheel in another fresh virtualenv, the pre-commit hooks, the wheel
# keys of examples/wheel-keys).
#
#   scripts/test_python.sh [VENV [WHEEL_DIR]]      (defaults: build-venv dist)
#
# While the wheel holds no `aftershock` package (bindings/ not built into it), tests/python is
# skipped with a message and tests/packaging runs with the wheel only in its own virtualenvs.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
venv=${1:-build-venv}
wheel_dir=${2:-dist}

wheel=$(ls -t "$wheel_dir"/aftershock-*.whl 2>/dev/null | head -1 || true)
if [ -z "$wheel" ]; then
    echo "test-python: no wheel in $wheel_dir/ (run \`make wheel\`)" >&2
    exit 1
fi
wheel=$(realpath "$wheel")

rm -rf "$venv"
"$PYTHON" -m venv "$venv"
venv=$(realpath "$venv")
py="$venv/bin/python"
PIP_DISABLE_PIP_VERSION_CHECK=1 "$py" -m pip install -q -r requirements-dev.txt "$wheel"

# The tests run the installed package and CLI, not the build tree's.
export AFTERSHOCK_WHEEL="$wheel" AFTERSHOCK_BIN="$venv/bin/aftershock" AFTERSHOCK_TEST_INSTALLED=1
export VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH"
unset PYTHONPATH

status=0
if (cd / && "$py" -c "import aftershock._core") 2>/dev/null; then
    if [ -d tests/python ]; then
        "$py" -m pytest -q -n "$JOBS" tests/python || status=$?
    else
        echo "test-python: tests/python/ does not exist yet"
    fi
    "$py" -m pytest -q -rs tests/packaging || status=$?
else
    # Its pytest11 entry point would name a missing module in every pytest of this venv.
    echo "test-python: the wheel has no importable aftershock package yet (bindings/):" \
        "tests/python skipped, tests/packaging runs without the wheel in $venv"
    "$py" -m pip uninstall -q -y aftershock
    unset AFTERSHOCK_BIN
    "$py" -m pytest -q -rs tests/packaging || status=$?
fi
exit $status
