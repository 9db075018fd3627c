# Gatehouse — build, run, test.
#
#   make build  bin/gatehouse, stamped with VERSION, COMMIT and BUILD_DATE below
#   make package  the Debian package bin/gatehouse_<version>_amd64.deb (dist/)
#   make run    build and run the gateway on examples/quickstart/ (state in ./var)
#   make test   every test; installs what the tests need (as root), else says SKIP
#   make lint   gofmt, go vet, staticcheck
#   make fuzz   every fuzz target for FUZZTIME each (default 10s)
#   make bench  every benchmark, with allocations
#   make proto  regenerate proto/ with the pinned protoc plug-ins (needs protoc)
#   make screenshots  the web console's pages as PNGs in docs/console/ (as root)

GO        ?= go
BIN       := $(CURDIR)/bin
TOOLS     := $(BIN)/tools
FUZZTIME  ?= 10s
CONFIG    ?= examples/quickstart/gatehouse.yaml

# What "gatehouse version" prints (cmd/gatehouse/version.go). BUILD_DATE is
# the commit's time, not the clock's, so that a commit always builds the
# same binary. Without git: 0.0.0-dev and no commit or date. Override on
# the command line: make package VERSION=1.2.3
VERSION    := $(or $(shell git describe --tags --always --dirty 2>/dev/null | sed 's/^v\([0-9]\)/\1/'),0.0.0-dev)
COMMIT     := $(shell git rev-parse HEAD 2>/dev/null)
BUILD_DATE := $(shell TZ=UTC0 git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
LDFLAGS    := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(BUILD_DATE)

# make package: a position-independent (as every Debian executable), cgo-free
# (no shared library but the loader), stripped, -trimpath build for
# PKG_GOARCH, packaged by dist/build-deb into PKG_OUT (the packaging tests
# pass a temporary folder).
PKG_OUT    ?= $(BIN)
PKG_GOARCH ?= amd64

STATICCHECK_VERSION := v0.8.2

# The protoc plug-ins that generated the committed *.pb.go files. The test
# in proto/ reads these lines, regenerates with the same versions and
# fails when the committed files differ.
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1
PROTO_FILES                := gatehouse/plugin/v1/plugin.proto gatehouse/plugin/v2/plugin.proto
# The plug-in that writes fast marshalling code (plugin_vtproto.pb.go) for
# the files whose messages travel on the plugin channel; the same version
# as the runtime library go.mod requires.
PROTOC_GEN_GO_VTPROTO_VERSION := v0.6.1-0.20240319094008-0393e58bdf10
PROTO_VT_FILES                := gatehouse/plugin/v2/plugin.proto

.PHONY: all build package run test lint fuzz bench tools clean proto proto-tools screenshots

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/gatehouse ./cmd/gatehouse

package:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(PKG_GOARCH) $(GO) build -buildmode=pie -trimpath -buildvcs=false \
	  -ldflags "-s -w $(LDFLAGS)" -o $(PKG_OUT)/package/gatehouse ./cmd/gatehouse
	./dist/build-deb --binary $(PKG_OUT)/package/gatehouse --goarch $(PKG_GOARCH) \
	  --version '$(VERSION)' --commit '$(COMMIT)' --date '$(BUILD_DATE)' --out $(PKG_OUT)

run: build
	$(BIN)/gatehouse serve --config $(CONFIG)

# The PPTP client VMs (test/interop) run after every other package, on
# their own: TCG guests share the 2 cores badly with parallel test packages.
#
# Every go test runs through test/testreport, which prints what go test
# prints and keeps the skipped tests and their reasons; the run ends with
# that list (as root, as CI runs, it should be empty).
SKIPS      := $(BIN)/test-skips.jsonl
TESTREPORT := $(TOOLS)/testreport -skips $(SKIPS) --

test:
	./test/install-deps
	@rm -f $(SKIPS)
	$(GO) build -o $(TOOLS)/testreport ./test/testreport
	$(TESTREPORT) $(GO) test -count=1 $$($(GO) list ./... | grep -v '/test/interop$$')
	$(TESTREPORT) $(GO) test -count=1 -timeout 30m ./test/interop
	cd examples/plugin-template && $(TESTREPORT) $(GO) test -count=1 ./...
	@$(TOOLS)/testreport -skips $(SKIPS) -summary

lint: $(TOOLS)/staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(TOOLS)/staticcheck ./...
	cd examples/plugin-template && $(GO) vet ./... && $(TOOLS)/staticcheck ./...

fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) ./test/fuzz.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

tools: $(TOOLS)/staticcheck

$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# protoc itself comes from the system: apt-get install -y protobuf-compiler.
proto: proto-tools
	@command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler"; exit 1; }
	cd proto && PATH="$(TOOLS):$$PATH" protoc --proto_path=. \
	  --go_out=paths=source_relative:. --go-grpc_out=paths=source_relative:. \
	  $(PROTO_FILES)
	cd proto && PATH="$(TOOLS):$$PATH" protoc --proto_path=. \
	  --go-vtproto_out=paths=source_relative:. --go-vtproto_opt=features=marshal+unmarshal+size \
	  $(PROTO_VT_FILES)

# Always re-run: go install is quick when cached and keeps the pins honest.
proto-tools:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	GOBIN=$(TOOLS) $(GO) install github.com/planetscale/vtprotobuf/cmd/protoc-gen-go-vtproto@$(PROTOC_GEN_GO_VTPROTO_VERSION)

# The screenshots of the web console in docs/console/: TestConsoleBrowser
# (cmd/gatehouse) drives a real gateway with headless Chromium, in a network
# namespace of its own, and saves a 1366x768 PNG of each page on the way.
SCREENSHOTS := $(CURDIR)/docs/console

screenshots:
	@[ "$$(id -u)" = 0 ] || { echo "make screenshots needs root (a network namespace, a TUN device, raw GRE)"; exit 1; }
	GATEHOUSE_CONSOLE_SCREENSHOTS=$(SCREENSHOTS) $(GO) test -count=1 -run '^TestConsoleBrowser$$' -v ./cmd/gatehouse

clean:
	rm -rf $(BIN)
