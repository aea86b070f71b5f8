# Build, test and run oddsfeed. `make test` is what CI runs (.ci/run).

EMULATORS := internal/harness/emulators
# Written after a successful `npm ci`; reinstalls only when the pins change.
EMULATORS_STAMP := $(EMULATORS)/node_modules/.installed
# The dashboard's front end: npm packages (build tool, chart library, browser-test driver).
WEB := web
WEB_STAMP := $(WEB)/node_modules/.installed

GO ?= go
SQLC_VERSION := v1.31.1
# sqlc is built once per machine (cgo, ~75 s) into the Go bin directory.
SQLC := $(shell $(GO) env GOPATH)/bin/sqlc

.PHONY: deps test build run bench fuzz fmt-check sqlc-check generate web

# npm-installed emulators (DynamoDB Local, kinesis-mock) used by the test harness.
deps: $(EMULATORS_STAMP) $(WEB_STAMP)

$(EMULATORS_STAMP): $(EMULATORS)/package.json $(EMULATORS)/package-lock.json
	npm ci --prefix $(EMULATORS) --no-audit --no-fund
	touch $@

$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	npm ci --prefix $(WEB) --no-audit --no-fund
	touch $@

# Rebuild web/dist (committed, embedded in the binary) after editing web/src;
# TestDistIsFresh fails when it is stale.
web: $(WEB_STAMP)
	npm run --prefix $(WEB) build

test: deps fmt-check sqlc-check
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

build: web
	$(GO) build -o bin/oddsfeed ./cmd/oddsfeed

run:
	$(GO) run ./cmd/oddsfeed serve

bench: deps
	$(GO) test -run '^$$' -bench 'IngestHTTP' -benchtime 1x ./internal/bench/
	$(GO) test -run '^$$' -bench 'StreamLatency' -benchtime 5x ./internal/bench/
	$(GO) test -run '^$$' -bench 'HubFanout' -benchtime 1000x ./internal/broadcast/
	$(GO) test -run '^$$' -bench 'SyncVsCopy' -benchtime 100x ./internal/reporting/
	$(GO) test -run '^$$' -bench 'Freshness' -benchtime 10x ./internal/reporting/

# Every fuzz target, one after the other, FUZZTIME each (a crash stops the
# run and is written to the package's testdata/fuzz/<target>/: commit it).
FUZZTIME ?= 60s
FUZZ_TARGETS := \
	internal/ingest:FuzzDecodeOdds internal/ingest:FuzzDecodeRef internal/httpx:FuzzReadBodyGzip \
	internal/cdc:FuzzDecodeRecord internal/cdc:FuzzRecordRoundTrip internal/broadcast:FuzzClientRequest \
	internal/store/dynamo:FuzzDecodeCursor internal/store/embedded:FuzzDecodeCursor \
	internal/store/embedded:FuzzDecodeItem internal/store/embedded:FuzzDecodeEntry \
	internal/feed:FuzzParseKeyTime internal/app:FuzzLoadConfig internal/dashboard:FuzzSafeNext internal/dashboard:FuzzTradeRequest internal/auth:FuzzParseKeyring \
	internal/auth:FuzzTokenCheck

fuzz: deps
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $${t#*:} ./$${t%%:*}/"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) -parallel 1 -timeout 0 ./$${t%%:*}/; \
	done

# gofmt -l must print nothing.
fmt-check:
	@files="$$(find . -name '*.go' -not -path './.git/*' -not -path '*/node_modules/*' -not -path '*/testdata/*' -print0 | xargs -0 -r gofmt -l)"; \
	if [ -n "$$files" ]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi

$(SQLC):
	$(GO) install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)

# Regenerate the sqlc code after editing sql/ or migrations/.
generate: $(SQLC)
	$(SQLC) generate

# CI fails when the generated code is stale or a query breaks a lint rule.
sqlc-check: $(SQLC)
	@$(SQLC) version | grep -qx '$(SQLC_VERSION)' || { echo "sqlc $(SQLC_VERSION) required (found $$($(SQLC) version)); rm $(SQLC) and re-run"; exit 1; }
	$(SQLC) diff
	$(SQLC) vet
