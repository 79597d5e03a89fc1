#!/usr/bin/env bash
# `make demo`: aftershock on the bundled example project, examples/demo, copied into a
# temporary git repository: the import graph, then `aftershock run` three times (everything,
# nothing, only what an edit reaches), with `affected` and `why` in between.
set -euo pipefail
bin=${1:-build/aftershock}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/aftershock-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -R "$(dirname "$0")/demo/." "$work"
rm -rf "$work/.aftershock"
cd "$work"
git init -q && git add -A
git -c user.name=demo -c user.email=demo@example.invalid commit -qm demo
ash() { echo; echo "\$ aftershock $*"; "$bin" "$@" --python "$python"; }

ash graph --direction dependents --closure
ash run
ash run
echo
echo "\$ echo '# a one-line change' >> tests/helpers.py"
echo '# a one-line change' >> tests/helpers.py
ash affected
ash why tests/test_cart.py
ash run
