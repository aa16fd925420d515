# ouro — the two commands:
#   make run    the main job (the tour of ouro's heap)
#   make test   every test: unit tests, replay against CPython, ASan+UBSan,
#               ThreadSanitizer stress run, Valgrind memcheck, install/consumer
#               check, benchmark smoke run
# and: make test-deep (long differential run against CPython), make fuzz,
#      make bench
.PHONY: all build run test deps test-unit test-replay test-asan test-tsan test-valgrind \
        test-install test-report test-reliability test-bench bench fuzz clean \
        test-deep

BUILD ?= build
JOBS ?= 2
CMAKE ?= cmake
PY ?= python3

all: build

deps:
	@./tools/deps.sh

build: deps
	@$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@$(CMAKE) --build $(BUILD) -j$(JOBS)

run: build
	./$(BUILD)/ouro demo --report $(BUILD)/report.html
	@echo "open $(BUILD)/report.html in a browser: the tour's heaps, drawn"

test-unit: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	@$(PY) tests/death_check.py $(BUILD)

# The corpus, tests/regressions, 300 short random scripts and 50 long ones
# (1500 operations), each with a few new seeds per run (about a minute);
# then again on a shared heap driven by one thread (issue 17: the logs are
# the same), heap checked after every operation: the corpus, 100 short and
# 10 long seeds.
test-replay: build
	@$(PY) tests/replay_check.py --ouro $(BUILD)/ouro
	@$(PY) tests/replay_check.py --ouro $(BUILD)/ouro --shared --check --seeds 100 \
	    --new-seeds 2 --long-seeds 10 --long-new 1

# The long differential run against CPython, heap checked after every
# operation (about 30 minutes on 2 cores): 1000 short and 500 long random
# seeds plus 20 new ones of each, seeds 1..DEEP_SEEDS at 3000 operations,
# and every input of the fuzzing corpus that CPython can run.
DEEP_SEEDS ?= 600
test-deep: build
	@$(PY) tests/replay_check.py --ouro $(BUILD)/ouro --check --seeds 1000 --new-seeds 20 \
	    --long-seeds 500 --long-new 20
	@$(PY) tests/fuzz/diff_random.py --ouro $(BUILD)/ouro --check --ops 3000 \
	    --seeds 1:$$(($(DEEP_SEEDS) + 1))
	@$(PY) tests/fuzz/diff_corpus.py --ouro $(BUILD)/ouro --max-inputs 100000 \
	    --max-time 100000 tests/fuzz/corpus tests/fuzz/crashes
	@OURO_TEST_DEEP=1 ./$(BUILD)/tests/test_incremental
	@OURO_SHARED_SCALE=32 ./$(BUILD)/tests/test_shared
	@OURO_SHARED_SCALE=32 OURO_SHARED_RELEASE=1 ./$(BUILD)/tests/test_shared

test-asan: deps
	@$(CMAKE) -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DOURO_SANITIZE=ON -DOURO_ASSERT=2 >/dev/null
	@$(CMAKE) --build build-asan -j$(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j$(JOBS)
	@ASAN_OPTIONS=detect_leaks=1 $(PY) tests/replay_check.py --ouro build-asan/ouro --corpus-only --check
	@ASAN_OPTIONS=detect_leaks=1 $(PY) tests/replay_check.py --ouro build-asan/ouro --corpus-only --check --shared
	@$(PY) tests/death_check.py build-asan --asan
	@ASAN_OPTIONS=detect_leaks=1 $(PY) tests/fault_sweep.py --ouro build-asan/ouro --quick -j $(JOBS)

# ThreadSanitizer over the programs that use threads: tests/test_threads.c
# (4-8 threads, each with its own heaps, hand-overs between threads, new
# types registered concurrently, process-wide heap hooks changing, tracing),
# tests/test_object.c (a heap handed to a thread) and tests/test_shared.c
# (shared heaps: threads allocating and freeing each other's blocks,
# attaching, detaching and parking while others stop the world; on debug
# heaps, then on release heaps as test_shared_release, then under the
# incremental schedule as test_shared_incremental).  Only
# those targets are built: about a minute on 2 cores.
test-tsan: deps
	@$(CMAKE) -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DOURO_TSAN=ON -DOURO_ASSERT=1 >/dev/null
	@$(CMAKE) --build build-tsan -j$(JOBS) --target test_threads test_object test_shared
	@cd build-tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $$TSAN_OPTIONS" \
	    ctest --output-on-failure -j$(JOBS) -R '^(test_threads|test_object|test_shared|test_shared_release|test_shared_incremental)$$'

test-valgrind: deps
	@$(CMAKE) -S . -B build-vg -DCMAKE_BUILD_TYPE=Debug -DOURO_VALGRIND=ON -DOURO_ASSERT=2 >/dev/null
	@$(CMAKE) --build build-vg -j$(JOBS)
	@$(PY) tests/valgrind_check.py build-vg
	@$(PY) tests/death_check.py build-vg --valgrind

test-install: build
	@./tests/install_check.sh $(BUILD)

# The HTML report rendered in headless Chromium: charts drawn, page not blank.
test-report: build
	@$(PY) tests/report_check.py $(BUILD)

# Reliability: the fuzz corpus and crash inputs replayed with heap checks,
# and the fault-injection sweep (fail the Nth allocation / page request for
# N = 1, 2, 3, ... over every corpus script and a sample of random ones).
test-reliability: build
	@./tests/fuzz/replay_corpus.sh $(BUILD) --regressions
	@$(PY) tests/fault_sweep.py --ouro $(BUILD)/ouro -j $(JOBS)

# libFuzzer over heaptrace scripts, then over snapshot files, for FUZZ_TIME
# seconds each (default 60).  New inputs go to build-fuzz/new-corpus (merge
# the interesting ones into tests/fuzz/corpus with -merge=1); those of this
# run that CPython can run are then replayed on both and must print the
# same log (at most FUZZ_DIFF_TIME seconds, default 120; differing inputs
# are copied to build-fuzz/differ).  The snapshot corpus is seeded from the
# files the report demo writes.
fuzz: build
	@./tests/fuzz_build.sh
	@mkdir -p build-fuzz/new-corpus
	@touch build-fuzz/fuzz-start.stamp
	@./build-fuzz/fuzz_replay -max_total_time=$${FUZZ_TIME:-60} build-fuzz/new-corpus tests/fuzz/corpus
	@$(PY) tests/fuzz/diff_corpus.py --ouro $(BUILD)/ouro --newer build-fuzz/fuzz-start.stamp \
	    --max-time $${FUZZ_DIFF_TIME:-120} --keep build-fuzz/differ build-fuzz/new-corpus
	@mkdir -p build-fuzz/snapshot-corpus
	@./$(BUILD)/ouro report --demo build-fuzz/seed.html --keep build-fuzz/snapshot-corpus >/dev/null
	@./build-fuzz/fuzz_snapshot -max_total_time=$${FUZZ_TIME:-60} build-fuzz/snapshot-corpus
	@./build-fuzz/fuzz_incremental -max_total_time=$${FUZZ_TIME:-60}

# Every benchmark workload at tiny size against every peer: outputs checked,
# timings not (performance lives in `make bench`).
test-bench: deps
	@$(PY) bench/run.py --quick

# The full benchmark run: writes bench/results/latest.{md,json,svg}.
bench: deps
	@$(PY) bench/run.py

test: test-unit test-replay test-asan test-tsan test-valgrind test-install test-report test-reliability test-bench
	@echo "make test: all steps passed"

clean:
	rm -rf build build-asan build-tsan build-vg build-bench build-fuzz
