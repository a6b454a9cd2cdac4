#!/usr/bin/env bash
# Runs the store-facing suites (booking's races and claims, the TMF646 API, the MongoDB layer)
# against the store on PostgreSQL: one `apphub store` process, the built binary, on a fresh
# database of this machine's PostgreSQL; every test reaches it through MONGODB_URI (storetest)
# with a database of its own. The database is dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgresql.sh
admin=${APPHUB_TEST_POSTGRESQL_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
db=apphub_pgstore_$$
psql -q "$admin" -c "CREATE DATABASE $db"
bin=$(mktemp -d)
go build -o "$bin/apphub" ./cmd/apphub
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$admin" "$db")
"$bin/apphub" store --listen "127.0.0.1:$port" --postgresql-url "$url" \
	--log-format json --log-level warn 2>"$bin/store.log" &
store=$!
cleanup() {
	kill "$store" 2>/dev/null || true
	wait "$store" 2>/dev/null || true
	psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
	rm -rf "$bin"
}
trap cleanup EXIT
for i in $(seq 101); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	if [[ $i == 101 ]] || ! kill -0 "$store" 2>/dev/null; then
		echo "apphub store did not start:" >&2
		cat "$bin/store.log" >&2
		exit 1
	fi
	sleep 0.1
done
echo "== go test on the store on PostgreSQL (mongodb://127.0.0.1:$port/)"
MONGODB_URI="mongodb://127.0.0.1:$port/" go test ${TESTFLAGS:-} -count=1 -timeout 10m ./booking ./tmfrest ./storage/mongodb
