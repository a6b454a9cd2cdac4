#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 for the tests of the store on
# PostgreSQL (apphub store), which create databases of their own there as the postgres user.
# A machine without one gets Debian's package, its cluster set to trust loopback connections
# (for tests only), started with pg_ctlcluster (it runs as the postgres user: initdb refuses
# root). A cluster that is only stopped is started.
set -euo pipefail
answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if answers; then
	exit 0
fi
if ! command -v pg_ctlcluster >/dev/null; then
	echo "== no PostgreSQL: installing Debian's postgresql"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
	installed=1
fi
ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | grep -q .; then
	pg_createcluster "$ver" main >/dev/null
	installed=1
fi
read -r cver cname _ < <(pg_lsclusters -h | head -1)
if [[ -n ${installed:-} ]]; then
	# The tests connect as postgres without a password, as on the machines CI runs on.
	hba=/etc/postgresql/$cver/$cname/pg_hba.conf
	sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
fi
echo "== starting PostgreSQL $cver/$cname"
pg_ctlcluster "$cver" "$cname" start || true
for _ in $(seq 100); do answers && exit 0; sleep 0.1; done
echo "PostgreSQL did not start answering on 127.0.0.1:5432" >&2
exit 1
