#!/usr/bin/env bash
# Starts a Redis Cluster of three masters and three replicas (redis-server processes on free
# loopback ports, nothing kept on disk but their nodes.conf in a temporary directory) and prints
# the REDIS_URL that reaches it (a Cluster URL: one seed node and the others as addr
# parameters). `scripts/redis-cluster.sh stop DIR` stops the cluster started in DIR; the
# directory is the first line printed.
set -euo pipefail
if [[ ${1:-} == stop ]]; then
	for pidfile in "$2"/*/redis.pid; do
		[[ -f $pidfile ]] && kill "$(cat "$pidfile")" 2>/dev/null || true
	done
	rm -rf "$2"
	exit 0
fi
for need in redis-server redis-cli; do
	if ! command -v "$need" >/dev/null; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
	fi
done
dir=$(mktemp -d /tmp/apphub-redis-cluster.XXXXXX)
# Each node also listens on its port + 10000 (the cluster bus), so a port must be at most 55535
# and both must be free.
ports=$(python3 -c '
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
ports = []
while len(ports) < 6:
    p = random.randrange(20000, 45000)
    if p not in ports and free(p) and free(p + 10000):
        ports.append(p)
print(" ".join(map(str, ports)))')
nodes=()
for port in $ports; do
	mkdir -p "$dir/$port"
	redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --dir "$dir/$port" --pidfile "$dir/$port/redis.pid" \
		--logfile "$dir/$port/redis.log" --save "" --appendonly no \
		--cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000
	nodes+=("127.0.0.1:$port")
done
for node in "${nodes[@]}"; do
	for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "${node#*:}" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 ||
	{ cat "$dir/create.log" >&2; exit 1; }
for _ in $(seq 100); do
	ok=1
	for node in "${nodes[@]}"; do
		redis-cli -h 127.0.0.1 -p "${node#*:}" cluster info | grep -q cluster_state:ok || ok=0
	done
	[[ $ok == 1 ]] && break
	sleep 0.2
done
[[ $ok == 1 ]] || { echo "the cluster did not come up" >&2; exit 1; }
url="redis://${nodes[0]}"
sep="?"
for node in "${nodes[@]:1}"; do url+="${sep}addr=$node"; sep="&"; done
echo "$dir"
echo "$url"
