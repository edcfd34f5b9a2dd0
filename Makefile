GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
FUZZTIME ?= 30s

.PHONY: build run test vet fuzz fuzz-short bench bench-proxy clean

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

clean:
	rm -rf bin

# The house rules: gofmt, go vet, file and function sizes (internal/house).
.PHONY: house
house:
	@./scripts/house.sh
