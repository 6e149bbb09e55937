# opshub — the two commands of the README:
#   make run    set up, build, and start `opshub serve` on examples/opshub.yaml (SQLite under ./data)
#   make test   set up, build, and run every test (unit, integration, ASan+UBSan, fuzz smoke, lint)
# Everything else here is a step of those two.

BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 20

.PHONY: all setup build run test test-unit test-asan fuzz fuzz-long lint bench bench-api clean

all: build

setup:
	@bash scripts/setup.sh

build: setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/opshub serve --config examples/opshub.yaml --data data

test: setup
	bash scripts/test.sh

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: setup
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DOPSHUB_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

fuzz: setup
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

fuzz-long: setup
	FUZZ_SECONDS=600 bash scripts/fuzz.sh

lint:
	bash scripts/lint.sh

bench: build
	bench/probe

bench-api: build
	bench/api

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
