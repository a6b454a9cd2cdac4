#!/usr/bin/env bash
# Load run on the production topology of docs/deploy.md, on one machine: one `apphub store` on a
# fresh PostgreSQL database, a Redis Cluster of three masters and three replicas
# (scripts/redis-cluster.sh) and HUBS hubs. The realistic mix (17,304 distinct availability
# documents drawn at random, `loadgen bodies -mix availability`) in a closed loop over the hubs
# in turn; then the same while a channel books BOOK_RATE slots/s on each hub; then RACES 50-way
# TMF646 booking races on the first hub. Each second it counts every process's established
# connections (ss): hub → store, hub → Redis, store → PostgreSQL; it ends with their peaks,
# each process's peak RSS (VmHWM) and the CPU time each kind of process used. About 2 × DURATION plus the builds and the races.
#   bash scripts/bench-topology.sh   # DURATION=20s CONNS=8 HUBS=3 BOOK_RATE=5 RACES=10 may be set
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20s}
CONNS=${CONNS:-8}
HUBS=${HUBS:-3}
BOOK_RATE=${BOOK_RATE:-5}
RACES=${RACES:-10}
PGURL=${APPHUB_TEST_POSTGRESQL_URL:-postgres://postgres@127.0.0.1:5432/postgres}
bash scripts/ensure-postgresql.sh >/dev/null
command -v ss >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }

work=$(mktemp -d)
db=apphub_bench_$$
cluster=""
cleanup() {
	kill $(jobs -p) 2>/dev/null || true
	wait 2>/dev/null || true
	[[ -n $cluster ]] && bash scripts/redis-cluster.sh stop "$cluster"
	psql "$PGURL" -qc "drop database if exists $db" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/apphub" ./cmd/apphub
go build -o "$work/loadgen" ./cmd/loadgen
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

psql "$PGURL" -qc "create database $db"
store_port=$(free_port)
db_url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PGURL" "$db")
"$work/apphub" store --listen "127.0.0.1:$store_port" --postgresql-url "$db_url" >"$work/store.log" 2>&1 &
store_pid=$!
for _ in $(seq 100); do grep -q "apphub store serving" "$work/store.log" && break; sleep 0.1; done
out=$(bash scripts/redis-cluster.sh)
cluster=$(sed -n 1p <<<"$out")
redis=$(sed -n 2p <<<"$out")
redis_ports=$(grep -o '127.0.0.1:[0-9]*' <<<"$redis" | cut -d: -f2 | paste -sd'|')

hub_pids=()
urls=()
for i in $(seq "$HUBS"); do
	port=$(free_port)
	demo=()
	[[ $i == 1 ]] && demo=(--demo)
	"$work/apphub" serve "${demo[@]}" --addr "127.0.0.1:$port" --data-dir "$work/key" \
		--mongodb-uri "mongodb://127.0.0.1:$store_port/" --redis-url "$redis" --log-level warn \
		--rate-search off --rate-write off --admin-addr "" >"$work/hub$i.log" 2>&1 &
	hub_pids+=($!)
	urls+=("http://127.0.0.1:$port")
	for _ in $(seq 240); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.5; done
done
echo "== $HUBS hubs, one store on PostgreSQL, a Redis Cluster of 3 masters and 3 replicas; $(nproc) cores"
token=$("$work/apphub" token --data-dir "$work/key" --party bench --role admin --ttl 2h)

# CPU seconds used so far by processes (utime + stime; PostgreSQL's: its backends alive now).
cpu() { for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done | awk -v hz="$(getconf CLK_TCK)" '{s += $1} END {printf "%.1f", s / hz}'; }
redis_pids() { cat "$cluster"/*/redis.pid; }
pg_pids() { pgrep -u postgres postgres || true; }
cpu_report() {
	local line="hubs"
	for p in "${hub_pids[@]}"; do line+=" $(cpu "$p")"; done
	echo "$line, store $(cpu "$store_pid"), PostgreSQL $(cpu $(pg_pids)), Redis $(cpu $(redis_pids))"
}
echo "CPU seconds before the load: $(cpu_report)"

# Established connections of a process whose peer port matches a pattern.
conns() { ss -Htnp state established 2>/dev/null | grep "pid=$1," | awk '{print $4}' | grep -cE ":($2)\$" || true; }
(
	while sleep 1; do
		line=""
		for p in "${hub_pids[@]}"; do line+="$(conns "$p" "$store_port") $(conns "$p" "$redis_ports") "; done
		echo "$line$(conns "$store_pid" 5432)"
	done
) >"$work/conns.txt" &
sampler=$!

"$work/loadgen" bodies -mix availability -seed 1 >"$work/mix.txt"
mix=(-method POST -bodies-file "$work/mix.txt" -H 'Content-Type: application/json')
graphql=()
for u in "${urls[@]}"; do graphql+=("$u/graphql"); done
echo "== GraphQL mix ($(wc -l <"$work/mix.txt") distinct documents), closed loop, $CONNS connections over the $HUBS hubs in turn, $DURATION"
"$work/loadgen" -d "$DURATION" -c "$CONNS" -seed 1 "${mix[@]}" "${graphql[@]}" || true
echo "== the same while a channel books $BOOK_RATE slots/s on each hub"
bookers=()
for i in "${!urls[@]}"; do
	"$work/loadgen" book -token "$token" -rate "$BOOK_RATE" -d "$DURATION" -seed $((10 + i)) "${urls[$i]}/graphql" >"$work/book$i.txt" 2>&1 &
	bookers+=($!)
done
"$work/loadgen" -d "$DURATION" -c "$CONNS" -seed 2 "${mix[@]}" "${graphql[@]}" || true
wait "${bookers[@]}" || true
cat "$work"/book*.txt
echo "== $RACES TMF646 booking races on the first hub, 50 partners at once each"
"$work/loadgen" race -token "$token" -races "$RACES" -c 50 -target repair@75012 "${urls[0]}" || true
sleep 1.5
kill "$sampler"
echo "CPU seconds after the load: $(cpu_report)"

echo "== peak established connections (sampled each second) and peak RSS"
for i in "${!hub_pids[@]}"; do
	store_peak=$(awk -v c=$((2 * i + 1)) 'BEGIN {m = 0} {if ($c > m) m = $c} END {print m}' "$work/conns.txt")
	redis_peak=$(awk -v c=$((2 * i + 2)) 'BEGIN {m = 0} {if ($c > m) m = $c} END {print m}' "$work/conns.txt")
	rss=$(awk '/^VmHWM/ {print $2}' "/proc/${hub_pids[$i]}/status")
	echo "hub $((i + 1)): to the store $store_peak, to Redis $redis_peak; peak RSS $((rss / 1024)) MiB"
done
pg_peak=$(awk '{if ($NF > m) m = $NF} END {print m + 0}' "$work/conns.txt")
store_rss=$(awk '/^VmHWM/ {print $2}' "/proc/$store_pid/status")
echo "store: to PostgreSQL $pg_peak; peak RSS $((store_rss / 1024)) MiB"
redis_rss=0
for p in $(redis_pids); do
	r=$(awk '/^VmHWM/ {print $2}' "/proc/$p/status")
	((r > redis_rss)) && redis_rss=$r
done
echo "redis-server: largest peak RSS of the six $((redis_rss / 1024)) MiB"
