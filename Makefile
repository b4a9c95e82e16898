# cueprint: `make demo` sets everything up and identifies a degraded excerpt;
# `make test` sets everything up and runs the tests. Both are for a fresh
# Debian 12 machine, as root.

GO        ?= go
BIN       := bin/cueprint
MEDIA     := .cache/set_A.tsv
export CUEPRINT_MEDIA_LIST := $(abspath $(MEDIA))

.PHONY: all deps build demo test test-short bench fuzz clean

all: build

deps:
	sh scripts/install-deps.sh

# -buildvcs=auto: --version names the commit even where GOFLAGS turns
# stamping off.
build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/cueprint

demo: deps build
	sh scripts/demo.sh

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 40m ./...

test-short:
	$(GO) test -short -count=1 ./...

fuzz:
	sh scripts/fuzz.sh

clean:
	rm -rf bin out cueprint-data
