# The two commands a user needs: `make run` and `make test`. Each installs what it needs.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= 2
SENTINEL ?=
ARGS ?=

.PHONY: all deps build test unit integration run lab bench fuzz format clean

all: build

deps:
	@scripts/install-deps.sh all

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DREDIS_HA_WERROR=ON

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

# Every test: unit, integration (real redis-server/redis-sentinel), e2e.
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit

integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) -L integration

# `make run` starts a throwaway local Sentinel lab and the exporter watching it.
# `make run SENTINEL=host:port` watches a real deployment instead (ARGS adds flags).
run: build
ifeq ($(strip $(SENTINEL)),)
	$(BUILD_DIR)/redis_ha_lab --exporter $(BUILD_DIR)/redis_ha_exporter -- $(ARGS)
else
	$(BUILD_DIR)/redis_ha_exporter $(foreach s,$(SENTINEL),--sentinel $(s)) $(ARGS)
endif

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD_DIR)
