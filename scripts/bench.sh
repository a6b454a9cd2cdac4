#!/usr/bin/env bash
# Load run: the hub's warm availability search (GraphQL, and over TMF646) side by side with the
# reference server (bare net/http, one Redis GET of a precomputed answer of the same size), on
# the real Redis (REDIS_URL, default redis://127.0.0.1:6379), the embedded FerretDB and the demo
# data. Prints p50/p90/p99/max, requests per second and the hub's RSS. Then the realistic mix
# (every category at each place it is searched at, 14 start days, 7- and 14-day windows, with
# and without resources: 17,304 distinct documents, drawn at random): closed loop, paced at
# MIX_RATE, and closed loop while a channel books BOOK_RATE slots/s in the mix's zones (after
# RACES 50-way TMF646 booking races for one technician's slot); then
# the first FIRST answers, one at a time, of a second hub just started on fresh data. Ends with
# each hub's peak RSS (VmHWM) and the mix's throughput against the reference's. Loopback only;
# bounded in time (about 14 × DURATION, plus the builds, the demo data twice, and FIRST
# searches).
#   bash scripts/bench.sh   # DURATION=15s RATE=2000 CONNS=8 MIX_RATE=500 BOOK_RATE=5 FIRST=300 RACES=20 RATE_SEARCH=… RATE_WRITE=… may be set
set -euo pipefail
cd "$(dirname "$0")/.."
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
DURATION=${DURATION:-15s}
RATE=${RATE:-2000}
CONNS=${CONNS:-8}
MIX_RATE=${MIX_RATE:-500}
BOOK_RATE=${BOOK_RATE:-5}
FIRST=${FIRST:-300}
# The limits stay on (each request spends its budget in Redis, as in production), with budgets
# the run's single client does not exhaust.
RATE_SEARCH=${RATE_SEARCH:-1000000/s:1000000}
RATE_WRITE=${RATE_WRITE:-10000/s:10000}
HUB=127.0.0.1:18480
FRESH=127.0.0.1:18482 # the hub of the first answers
REF=127.0.0.1:18490
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

go build -o "$work/apphub" ./cmd/apphub
go build -o "$work/benchref" ./cmd/benchref
go build -o "$work/loadgen" ./cmd/loadgen

prefix="bench:$$:"
"$work/apphub" serve --demo --addr "$HUB" --data-dir "$work/data" --redis-url "$REDIS_URL" \
	--redis-prefix "$prefix" --log-level warn --rate-search "$RATE_SEARCH" --rate-write "$RATE_WRITE" \
	--admin-addr 127.0.0.1:18481 >"$work/hub.log" 2>&1 &
echo "== rate limits on, budgets for this run (one anonymous client, loopback): searches $RATE_SEARCH, writes $RATE_WRITE; /metrics and pprof on 127.0.0.1:18481"
hub_pid=$!
for _ in $(seq 120); do curl -sf "http://$HUB/readyz" >/dev/null && break; sleep 0.5; done
# Searching availability needs no credential; booking and TMF646 search tasks do: an operator's
# token, signed by the hub's local key.
token=$("$work/apphub" token --data-dir "$work/data" --party bench --role admin --ttl 2h)
auth=(-H "Authorization: Bearer $token")

# One category, one zone, 14 days, from tomorrow (UTC midnight).
from=$(date -u -d tomorrow +%Y-%m-%dT00:00:00Z)
to=$(date -u -d '+15 days' +%Y-%m-%dT00:00:00Z)
# The slot grid a channel app draws, and the same with every slot's resources.
doc() { printf '{"query":"{ availability(input: {category: \\"repair\\", place: \\"75011\\", from: \\"%s\\", to: \\"%s\\"}) { days { date slots { %s } } } }"}' "$from" "$to" "$1"; }
doc 'start end capacity' >"$work/query.json"
doc 'start end capacity resources { capacity resource { id } }' >"$work/full.json"
# The same search over TMF646: a task that runs the engine and is stored (one MongoDB insert each).
printf '{"category":"repair","relatedPlace":{"role":"installationAddress","postCode":"75011","@type":"GeographicAddress"},"requestedTimeSlot":[{"validFor":{"startDateTime":"%s","endDateTime":"%s"}}]}' "$from" "$to" >"$work/tmf.json"
size=$(curl -s "http://$HUB/graphql" -H 'Content-Type: application/json' --data-binary @"$work/query.json" | wc -c)
full_size=$(curl -s "http://$HUB/graphql" -H 'Content-Type: application/json' --data-binary @"$work/full.json" | wc -c)
echo "== availability answer: $size bytes ($from to $to, repair at 75011; $full_size bytes with resources)"

"$work/benchref" -addr "$REF" -redis-url "$REDIS_URL" -size "$size" -key "${prefix}benchref" >"$work/ref.log" 2>&1 &
for _ in $(seq 50); do curl -sf "http://$REF/" >/dev/null && break; sleep 0.1; done

gql=(-method POST -body-file "$work/query.json" -H 'Content-Type: application/json')
"$work/loadgen" -d 2s -c "$CONNS" "${gql[@]}" "http://$HUB/graphql" >/dev/null # warm the cache || true

echo "== hub GraphQL grid, paced at $RATE req/s for $DURATION"
"$work/loadgen" -d "$DURATION" -rate "$RATE" -c 256 -pid "$hub_pid" "${gql[@]}" "http://$HUB/graphql" || true
echo "== hub GraphQL grid, paced at ${LOW_RATE:-100} req/s for $DURATION"
"$work/loadgen" -d "$DURATION" -rate "${LOW_RATE:-100}" -c 256 -pid "$hub_pid" "${gql[@]}" "http://$HUB/graphql" || true
echo "== hub GraphQL grid, closed loop, $CONNS connections, $DURATION"
"$work/loadgen" -d "$DURATION" -c "$CONNS" -pid "$hub_pid" "${gql[@]}" "http://$HUB/graphql" || true
echo "== hub GraphQL grid with resources ($full_size bytes), closed loop, $CONNS connections, $DURATION"
"$work/loadgen" -d "$DURATION" -c "$CONNS" -pid "$hub_pid" -method POST -body-file "$work/full.json" -H 'Content-Type: application/json' "http://$HUB/graphql" || true
# The same closed loop while a channel books the grid's slots one after the other (each booking
# changes the zone's version: every instance computes the grid again once, then serves it).
starts=$(curl -s "http://$HUB/graphql" -H 'Content-Type: application/json' --data-binary @"$work/query.json" |
	grep -o '"start":"[^"]*"' | cut -d'"' -f4)
(
	n=0
	for s in $starts; do
		curl -s "http://$HUB/graphql" "${auth[@]}" -H 'Content-Type: application/json' -d "{\"query\":\"mutation { bookAppointment(input: {category: \\\"repair\\\", place: \\\"75011\\\", start: \\\"$s\\\"}) { appointment { id } } }\"}" |
			grep -q '"id"' && n=$((n + 1))
		echo "$n" >"$work/booked"
	done
) &
booker=$!
sleep 0.5
echo "== hub GraphQL grid, closed loop, $CONNS connections, $DURATION, while bookings are made one after the other"
"$work/loadgen" -d "$DURATION" -c "$CONNS" -pid "$hub_pid" "${gql[@]}" "http://$HUB/graphql" || true
kill "$booker" 2>/dev/null || true
echo "bookings made during the run: $(cat "$work/booked" 2>/dev/null || echo 0)"
echo "== reference (one Redis GET of $size bytes), paced at $RATE req/s for $DURATION"
"$work/loadgen" -d "$DURATION" -rate "$RATE" -c 256 "http://$REF/" || true
echo "== reference, paced at ${LOW_RATE:-100} req/s for $DURATION"
"$work/loadgen" -d "$DURATION" -rate "${LOW_RATE:-100}" -c 256 "http://$REF/" || true
echo "== reference (one Redis GET of $size bytes), closed loop, $CONNS connections, $DURATION"
"$work/loadgen" -d "$DURATION" -c "$CONNS" "http://$REF/" | tee "$work/ref-closed.txt" || true
echo "== hub TMF646 POST /searchTimeSlot (same search, stored), closed loop, $CONNS connections, $DURATION"
"$work/loadgen" -d "$DURATION" -c "$CONNS" -pid "$hub_pid" -method POST -body-file "$work/tmf.json" -H 'Content-Type: application/json' "${auth[@]}" \
	"http://$HUB/tmf-api/appointment/v4/searchTimeSlot" || true

echo "== hub TMF646 booking races: ${RACES:-20} slots, 50 partners' POST /appointment at once for each (one technician)"
"$work/loadgen" race -token "$token" -races "${RACES:-20}" -c 50 -target repair@75012 "http://$HUB" || true

# The realistic mix: many distinct documents, so that most searches find no answer kept.
"$work/loadgen" bodies -mix availability -seed 1 >"$work/mix.txt"
mix=(-method POST -bodies-file "$work/mix.txt" -H 'Content-Type: application/json')
echo "== hub GraphQL mix ($(wc -l <"$work/mix.txt") distinct documents drawn at random), closed loop, $CONNS connections, $DURATION"
"$work/loadgen" -d "$DURATION" -c "$CONNS" -pid "$hub_pid" -seed 1 "${mix[@]}" "http://$HUB/graphql" | tee "$work/mix-closed.txt" || true
echo "== hub GraphQL mix, paced at $MIX_RATE req/s for $DURATION (latency from each request's due time)"
"$work/loadgen" -d "$DURATION" -rate "$MIX_RATE" -c 256 -pid "$hub_pid" -seed 2 "${mix[@]}" "http://$HUB/graphql" || true
echo "== hub GraphQL mix, closed loop, $CONNS connections, $DURATION, while a channel books $BOOK_RATE slots/s in the mix's zones"
"$work/loadgen" book -token "$token" -rate "$BOOK_RATE" -d "$DURATION" -seed 3 "http://$HUB/graphql" >"$work/book.txt" 2>&1 &
booker=$!
"$work/loadgen" -d "$DURATION" -c "$CONNS" -pid "$hub_pid" -seed 3 "${mix[@]}" "http://$HUB/graphql" | tee "$work/mix-booking.txt" || true
wait "$booker" || true
cat "$work/book.txt"
echo "== reference, closed loop, $CONNS connections, $DURATION (again, after the mix)"
"$work/loadgen" -d "$DURATION" -c "$CONNS" "http://$REF/" | tee "$work/ref-closed2.txt" || true
hub_peak=$(awk '/^VmHWM/ {print $2}' "/proc/$hub_pid/status")
kill "$hub_pid"
wait "$hub_pid" 2>/dev/null || true

# The first answers: a second hub on fresh data (its own data directory and Redis prefix), just
# ready, has computed and kept nothing; FIRST distinct documents of the mix, one at a time.
"$work/apphub" serve --demo --addr "$FRESH" --data-dir "$work/fresh" --redis-url "$REDIS_URL" \
	--redis-prefix "bench:$$:fresh:" --log-level warn --rate-search "$RATE_SEARCH" --rate-write "$RATE_WRITE" \
	--admin-addr "" >"$work/fresh.log" 2>&1 &
fresh_pid=$!
for _ in $(seq 240); do curl -sf "http://$FRESH/readyz" >/dev/null && break; sleep 0.5; done
echo "== fresh hub (just started, fresh data and Redis prefix, same limits): the first $FIRST answers of the mix, one at a time"
"$work/loadgen" -sequential "$FIRST" -seed 4 -pid "$fresh_pid" "${mix[@]}" "http://$FRESH/graphql" || true
fresh_peak=$(awk '/^VmHWM/ {print $2}' "/proc/$fresh_pid/status")
kill "$fresh_pid"
wait "$fresh_pid" 2>/dev/null || true

rps() { awk '/^requests/ {print $5}' "$1" 2>/dev/null; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "?" }'; }
ref=$(rps "$work/ref-closed.txt")
ref2=$(rps "$work/ref-closed2.txt")
echo "== mix against the reference (closed loop, $CONNS connections; reference $ref req/s, again after the mix $ref2 req/s)"
echo "mix: $(rps "$work/mix-closed.txt") req/s = $(ratio "$(rps "$work/mix-closed.txt")" "$ref2") × the reference"
echo "mix while booking: $(rps "$work/mix-booking.txt") req/s = $(ratio "$(rps "$work/mix-booking.txt")" "$ref2") × the reference"
echo "== peak RSS (VmHWM) over the whole run: hub $((hub_peak / 1024)) MiB; fresh hub $((fresh_peak / 1024)) MiB"
