# lienthong: `make run` starts the demo on the embedded broker, `make test`
# runs the tests (against the embedded broker over TCP).
GO        ?= go
BIN       ?= bin/lienthong
PKGS      ?= ./...
TESTFLAGS ?= -race -count=1 -timeout 20m

.PHONY: all build run serve test test-kafka bench fuzz vet fmt clean

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

test: vet build
	$(GO) test $(TESTFLAGS) $(PKGS)

# The same integration suite against Apache Kafka 4.x (KRaft, one node on
# loopback), fetched from Maven Central by scripts/kafka.sh.
test-kafka: build
	scripts/kafka.sh start
	LIENTHONG_TEST_KAFKA_BROKERS=$$(scripts/kafka.sh addr) \
	LIENTHONG_TEST_KAFKA_RESTART="$(CURDIR)/scripts/kafka.sh restart" \
	  $(GO) test $(TESTFLAGS) $(PKGS); \
	  rc=$$?; scripts/kafka.sh stop; exit $$rc

# Each fuzz target for a bounded time (FUZZTIME), seeds in testdata/fuzz.
FUZZTIME ?= 15s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzPostEvents$$' -fuzztime $(FUZZTIME) ./internal/gateway/
	$(GO) test -run '^$$' -fuzz '^FuzzValidateEvent$$' -fuzztime $(FUZZTIME) ./schemas/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/config/
	$(GO) test -run '^$$' -fuzz '^FuzzCursor$$' -fuzztime $(FUZZTIME) ./adapters/pull/

bench: build
	scripts/bench.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin lienthong-data
