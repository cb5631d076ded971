# The two commands a user needs: `make demo` and `make test`. Both install what is missing first.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CTEST_ARGS ?=
PREFIX ?= /usr/local

.PHONY: all deps build test demo bench install package clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DHALO_BUILD_TESTS=ON

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600 $(CTEST_ARGS)

# The binaries, public headers, libraries, CMake package and halo.pc under PREFIX (default /usr/local).
install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

# A Debian package of the same (build/halo_VERSION_ARCH.deb), dependencies computed by dpkg-shlibdeps.
package: build
	cd $(BUILD_DIR) && cpack -G DEB

demo: build
	./examples/demo.sh

bench: build
	./scripts/install-deps.sh bench
	./bench/run_all.sh

clean:
	rm -rf $(BUILD_DIR)
