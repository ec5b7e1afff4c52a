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

# The same integration suite against Apache Kafka (scripts/kafka.sh).
test-kafka: build
	scripts/kafka.sh start
	LIENTHONG_TEST_KAFKA_BROKERS=$$(scripts/kafka.sh addr) $(GO) test $(TESTFLAGS) $(PKGS); \
	  rc=$$?; scripts/kafka.sh stop; exit $$rc

bench: build
	scripts/bench.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin lienthong-data
