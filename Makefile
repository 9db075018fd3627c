# Gatehouse — build, run, test.
#
#   make run    build and run the gateway on examples/quickstart/ (state in ./var)
#   make test   every test; installs what the tests need (as root), else says SKIP
#   make lint   gofmt, go vet, staticcheck
#   make fuzz   every fuzz target for FUZZTIME each (default 10s)
#   make bench  every benchmark, with allocations
#   make proto  regenerate proto/ with the pinned protoc plug-ins (needs protoc)

GO        ?= go
BIN       := $(CURDIR)/bin
TOOLS     := $(BIN)/tools
FUZZTIME  ?= 10s
CONFIG    ?= examples/quickstart/gatehouse.yaml

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

.PHONY: all build run test lint fuzz bench tools clean proto proto-tools

all: build

build:
	$(GO) build -o $(BIN)/gatehouse ./cmd/gatehouse

run: build
	$(BIN)/gatehouse serve --config $(CONFIG)

# The PPTP client VMs (test/interop) run after every other package, on
# their own: TCG guests share the 2 cores badly with parallel test packages.
test:
	./test/install-deps
	$(GO) test -count=1 $$($(GO) list ./... | grep -v '/test/interop$$')
	$(GO) test -count=1 -timeout 30m ./test/interop
	cd examples/plugin-template && $(GO) test -count=1 ./...

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

clean:
	rm -rf $(BIN)
