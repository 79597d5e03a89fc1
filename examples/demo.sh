#!/usr/bin/env bash
# `make demo`: aftershock's import graph of the bundled example project, examples/demo.
set -euo pipefail
bin=${1:-build/aftershock}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
demo=$(dirname "$0")/demo
echo "== aftershock graph --root $demo   (what each file imports)"
"$bin" graph --root "$demo"
echo
echo "== aftershock graph --direction dependents --closure   (what a change to pricing.py reaches)"
"$bin" graph --root "$demo" --direction dependents --closure | python3 -c '
import json, sys
graph = json.load(sys.stdin)
print("src/shop/pricing.py ->", ", ".join(graph["src/shop/pricing.py"]))'
echo
echo "== aftershock imports src/shop/cart.py"
"$bin" imports "$demo/src/shop/cart.py"
echo
echo "== aftershock hash   (closure keys: change a file, and the keys of everything importing it change)"
(cd "$demo" && "$bin" hash --root . src/shop/tax.py tests/test_cart.py src/shop)
