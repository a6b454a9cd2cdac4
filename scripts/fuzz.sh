#!/usr/bin/env bash
# Fuzzes every fuzz target of the module, one after the other, each for FUZZTIME (default 2m):
#
#   bash scripts/fuzz.sh                 every target
#   FUZZTIME=30s bash scripts/fuzz.sh    shorter
#   bash scripts/fuzz.sh 'Filter|Merge'  only the targets whose name matches the regexp
#
# The targets are found with `go test -list '^Fuzz' ./...`, so a new one is fuzzed without
# changing this script (today: slots FuzzEngineMatchesReference, tmfrest FuzzFilterParser,
# FuzzCreateBodies and FuzzMergePatch, resolvers FuzzGraphQLRequest). `go test` alone runs their
# seed corpora; this runs the fuzzing engine, which is too slow for CI (the first run of each
# package also builds it with coverage instrumentation, a few minutes with the embedded stores).
#
# When the engine finds an input that reaches new code it minimizes it, by default for up to a
# minute; on a target that runs the whole handler over the embedded store (FuzzCreateBodies, tens
# of milliseconds an input) that left a run minimizing most of its time, so minimizing is bounded
# to FUZZMINIMIZETIME (default 100x: a hundred runs of the input).
#
# The tests need Redis on 127.0.0.1:6379 (or REDIS_URL), as .ci/run does: one is started when
# none answers. A crasher the engine finds is written to the package's testdata/fuzz/<Target>/,
# where `go test` then runs it as a seed: this prints each new one, and exits non-zero when any
# target failed (a crasher, or a package that does not build).
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-2m}
minimizetime=${FUZZMINIMIZETIME:-100x}
only=${1:-.}

redis_answers() {
	(exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && read -r -t 2 reply <&3 && [[ $reply == +PONG* ]]) 2>/dev/null
}
if [[ -z ${REDIS_URL:-} ]] && ! redis_answers; then
	echo "== no Redis answers on 127.0.0.1:6379: starting one"
	if ! command -v redis-server >/dev/null; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
	fi
	redis-server --daemonize yes --port 6379 --bind 127.0.0.1 --save "" --appendonly no
	for _ in $(seq 50); do redis_answers && break; sleep 0.1; done
	redis_answers || { echo "redis-server did not start" >&2; exit 1; }
fi

# `go test -list` prints a package's matching names, then its "ok <package>" line; a package
# that does not build prints a FAIL line instead, and counts as a failed target.
failed=()
targets=()
pending=()
while read -r first second _; do
	case $first in
	Fuzz*) pending+=("$first") ;;
	ok)
		for name in "${pending[@]}"; do targets+=("$second $name"); done
		pending=()
		;;
	FAIL)
		if [[ -n $second ]]; then
			failed+=("$second (does not build or list)")
		fi
		pending=()
		;;
	esac
done < <(go test -list '^Fuzz' ./... 2>&1 || true)

if ((${#targets[@]} == 0)); then
	echo "no fuzz targets found" >&2
	exit 1
fi

for target in "${targets[@]}"; do
	pkg=${target% *}
	name=${target#* }
	[[ $name =~ $only ]] || continue
	dir=$(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$name
	before=$(ls "$dir" 2>/dev/null || true)
	echo "== $pkg $name for $fuzztime"
	if ! go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" "$pkg"; then
		failed+=("$pkg $name")
	fi
	for f in $(ls "$dir" 2>/dev/null || true); do
		if ! grep -qxF "$f" <<<"$before"; then
			echo "== new crasher: ${dir#"$PWD"/}/$f"
		fi
	done
done

if ((${#failed[@]} > 0)); then
	echo "== failed:" >&2
	printf '   %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "== every target ran for $fuzztime without a failure"
