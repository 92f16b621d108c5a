# SPDX-License-Identifier: MIT
# Thin driver over CMake. The two commands a new user needs:
#   make run    build the buddy command (quietly; nothing else) and launch it
#   make check  build and run every test: gcc build (with the Rust port, its cargo tests
#               and lints), clang ASan+UBSan build (with the full invariant check after
#               every call, BUDDY_DEBUG=2), valgrind (cheap asserts, BUDDY_DEBUG=1), a
#               ThreadSanitizer build running the multi-threaded tests, and a short
#               fuzzing run over the fixed seed corpus
# More:
#   make fuzz      run every libFuzzer harness for FUZZ_SECONDS each (build-fuzz/)
#   make coverage  line and branch coverage of the library sources (build-cov/)
#   make lint      clang-tidy and cppcheck over every source; fails on findings
#   make bench-preload  libbuddymalloc against the system malloc and its peers
#   make install   library, headers, buddy.pc, CMake package, the buddy command;
#                  under /usr/local, or PREFIX=DIR (DESTDIR=DIR stages a package)
#   make web       the web page (the page core in WebAssembly) in build/web/
#   make web-screenshot  the README's screenshots of the page (headless Chromium)
BUILD       ?= build
ASAN_BUILD  ?= build-asan
VG_BUILD    ?= build-valgrind
TSAN_BUILD  ?= build-tsan
FUZZ_BUILD  ?= build-fuzz
COV_BUILD   ?= build-cov
COV_MIN_LINE ?= 95
COV_MIN_BRANCH ?= 90
FUZZ_SECONDS ?= 60
FUZZ_CHECK_SECONDS ?= 30
CMAKE       ?= cmake
MAKEFLAGS += --no-print-directory
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX      ?=
# Every test has a time limit, so a hang fails the run instead of stalling it.
CTEST_FLAGS ?= --output-on-failure -j$(JOBS) --timeout 900

.PHONY: all build run check check-gcc check-asan check-valgrind check-tsan check-fuzz fuzz fuzz-build \
	coverage lint deps clean install bench bench-preload bench-callgrind web web-screenshot

all: build

deps:
	@scripts/deps.sh

CONFIGURE = $(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(BUILD)/CMakeCache.txt:
	$(CONFIGURE)

build: $(BUILD)/CMakeCache.txt
	$(CMAKE) --build $(BUILD) -j$(JOBS)

# make run and make bench build only the command and the runner processes it
# starts (buddy replay, bench), with the build's output in
# $(BUILD)/make-run.log unless something fails.
define build_command
	@scripts/deps.sh run
	@[ -f $(BUILD)/CMakeCache.txt ] || scripts/quiet.sh $(BUILD)/make-run.log \
		"make $@: configuring $(BUILD)/" $(CONFIGURE)
	@scripts/quiet.sh $(BUILD)/make-run.log "make $@: building $(BUILD)/buddy" \
		$(CMAKE) --build $(BUILD) -j$(JOBS) --target buddy
endef

run:
	$(build_command)
	@$(BUILD)/buddy $(ARGS)

check: deps
	$(MAKE) check-gcc
	$(MAKE) check-asan
	$(MAKE) check-valgrind
	$(MAKE) check-tsan
	$(MAKE) check-fuzz
	@echo "make check: all test builds passed"

# The gcc build also builds and tests the Rust port (rust/): it needs cargo.
check-gcc:
	$(CONFIGURE) -DBUDDY_RUST=ON
	$(CMAKE) --build $(BUILD) -j$(JOBS)
	cd $(BUILD) && ctest $(CTEST_FLAGS)

check-asan:
	CC=clang $(CMAKE) -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DBUDDY_SANITIZE=ON -DBUDDY_DEBUG=2
	$(CMAKE) --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest $(CTEST_FLAGS)

check-valgrind:
	$(CMAKE) -S . -B $(VG_BUILD) -DCMAKE_BUILD_TYPE=Debug -DBUDDY_VALGRIND=ON -DBUDDY_DEBUG=1
	$(CMAKE) --build $(VG_BUILD) -j$(JOBS)
	cd $(VG_BUILD) && ctest $(CTEST_FLAGS)

# Every multi-threaded test (label "threads") under ThreadSanitizer (clang): any
# report fails the run (halt_on_error; a report is also exit code 66).
TSAN_TESTS = test_threads_stress test_threads_exhaust test_threads_lock test_threads_pageset test_threads_double \
	test_threads_slab test_preload_threads test_preload_stress
check-tsan:
	CC=clang $(CMAKE) -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUDDY_TSAN=ON -DBUDDY_DEBUG=1
	$(CMAKE) --build $(TSAN_BUILD) -j$(JOBS) --target $(TSAN_TESTS)
	cd $(TSAN_BUILD) && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ctest $(CTEST_FLAGS) -L threads

# libFuzzer needs clang; the harnesses and the library are built with ASan+UBSan.
fuzz-build:
	CC=clang $(CMAKE) -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUDDY_FUZZ=ON -DBUDDY_TESTS=OFF \
		-DBUDDY_DEBUG=1
	$(CMAKE) --build $(FUZZ_BUILD) -j$(JOBS)

# Short run over the seed corpus; new units go to a temporary directory.
check-fuzz: fuzz-build
	scripts/fuzz.sh --build $(FUZZ_BUILD) --total $(FUZZ_CHECK_SECONDS) --temp

# Long run; the growing corpus is kept in fuzz-out/corpus/ (not in the repo).
fuzz: deps fuzz-build
	scripts/fuzz.sh --build $(FUZZ_BUILD) --seconds $(FUZZ_SECONDS) --keep

# Every test in an instrumented build, then gcovr over the library sources
# only (src/); fails below COV_MIN_LINE % of lines or COV_MIN_BRANCH % of branches.
# The threads tests run instrumented code on several threads at once, and
# gcov's plain counters can then disagree (a negative branch count): those
# lines are skipped (atomic counters made every test four times slower).
coverage:
	$(CMAKE) -S . -B $(COV_BUILD) -DCMAKE_BUILD_TYPE=Debug -DBUDDY_COVERAGE=ON -DBUDDY_DEBUG=0
	$(CMAKE) --build $(COV_BUILD) -j$(JOBS)
	find $(COV_BUILD) -name '*.gcda' -delete
	cd $(COV_BUILD) && ctest $(CTEST_FLAGS)
	gcovr --root . --object-directory $(COV_BUILD) --filter 'src/' \
		--exclude-unreachable-branches --gcov-ignore-parse-errors --txt $(COV_BUILD)/coverage.txt \
		--html-details $(COV_BUILD)/coverage.html --print-summary \
		--fail-under-line $(COV_MIN_LINE) --fail-under-branch $(COV_MIN_BRANCH)
	@echo "coverage: per-file figures in $(COV_BUILD)/coverage.txt, annotated sources in $(COV_BUILD)/coverage.html"

# clang-tidy and cppcheck over src/ tools/ tests/ bench/ fuzz/, using the
# compile commands of the gcc build.
lint: $(BUILD)/CMakeCache.txt
	scripts/lint.sh $(BUILD)

# Micro-benchmarks (not part of check): median ns per alloc+free pair
# (make bench-callgrind counts instructions per pair instead).
# BENCH_ARGS passes options, e.g. --ops 1000000.
bench:
	$(build_command)
	$(BUILD)/buddy bench $(BENCH_ARGS)

# libbuddymalloc against glibc, jemalloc, mimalloc and tcmalloc (not part of
# check): the real programs' time and peak RSS (median of PRELOAD_RUNS runs),
# the threaded benchmark at 1 and 2 threads (median of PRELOAD_THREAD_RUNS),
# and the 1 GiB RSS-return program.
PRELOAD_RUNS ?= 3
PRELOAD_THREAD_RUNS ?= 5
bench-preload:
	@[ -f $(BUILD)/CMakeCache.txt ] || $(CONFIGURE)
	$(CMAKE) --build $(BUILD) -j$(JOBS) --target buddymalloc_shared preload_threads_bench preload_rss_return \
		preload_runstat
	bench/preload/programs.sh $(BUILD)/src/libbuddymalloc.so $(PRELOAD_RUNS) $(BUILD)/bench/preload_runstat
	bench/preload/threads.sh $(BUILD)/bench/preload_threads_bench $(BUILD)/src/libbuddymalloc.so $(PRELOAD_THREAD_RUNS)
	bench/preload/rss.sh $(BUILD)/bench/preload_rss_return $(BUILD)/src/libbuddymalloc.so

bench-callgrind:
	$(build_command)
	bench/callgrind.sh $(BUILD) $(BENCH_ARGS)

# The page and everything it loads, in one folder: open $(BUILD)/web/index.html
# from disk, or copy the folder to any static host.
web: $(BUILD)/CMakeCache.txt
	$(CMAKE) --build $(BUILD) --target web
	@echo "web: open $(BUILD)/web/index.html, or publish the folder $(BUILD)/web"

# The browser test, writing its screenshots into docs/ for the README.
web-screenshot: build
	node tests/web/browser_test.js $(BUILD)/buddy $(BUILD)/web docs

install: build
	$(CMAKE) --install $(BUILD) $(if $(PREFIX),--prefix "$(PREFIX)")

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(VG_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(COV_BUILD)
