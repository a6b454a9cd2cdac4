# The project's steps, so that CI and a developer run the same commands. CI runs `bash .ci/run`,
# which starts what the tests need when it is missing (Redis, PostgreSQL, Chromium, curl, make)
# and then runs lint, generate-check, web-check and the parts of test, timing each. The benchmarks are not part of CI.
#
#   make                  lint, generate-check and test
#   make lint             gofmt, go vet, staticcheck
#   make generate-check   go generate ./... leaves the tree as it was
#   make web-check        the web app's unit tests; its build from web/ is the committed one
#   make test             every package once (under the race detector where concurrency
#                         matters), the calendar's tests at three instants, then the
#                         store-facing suites on the store on PostgreSQL (apphub store)
#                         and the Redis-facing ones on a Redis Cluster, and the topology
#                         of several processes (docs/deploy.md)
#   make bench            the benchmarks the README cites
#
# test and bench need Redis on 127.0.0.1:6379 (or REDIS_URL), and redis-server on the PATH;
# test needs PostgreSQL on 127.0.0.1:5432 (scripts/ensure-postgresql.sh starts Debian's).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := check
.PHONY: check lint generate-check web-check test test-race test-other test-clock test-pgstore test-rediscluster test-topology bench

# Run by `go run`, so that a fresh machine needs nothing but Go and the module proxy.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Every test runs every time (no cached results), in a new order each time: a failing run
# prints its "-test.shuffle N", and -shuffle=N repeats that order.
TESTFLAGS := -count=1 -shuffle=on

# Packages whose concurrency matters: their tests run under the race detector, and only so.
RACE_PACKAGES := ./storage/... ./cmd/apphub ./booking/... ./resolvers ./tmfrest ./notify
# -race also turns on checkptr, the checks of unsafe.Pointer conversions, in every package. In
# modernc.org's SQLite (C translated to Go, under the embedded FerretDB) they check no code of
# ours and took 30 s of the race pass's 108 s: they are off there. The race detector stays on
# everywhere.
RACEFLAGS := -gcflags='modernc.org/...=-d=checkptr=0'
# The module's other packages, as ./paths (evaluated when used: it runs go list).
OTHER_PACKAGES = $(patsubst $(shell go list -m)%,.%,$(filter-out $(shell go list $(RACE_PACKAGES)),$(shell go list ./...)))

# The tests whose answers a calendar decides run again with the test clock (package testclock)
# started at instants that have bitten schedulers: the night before the EU's spring change, the
# Friday before the US's, and New Year's Eve. The other runs start it at the wall clock.
CLOCK_INSTANTS := "2027-03-27T23:50 Europe/Paris" "2027-03-12T17:00 America/New_York" "2026-12-31T22:00:00Z"
CLOCK_PACKAGES := ./booking ./tmfrest ./resolvers
CLOCK_HUB_TESTS := TestTwoHubs|TestReadme|TestCrashAfterCommit|TestNotificationsReachAFlakyListener|TestServeOnEmbeddedStores

check: lint generate-check web-check test

lint:
	@echo "== gofmt"
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [[ -n $$unformatted ]]; then echo "gofmt would change:" >&2; echo "$$unformatted" >&2; exit 1; fi
	@echo "== go vet"
	@go vet ./...
	@echo "== staticcheck"
	@go run $(STATICCHECK) ./...

# The tree is compared before and after, so that uncommitted work of a developer's is not taken
# for a change of go generate's (CI's clone has none).
generate-check:
	@echo "== generated code is current"
	@before=$$(git status --porcelain; git diff); \
	go generate ./...; \
	if [[ $$(git status --porcelain; git diff) != "$$before" ]]; then \
		echo "go generate ./... changed the tree: commit the regenerated code" >&2; \
		git status --porcelain >&2; git diff --stat >&2; exit 1; \
	fi

# The web app (web/, built into webapp/dist and embedded in the binary): its unit tests, then a
# build from the locked dependencies must give the committed files (like generate-check).
web-check:
	@echo "== the web app: npm ci, unit tests, the committed build is current"
	@before=$$(git status --porcelain; git diff); \
	(cd web && npm ci --no-audit --no-fund --loglevel=error && npm test --silent && npm run build --silent); \
	if [[ $$(git status --porcelain; git diff) != "$$before" ]]; then \
		echo "npm run build (in web/) changed the tree: commit the rebuilt app" >&2; \
		git status --porcelain >&2; git diff --stat >&2; exit 1; \
	fi

test: test-race test-other test-clock test-pgstore test-rediscluster test-topology

# The topology tests run their processes (hubs and the store) from the test binary: under the
# race detector each is several times slower, and 60 bookings at once then outlast their
# operation timeout. They run without it, in test-topology.
TOPOLOGY_TESTS := ^TestTopology

test-race:
	@echo "== go test -race $(RACE_PACKAGES)"
	@go test -race $(RACEFLAGS) $(TESTFLAGS) -timeout 15m -skip '$(TOPOLOGY_TESTS)' $(RACE_PACKAGES)

# The production topology on this machine (docs/deploy.md): hub processes over one store process
# on PostgreSQL and a Redis Cluster.
test-topology:
	@echo "== go test -run '$(TOPOLOGY_TESTS)' ./cmd/apphub"
	@go test $(TESTFLAGS) -count=1 -timeout 10m -run '$(TOPOLOGY_TESTS)' ./cmd/apphub

test-other:
	@packages="$(OTHER_PACKAGES)"; \
	echo "== go test $$packages"; \
	go test $(TESTFLAGS) -timeout 15m $$packages

# The two runs of an instant go at once: the hub's tests mostly wait for their hubs, the
# packages' mostly compute. Each run prints a package's lines when the package is done.
test-clock:
	@for instant in $(CLOCK_INSTANTS); do \
		echo "== the clock's tests with APPHUB_TEST_NOW=\"$$instant\""; \
		export APPHUB_TEST_NOW="$$instant"; \
		go test $(TESTFLAGS) -timeout 10m $(CLOCK_PACKAGES) & packages=$$!; \
		go test $(TESTFLAGS) -timeout 10m -run '$(CLOCK_HUB_TESTS)' ./cmd/apphub & hubs=$$!; \
		failed=0; wait $$packages || failed=1; wait $$hubs || failed=1; \
		[[ $$failed == 0 ]]; \
	done

# The store-facing suites again, on the store on PostgreSQL (one apphub store process).
test-pgstore:
	@bash scripts/test-pgstore.sh

# The Redis-facing suites again, on a Redis Cluster of three masters and three replicas.
test-rediscluster:
	@bash scripts/test-rediscluster.sh

# The figures in the README's "Performance" section. GOGC=400 is what the binary sets when it
# has a memory limit.
bench:
	go test -run '^$$' -bench . -benchmem ./slots/
	go test -run '^$$' -bench Book -benchtime 3s ./booking/
	GOGC=400 go test -run '^$$' -bench Search60x31 -benchtime 3x -benchmem ./booking/
	go test -run '^$$' -bench Availability14 -benchmem ./resolvers/
	go test -run '^$$' -bench SearchMix -benchtime 4000x ./booking/
	go test -run '^$$' -bench HostileDocuments -benchtime 20x ./resolvers/
	go test -run '^$$' -bench IdleSubscriptions -benchtime 5x ./resolvers/
