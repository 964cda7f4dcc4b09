#!/usr/bin/env bash
# Starts, stops and reports the two services the local stack and the tests need:
# a PostgreSQL cluster of the project's own (data under .local/pg, port 54329) and
# a moto server (the AWS emulator, 127.0.0.1:4566). Idempotent: running `start`
# twice is harmless. Writes .local/services.env for everything that connects.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
PG_PORT="${SLUICE_PG_PORT:-54329}"
MOTO_PORT="${SLUICE_MOTO_PORT:-4566}"
VENV="$LOCAL/venv"
mkdir -p "$LOCAL/logs"

log() { printf '[services] %s\n' "$*" >&2; }

pg_bindir() {
  local dir
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return
  fi
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
  return 1
}

ensure_pg_installed() {
  pg_bindir >/dev/null && return
  log "PostgreSQL server binaries not found: installing Debian's postgresql package"
  if [ "$(id -u)" != 0 ]; then
    log "need root for apt-get; install PostgreSQL 15+ server binaries and retry"; exit 1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  pg_bindir >/dev/null || { log "postgresql installed but initdb not found"; exit 1; }
}

# PostgreSQL refuses to run as root: as root, run it as the `postgres` user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_datadir() {
  # The postgres user must be able to reach the data folder; under a private home
  # (e.g. /root) it cannot, so the cluster then lives in /var/tmp, linked from .local/pg.
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql --shell /bin/bash postgres
    if ! runuser -u postgres -- test -x "$LOCAL"; then
      local alt="/var/tmp/sluice-pg-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
      mkdir -p "$alt"; chown postgres "$alt"
      [ -L "$LOCAL/pg" ] || { rm -rf "$LOCAL/pg"; ln -s "$alt" "$LOCAL/pg"; }
    fi
  fi
  mkdir -p "$LOCAL/pg"
  [ "$(id -u)" = 0 ] && chown postgres "$(readlink -f "$LOCAL/pg")"
  echo "$(readlink -f "$LOCAL/pg")/data"
}

pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; }

start_pg() {
  if pg_ready; then log "PostgreSQL already up on 127.0.0.1:$PG_PORT"; return; fi
  ensure_pg_installed
  local bin data; bin="$(pg_bindir)"; data="$(pg_datadir)"
  # pgvector (the chunks' embeddings): Debian bookworm has no package, so it is built once.
  "$ROOT/scripts/pgvector.sh" "$bin"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initialising a PostgreSQL cluster in $data"
    # Trust on loopback only: a developer cluster, never reachable from elsewhere.
    as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 300
shared_buffers = 256MB
# A disposable developer cluster: durability traded for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 4GB
CONF
  fi
  as_pg "$bin/pg_ctl" -D "$data" -l "$data/../postgres.log" -w -t 60 start >/dev/null
  for _ in $(seq 1 60); do pg_ready && break; sleep 0.5; done
  pg_ready || { log "PostgreSQL did not start; see $data/../postgres.log"; exit 1; }
  psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
SELECT 'CREATE ROLE sluice LOGIN SUPERUSER'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice') \gexec
SELECT 'CREATE DATABASE sluice OWNER sluice'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'sluice') \gexec
SQL
  log "PostgreSQL up on 127.0.0.1:$PG_PORT"
}

moto_ready() { curl -fsS -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/" 2>/dev/null; }

start_moto() {
  if moto_ready; then log "moto already up on 127.0.0.1:$MOTO_PORT"; return; fi
  [ -x "$VENV/bin/moto_server" ] || "$ROOT/scripts/bootstrap.sh" stack
  nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$LOCAL/logs/moto.log" 2>&1 &
  echo $! > "$LOCAL/moto.pid"
  for _ in $(seq 1 60); do moto_ready && break; sleep 0.5; done
  moto_ready || { log "moto did not start; see .local/logs/moto.log"; exit 1; }
  log "moto up on 127.0.0.1:$MOTO_PORT"
}

write_env() {
  cat > "$LOCAL/services.env" <<ENV
AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT
AWS_REGION=us-east-1
AWS_DEFAULT_REGION=us-east-1
AWS_ACCESS_KEY_ID=test
AWS_SECRET_ACCESS_KEY=test
DATABASE_URL=postgres://sluice@127.0.0.1:$PG_PORT/sluice
DATABASE_TLS=disable
ENV
}

stop_all() {
  if [ -f "$LOCAL/moto.pid" ]; then kill "$(cat "$LOCAL/moto.pid")" 2>/dev/null || true; rm -f "$LOCAL/moto.pid"; fi
  if pg_ready && [ -e "$LOCAL/pg/data/PG_VERSION" ]; then
    as_pg "$(pg_bindir)/pg_ctl" -D "$(readlink -f "$LOCAL/pg")/data" -m fast -w stop >/dev/null || true
  fi
  log "services stopped"
}

# A crash of PostgreSQL (`make chaos`): an immediate shutdown (no checkpoint, clients cut
# off, recovery from the WAL at start) and a start again.
crash_pg() {
  pg_ready || { log "PostgreSQL is not up"; exit 1; }
  local data; data="$(readlink -f "$LOCAL/pg")/data"
  as_pg "$(pg_bindir)/pg_ctl" -D "$data" -l "$data/../postgres.log" -m immediate -w -t 60 restart >/dev/null
}

case "${1:-start}" in
  start) start_pg; start_moto; write_env ;;
  stop) stop_all ;;
  crash-pg) crash_pg ;;
  status) pg_ready && echo "postgres: up" || echo "postgres: down"; moto_ready && echo "moto: up" || echo "moto: down" ;;
  *) echo "usage: $0 start|stop|status|crash-pg" >&2; exit 2 ;;
esac
