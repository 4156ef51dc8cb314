# mfshell: `make run` starts the server on the embedded demo; `make test` is
# what CI runs. Each target installs what it needs.

GO        ?= go
BIN       := bin/mfshell
# A count, not a duration: a -fuzztime duration can end a healthy run with
# "context deadline exceeded" (a race in Go's fuzz coordinator, go.dev/issue/75804).
FUZZTIME  ?= 20000x
TOOLS_BIN := $(CURDIR)/.tools/bin
VERSITYGW_VERSION := v1.8.0
VERSITYGW := $(TOOLS_BIN)/versitygw
# package:FuzzTarget pairs, each run for FUZZTIME by `make fuzz`.
FUZZ_TARGETS := \
	./manifests:FuzzDecode \
	./fragments:FuzzNormalize \
	./fragments:FuzzParseTrigger \
	./manifests:FuzzNames \
	./internal/tokens:FuzzParse \
	./cdn:FuzzOriginPath \
	./cdn:FuzzPublishPath \
	./cdn:FuzzScopeCSS \
	./server:FuzzIfMatch \
	./server:FuzzBeacon \
	./server:FuzzDevOverride \
	./server:FuzzBundleURL \
	./internal/override:FuzzVerify

.PHONY: all build run test fmt-check vet rules test-go fuzz bench clean \
	node-deps chromium typecheck e2e screenshots s3-server

all: build

build:
	$(GO) build -o $(BIN) ./cmd/mfshell

run: build
	./$(BIN) serve

test: fmt-check vet rules test-go fuzz typecheck e2e

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Cheap repository rules: tests wait for conditions, never for fixed times;
# no grab-bag packages.
rules:
	@bad=$$(git grep -n -E 'time\.Sleep|waitForTimeout' -- '*_test.go' 'e2e/*.ts' || true); \
	if [ -n "$$bad" ]; then echo "tests must wait for a condition, not sleep:"; echo "$$bad"; exit 1; fi
	@bad=$$(git ls-files | grep -E '(^|/)(util|utils|common|helpers)/' || true); \
	if [ -n "$$bad" ]; then echo "no grab-bag packages:"; echo "$$bad"; exit 1; fi

# The S3-compatible server the S3 stores are tested against (internal/s3test
# starts it per test binary). Installed once; again only when the pinned
# version changes.
s3-server:
	@have=$$($(GO) version -m $(VERSITYGW) 2>/dev/null | awk '$$1=="mod"{print $$3}'); \
	if [ "$$have" != "$(VERSITYGW_VERSION)" ]; then \
		echo "installing versitygw $(VERSITYGW_VERSION) into $(TOOLS_BIN)"; \
		GOBIN=$(TOOLS_BIN) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION); \
	fi

test-go: s3-server chromium
	VERSITYGW=$(VERSITYGW) $(GO) test -race -count=1 ./...

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) >/tmp/mfshell-fuzz.log 2>&1 \
			|| { cat /tmp/mfshell-fuzz.log; exit 1; }; \
	done

bench: s3-server
	VERSITYGW=$(VERSITYGW) bash bench/run.sh

# The npm packages of package-lock.json, exactly: TypeScript, esbuild,
# Playwright and what the e2e fixture apps are built from.
node-deps:
	npm ci --no-audit --no-fund

# Debian's Chromium, which the e2e tests drive; Playwright never downloads
# a browser. Installed only when missing.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "installing Debian's chromium"; \
		$$sudo apt-get update && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	fi

typecheck: node-deps
	npx tsc -p shell-js --noEmit
	npx tsc -p shell-js/admin --noEmit
	npx tsc -p e2e --noEmit

# The e2e suite: real mfshell servers (bin/mfshell) and real Chromium.
e2e: chromium node-deps build
	npx playwright test -c e2e/playwright.config.ts

# Screenshots of the demo apps at 1280x800 into docs/screenshots/.
screenshots: chromium node-deps build
	npm run screenshots

clean:
	rm -rf bin
