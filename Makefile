# The two commands a user needs: `make run` and `make test`. Each installs what it needs.
BUILD_DIR ?= build
# Release at -O2 without debug info: half the build time of RelWithDebInfo on 2 cores,
# which keeps `make test` within its 10 minutes. BUILD_TYPE=RelWithDebInfo for debugging.
BUILD_TYPE ?= Release
JOBS ?= 2
# Tests mostly wait on servers (Sentinel failovers, polls): measured, `ctest -j2` kept the two
# cores about half busy. Four at a time, with the sanitized build counted as two (its
# PROCESSORS property), keeps them busy; `make test` went from 9.5 to about 6 minutes.
TEST_JOBS ?= 4
SENTINEL ?=
ARGS ?=

.PHONY: all deps build test unit integration run lab bench fuzz soak format clean

all: build

deps:
	@scripts/install-deps.sh all

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
	  -DREDIS_HA_WERROR=ON

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

# Every test: unit, integration (real redis-server/redis-sentinel), e2e.
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(TEST_JOBS)

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit

integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(TEST_JOBS) -L integration

# `make run` starts a throwaway local Sentinel lab and the exporter watching it.
# `make run SENTINEL=host:port` watches a real deployment instead (ARGS adds flags).
run: build
ifeq ($(strip $(SENTINEL)),)
	$(BUILD_DIR)/redis_ha_lab --exporter $(BUILD_DIR)/redis_ha_exporter -- $(ARGS)
else
	$(BUILD_DIR)/redis_ha_exporter $(foreach s,$(SENTINEL),--sentinel $(s)) $(ARGS)
endif

# `make bench` runs the fleet benchmark against redis_exporter and the floor (G = 1, 10, 100;
# about 25 minutes) and rewrites bench/RESULTS.md, bench/results.json and bench/cost.png.
# BENCH_ARGS adds flags, e.g. BENCH_ARGS="--groups 1,10,100,300" (see bench/bench.py --help).
BENCH_ARGS ?=
bench: build
	@scripts/install-deps.sh bench
	cmake --build $(BUILD_DIR) -j$(JOBS) --target bench_tools
	python3 bench/bench.py --exporter $(BUILD_DIR)/redis_ha_exporter --tools $(BUILD_DIR)/bench \
	  --out-dir bench $(BENCH_ARGS)

# `make fuzz` runs every libFuzzer target for FUZZ_SECONDS (default 60) each, built with clang,
# ASan + UBSan and -O1 in $(BUILD_DIR)/fuzz (make test's sanitized tree is -O0), growing a
# private corpus under $(BUILD_DIR)/fuzz/fuzz-work; FUZZ_TARGETS="resp info" picks targets.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: deps
	SANITIZE_OPT=-O1 SANITIZE_TARGETS=fuzzers tests/sanitize/build.sh $(CURDIR) $(BUILD_DIR)/fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh long $(BUILD_DIR)/fuzz $(FUZZ_TARGETS)

# `make soak SOAK_DURATION=1h` runs the soak harness against a lab with rotating faults and
# fails on growth (tests/soak/soak.py, docs/soak.md); samples in $(BUILD_DIR)/soak-<duration>.
SOAK_DURATION ?= 10m
soak: build
	python3 tests/soak/soak.py --exporter $(BUILD_DIR)/redis_ha_exporter \
	  --duration $(SOAK_DURATION) --out $(BUILD_DIR)/soak-$(SOAK_DURATION)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD_DIR)
