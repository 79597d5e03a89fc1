# aftershock: `make setup` installs what the build needs, `make` builds build/aftershock,
# `make test` runs every test (C unit tests under ASan+UBSan, the CLI tests, then the Python
# tests against the installed wheel), `make wheel` builds the wheel into dist/, `make demo`
# runs aftershock on examples/demo.
PYTHON ?= python3
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
ASAN_BUILD ?= build-asan
WHEEL_DIR ?= dist
VENV ?= build-venv
WHEEL_FLAGS ?=
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DASH_WERROR=ON
WHEEL_FLAGS += -C cmake.define.ASH_WERROR=ON
endif

.PHONY: all setup build asan wheel test test-unit test-integration test-python demo bench \
	bench-peers bench-run clean format

all: build

setup:
	@bash scripts/setup.sh

build: third_party/.python-deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan: third_party/.python-deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DASH_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

third_party/.python-deps: scripts/setup.sh scripts/deps.txt requirements-dev.txt
	@bash scripts/setup.sh

# The wheel: scikit-build-core drives this CMake project (the CLI, and with ASH_PYTHON the
# extension and the package), in an isolated build environment as `pip install .` does
# (WHEEL_FLAGS adds pip options, e.g. -C cmake.define.ASH_WERROR=ON).
wheel: third_party/.python-deps
	@rm -f $(WHEEL_DIR)/aftershock-*.whl
	$(PYTHON) -m pip wheel . --no-deps -q --disable-pip-version-check -w $(WHEEL_DIR) $(WHEEL_FLAGS)

test: setup build asan test-unit test-integration test-python

test-unit:
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# The CLI tests drive the sanitized binary; the standard-library exactness test the release one.
# They run in parallel (pytest-xdist), one worker per core.
test-integration:
	AFTERSHOCK_BIN=$(CURDIR)/$(ASAN_BUILD)/aftershock \
	    AFTERSHOCK_FAST_BIN=$(CURDIR)/$(BUILD)/aftershock \
	    $(PYTHON) -m pytest -q -n $(JOBS) tests/integration

# A fresh virtualenv ($(VENV)) with the wheel installed runs tests/python and tests/packaging.
test-python: wheel
	@PYTHON=$(PYTHON) JOBS=$(JOBS) bash scripts/test_python.sh $(VENV) $(WHEEL_DIR)

demo: setup build
	@bash examples/demo.sh $(BUILD)/aftershock

# Per-core extraction throughput on the interpreter's standard library (files in memory), then
# `aftershock graph` cold and warm beside `git status` on generated monorepos of 1k, 10k and
# 100k files (BENCH_ARGS adds --corpus DIR... or other graph_bench.py options).
bench: setup build
	@cmake --build $(BUILD) --target extract_bench >/dev/null
	@$(PYTHON) -c 'import os, sysconfig; root = sysconfig.get_paths()["stdlib"]; \
	    print("\n".join(os.path.join(d, f) for d, s, fs in os.walk(root) \
	    if "site-packages" not in d for f in fs if f.endswith(".py")))' > $(BUILD)/stdlib-files.txt
	@echo "extraction on the standard library, one thread:"
	@$(BUILD)/extract_bench $(BUILD)/stdlib-files.txt 5
	$(PYTHON) benchmarks/graph_bench.py --bin $(BUILD)/aftershock $(BENCH_ARGS)

# `aftershock graph` beside ruff analyze graph, tach map, grimp and pydeps (pinned in
# benchmarks/requirements-peers.txt, installed into benchmarks/.work/peers-venv) on generated
# monorepos and downloaded sdists (BENCH_ARGS adds --runs N, --sizes, --sdists, -v ...).
bench-peers: setup build
	$(PYTHON) benchmarks/peers_bench.py --bin $(BUILD)/aftershock $(BENCH_ARGS)

# `aftershock run` beside pytest and pytest-xdist on a generated suite of 2000 test modules:
# cold, cached, after a one-line change in a leaf or a core module, batches beside --isolate
# (BENCH_ARGS adds --runs N, --cov, --modules N or other run_bench.py options).
bench-run: setup build
	$(PYTHON) benchmarks/run_bench.py --bin $(BUILD)/aftershock $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(VENV) $(WHEEL_DIR)

format:
	clang-format -i analyzer/src/*.[ch] analyzer/include/aftershock/*.h selector/src/*.[ch] \
	    selector/include/aftershock/*.h cli/*.[ch] tests/unit/*.c bindings/src/*.c
