#!/usr/bin/env bash
# `make fuzz`: run the libFuzzer targets built in BUILD_DIR (cmake -DASH_FUZZ=ON) for SECONDS
# each, FUZZ_JOBS of them at once (default 1), and fail if any of them finds a crash, a leak,
# undefined behaviour or a broken invariant, printing the reproducer's path.
#
#   fuzz/run.sh BUILD_DIR SECONDS [AFTERSHOCK_BIN] [TARGET...]
#
# Corpora are kept between runs in BUILD_DIR/corpus/<target> (new inputs go there); seeds are
# built afresh by fuzz/seeds.py into BUILD_DIR/seeds/<target> (AFTERSHOCK_BIN, when given, is
# run on examples/demo for the cache-file seeds) and read beside fuzz/seeds/<target> and the
# saved regressions of tests/fixtures/fuzz-regressions/<target>. Crash inputs land in
# BUILD_DIR/crashes/<target>/, logs in BUILD_DIR/logs/<target>.log.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [AFTERSHOCK_BIN] [TARGET...]}
seconds=${2:?usage: fuzz/run.sh BUILD_DIR SECONDS [AFTERSHOCK_BIN] [TARGET...]}
bin=${3:-}
shift $(($# < 3 ? $# : 3))
jobs=${FUZZ_JOBS:-1}
all=(extract scan toml config pytest_config pcache rcache result state envinfo)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

# the dictionary of a target, where one helps
dict_of() {
    case $1 in
    extract | scan) echo fuzz/extract.dict ;;
    toml | config) echo fuzz/toml.dict ;;
    pytest_config | result | envinfo) echo "fuzz/$1.dict" ;;
    esac
}

# the largest input worth trying (longer seeds are cut): extraction under ASan with coverage
# costs about 5 us a byte, so its inputs stay small
max_len_of() {
    case $1 in
    extract) echo 8192 ;;
    scan | pcache | envinfo) echo 65536 ;;
    *) echo 16384 ;;
    esac
}

"${PYTHON:-python3}" fuzz/seeds.py "$build/seeds" ${bin:+--bin "$bin"} || exit 1

run_one() {
    local t=$1 exe="$build/fuzz/fuzz_$1" dict corpora=()
    mkdir -p "$build/corpus/$t" "$build/crashes/$t" "$build/logs"
    # TMPDIR: the scratch directories of the path-based targets, in memory where possible
    # (the state target fsyncs what it saves), removed afterwards even after a crash
    local tmp
    tmp=$(mktemp -d "$([ -w /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/ash-fuzz-$t.XXXXXX")
    local seeds=$t
    [ "$t" = scan ] && seeds=extract # the same sources: one set of seeds serves both
    for d in "$build/seeds/$t" "fuzz/seeds/$seeds" "tests/fixtures/fuzz-regressions/$t"; do
        [ -d "$d" ] && corpora+=("$d")
    done
    dict=$(dict_of "$t")
    TMPDIR="$tmp" "$exe" -max_total_time="$seconds" -timeout=10 \
        -max_len="$(max_len_of "$t")" -print_final_stats=1 \
        -artifact_prefix="$build/crashes/$t/" ${dict:+-dict="$dict"} \
        "$build/corpus/$t" "${corpora[@]}" >"$build/logs/$t.log" 2>&1
    local rc=$?
    rm -rf "$tmp"
    return $rc
}

summary() { # target: "cov: N ft: N corp: N/Nb exec/s: N" from its log
    grep -E '^#[0-9]+[[:space:]]+DONE' "$build/logs/$1.log" | tail -1 |
        sed -E 's/^#([0-9]+)[[:space:]]+DONE[[:space:]]+/runs: \1 /; s/ lim: [0-9]+//; s/ rss: .*//'
}

failed=()
declare -A pids
start=$SECONDS
for t in "${targets[@]}"; do
    if [ ! -x "$build/fuzz/fuzz_$t" ]; then
        echo "fuzz: $build/fuzz/fuzz_$t is missing (build the target fuzz_targets)" >&2
        exit 1
    fi
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n
    done
    echo "fuzz: $t for ${seconds}s"
    run_one "$t" &
    pids[$t]=$!
done
for t in "${targets[@]}"; do
    if wait "${pids[$t]}"; then
        echo "fuzz: $t: ok, $(summary "$t")"
    else
        failed+=("$t")
        echo "fuzz: $t: FAILED (log: $build/logs/$t.log)"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*fuzz check failed|.*runtime error)' \
            "$build/logs/$t.log" | head -5 | sed 's/^/    /'
        grep -E 'Test unit written to|artifact_prefix' "$build/logs/$t.log" | sed 's/^/    /'
        echo "    reproduce: $build/fuzz/fuzz_$t <that file>"
    fi
done
echo "fuzz: ${#targets[@]} target(s) in $((SECONDS - start))s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in: ${failed[*]}; minimise with -minimize_crash=1, then save the input" \
        "as tests/fixtures/fuzz-regressions/<target>/<name>" >&2
    exit 1
fi
