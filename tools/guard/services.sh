#!/usr/bin/env bash
# The real services the guard's tests use (test/e2e/guard-*.test.ts): Debian's PostgreSQL, started
# with a role and database for the tests (GIBBON_TEST_POSTGRES_URL, default
# postgres://gibbon:gibbon@127.0.0.1:5432/gibbon_test), and Debian's Prometheus binary (the test
# starts its own instance). Run as root (CI); installs the packages when they are missing.
set -euo pipefail
missing=()
command -v pg_ctlcluster >/dev/null || missing+=(postgresql)
[ -x /usr/bin/prometheus ] || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
# The packaged prometheus service is not needed; the test runs its own with a temporary config.
version=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
cluster=$(pg_lsclusters -h | awk 'NR==1 {print $2}')
if [ -z "$version" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  cluster=main
  pg_createcluster "$version" "$cluster"
fi
# Sharded evaluation's network test (test/e2e/shard-netns.test.ts) runs workers in network namespaces that
# reach PostgreSQL over veth links in 10.231.0.0/16: listen beyond loopback, and admit that subnet (password only).
conf=/etc/postgresql/$version/$cluster
if ! grep -q "^listen_addresses = '\*'" "$conf/postgresql.conf"; then
  echo "listen_addresses = '*'" >>"$conf/postgresql.conf"
  restart=1
fi
grep -q '^host all gibbon 10.231.0.0/16 scram-sha-256' "$conf/pg_hba.conf" || echo 'host all gibbon 10.231.0.0/16 scram-sha-256' >>"$conf/pg_hba.conf"
[ "${restart:-0}" = 1 ] && pg_ctlcluster "$version" "$cluster" restart 2>/dev/null || true
pg_ctlcluster "$version" "$cluster" start 2>/dev/null || true
pg_ctlcluster "$version" "$cluster" reload 2>/dev/null || true
for _ in $(seq 1 30); do
  runuser -u postgres -- psql -qtAc 'SELECT 1' >/dev/null 2>&1 && break
  sleep 1
done
runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qc "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gibbon') THEN CREATE ROLE gibbon LOGIN PASSWORD 'gibbon'; END IF; END\$\$;"
runuser -u postgres -- psql -qtAc "SELECT 1 FROM pg_database WHERE datname = 'gibbon_test'" | grep -q 1 || runuser -u postgres -- createdb -O gibbon gibbon_test
echo "PostgreSQL $version/$cluster up; test database gibbon_test (role gibbon); prometheus at /usr/bin/prometheus"
