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

.PHONY: all setup build asan wheel test test-unit test-integration test-python demo bench clean \
	format

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

# Under CI=true, also a short bounded fuzzing pass (about two minutes with the build).
test: setup build asan test-unit test-integration test-python $(if $(filter true,$(CI)),fuzz-ci)

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

# libFuzzer (clang): every target of fuzz/ for FUZZ_SECONDS each ($(JOBS) at once), built in
# $(FUZZ_BUILD), corpora kept in $(FUZZ_BUILD)/corpus/<target>, seeds from the fixtures and a
# run of $(BUILD)/aftershock on examples/demo. Fails on any crash, naming the reproducer.
# FUZZ_TARGETS="toml result" runs some only; CI runs `make fuzz FUZZ_SECONDS=10`.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
.PHONY: fuzz fuzz-ci
fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

fuzz: build
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DASH_FUZZ=ON \
	    -DASH_TESTS=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets
	@FUZZ_JOBS=$(JOBS) PYTHON=$(PYTHON) bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) \
	    $(BUILD)/aftershock $(FUZZ_TARGETS)

# Every benchmark, aftershock beside its peers (ruff, tach, grimp, pydeps, pytest, pytest-xdist,
# pytest-testmon, git status), written to benchmarks/RESULTS.md; about 40 minutes. BENCH_ARGS
# passes options to benchmarks/run: --only peers,suite, --runs N, --quick, --help.
bench: setup build
	@cmake --build $(BUILD) --target extract_bench >/dev/null
	$(PYTHON) benchmarks/run --bin $(BUILD)/aftershock $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(VENV) $(WHEEL_DIR)

format:
	clang-format -i analyzer/src/*.[ch] analyzer/include/aftershock/*.h selector/src/*.[ch] \
	    selector/include/aftershock/*.h cli/*.[ch] tests/unit/*.c bindings/src/*.c
