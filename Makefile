# integration-dr — run `make demo` to see it work, `make test` to check it.
GO        ?= go
PKG_DIR   := dist/app
# Fuzz targets as package:Target. `make test` runs each briefly; `make fuzz` longer.
FUZZ_TARGETS := handlers:FuzzDecodeInvocation handlers:FuzzDecodeMessageBody handlers:FuzzHandler session:FuzzSessionContent failover:FuzzCompute
FUZZTIME       ?= 2m
# A count, not a duration, in `make test`: a duration's deadline can end the fuzzer
# while a worker is still starting on a loaded machine, failing it with "context
# deadline exceeded" for no fault of the code. About five seconds per target here.
FUZZTIME_SHORT ?= 20000x

.PHONY: all deps browser-deps build demo demo-up test vet fmt-check lint package bench fuzz fuzz-short sim clean

all: build

# Everything the project needs, from its own pinned files: Go modules (go.sum), the
# tools module (tools/go.sum: golangci-lint) and Azurite (package-lock.json).
deps: node_modules/.installed
	$(GO) mod download
	cd tools && $(GO) mod download

# Debian's Chromium, for the status page's browser test (statuspage); nothing to do
# when it is installed. sudo only when not root.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

build:
	$(GO) build -o bin/handler ./cmd/handler

# The main job on embedded defaults: Azurite, the ARM stand-in, the real handler.
demo: deps
	$(GO) run ./cmd/demo

# The demo, then the stack kept running, its timers ticking, for the drctl lines and
# the Status page URL it prints. Ctrl-C or SIGTERM stops it (exit 0) with nothing left
# running. Built, then exec'd, not `go run`: a SIGTERM make forwards must reach the
# demo itself, which `go run` would not pass on.
demo-up: deps
	$(GO) build -o bin/demo ./cmd/demo
	exec bin/demo -keep

vet:
	$(GO) vet ./...
	$(GO) vet -tags standin ./app

# golangci-lint at the version tools/go.mod pins, built once into bin/ (rebuilt when
# the pin changes); its configuration is .golangci.yml.
GOLANGCI_LINT := bin/golangci-lint
$(GOLANGCI_LINT): tools/go.mod tools/go.sum
	cd tools && $(GO) build -o ../$(GOLANGCI_LINT) github.com/golangci/golangci-lint/v2/cmd/golangci-lint

lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Unit, integration (Azurite), end-to-end (handler binary + stand-in + Azurite) and
# browser (headless Chromium) tests, every package but two under the race detector;
# the simulation (a fixed set of seeds and a thousand random ones); a short fuzz run of
# each fuzz target. The end-to-end package drives the handler binary, whose own test
# process has little to race on, and the simulation runs one seed per goroutine (the
# product code it drives is raced in its own packages): both run without -race unless
# E2E_RACE / SIM_RACE say otherwise.
E2E_RACE ?=
SIM_RACE ?=
test: deps browser-deps vet fmt-check lint
	$(GO) test -count=1 -race -timeout 25m $$($(GO) list ./... | grep -v -e '/e2e$$' -e '/dev/sim$$')
	$(GO) test -count=1 $(SIM_RACE) -timeout 10m ./dev/sim
	$(GO) test -count=1 $(E2E_RACE) -timeout 25m ./e2e
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_SHORT)

# The deterministic simulation with as many random seeds as asked (make sim SEEDS=N);
# its last line is one JSON object: seeds, events, violations, invariants.
SEEDS ?= 10000
sim:
	$(GO) run ./dev/sim/cmd/sim -seeds $(SEEDS)

# Coverage-guided fuzzing of the decoders and the session-content rules; new failing
# inputs land in <package>/testdata/fuzz and become regression tests.
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) ./$$pkg; \
	done

# Replication measured against the stand-in with injected latency; the last line
# printed is one JSON object. Go benchmarks of the hot paths follow.
bench: deps
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=1s ./session ./handlers
	$(GO) run ./bench

# A deployable folder and zip: host.json, the linux/amd64 executable (static, without
# the standin tag) and every function folder at the app root. azure.yaml deploys the
# folder, `make deploy` the zip.
package:
	@command -v zip >/dev/null || { echo "make package needs zip (apt-get install zip)"; exit 1; }
	rm -rf $(PKG_DIR) dist/app.zip
	mkdir -p $(PKG_DIR)
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -o $(PKG_DIR)/handler ./cmd/handler
	cp host.json $(PKG_DIR)/
	cp -R functions/. $(PKG_DIR)/
	cd $(PKG_DIR) && zip -qr ../app.zip .
	@echo "packaged $(PKG_DIR) and dist/app.zip"

# The az CLI alternative to `azd up`: provision infra/bicep at subscription scope with
# main.bicepparam, then zip-deploy dist/app.zip. Needs `az login` and, in the
# environment or on the command line, AZURE_ENV_NAME, AZURE_LOCATION (the secondary
# region) and AZURE_SUBSCRIPTION_ID; AZURE_RESOURCE_GROUP is optional. See docs/deploy.md.
DEPLOYMENT ?= integration-dr-$(AZURE_ENV_NAME)
.PHONY: deploy
deploy: package
	@test -n "$(AZURE_ENV_NAME)" && test -n "$(AZURE_LOCATION)" && test -n "$(AZURE_SUBSCRIPTION_ID)" || \
		{ echo "set AZURE_ENV_NAME, AZURE_LOCATION (the secondary region) and AZURE_SUBSCRIPTION_ID"; exit 2; }
	AZURE_ENV_NAME="$(AZURE_ENV_NAME)" AZURE_LOCATION="$(AZURE_LOCATION)" AZURE_SUBSCRIPTION_ID="$(AZURE_SUBSCRIPTION_ID)" \
	AZURE_RESOURCE_GROUP="$(AZURE_RESOURCE_GROUP)" \
		az deployment sub create --subscription "$(AZURE_SUBSCRIPTION_ID)" --name "$(DEPLOYMENT)" \
		--location "$(AZURE_LOCATION)" --template-file infra/bicep/main.bicep \
		--parameters infra/bicep/main.bicepparam --output none
	@out() { az deployment sub show --subscription "$(AZURE_SUBSCRIPTION_ID)" --name "$(DEPLOYMENT)" \
		--query "properties.outputs.$$1.value" --output tsv; }; \
	rg=$$(out AZURE_RESOURCE_GROUP) && app=$$(out AZURE_FUNCTION_APP_NAME) && \
	echo "deploying dist/app.zip to $$app in $$rg" && \
	az functionapp deployment source config-zip --subscription "$(AZURE_SUBSCRIPTION_ID)" \
		--resource-group "$$rg" --name "$$app" --src dist/app.zip && \
	echo "status: $$(out STATUS_URL)"

clean:
	rm -rf bin dist
