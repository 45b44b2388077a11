# tierflow — one Makefile for local runs, tests, builds and `sam build`.
# The two commands a new user needs: `make run` and `make test`.

SHELL := /bin/bash
GO ?= go
NODE_DIR := infra/local/node
# Redocly CLI, which lints the published OpenAPI document in make test (infra/local/contract).
LINT_DIR := infra/local/contract/lint
BUILD := .build
# Logical id => folder. template.yaml is the source of truth; a test checks this list
# against it (every function has a folder and a build target).
FUNCTIONS := PublicApiFunction:public-api ApiFunction:api IngestFunction:ingest \
             RetierFunction:retier SweepFunction:sweep DispatchFunction:dispatch WebFunction:web \
             ApiKeyAuthorizerFunction:api-key-authorizer DeliveryFunction:delivery
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'
TEST_TIMEOUT ?= 12m
# The staff web app: sources in UI_DIR, bundled by esbuild into UI_DIST, which the web
# function embeds (docs/webapp.md).
UI_DIR := functions/web/ui
UI_DIST := functions/web/dist
UI_SRC := $(wildcard $(UI_DIR)/src/*.* $(UI_DIR)/src/pages/*.js) $(UI_DIR)/build.mjs

.PHONY: help deps web browser screenshots build build-local run test test-unit bench cost token invoke import rfm model deploy clean fmt vet

help:
	@echo "make run    start tierflow locally (emulators + functions + demo data) and print the URLs"
	@echo "make test   install what is needed and run every test, including emulator integration tests"
	@echo "make bench  run the benchmarks and print the figures"
	@echo "make cost   measure request units per operation on DynamoDB Local and print the nightly bill as JSON"
	@echo "make build  build every function for AWS (arm64 bootstrap) into $(BUILD)/lambda"
	@echo "make token ROLE=admin|clinician|agent STORE=<id>   mint a local staff token"
	@echo "make invoke FN=<LogicalId> EVENT=events/<file>.json invoke a function in the local stack"
	@echo "make import FILE=<csv|xlsx> [ARGS=--dry-run]   import customers or transactions into the running local stack"
	@echo "make rfm FILE=<csv> AS_OF=<date>   offline RFM-T tiers for a transactions file"
	@echo "make model FILE=<file> CAL_END=<date>   fit BG/NBD + Gamma-Gamma offline"
	@echo "make deploy  sam build --build-in-source && sam deploy --guided"
	@echo "make web    bundle the staff web app (functions/web/ui -> functions/web/dist)"
	@echo "make screenshots  regenerate docs/screenshots/ (every page, desktop and phone)"

# ---------------------------------------------------------------- install
# Everything a fresh machine with Go, Node 20 and Java 17 needs, from the lock files.
deps: $(NODE_DIR)/node_modules/.installed $(UI_DIR)/node_modules/.installed $(LINT_DIR)/node_modules/.installed
	@$(GO) mod download

$(LINT_DIR)/node_modules/.installed: $(LINT_DIR)/package.json $(LINT_DIR)/package-lock.json
	@command -v node >/dev/null || { echo "node not found: install Node.js 20 (apt-get install nodejs npm)"; exit 1; }
	cd $(LINT_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	@command -v node >/dev/null || { echo "node not found: install Node.js 20 (apt-get install nodejs npm)"; exit 1; }
	@command -v java >/dev/null || { echo "java not found: install a Java 17 runtime (apt-get install openjdk-17-jre-headless)"; exit 1; }
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(UI_DIR)/node_modules/.installed: $(UI_DIR)/package.json $(UI_DIR)/package-lock.json
	@command -v node >/dev/null || { echo "node not found: install Node.js 20 (apt-get install nodejs npm)"; exit 1; }
	cd $(UI_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The staff app bundle: rebuilt when a source or the lock file changes.
web: $(UI_DIST)/index.html
$(UI_DIST)/index.html: $(UI_DIR)/node_modules/.installed $(UI_SRC)
	cd $(UI_DIR) && node build.mjs

# The browser tests drive Debian's Chromium; install it when missing (as root), else say so.
browser:
	@if command -v chromium >/dev/null 2>&1 || [ -n "$$TIERFLOW_CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the browser tests (apt-get install chromium fonts-wqy-microhei)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; } \
	    || echo "!!! chromium could not be installed: the browser tests in infra/local/webtest will FAIL"; \
	else echo "!!! chromium is missing: apt-get install chromium fonts-wqy-microhei (as root); the browser tests in infra/local/webtest will FAIL"; fi

# ---------------------------------------------------------------- build
# AWS artefacts: linux/arm64, as template.yaml declares.
build: web
	@for pair in $(FUNCTIONS); do id=$${pair%%:*}; dir=$${pair##*:}; \
	  echo "build $$id (functions/$$dir) -> $(BUILD)/lambda/$$id/bootstrap"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o $(BUILD)/lambda/$$id/bootstrap ./functions/$$dir || exit 1; \
	done
	@# Each bootstrap's size against its budget (issue #13, infra/build); fails above its limit.
	@$(GO) run ./infra/build/sizes -dir $(BUILD)/lambda $(FUNCTIONS)

# The same binaries for this machine's architecture, run by the local runtime.
build-local: web
	@for pair in $(FUNCTIONS); do id=$${pair%%:*}; dir=$${pair##*:}; \
	  CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(BUILD)/local/$$id/bootstrap ./functions/$$dir || exit 1; \
	done

# `sam build` calls build-<LogicalId> with ARTIFACTS_DIR set (BuildMethod: makefile).
define sam_target
build-$(1):
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o $$(ARTIFACTS_DIR)/bootstrap ./functions/$(2)
endef
$(foreach pair,$(FUNCTIONS),$(eval $(call sam_target,$(word 1,$(subst :, ,$(pair))),$(word 2,$(subst :, ,$(pair))))))
build-WebFunction: web

# ---------------------------------------------------------------- run
run: deps build-local
	$(GO) run ./infra/local/cmd/tierflow-local run -seed -quiet

# ---------------------------------------------------------------- test
# One set of emulators for the whole run: `tierflow-local test` starts DynamoDB Local,
# fauxqs and aws-ses-v2-local, creates the template's table and queues as prototypes,
# runs go test with their endpoints in the environment (each test binary copies the
# prototypes under its own names: shared/store/storetest), and stops them at the end,
# on failure and on Ctrl-C. It also says in one line which public data sets were missing.
# One package: go run ./infra/local/cmd/tierflow-local test -- go test ./shared/store
LAUNCHER := $(BUILD)/tierflow-local
GO_TEST := $(GO) test -count=1 -timeout $(TEST_TIMEOUT)
# The packages whose own goroutines share state (senders, pollers, process pools, the
# store under concurrent writers, the dispatcher) also run under the race detector.
# functions/retier is left out: its run takes minutes under -race.
RACE_PKGS := ./shared/queue ./shared/store ./shared/notify ./shared/followup/app ./functions/dispatch \
             ./infra/local/esm ./infra/local/lambdart ./infra/local/scheduler
OTHER_PKGS = $(filter-out $(RACE_PKGS),$(patsubst $(CURDIR)/%,./%,$(shell $(GO) list -f '{{.Dir}}' ./...)))

launcher:
	@$(GO) build -o $(LAUNCHER) ./infra/local/cmd/tierflow-local

test: deps browser build-local launcher
	cd $(UI_DIR) && npm test --silent
	$(GO) vet ./...
	$(LAUNCHER) test -- $(MAKE) --no-print-directory test-go
	@cat $(BUILD)/webapp-figures.txt 2>/dev/null || true

# The go test runs of make test, side by side; run under `tierflow-local test` (above),
# which provides the emulators. Fails if either fails.
test-go:
	@$(GO_TEST) -race $(RACE_PKGS) & race=$$!; \
	$(GO_TEST) $(OTHER_PKGS); rest=$$?; \
	wait $$race; race=$$?; \
	[ $$race -eq 0 ] && [ $$rest -eq 0 ]

# Every page of the staff app at desktop and phone size, into docs/screenshots/.
screenshots: deps browser build-local
	TIERFLOW_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run TestStaffApp -v ./infra/local/webtest

test-unit: launcher
	$(LAUNCHER) test -- $(GO) test -short -count=1 ./shared/...

bench: deps build-local launcher
	set -o pipefail; $(LAUNCHER) test -- $(GO) test -run '^$$' -bench . -benchmem -benchtime 1x -timeout 30m ./... | tee $(BUILD)/bench.txt

# issue #13: every budgeted operation against DynamoDB Local (ReturnConsumedCapacity), the
# nightly write shares of a synthetic base, and the bill of a night for 1 M and 10 M
# customers, as one JSON document on standard output (infra/local/cost; everything else,
# npm included, on stderr).
COST_CUSTOMERS ?= 5000
cost: launcher
	@$(MAKE) --no-print-directory deps >&2
	@mkdir -p $(BUILD)
	@rm -f $(BUILD)/cost.json; status=0; \
	  $(LAUNCHER) test -- $(GO) test -count=1 -timeout 60m -run '^TestCostReport$$' ./infra/local/cost \
	    -args -customers $(COST_CUSTOMERS) -json $(CURDIR)/$(BUILD)/cost.json >&2 || status=$$?; \
	  if [ -f $(BUILD)/cost.json ]; then cat $(BUILD)/cost.json; fi; exit $$status

# ---------------------------------------------------------------- operator tools
ROLE ?= admin
STORE ?= *
token:
	@$(GO) run ./infra/local/cmd/tierflow-local token -role $(ROLE) -stores '$(STORE)'

invoke: build-local
	$(GO) run ./infra/local/cmd/tierflow-local invoke -fn $(FN) -event $(EVENT)

# The CLI talks to a stack by URL and credential only; here the credential is a local
# admin token (TIERFLOW_TOKEN wins when set) and the URL the stack of $TIERFLOW_PORT.
# Flags through ARGS, e.g. make import FILE=会员.xlsx ARGS='--dry-run --store sh-01'.
# With URL= and KEY= (an API key) it posts to that stack through /v1/machine/; without them
# to the local stack of make run on $$TIERFLOW_PORT, with a local admin token.
import:
	@if [ -n "$(KEY)" ]; then \
	  $(GO) run ./infra/cli import -file '$(FILE)' -key '$(KEY)' $(if $(URL),-url '$(URL)') $(ARGS); \
	else \
	  TIERFLOW_TOKEN="$${TIERFLOW_TOKEN:-$$($(GO) run ./infra/local/cmd/tierflow-local token -role admin -stores '*')}" \
	  $(GO) run ./infra/cli import -file '$(FILE)' $(if $(URL),-url '$(URL)') $(ARGS); \
	fi

rfm:
	$(GO) run ./infra/cli rfm -file $(FILE) -as-of $(AS_OF)

model:
	$(GO) run ./infra/cli model -file $(FILE) -cal-end $(CAL_END)

# After the stack is updated, the retier function brings the table to the item layout the
# new code reads ({"action":"migrate"}: a no-op on a table already there; docs/data-model.md).
deploy:
	sam build --build-in-source && sam deploy --guided
	sam remote invoke RetierFunction --event '{"action":"migrate"}'

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

clean:
	rm -rf $(BUILD)
