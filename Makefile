# Corosched: the two commands are `make run` and `make test`. See README.md.
#
# Every target that builds first installs its own Debian packages (deploy/install-deps.sh
# checks with dpkg and installs only what is missing; needs root or sudo). CMake does the
# building; this file only picks build trees, flags and the order of the steps.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build
# Steps run one after another, in the order written; ninja and ctest do the parallel work.
.NOTPARALLEL:

CC_FOR_BUILD := clang-14
CXX_FOR_BUILD := clang++-14
JOBS := $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS ?= 2
# A test that hangs (a lost wake, a deadlock) fails after this many seconds instead of
# stalling the run; tests that need longer set their own TIMEOUT property.
CTEST_TIMEOUT ?= 300

BUILD_DIR := build
ASAN_DIR := build-asan
TSAN_DIR := build-tsan
SERVER_BIN := $(BUILD_DIR)/server/corosched-server
DATA_DIR := ./data
# Extra daemon flags for `make run`, e.g. make run ARGS='--listen 127.0.0.1:50051'.
ARGS ?=

# Sanitizer builds keep assert() on (no -DNDEBUG): they exist to catch broken invariants.
SANITIZER_CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  '-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g' '-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g' \
  -DCOROSCHED_BUILD_BENCH=OFF

# Sanitizer reports: stop at the first one, with symbolized stacks. Override from the
# environment if needed (e.g. TSAN_OPTIONS=... make test).
SYMBOLIZER := /usr/lib/llvm-14/bin/llvm-symbolizer
export ASAN_OPTIONS ?= detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:external_symbolizer_path=$(SYMBOLIZER)
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1:external_symbolizer_path=$(SYMBOLIZER)
export TSAN_OPTIONS ?= halt_on_error=1:second_deadlock_stack=1:external_symbolizer_path=$(SYMBOLIZER)

# $(call configure,<dir>,<extra cmake flags>): (re)configure a tree. Always re-run, because
# a top-level folder is added only once its CMakeLists.txt exists (see CMakeLists.txt),
# and CMake cannot notice a new file by itself. Re-running an existing tree is quick.
define configure
	CC=$(CC_FOR_BUILD) CXX=$(CXX_FOR_BUILD) cmake -S . -B $(1) -G Ninja $(2)
endef

# $(call build_tree,<dir>,<extra cmake flags>): configure, then build everything in it.
define build_tree
	$(call configure,$(1),$(2))
	cmake --build $(1) -j $(JOBS)
endef

# $(call run_tests,<dir>): every registered test, failures shown in full.
define run_tests
	cd $(1) && ctest --output-on-failure -j $(CTEST_JOBS) --timeout $(CTEST_TIMEOUT)
endef

# $(call announce,"<text>"): a visible banner between the steps of `make test`. The text
# must not contain a comma (it would split the call's arguments).
define announce
	@printf '\n\033[1m==> %s\033[0m\n' $(1)
endef

.PHONY: help deps deps-bench build run test test-format test-release test-asan test-tsan \
  tidy format bench clean

help:
	@echo "make run     install packages, build (Release), start the daemon on $(DATA_DIR)"
	@echo "make test    install packages; format check; Release, ASan+UBSan and TSan builds with their tests"
	@echo "make build   Release build in $(BUILD_DIR)/"
	@echo "make format  clang-format our sources in place"
	@echo "make tidy    clang-tidy our sources (uses $(BUILD_DIR)/compile_commands.json)"
	@echo "make bench   install Rust/Tokio too, build, run bench/run.sh"
	@echo "make clean   remove the build trees"

deps:
	deploy/install-deps.sh build test

deps-bench:
	deploy/install-deps.sh build test bench

build: deps
	$(call build_tree,$(BUILD_DIR),-DCMAKE_BUILD_TYPE=Release)

run: build
	@if [[ ! -x $(SERVER_BIN) ]]; then \
	  echo "make run: the daemon is not built: $(SERVER_BIN) does not exist." >&2; \
	  echo "make run: the build finished without it; run make build and read its output." >&2; \
	  exit 1; \
	fi
	exec $(SERVER_BIN) --data-dir $(DATA_DIR) $(ARGS)

test: deps test-format test-release test-asan test-tsan
	$(call announce,"make test: all steps passed")

test-format: deps
	$(call announce,"1/4 format check (clang-format)")
	tools/check-format.sh

test-release: deps
	$(call announce,"2/4 Release build and tests ($(BUILD_DIR)/)")
	$(call build_tree,$(BUILD_DIR),-DCMAKE_BUILD_TYPE=Release)
	$(call run_tests,$(BUILD_DIR))

test-asan: deps
	$(call announce,"3/4 AddressSanitizer + UndefinedBehaviorSanitizer build and tests ($(ASAN_DIR)/)")
	$(call build_tree,$(ASAN_DIR),$(SANITIZER_CMAKE_FLAGS) -DCOROSCHED_SANITIZER=address)
	$(call run_tests,$(ASAN_DIR))

test-tsan: deps
	$(call announce,"4/4 ThreadSanitizer build and tests of proto/ and core/ only ($(TSAN_DIR)/)")
	$(call build_tree,$(TSAN_DIR),$(SANITIZER_CMAKE_FLAGS) -DCOROSCHED_SANITIZER=thread -DCOROSCHED_CORE_ONLY=ON)
	$(call run_tests,$(TSAN_DIR))

tidy: build
	tools/run-tidy.sh $(BUILD_DIR)

format: deps
	tools/list-sources.sh | xargs --no-run-if-empty clang-format -i
	@echo "format: done; review with git diff"

bench: deps-bench build
	@if [[ -x bench/run.sh ]]; then \
	  exec bench/run.sh; \
	else \
	  echo "make bench: bench/run.sh does not exist yet; nothing to run." >&2; \
	  exit 1; \
	fi

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR)
