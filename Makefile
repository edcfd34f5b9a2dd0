GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
FUZZTIME ?= 30s

.PHONY: build run test vet fuzz fuzz-short bench bench-proxy clean release

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/bulwark ./cmd/bulwark

run: build
	./bin/bulwark -demo

vet:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Every test, race detector on, plus a short bounded run of each fuzz target.
test: vet
	$(GO) test -race -count=1 -timeout 12m ./...
	$(MAKE) fuzz-short

# Each fuzz target for FUZZTIME (default 30s); `make fuzz-short` is the
# bounded run that `make test` includes.
fuzz:
	@./scripts/fuzz.sh $(FUZZTIME)

fuzz-short:
	@./scripts/fuzz.sh 3s

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1s ./...

bench-proxy: build
	./bench/proxy.sh

# Static binaries for each of RELEASE_PLATFORMS in dist/, named with the
# version (git describe) they are stamped with, and their SHA256SUMS.
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64
release:
	@mkdir -p dist
	@for p in $(RELEASE_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; out=dist/bulwark-$(VERSION)-$$os-$$arch; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $$out ./cmd/bulwark || exit 1; \
		echo $$out; \
	done
	@cd dist && sha256sum bulwark-$(VERSION)-* > SHA256SUMS-$(VERSION)

clean:
	rm -rf bin dist

# The house rules: gofmt, go vet, file and function sizes (internal/house).
.PHONY: house
house:
	@./scripts/house.sh
