# Switchyard — build, run and test.
#
#   make run      run the gateway on its embedded default (mock provider, or OpenAI with OPENAI_API_KEY)
#   make test     the whole suite: test services, go vet, gofmt check, golangci-lint, go test -race, each fuzz target briefly
#   make lint     golangci-lint (.golangci.yml), installed into $(go env GOPATH)/bin when missing
#   make build    static binary in bin/switchyard, version stamped
#   make bench    the benchmark harness (bench/run.sh)
#   make fuzz     every fuzz target, FUZZTIME each (default 30s), one after the other
#   make faults   the scripted fault run: Redis, Postgres and a full disk under load (scripts/faults.sh)
#   make docker   the container image

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO      ?= go
MODULE  := github.com/switchyard/switchyard
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X $(MODULE)/gateway.Version=$(VERSION)
# TEST_TIMEOUT bounds each test binary; the whole suite must stay well under CI's limit.
TEST_TIMEOUT ?= 5m
IMAGE   ?= switchyard

.PHONY: help run build test vet lint fmt-check test-go test-examples bench fuzz fuzz-brief faults docker clean

help:
	@sed -n 's/^#   make /make /p' $(firstword $(MAKEFILE_LIST))

run:
	$(GO) run ./cmd/switchyard serve

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/switchyard ./cmd/switchyard
	@echo "built bin/switchyard ($(VERSION))"

# test runs everything in one shell so the variables exported by test-services.sh reach
# go test (tests that need Redis or PostgreSQL skip only when those variables are unset).
test:
	. scripts/test-services.sh; \
	$(MAKE) --no-print-directory vet fmt-check lint test-examples test-go fuzz-brief

vet:
	$(GO) vet ./...

# GOLANGCI_LINT is the linter's version, installed from the Go module proxy when the
# binary is missing (a fresh machine); .golangci.yml configures it (depguard keeps one
# JSON facade).
GOLANGCI_LINT ?= v2.15.0
LINT_BIN := $(shell $(GO) env GOPATH)/bin/golangci-lint

lint:
	@if [ ! -x "$(LINT_BIN)" ] || ! "$(LINT_BIN)" --version | grep -q "$(GOLANGCI_LINT:v%=%)"; then \
		echo "installing golangci-lint $(GOLANGCI_LINT)"; \
		$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT); \
	fi
	"$(LINT_BIN)" run ./...

# fmt-check lists every Go file gofmt would change (testdata, vendor and node_modules
# excluded) and fails if there is one.
fmt-check:
	@files=$$(find . \( -name .git -o -name vendor -o -name node_modules -o -name testdata \) -prune \
		-o -name '*.go' -print); \
	bad=$$(gofmt -l $$files); \
	if [ -n "$$bad" ]; then echo "gofmt needed on:"; echo "$$bad"; exit 1; fi; \
	echo "gofmt: ok"

test-go:
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

# test-examples vets the Go client examples, a module of their own (examples/go) so the
# SDKs they use stay out of the gateway's go.mod.
test-examples:
	cd examples/go && $(GO) vet ./...

bench:
	@if [ ! -f bench/run.sh ]; then echo "bench/run.sh not found: the benchmark harness is not in this tree" >&2; exit 1; fi
	bash bench/run.sh

# FUZZTIME is how long make fuzz runs each target. FUZZ_PKGS are the packages with fuzz
# targets; their seed corpora (testdata/fuzz/<FuzzName>) also run as ordinary tests under
# make test. go test fuzzes one target per run, so the targets run one after the other;
# a failing input is written to testdata/fuzz and stops the run.
FUZZTIME ?= 30s
FUZZ_PKGS ?= ./internal/jsonx ./internal/sse ./internal/provider ./cache ./gateway ./internal/dialect/responses ./internal/dialect/messages

# fuzz-brief fuzzes every target for 2 seconds, part of make test.
fuzz-brief:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=2s

fuzz:
	@for pkg in $(FUZZ_PKGS); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$t ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

# faults stops Redis and Postgres and fills a small disk under load, on loopback, and
# prints throughput, errors and ledger events against answers; PHASE (seconds per phase,
# default 10) and CONCURRENCY (default 16) pass through. It restarts whatever it stopped.
faults:
	bash scripts/faults.sh

docker:
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE):$(VERSION) -t $(IMAGE):latest .

clean:
	rm -rf bin
