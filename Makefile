# The two commands a new user types: `make run` and `make test`.
# Everything else here is what they need. Nothing is installed outside the
# repository but Go's module cache.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
BIN       := bin
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags='-s -w -buildid='
# The functions, by their logical ids in template.yaml; each one's code is functions/<id without Function,
# lower case>/. infra/templatecheck checks this list against the template and functions/.
FUNCTIONS := IntakeFunction DispatchFunction WorkerFunction SuppressionFunction DpoFunction MonitorFunction \
             DeadLetterFunction ProvenanceFunction RetentionFunction KeyingFunction BackfillFunction
fn_dir = $(shell printf '%s' '$(1:Function=)' | tr '[:upper:]' '[:lower:]')
FUNCTION_DIRS := $(foreach f,$(FUNCTIONS),$(call fn_dir,$(f)))

export SAM_CLI_TELEMETRY := 0
export AWS_REGION ?= us-east-1
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_ACCESS_KEY_ID ?= test
export AWS_SECRET_ACCESS_KEY ?= test

NODE_STAMP := node_modules/.installed

.PHONY: help run test venv deps unit lint sam-build integration chromium screenshots bench build fuzz clean
help:
	@echo "make run    start the emulator, create template.yaml's resources, seed demo data, serve on 127.0.0.1:3000"
	@echo "make test   unit, fuzz-seed, emulator integration, end-to-end and RIE tests; sam validate --lint, cfn-lint; sam build"
	@echo "make bench  benchmarks (intake handler, report and certificate assembly, provenance events)"
	@echo "make screenshots  the browser tests only, saving the pages' screenshots and metrics to docs/screenshots"

# ---------------------------------------------------------------- set-up
$(STAMP): infra/requirements.txt infra/constraints.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt -c infra/constraints.txt
	touch $@

venv: $(STAMP)

# axe-core for the browser tests, pinned in package.json and package-lock.json (nothing here is served).
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The browser tests drive the machine's Chromium (Debian: apt-get install chromium), or $$CHROMIUM.
chromium:
	@if [ -n "$${CHROMIUM:-}" ]; then \
	  [ -x "$$CHROMIUM" ] || { echo "CHROMIUM=$$CHROMIUM is not an executable" >&2; exit 1; }; \
	elif ! command -v chromium >/dev/null; then \
	  echo "chromium is missing: apt-get install chromium (or set CHROMIUM=/path/to/chromium)" >&2; exit 1; \
	fi

deps:
	go mod download

# ---------------------------------------------------------------- the two commands
run: venv deps $(NODE_STAMP)
	AWS_LAMBDA_LOG_FORMAT=JSON go run ./infra/devstack

test: venv deps $(NODE_STAMP) chromium unit lint sam-build integration
	@echo "make test: all passed"

# ---------------------------------------------------------------- parts of make test
unit:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.venv/*')); \
	  if [ -n "$$out" ]; then echo "not gofmt'd: $$out"; exit 1; fi
	go test -race -count=1 ./...
	node --test web/

# The Go code: vet and staticcheck (pinned in go.mod as a tool; staticcheck.conf), with and without the
# integration tests. The template: sam validate --lint runs cfn-lint's default rules; the second run adds the
# informational ones (I...), which ask for explicit deletion policies and message retention.
lint: venv
	go vet ./... && go vet -tags integration ./...
	go tool staticcheck ./... && go tool staticcheck -tags integration ./...
	$(VENV)/bin/sam validate --lint --template template.yaml --region $(AWS_REGION)
	$(VENV)/bin/cfn-lint --include-checks I --regions $(AWS_REGION) -- template.yaml

sam-build: venv
	$(VENV)/bin/sam build --template template.yaml --build-in-source --build-dir .aws-sam/build --parallel

integration: venv $(NODE_STAMP) chromium
	infra/emulator.sh start
	trap 'infra/emulator.sh stop' EXIT; \
	  AWS_ENDPOINT_URL=$${AWS_ENDPOINT_URL:-http://127.0.0.1:4566} go test -race -count=1 -tags integration -timeout 45m ./...

# The browser tests alone (TestBrowser), keeping the screenshots and metrics.json for README.md.
screenshots: venv deps $(NODE_STAMP) chromium
	infra/emulator.sh start
	trap 'infra/emulator.sh stop' EXIT; \
	  AWS_ENDPOINT_URL=$${AWS_ENDPOINT_URL:-http://127.0.0.1:4566} DSR_SCREENSHOTS=docs/screenshots \
	  go test -count=1 -tags integration -timeout 10m -run '^TestBrowser$$' -v ./internal/e2e/

bench: venv deps
	go test -run '^$$' -bench . -benchmem ./internal/...

fuzz:
	go test -run '^$$' -fuzz FuzzParseSubmission -fuzztime 20s ./internal/jsonbody
	go test -run '^$$' -fuzz FuzzParseRegistration -fuzztime 20s ./internal/jsonbody
	go test -run '^$$' -fuzz FuzzParseRegistry -fuzztime 20s ./internal/dsr
	go test -run '^$$' -fuzz FuzzParseRectification -fuzztime 20s ./internal/dsr
	go test -run '^$$' -fuzz FuzzParseRectificationDecision -fuzztime 20s ./internal/jsonbody
	go test -run '^$$' -fuzz FuzzParseVerify -fuzztime 20s ./internal/jsonbody
	go test -run '^$$' -fuzz FuzzParseSuppressionCheck -fuzztime 20s ./internal/jsonbody
	go test -run '^$$' -fuzz FuzzParseProvenanceEvent -fuzztime 20s ./internal/jsonbody
	go test -run '^$$' -fuzz FuzzParseRestrictionExtension -fuzztime 20s ./internal/jsonbody
	go test -run '^$$' -fuzz FuzzNormalizeEmail -fuzztime 20s ./internal/dsr
	go test -run '^$$' -fuzz FuzzPurposeBasis -fuzztime 20s ./internal/dsr
	go test -run '^$$' -fuzz FuzzParseMessage -fuzztime 20s ./internal/jsonbody
	go test -run '^$$' -fuzz FuzzOpenCursor -fuzztime 20s ./internal/dsr
	go test -run '^$$' -fuzz FuzzAuthorize -fuzztime 20s ./internal/dpo
	go test -run '^$$' -fuzz FuzzParseIdempotencyKey -fuzztime 20s ./internal/dsr
	go test -run '^$$' -fuzz FuzzDecodeCursor -fuzztime 20s ./internal/dynamo
	go test -run '^$$' -fuzz FuzzStreamKeyState -fuzztime 20s ./internal/dynamo
	go test -run '^$$' -fuzz FuzzBackfillInvoke -fuzztime 20s ./internal/keying
	go test -run '^$$' -fuzz FuzzParseRate -fuzztime 20s ./internal/devstack
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 20s ./internal/devstack/samtemplate

# Arm64 bootstraps for Lambda, stripped (sizes in the closing notes come from here).
build:
	@mkdir -p $(BIN)
	@for f in $(FUNCTION_DIRS); do \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build $(GOFLAGS_LAMBDA) -o $(BIN)/$$f/bootstrap ./functions/$$f; \
	  echo "$(BIN)/$$f/bootstrap $$(stat -c %s $(BIN)/$$f/bootstrap) bytes"; \
	done

# ---------------------------------------------------------------- sam build (BuildMethod: makefile)
define lambda_target
build-$(1):
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build $(GOFLAGS_LAMBDA) -o $$(ARTIFACTS_DIR)/bootstrap ./functions/$(2)
endef
$(foreach f,$(FUNCTIONS),$(eval $(call lambda_target,$(f),$(call fn_dir,$(f)))))

clean:
	rm -rf $(BIN) .aws-sam .local
