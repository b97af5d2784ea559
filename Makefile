# Build, test and demo targets. `make help` lists them.
# `make test` needs Go, make and gcc (Hydra's SQLite driver and the race
# detector use cgo), Chromium at /usr/bin/chromium and npm for the browser
# tests; .ci/run installs Chromium.

GO ?= go
HYDRA_TAGS := sqlite,sqlite_omit_load_extension
FUZZTIME ?= 5m

# The brief fuzzing in `make test` counts executions rather than time: a
# time limit that ends while the fuzzer shrinks a new input fails the run
# with "context deadline exceeded" although nothing was wrong. 200000
# executions take about 10 seconds on 2 cores.
CI_FUZZ := -fuzztime=200000x -fuzzminimizetime=100x

.DEFAULT_GOAL := help
.PHONY: help build hydra generate demo test fuzz screenshots clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build bin/aiconsent, bin/demoapp and bin/demo
	$(GO) build -o bin/aiconsent ./cmd/aiconsent
	$(GO) build -o bin/demoapp ./cmd/demoapp
	$(GO) build -o bin/demo ./cmd/demo

hydra: bin/hydra ## Build Hydra v2.3.0 into bin/hydra (once; about 2 minutes)

# A file target, rebuilt only when tools/hydra changes Hydra's version. The
# binary is renamed into place so a test never runs a half-written file.
bin/hydra: tools/hydra/go.mod tools/hydra/go.sum
	mkdir -p bin
	cd tools/hydra && $(GO) build -tags $(HYDRA_TAGS) -o ../../bin/hydra.tmp github.com/ory/hydra/v2
	mv bin/hydra.tmp bin/hydra

generate: ## Regenerate the Go code of the templ templates
	cd tools/templ && $(GO) tool templ generate -path ../../templates

demo: build hydra ## Run Hydra, aiconsent and the Example App on 127.0.0.1 (Ctrl-C stops)
	bin/demo

test: hydra ## Vet, run every test with the race detector, then fuzz briefly
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	$(GO) test ./access -run='^$$' -fuzz=FuzzParseDetails $(CI_FUZZ)
	$(GO) test ./access -run='^$$' -fuzz=FuzzParseScope $(CI_FUZZ)
	$(GO) test ./money -run='^$$' -fuzz=FuzzParse $(CI_FUZZ)

fuzz: ## Fuzz each parser for FUZZTIME (default 5m)
	$(GO) test ./access -run='^$$' -fuzz=FuzzParseDetails -fuzztime=$(FUZZTIME)
	$(GO) test ./access -run='^$$' -fuzz=FuzzParseScope -fuzztime=$(FUZZTIME)
	$(GO) test ./money -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME)

screenshots: hydra ## Regenerate docs/screenshots/*.png from the browser tests
	AICONSENT_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 ./browser/

clean: ## Remove the built programs and .demo/ (keeps bin/hydra; delete it by hand to rebuild)
	rm -f bin/aiconsent bin/demoapp bin/demo bin/hydra.tmp
	rm -rf .demo
