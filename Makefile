# Thin driver over CMake. The two commands a new user needs:
#   make run    build and launch the main program
#   make check  build and run every test: gcc build, clang ASan+UBSan build, valgrind
BUILD       ?= build
ASAN_BUILD  ?= build-asan
VG_BUILD    ?= build-valgrind
CMAKE       ?= cmake
MAKEFLAGS += --no-print-directory
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
# Every test has a time limit, so a hang fails the run instead of stalling it.
CTEST_FLAGS ?= --output-on-failure -j$(JOBS) --timeout 900

.PHONY: all build run check check-gcc check-asan check-valgrind deps clean install bench bench-callgrind

all: build

deps:
	@scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/CMakeCache.txt
	$(CMAKE) --build $(BUILD) -j$(JOBS)

run: build
	@if [ -x $(BUILD)/buddy ]; then $(BUILD)/buddy $(ARGS); else $(BUILD)/buddy-demo $(ARGS); fi

check: deps
	$(MAKE) check-gcc
	$(MAKE) check-asan
	$(MAKE) check-valgrind
	@echo "make check: all test builds passed"

check-gcc: build
	cd $(BUILD) && ctest $(CTEST_FLAGS)

check-asan:
	CC=clang $(CMAKE) -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DBUDDY_SANITIZE=ON
	$(CMAKE) --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest $(CTEST_FLAGS)

check-valgrind:
	$(CMAKE) -S . -B $(VG_BUILD) -DCMAKE_BUILD_TYPE=Debug -DBUDDY_VALGRIND=ON
	$(CMAKE) --build $(VG_BUILD) -j$(JOBS)
	cd $(VG_BUILD) && ctest $(CTEST_FLAGS)

# Micro-benchmarks (not part of check): median ns per alloc+free pair, then
# instructions per pair under callgrind. BENCH_ARGS passes options, e.g. --ops 1000000.
bench: build
	$(BUILD)/buddy-bench $(BENCH_ARGS)

bench-callgrind: build
	bench/callgrind.sh $(BUILD) $(BENCH_ARGS)

install: build
	$(CMAKE) --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(VG_BUILD)
