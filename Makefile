# lienthong: `make run` starts the demo on the embedded broker, `make test`
# runs the tests (against the embedded broker over TCP).
GO        ?= go
BIN       ?= bin/lienthong
PKGS      ?= ./...
TESTFLAGS ?= -race -count=1 -timeout 20m

.PHONY: all build run serve deps test test-example console-screenshots test-integration test-kafka bench fuzz vet fmt clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/lienthong

# The demo: embedded broker, example procedures, simulated agencies, a stream
# of dossiers; Ctrl-C stops it.
run: build
	./$(BIN) demo

serve: build
	./$(BIN) serve

vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	@$(GO) mod tidy -diff || (echo "go.mod/go.sum not tidy: run go mod tidy"; exit 1)

# Debian packages the tests use (kcat, gcc for -race), installed when missing.
deps:
	scripts/deps.sh

test: deps vet build
	$(GO) test $(TESTFLAGS) $(PKGS)

# The examples as an integrator builds them, each its own module (its
# go.mod requires this one through a replace of this checkout, nothing
# else): the adapter (examples/adapter-template: a driver, through the
# conformance kit on the embedded broker) and the department system
# (examples/department-system: its test runs the real lienthong binary).
# For each: the committed go.mod and go.sum up to date (after a dependency
# change here, run `go mod tidy` in the example and commit both), vet, the
# tests, and the example's package itself (not its tests) linking neither
# the broker (kfake) nor franz-go.
EXAMPLES ?= examples/adapter-template examples/department-system
test-example: deps
	@for d in $(EXAMPLES); do \
	  echo "== $$d"; \
	  (cd $$d && $(GO) mod tidy -diff) || { echo "$$d: go.mod/go.sum not tidy: run go mod tidy there and commit them"; exit 1; }; \
	  (cd $$d && $(GO) vet ./... && $(GO) test $(TESTFLAGS) ./...) || exit 1; \
	  deps=$$(cd $$d && $(GO) list -deps .) || { echo "$$d: go list -deps failed"; exit 1; }; \
	  echo "$$deps" | grep -qxE 'github.com/lienthong/lienthong/(adapters|client)' || { echo "$$d: go list -deps lists neither adapters nor client"; exit 1; }; \
	  broker=$$(echo "$$deps" | grep -E '^github.com/twmb/franz-go|/third_party/kfake'); \
	  if [ -n "$$broker" ]; then echo "$$d links the broker:"; echo "$$broker"; exit 1; fi; \
	  echo "$$d: links neither kfake nor franz-go"; \
	done

# The console's screenshots in docs/console/, made by its browser tests
# (chromium headless; scripts/chromium.sh installs it).
console-screenshots:
	scripts/chromium.sh >/dev/null
	LIENTHONG_CONSOLE_SCREENSHOTS=1 LIENTHONG_TEST_REQUIRE_BROWSER=1 $(GO) test -count=1 -run TestConsoleInBrowser ./internal/console/browsertest/

# The same suite on the real parts: Apache Kafka 4.x (KRaft, one node on
# loopback, fetched from Maven Central by scripts/kafka.sh) and PostgreSQL
# (Debian's package, a throwaway cluster on loopback, by scripts/postgres.sh)
# as the tracking store.
test-integration: deps build
	scripts/kafka.sh start
	scripts/postgres.sh start
	LIENTHONG_TEST_KAFKA_BROKERS=$$(scripts/kafka.sh addr) \
	LIENTHONG_TEST_KAFKA_RESTART="$(CURDIR)/scripts/kafka.sh restart" \
	LIENTHONG_TEST_POSTGRES_DSN=$$(scripts/postgres.sh dsn) \
	LIENTHONG_TEST_POSTGRES_RESTART="$(CURDIR)/scripts/postgres.sh restart" \
	  $(GO) test $(TESTFLAGS) $(PKGS); \
	  rc=$$?; scripts/kafka.sh stop; scripts/postgres.sh stop; exit $$rc

# The older name of test-integration.
test-kafka: test-integration

# Each fuzz target for a bounded time (FUZZTIME), seeds in testdata/fuzz.
FUZZTIME ?= 15s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzPostEvents$$' -fuzztime $(FUZZTIME) ./internal/gateway/
	$(GO) test -run '^$$' -fuzz '^FuzzValidateEvent$$' -fuzztime $(FUZZTIME) ./schemas/
	$(GO) test -run '^$$' -fuzz '^FuzzDuplicateKey$$' -fuzztime $(FUZZTIME) ./schemas/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/config/
	$(GO) test -run '^$$' -fuzz '^FuzzCursor$$' -fuzztime $(FUZZTIME) ./internal/pullfeed/

bench: build
	scripts/bench.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin lienthong-data
