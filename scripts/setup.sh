#!/usr/bin/env bash
# Install everything aftershock needs to build and test: Debian packages, pinned Python
# packages, and the tree-sitter runtime and Python grammar C sources from their PyPI sdists,
# verified against scripts/deps.txt, into third_party/ (git-ignored). Idempotent and quick when
# everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

apt_packages=(cmake gcc make git pkg-config uthash-dev libxxhash-dev libcmocka-dev valgrind
    clang libclang-rt-14-dev libcurl4-openssl-dev libjansson-dev nginx-light)
# make test-python makes virtualenvs: Debian's own python3 needs python3-venv for that.
"$PYTHON" -c "import ensurepip, venv" 2>/dev/null || apt_packages+=(python3-venv)
missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stamp=third_party/.python-deps
if ! cmp -s requirements-dev.txt "$stamp" 2>/dev/null; then
    echo "setup: installing Python packages from requirements-dev.txt"
    PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
    mkdir -p third_party && cp requirements-dev.txt "$stamp"
fi

fetch() { # name version sha256 -> extracts into third_party/<name>-<version>
    local name=$1 version=$2 sum=$3 dir="third_party/$1-$2"
    [ -f "$dir/.ok" ] && return 0
    local dl="third_party/download"
    mkdir -p "$dl"
    local file
    file=$(ls "$dl" 2>/dev/null | grep -iE "^${name//-/[-_]}-${version}\.tar\.gz$" || true)
    if [ -z "$file" ]; then
        echo "setup: downloading the $name $version sdist from PyPI"
        PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
            --no-build-isolation -d "$dl" "$name==$version"
        file=$(ls "$dl" | grep -iE "^${name//-/[-_]}-${version}\.tar\.gz$")
    fi
    if ! echo "$sum  $dl/$file" | sha256sum -c --status; then
        echo "setup: $dl/$file: checksum mismatch (expected $sum)" >&2
        rm -f "$dl/$file"
        exit 1
    fi
    rm -rf "$dir" && mkdir -p "$dir"
    tar xzf "$dl/$file" -C "$dir" --strip-components=1
    touch "$dir/.ok"
}

while read -r name version sum; do
    case "$name" in ''|'#'*) continue ;; esac
    fetch "$name" "$version" "$sum"
done < scripts/deps.txt

# The grammar's generated parser needs the runtime's parser-facing headers under tree_sitter/.
ts=$(ls -d third_party/tree-sitter-0.* | head -1)/tree_sitter/core/lib
tsp=$(ls -d third_party/tree-sitter-python-0.* | head -1)
mkdir -p "$tsp/src/tree_sitter"
for h in parser.h array.h alloc.h ts_assert.h; do
    cmp -s "$ts/src/$h" "$tsp/src/tree_sitter/$h" || cp "$ts/src/$h" "$tsp/src/tree_sitter/$h"
done
# Stable names for the build: third_party/tree-sitter-lib and third_party/tree-sitter-python-src.
ln -sfn "${ts#third_party/}" third_party/tree-sitter-lib
ln -sfn "${tsp#third_party/}/src" third_party/tree-sitter-python-src
