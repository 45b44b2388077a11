# tierflow — one Makefile for local runs, tests, builds and `sam build`.
# The two commands a new user needs: `make run` and `make test`.

SHELL := /bin/bash
GO ?= go
NODE_DIR := infra/local/node
BUILD := .build
# Logical id => folder. template.yaml is the source of truth; a test checks this list
# against it (every function has a folder and a build target).
FUNCTIONS := PublicApiFunction:public-api ApiFunction:api IngestFunction:ingest \
             RetierFunction:retier SweepFunction:sweep DispatchFunction:dispatch
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'
TEST_TIMEOUT ?= 12m

.PHONY: help deps build build-local run test test-unit bench token invoke import rfm model deploy clean fmt vet

help:
	@echo "make run    start tierflow locally (emulators + functions + demo data) and print the URLs"
	@echo "make test   install what is needed and run every test, including emulator integration tests"
	@echo "make bench  run the benchmarks and print the figures"
	@echo "make build  build every function for AWS (arm64 bootstrap) into $(BUILD)/lambda"
	@echo "make token ROLE=admin|clinician|agent STORE=<id>   mint a local staff token"
	@echo "make invoke FN=<LogicalId> EVENT=events/<file>.json invoke a function in the local stack"
	@echo "make import FILE=<csv>   bulk-import transactions into the running local stack"
	@echo "make rfm FILE=<csv> AS_OF=<date>   offline RFM-T tiers for a transactions file"
	@echo "make model FILE=<file> CAL_END=<date>   fit BG/NBD + Gamma-Gamma offline"
	@echo "make deploy  sam build && sam deploy --guided"

# ---------------------------------------------------------------- install
# Everything a fresh machine with Go, Node 20 and Java 17 needs, from the lock files.
deps: $(NODE_DIR)/node_modules/.installed
	@$(GO) mod download

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	@command -v node >/dev/null || { echo "node not found: install Node.js 20 (apt-get install nodejs npm)"; exit 1; }
	@command -v java >/dev/null || { echo "java not found: install a Java 17 runtime (apt-get install openjdk-17-jre-headless)"; exit 1; }
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# ---------------------------------------------------------------- build
# AWS artefacts: linux/arm64, as template.yaml declares.
build:
	@for pair in $(FUNCTIONS); do id=$${pair%%:*}; dir=$${pair##*:}; \
	  echo "build $$id (functions/$$dir) -> $(BUILD)/lambda/$$id/bootstrap"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o $(BUILD)/lambda/$$id/bootstrap ./functions/$$dir || exit 1; \
	done

# The same binaries for this machine's architecture, run by the local runtime.
build-local:
	@for pair in $(FUNCTIONS); do id=$${pair%%:*}; dir=$${pair##*:}; \
	  CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(BUILD)/local/$$id/bootstrap ./functions/$$dir || exit 1; \
	done

# `sam build` calls build-<LogicalId> with ARTIFACTS_DIR set (BuildMethod: makefile).
define sam_target
build-$(1):
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o $$(ARTIFACTS_DIR)/bootstrap ./functions/$(2)
endef
$(foreach pair,$(FUNCTIONS),$(eval $(call sam_target,$(word 1,$(subst :, ,$(pair))),$(word 2,$(subst :, ,$(pair))))))

# ---------------------------------------------------------------- run
run: deps build-local
	$(GO) run ./infra/local/cmd/tierflow-local run -seed -quiet

# ---------------------------------------------------------------- test
test: deps build-local
	$(GO) vet ./...
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

test-unit:
	$(GO) test -short -count=1 ./shared/...

bench: deps build-local
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x -timeout 30m ./... | tee $(BUILD)/bench.txt

# ---------------------------------------------------------------- operator tools
ROLE ?= admin
STORE ?= *
token:
	@$(GO) run ./infra/local/cmd/tierflow-local token -role $(ROLE) -stores '$(STORE)'

invoke: build-local
	$(GO) run ./infra/local/cmd/tierflow-local invoke -fn $(FN) -event $(EVENT)

import:
	$(GO) run ./infra/cli import -file $(FILE)

rfm:
	$(GO) run ./infra/cli rfm -file $(FILE) -as-of $(AS_OF)

model:
	$(GO) run ./infra/cli model -file $(FILE) -cal-end $(CAL_END)

deploy:
	sam build && sam deploy --guided

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

clean:
	rm -rf $(BUILD)
