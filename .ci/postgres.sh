#!/usr/bin/env bash
# Start a throwaway PostgreSQL server from Debian's packages for the test suite,
# installing them first if the machine has none. Prints the database URL.
# Usage: eval "$(.ci/postgres.sh)"  -> exports PAGEFLOWS_TEST_POSTGRES_URL
set -euo pipefail
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ]; then
  if [ "$(id -u)" != 0 ]; then echo "echo 'PostgreSQL is not installed and we are not root' >&2"; exit 0; fi
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
data=${PAGEFLOWS_PG_DATA:-/tmp/pageflows-pg}
port=${PAGEFLOWS_PG_PORT:-54329}
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! run "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  rm -rf "$data" && mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown postgres: "$data"
  run "$bindir/initdb" -D "$data" -U postgres -A trust >/dev/null
  run "$bindir/pg_ctl" -D "$data" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" \
    -l "$data/server.log" -w start >/dev/null
fi
echo "export PAGEFLOWS_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$port/postgres"
