GO ?= go
PKGS ?= ./...
TEST_TIMEOUT ?= 40m

.PHONY: run test lint deps build bench fmt

# Run onecall with its embedded SQLite and demo data (loopback only).
run:
	$(GO) run ./cmd/onecall --demo

build:
	$(GO) build -o onecall ./cmd/onecall

deps:
	.ci/install-deps

# The whole test suite, with the race detector. Installs the test peers first.
test: deps
	$(GO) test -race -timeout $(TEST_TIMEOUT) $(PKGS)

lint:
	$(GO) mod tidy -diff
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet $(PKGS)
	$$($(GO) env GOPATH)/bin/golangci-lint run $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./router/ ./store/

fmt:
	gofmt -w $$(git ls-files '*.go')
