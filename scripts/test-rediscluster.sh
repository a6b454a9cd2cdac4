#!/usr/bin/env bash
# Runs the Redis-facing suites (the cache, versions, the bus, rate limits; booking and GraphQL
# on top of them) against a real Redis Cluster of three masters and three replicas
# (scripts/redis-cluster.sh): every multi-key script and pipeline must name keys of one hash
# slot, or Redis answers CROSSSLOT. The cluster is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(bash scripts/redis-cluster.sh)
dir=$(sed -n 1p <<<"$out")
url=$(sed -n 2p <<<"$out")
trap 'bash scripts/redis-cluster.sh stop "$dir"' EXIT
# These take Redis away through a TCP proxy in front of one server; a Cluster client follows
# the nodes' own addresses past any proxy. They run on the single server (make test); a
# Cluster's outage is a failover, which TestClusterFailover makes with a cluster of its own.
proxied='TestBreakerSharedByCacheAndBus|TestBusReconnectLosesNothing|TestCacheEpochBumpMakesEntriesStale|TestVersionRedisDown'
# KNOWN FAILURE, not fixed yet (issue #19): on a Cluster, 1 to 4 runs in 10 of this test see a
# search on instance B offer a slot whose booking on A was answered 0.1-1.6 ms before the search
# began; A's touches of the cache did not fail. It passes 10 of 10 on a single server. It is
# left out here so that the rest keeps CI meaningful; docs/deploy.md says not to run Redis Cluster
# in production until it is fixed. Run it alone with: REDIS_URL=<cluster> go test -count=10
# -run TestSearchRacingBookingsOnAnotherInstance ./booking
known='TestSearchRacingBookingsOnAnotherInstance'
echo "== go test on a Redis Cluster ($url)"
REDIS_URL=$url go test ${TESTFLAGS:-} -count=1 -timeout 10m -skip "^($proxied|$known)\$" ./storage/rediscache ./booking ./resolvers
