# bundle — make targets. `make demo` and `make test` are the quick start.
export CGO_ENABLED := 0
GO       ?= go
BIN      := bin
EXAMPLE  := examples/mesos-site
DIST     := dist
# Cross-compiled in CI: the CLI must build and vet for laptops too.
CROSS    := darwin/arm64 darwin/amd64 windows/amd64

.PHONY: fuzz sbomcheck-deps conformance deps cross all build test test-quick lint fmt-check vet staticcheck golden bench bench-floor demo demo-inputs clean

all: build

build:
	$(GO) build -trimpath -o $(BIN)/bundle ./cmd/bundle

# The README's test command: install missing test tools (scripts/deps.sh),
# formatting, vet, staticcheck, then every test with the race detector (the
# race detector needs cgo).
test: deps lint sbomcheck-deps
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m ./...

# createrepo_c's test packages (../shared/testdata) indexed by the repo
# tests besides their own corpus; make test does not need them.
#
# The judges (../shared/judges, see its README): the real programs a 2015
# node runs. HAProxy 1.5.2 is built from its source once and cached under
# the bundle cache (internal/haproxyjudge); it judges every haproxy.cfg the
# compiler, the cookbook and both bridges write. The compiler's node
# simulation runs the real mesos-init-wrapper, Mesos' flag lists and
# serengeti-pantry's templates and roles against the bundle's RPMs.
CONFORMANCE_DATA ?= $(CURDIR)/../shared/testdata
BUNDLE_JUDGES ?= $(CURDIR)/../shared/judges
conformance:
	@test -d "$(CONFORMANCE_DATA)/createrepo_c-packages" || { echo "make conformance: $(CONFORMANCE_DATA)/createrepo_c-packages is missing (createrepo_c's test RPMs; set CONFORMANCE_DATA)" >&2; exit 1; }
	@test -f "$(BUNDLE_JUDGES)/haproxy-1.5.2.tar.gz" || { echo "make conformance: $(BUNDLE_JUDGES)/haproxy-1.5.2.tar.gz is missing (the judges; set BUNDLE_JUDGES)" >&2; exit 1; }
	BUNDLE_CONFORMANCE_DATA="$(CONFORMANCE_DATA)" $(GO) test -count=1 -timeout 20m ./repo/...
	BUNDLE_JUDGES="$(BUNDLE_JUDGES)" $(GO) test -count=1 -timeout 20m ./internal/haproxyjudge/ ./compiler/

# Fuzz targets run briefly (their seed corpora run in every go test).
FUZZTIME ?= 20s
fuzz:
	$(GO) test ./images/layout -run '^$$' -fuzz '^FuzzLayout$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./repo/rpm -run '^$$' -fuzz '^FuzzRPMHeaderAgainstRpmkeys$$' -fuzztime 8s -fuzzminimizetime 5s
	$(GO) test ./images/ovf -run '^$$' -fuzz '^FuzzVMDKGrainTables$$' -fuzztime 8s -fuzzminimizetime 5s

test-quick: sbomcheck-deps
	$(GO) test -count=1 ./...

lint: fmt-check vet staticcheck

# The CycloneDX project's validator that the SBOM tests run (npm packages
# pinned in internal/sbomcheck/package-lock.json; needs node and npm).
sbomcheck-deps:
	@test -d internal/sbomcheck/node_modules/@cyclonedx/cyclonedx-library || \
	{ command -v npm >/dev/null || { echo "make: npm is missing: apt-get install nodejs npm" >&2; exit 1; }; \
	  cd internal/sbomcheck && npm ci --no-audit --no-fund --loglevel=error; }

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# staticcheck is pinned by go.mod's tool directive.
staticcheck:
	$(GO) tool staticcheck ./...

# Debian packages and npm packages the tests use (scripts/debian-packages.txt).
deps:
	./scripts/deps.sh

# The CLI built and vetted for macOS and Windows.
cross:
	@set -e; for t in $(CROSS); do \
		echo "GOOS=$${t%/*} GOARCH=$${t#*/} build + vet"; \
		GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build -o /dev/null ./cmd/bundle; \
		GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) vet ./...; \
	done

# Regenerate golden files under testdata/.
golden:
	$(GO) test ./compiler ./images/ovf ./repo ./internal/lockfile -run . -update
	$(GO) test ./out/vcenter -run TestPlanWriteColumns -update
	$(GO) test ./cmd/bundle/cli -run TestDiagnosticsGolden -update

# Benchmarks against the reference tools, measured in the same run. The
# generated RPM corpora of the repo index benchmarks are kept in
# BUNDLE_BENCH_CORPUS for the next run.
BUNDLE_BENCH_CORPUS ?= $(HOME)/.cache/bundle-bench/repo
bench:
	mkdir -p $(BUNDLE_BENCH_CORPUS)
	BUNDLE_BENCH_CORPUS=$(BUNDLE_BENCH_CORPUS) $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./...

# bundle build against the packing floor (tar | zstd -3 -T2 of the same
# inputs, both fsynced), three runs each: 256 MiB of incompressible inputs
# through builder.Build, and bundle build --no-cache of 405 generated RPMs. Each
# prints its commands and the build/reference ratios (best and median, wall
# and CPU); make bench runs them once with the rest.
bench-floor:
	$(GO) test ./out/builder -run '^$$' -bench 'BuildPackingFloor$$' -benchtime 1x -count 3
	$(GO) test ./pipeline -run '^$$' -bench 'BuildPackingFloor405$$' -benchtime 1x -count 3

demo-inputs:
	$(GO) run ./internal/cmd/demo-inputs -dir $(EXAMPLE)

demo: build demo-inputs
	./scripts/demo.sh

clean:
	rm -rf $(BIN) $(DIST)
