#!/usr/bin/env bash
# Installs the pgvector extension (0.8.0) into the local PostgreSQL server. Idempotent.
# Debian bookworm ships no postgresql-15-pgvector, so Debian's own pgvector source package
# (from trixie) is built against the installed server with the server headers unpacked
# (not installed) from postgresql-server-dev-<major>: apt only, no other download. The
# build (about 20 s on 2 cores) is cached under ~/.cache/sluice/pgvector and reused.
# Run by scripts/services.sh before PostgreSQL starts; the copy into the server's folders
# needs the same rights as the apt-get that services.sh already uses for PostgreSQL.
set -euo pipefail
PGVECTOR_VERSION=0.8.0
PGVECTOR_DEBIAN_REVISION=0.8.0-1
SUITE=trixie
log() { printf '[pgvector] %s\n' "$*" >&2; }

bindir="${1:?usage: $0 <postgres bindir>}"
pg_config="$bindir/pg_config"
[ -x "$pg_config" ] || pg_config="$(command -v pg_config)"
major="$("$pg_config" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')"
pkglibdir="$("$pg_config" --pkglibdir)"
extdir="$("$pg_config" --sharedir)/extension"

if [ -f "$extdir/vector.control" ] && grep -q "default_version = '$PGVECTOR_VERSION'" "$extdir/vector.control" \
   && [ -f "$pkglibdir/vector.so" ]; then
  exit 0
fi

CACHE="${SLUICE_CACHE:-$HOME/.cache/sluice}/pgvector/$PGVECTOR_VERSION-pg$major"
if [ ! -f "$CACHE/vector.so" ]; then
  command -v make >/dev/null && command -v gcc >/dev/null || {
    log "need make and gcc to build pgvector"; exit 1; }
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
  chmod 755 "$work"
  # The mirror the machine already uses, asked for the one source package from trixie
  # through a private apt state (the system's own lists stay untouched).
  mirror="$(grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
            | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)"
  [ -n "$mirror" ] || { log "no Debian mirror found in the apt sources"; exit 1; }
  mkdir -p "$work/lists/partial"
  echo "deb-src $mirror $SUITE main" > "$work/sources.list"
  apt_private=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
               -o "Dir::State::Lists=$work/lists" -o APT::Sandbox::User=root)
  log "building pgvector $PGVECTOR_VERSION for PostgreSQL $major (once; cached in $CACHE)"
  apt-get -qq "${apt_private[@]}" update >&2
  (cd "$work" && apt-get -qq "${apt_private[@]}" source --download-only "pgvector=$PGVECTOR_DEBIAN_REVISION" >&2)
  # The server headers, unpacked only: the installed server's version when apt still has it.
  installed="$(dpkg-query -W -f='${Version}' "postgresql-$major" 2>/dev/null || true)"
  (cd "$work" && { apt-get -qq -o APT::Sandbox::User=root download "postgresql-server-dev-$major=$installed" >&2 2>/dev/null \
                   || apt-get -qq -o APT::Sandbox::User=root download "postgresql-server-dev-$major" >&2; })
  dpkg-deb -x "$work"/postgresql-server-dev-"$major"_*.deb "$work/root"
  tar -xzf "$work/pgvector_$PGVECTOR_VERSION.orig.tar.gz" -C "$work"
  # OPTFLAGS="": no -march=native (the build must run on any x86-64); with_llvm=no: no
  # bitcode for the JIT (needs clang).
  make -s -C "$work/pgvector-$PGVECTOR_VERSION" PG_CONFIG="$pg_config" OPTFLAGS="" with_llvm=no \
       PG_CPPFLAGS="-I$work/root/usr/include/postgresql/$major/server" >&2
  mkdir -p "$CACHE.tmp"
  cp "$work/pgvector-$PGVECTOR_VERSION/vector.so" "$work/pgvector-$PGVECTOR_VERSION/vector.control" "$CACHE.tmp/"
  cp "$work/pgvector-$PGVECTOR_VERSION"/sql/vector--*.sql "$CACHE.tmp/"
  rm -rf "$CACHE"; mv "$CACHE.tmp" "$CACHE"
fi
install -m 755 "$CACHE/vector.so" "$pkglibdir/vector.so"
install -m 644 "$CACHE/vector.control" "$CACHE"/vector--*.sql "$extdir/"
log "pgvector $PGVECTOR_VERSION installed into PostgreSQL $major"
