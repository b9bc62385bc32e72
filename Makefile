# The two commands a newcomer types: `make demo` and `make test`.
# Both install any missing Debian packages first, then configure and build.

BUILD_DIR   ?= build
BUILD_TYPE  ?= Debug
RELEASE_DIR ?= build-release
JOBS        ?= $(shell nproc)
PORT        ?= 8443

# Every Debian package the build, the tests and the demo need. curl and jq
# run the documentation's curl examples as pasted (tests/integration/doc_examples_test.cpp).
PACKAGES := g++ make cmake pkg-config ca-certificates openssl libssl-dev \
            libpoco-dev libsqlcipher-dev libboost-log-dev libyaml-cpp-dev \
            nlohmann-json3-dev libcli11-dev libgtest-dev clang libclang-rt-14-dev \
            binutils debootstrap rpm iproute2 curl jq

MAKEFLAGS += --no-print-directory

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The release signing key (Ed25519, PEM). Without one, `make bundle` makes a
# development key in dist/, which no installation should trust.
SIGNING_KEY ?= dist/development-signing-key.pem

.PHONY: all deps configure build test demo bench bundle packages format clean

all: build

# Installs only what is missing; prints nothing to do otherwise.
deps:
	@missing=""; \
	for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing missing Debian packages:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) > /dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD_DIR) $(PORT)

# Benchmarks are built in Release in their own tree and print ratios.
bench: deps
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release > /dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS) --target writer_bench ledger_bench policy_bench runtime_bench
	$(RELEASE_DIR)/tests/bench/writer_bench
	$(RELEASE_DIR)/tests/bench/ledger_bench
	$(RELEASE_DIR)/tests/bench/policy_bench
	$(RELEASE_DIR)/tests/bench/runtime_bench

# The signed offline bundle, from a Release build: dist/cloister-<version>-linux-x86_64.tar.gz
bundle: deps
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release > /dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS) --target cloisterd cloisterctl cloister-verify
	@if [ ! -f "$(SIGNING_KEY)" ] && [ "$(SIGNING_KEY)" = dist/development-signing-key.pem ]; then \
	  mkdir -p dist && openssl genpkey -algorithm ed25519 -out "$(SIGNING_KEY)" && chmod 600 "$(SIGNING_KEY)" && \
	  openssl pkey -in "$(SIGNING_KEY)" -pubout -out dist/development-signing-key.pub && \
	  echo "WARNING: signed with a new development key ($(SIGNING_KEY)); give SIGNING_KEY=/path/to/release.pem for a release"; \
	fi
	@packaging/make-bundle.sh --build-dir $(RELEASE_DIR) --signing-key "$(SIGNING_KEY)" --out dist

# .deb and .rpm packages from the same install rules, in dist/.
packages: deps
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release > /dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS) --target cloisterd cloisterctl cloister-verify
	@cd $(RELEASE_DIR) && cpack -B $(CURDIR)/dist > /dev/null && ls $(CURDIR)/dist/*.deb $(CURDIR)/dist/*.rpm

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(RELEASE_DIR) .demo dist
