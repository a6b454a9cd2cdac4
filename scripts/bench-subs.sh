#!/usr/bin/env bash
# Subscription load: one hub with the demo data on the embedded FerretDB and the real Redis
# (REDIS_URL, default redis://127.0.0.1:6379; REDIS_URL= for the embedded one), on loopback,
# the load client on the same machine. Three runs, each with its own websockets (closed before
# the next):
#   1. GRID_CLIENTS clients on one grid (availabilityChanged, repair at 75011, 14 days), then
#      CHANGES bookings EVERY apart in the zone: who received the grid again, how long after
#      each booking's answer;
#   2. the same with the clients spread over GRIDS distinct grids of that zone;
#   3. STATUS_CLIENTS idle appointmentChanged(partyId) subscriptions, one party each, then
#      STATUS_CHANGES parties' appointments booked and confirmed STATUS_EVERY apart.
# Each prints the hub's RSS before connecting, with the clients and after the changes.
#   bash scripts/bench-subs.sh                                   # the full counts
#   GRID_CLIENTS=200 STATUS_CLIENTS=1000 bash scripts/bench-subs.sh   # a quick run
set -euo pipefail
cd "$(dirname "$0")/.."
REDIS_URL=${REDIS_URL-redis://127.0.0.1:6379}
GRID_CLIENTS=${GRID_CLIENTS:-2000}
GRIDS=${GRIDS:-100}
CHANGES=${CHANGES:-5}
EVERY=${EVERY:-3s}
STATUS_CLIENTS=${STATUS_CLIENTS:-10000}
STATUS_CHANGES=${STATUS_CHANGES:-100}
STATUS_EVERY=${STATUS_EVERY:-100ms}
# Every client is the same admin: the per-principal websocket limit must let all of them in,
# and the budgets must not refuse the subscriptions (each is a search when it starts) or the
# bookings.
WS_MAX_CONNECTIONS=${WS_MAX_CONNECTIONS:-100000}
RATE_SEARCH=${RATE_SEARCH:-1000000/s:1000000}
RATE_WRITE=${RATE_WRITE:-10000/s:10000}
HUB=127.0.0.1:18580
ADMIN=127.0.0.1:18581
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

go build -o "$work/apphub" ./cmd/apphub
go build -o "$work/loadgen" ./cmd/loadgen

redis=(--redis-url "$REDIS_URL" --redis-prefix "bench-subs:$$:")
[ -n "$REDIS_URL" ] || redis=()
"$work/apphub" serve --demo --addr "$HUB" --data-dir "$work/data" "${redis[@]}" --log-level warn \
	--rate-search "$RATE_SEARCH" --rate-write "$RATE_WRITE" --ws-max-connections "$WS_MAX_CONNECTIONS" \
	--admin-addr "$ADMIN" >"$work/hub.log" 2>&1 &
hub_pid=$!
echo "== hub: Redis ${REDIS_URL:-embedded}, embedded FerretDB; limits for this run: --ws-max-connections $WS_MAX_CONNECTIONS (one principal), searches $RATE_SEARCH, writes $RATE_WRITE; /metrics and pprof on $ADMIN"
echo "== file descriptors: soft $(ulimit -Sn), hard $(ulimit -Hn) (Go raises the soft limit to the hard one; loadgen asks for more if it needs them)"
for _ in $(seq 120); do curl -sf "http://$HUB/readyz" >/dev/null && break; sleep 0.5; done
token=$("$work/apphub" token --data-dir "$work/data" --party bench --role admin --ttl 2h)

"$work/loadgen" bodies -mix grids -category repair -place 75011 -n 1 >"$work/grid1.txt"
"$work/loadgen" bodies -mix grids -category repair -place 75011 -n "$GRIDS" -seed 1 >"$work/grids.txt"
subs=("$work/loadgen" subs -token "$token" -pid "$hub_pid" -dials 32 -settle 2s)

echo "== $GRID_CLIENTS clients on one grid (repair at 75011, 14 days), $CHANGES bookings $EVERY apart in the zone"
"${subs[@]}" -kind grids -c "$GRID_CLIENTS" -bodies-file "$work/grid1.txt" -changes "$CHANGES" -every "$EVERY" \
	-target repair@75011 -from-day 2 -days 5 -seed 1 "http://$HUB/graphql" || true
echo "== $GRID_CLIENTS clients over $GRIDS distinct grids of the zone of 75011, $CHANGES bookings $EVERY apart in the zone"
"${subs[@]}" -kind grids -c "$GRID_CLIENTS" -bodies-file "$work/grids.txt" -changes "$CHANGES" -every "$EVERY" \
	-target repair@75011 -from-day 2 -days 5 -seed 2 "http://$HUB/graphql" || true
echo "== $STATUS_CLIENTS idle status subscriptions (appointmentChanged, one party each), $STATUS_CHANGES parties' appointments booked and confirmed, $STATUS_EVERY apart"
"${subs[@]}" -kind status -c "$STATUS_CLIENTS" -changes "$STATUS_CHANGES" -every "$STATUS_EVERY" -settle 5s \
	-target callback@75001 -from-day 1 -days 13 -seed 3 "http://$HUB/graphql" || true
echo "== hub peak RSS (VmHWM) over the whole run: $(($(awk '/^VmHWM/ {print $2}' "/proc/$hub_pid/status") / 1024)) MiB"
