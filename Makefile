GO ?= go
PKGS ?= ./...
TEST_TIMEOUT ?= 40m

.PHONY: run test test-acceptance lint deps build bench fmt

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

# Issue 14's full acceptance run alone (also part of `make test`): three
# nodes behind Kamailio on PostgreSQL, SIPp citizens, baresip phones, chats
# and consoles, two kills. ~2 min. ONECALL_ACCEPTANCE_LOGS=dir keeps every
# node's, Kamailio's and SIPp's logs.
test-acceptance: deps
	$(GO) test -race -count=1 -timeout 15m -run 'TestClusterAcceptance$$' -v ./deploy/acceptance/

lint:
	$(GO) mod tidy -diff
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet $(PKGS)
	$$($(GO) env GOPATH)/bin/golangci-lint run $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./router/ ./store/

fmt:
	gofmt -w $$(git ls-files '*.go')
