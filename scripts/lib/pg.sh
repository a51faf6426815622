# shellcheck shell=bash
# Shared helpers for scripts/run and scripts/test. Source it, don't execute it:
#   . "$(dirname "$0")/lib/pg.sh"
#
# Public functions
#   mb_apt_install PKG...                 apt-get install (update once per process; sudo when not root)
#   pg_ensure_installed                   PostgreSQL server binaries + 'postgres' user; sets PG_BIN
#   pg_start_throwaway / pg_stop_throwaway
#       fresh cluster in a short temp dir on a free 127.0.0.1 port (fsync off: tests only).
#       Exports MEMOBASE_TEST_PG="Host=127.0.0.1;Port=P;Username=postgres;Password=PW;Database=postgres"
#       and PGHOST PGPORT PGUSER PGPASSWORD. The caller traps pg_stop_throwaway (idempotent, silent).
#   pg_throwaway_preload_statement_stats  restarts the throwaway cluster with pg_stat_statements preloaded (bench)
#   pg_start_local_persistent DIR [PORT]  cluster whose PGDATA is DIR, password in DIR/../pg.password,
#       reused across runs, database 'memobase'. Exports DATABASE_URL, PGHOST PGPORT PGUSER PGPASSWORD.
#   pg_stop_local_persistent DIR          stops it (data kept).
#
# As root the server runs as the 'postgres' system user (initdb/postgres refuse root) via runuser;
# as any other user (e.g. a GitHub runner) it runs as that user and apt-get goes through sudo.

_mb_log() { printf '%s\n' "$*" >&2; }

# Run a command as root (for apt-get): directly when root, else through sudo.
_mb_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else _mb_log "error: need root (or sudo) to run: $*"; return 1
  fi
}

MB_APT_UPDATED=${MB_APT_UPDATED:-}
mb_apt_install() {
  command -v apt-get >/dev/null 2>&1 || { _mb_log "error: apt-get not found; please install: $*"; return 1; }
  if [ -z "$MB_APT_UPDATED" ]; then
    _mb_log "apt-get update"
    _mb_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
    MB_APT_UPDATED=1
  fi
  _mb_log "apt-get install $*"
  _mb_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# Run a PostgreSQL server-side command as the cluster owner.
_pg_as() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Directory with initdb/pg_ctl/postgres/psql: pg_config's bindir (Debian's versioned dir), else the
# newest /usr/lib/postgresql/*/bin. PG_BIN may be preset by the caller.
_pg_find_bindir() {
  local d
  if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then printf '%s\n' "$PG_BIN"; return 0; fi
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then printf '%s\n' "$d"; return 0; fi
  fi
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then printf '%s\n' "$d"; return 0; fi
  done
  return 1
}

pg_ensure_installed() {
  local bin policy_created=""
  if ! bin=$(_pg_find_bindir); then
    _mb_log "PostgreSQL server binaries not found: installing them with apt-get"
    # Keep the package's postinst from starting a system-wide server (only when no policy exists).
    if [ "$(id -u)" -eq 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy_created=1
    fi
    local rc=0
    mb_apt_install postgresql || rc=$?
    [ -n "$policy_created" ] && rm -f /usr/sbin/policy-rc.d
    [ "$rc" -eq 0 ] || return "$rc"
    bin=$(_pg_find_bindir) || { _mb_log "error: PostgreSQL installed but initdb not found"; return 1; }
  fi
  PG_BIN=$bin
  if [ "$(id -u)" -eq 0 ]; then
    command -v runuser >/dev/null 2>&1 || { _mb_log "error: runuser (util-linux) is required as root"; return 1; }
    if ! id -u postgres >/dev/null 2>&1; then
      _mb_log "creating system user 'postgres'"
      useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
  fi
}

_pg_new_password() { printf 'pg%s' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"; }

# Print a TCP port on 127.0.0.1 that is free right now.
_pg_free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()' && return 0
  fi
  local p i
  for i in $(seq 1 50); do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    # connect succeeds -> something listens there
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then printf '%s\n' "$p"; return 0; fi
    : "$i"
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# Throwaway cluster (tests)
# ---------------------------------------------------------------------------------------------
PG_TMP=""
pg_start_throwaway() {
  pg_ensure_installed || return 1
  local base="${PG_BASE_DIR:-/tmp}"
  PG_TMP=$(mktemp -d "$base/pgci.XXXXXX") || return 1
  # Unix socket path limit (~107 bytes) -> keep the socket in the short temp dir itself
  if [ "${#PG_TMP}" -gt 80 ]; then rm -rf "$PG_TMP"; PG_TMP=$(mktemp -d /tmp/pgci.XXXXXX) || return 1; fi
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PG_TMP"
  chmod 700 "$PG_TMP"
  local pw; pw=$(_pg_new_password)
  ( umask 077; printf '%s\n' "$pw" > "$PG_TMP/pw" )
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PG_TMP/pw"
  if ! _pg_as "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres --pwfile="$PG_TMP/pw" \
        --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C.UTF-8 >"$PG_TMP/initdb.log" 2>&1; then
    cat "$PG_TMP/initdb.log" >&2; return 1
  fi
  rm -f "$PG_TMP/pw"
  local port="" p _
  for _ in 1 2 3 4 5; do   # bind-then-release race: retry on another port if the start fails
    p=$(_pg_free_port) || continue
    if _pg_as "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 60 \
         -o "-c listen_addresses=127.0.0.1 -p $p -k $PG_TMP -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
         start >/dev/null 2>&1; then port=$p; break; fi
  done
  if [ -z "$port" ]; then _mb_log "error: throwaway PostgreSQL did not start:"; cat "$PG_TMP/server.log" >&2 2>/dev/null; return 1; fi
  export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGPASSWORD=$pw
  export MEMOBASE_TEST_PG="Host=127.0.0.1;Port=$port;Username=postgres;Password=$pw;Database=postgres"
  _mb_log "throwaway PostgreSQL $("$PG_BIN/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port (data $PG_TMP/data)"
}

# pg_stat_statements for the bench's per-statement figures: preload it and restart (pg_ctl restart keeps port and options).
pg_throwaway_preload_statement_stats() {
  "$PG_BIN/psql" -d postgres -qc "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >&2
  _pg_as "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 60 restart >/dev/null
}

# Stop + remove the throwaway cluster. Idempotent and silent: safe in an EXIT trap.
pg_stop_throwaway() {
  if [ -n "${PG_TMP:-}" ] && [ -d "$PG_TMP" ]; then
    if [ -n "${PG_BIN:-}" ] && [ -f "$PG_TMP/data/postmaster.pid" ]; then
      _pg_as "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_TMP"
  fi
  PG_TMP=""
}

# ---------------------------------------------------------------------------------------------
# Persistent local cluster (scripts/run)
# ---------------------------------------------------------------------------------------------

# PID of the postmaster really running on PGDATA $1, or fail. Guards against a stale postmaster.pid
# whose PID now belongs to another process (common after a crash / container restart).
_pg_live_pid() {
  local dir=$1 pid cwd real
  [ -f "$dir/postmaster.pid" ] || return 1
  pid=$(head -n1 "$dir/postmaster.pid" 2>/dev/null | tr -dc '0-9')
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] || return 1
  # a killed postmaster can linger as a zombie until its parent reaps it
  [ "$(sed -n 's/^.*) \([A-Za-z]\).*$/\1/p' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
  real=$(cd "$dir" && pwd -P)
  if cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null); then [ "$cwd" = "$real" ] || return 1; fi
  printf '%s\n' "$pid"
}

# Make every directory from / down to $1 traversable by the postgres user (root only).
_pg_make_traversable() {
  [ "$(id -u)" -eq 0 ] || return 0
  local target d path=""
  target=$(cd "$1" && pwd -P) || return 1
  local IFS=/
  for d in $target; do
    [ -n "$d" ] || continue
    path="$path/$d"
    if ! runuser -u postgres -- test -x "$path" 2>/dev/null; then
      _mb_log "note: chmod o+x $path (so the postgres user can reach the data directory)"
      chmod o+x "$path" || return 1
    fi
  done
}

_pg_persistent_ensure_db() {
  local port=$1
  if [ "$("$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAqc \
          "SELECT 1 FROM pg_database WHERE datname='memobase'")" != 1 ]; then
    "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qc \
        'CREATE DATABASE memobase' >/dev/null || return 1
    _mb_log "created database 'memobase'"
  fi
}

pg_start_local_persistent() {
  local dir=${1:?usage: pg_start_local_persistent DIR [PORT]}
  local port=${2:-${MEMOBASE_LOCAL_PG_PORT:-15432}}
  pg_ensure_installed || return 1
  local parent; parent=$(dirname "$dir")
  mkdir -p "$parent" || return 1
  local pwfile="$parent/pg.password" log="$parent/pg.log"
  dir="$(cd "$parent" && pwd -P)/$(basename "$dir")"

  if [ ! -f "$dir/PG_VERSION" ]; then
    if [ -d "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
      _mb_log "error: $dir exists, is not empty and is not a PostgreSQL data directory"; return 1
    fi
    _mb_log "initialising local PostgreSQL cluster in $dir"
    mkdir -p "$dir" && chmod 700 "$dir" || return 1
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    _pg_make_traversable "$dir" || return 1
    local pw; pw=$(_pg_new_password)
    ( umask 077; printf '%s\n' "$pw" > "$pwfile" )
    chmod 600 "$pwfile"
    local tmp; tmp=$(mktemp -d /tmp/pginit.XXXXXX) || return 1
    ( umask 077; printf '%s\n' "$pw" > "$tmp/pw" )
    [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$tmp"
    if ! _pg_as "$PG_BIN/initdb" -D "$dir" -U postgres --pwfile="$tmp/pw" --auth-host=scram-sha-256 \
          --auth-local=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1; then
      cat "$tmp/initdb.log" >&2; rm -rf "$tmp"; return 1
    fi
    rm -rf "$tmp"
    # TCP on loopback only, no Unix socket (nothing depends on the system socket dir or path lengths)
    printf '\n# added by scripts/lib/pg.sh\nlisten_addresses = '"'"'127.0.0.1'"'"'\nunix_socket_directories = '"'"''"'"'\n' \
      | _pg_as tee -a "$dir/postgresql.conf" >/dev/null
  fi
  [ -f "$pwfile" ] || { _mb_log "error: $pwfile is missing (cluster $dir exists); restore it or delete $dir"; return 1; }
  if [ "$(id -u)" -eq 0 ] && [ "$(stat -c %U "$dir")" != postgres ]; then chown -R postgres:postgres "$dir"; fi
  _pg_make_traversable "$dir" || return 1
  [ "$(id -u)" -eq 0 ] && { [ -e "$log" ] || install -m 600 /dev/null "$log"; chown postgres "$log"; }

  local pw pid running_port
  pw=$(head -n1 "$pwfile")
  if pid=$(_pg_live_pid "$dir"); then
    running_port=$(sed -n 4p "$dir/postmaster.pid" | tr -dc '0-9')
    if [ -n "$running_port" ] && [ "$running_port" != "$port" ]; then
      _mb_log "note: local PostgreSQL already running on port $running_port (not $port): using it"
    fi
    port=${running_port:-$port}
    _mb_log "local PostgreSQL already running (pid $pid) on 127.0.0.1:$port"
  else
    # A stale postmaster.pid whose PID is gone is cleared by postgres itself. If that PID now
    # belongs to another process (or a not-yet-reaped zombie) postgres would refuse to start
    # ("lock file already exists"); _pg_live_pid said it isn't our postmaster, so drop the file.
    # (PG >= 12 still detects orphaned backends through the data directory's shared memory key.)
    local stale
    stale=$(head -n1 "$dir/postmaster.pid" 2>/dev/null | tr -dc '0-9' || true)
    if [ -n "$stale" ] && [ -d "/proc/$stale" ]; then
      _mb_log "removing stale $dir/postmaster.pid (PID $stale is not this cluster's postmaster)"
      rm -f "$dir/postmaster.pid"
    fi
    if ! _pg_as "$PG_BIN/pg_ctl" -D "$dir" -l "$log" -w -t 60 -o "-p $port" start >/dev/null 2>&1; then
      _mb_log "error: local PostgreSQL failed to start on 127.0.0.1:$port (port busy? set MEMOBASE_LOCAL_PG_PORT). Log tail:"
      tail -n 20 "$log" >&2 2>/dev/null
      return 1
    fi
    _mb_log "local PostgreSQL started on 127.0.0.1:$port (data $dir, log $log)"
  fi
  export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGPASSWORD=$pw
  _pg_persistent_ensure_db "$port" || return 1
  export DATABASE_URL="postgres://postgres:$pw@127.0.0.1:$port/memobase"
}

pg_stop_local_persistent() {
  local dir=${1:?usage: pg_stop_local_persistent DIR}
  if [ ! -f "$dir/PG_VERSION" ]; then _mb_log "no local PostgreSQL cluster in $dir"; return 0; fi
  if ! _pg_live_pid "$dir" >/dev/null; then _mb_log "local PostgreSQL ($dir) is not running"; return 0; fi
  pg_ensure_installed || return 1
  _pg_as "$PG_BIN/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null && _mb_log "local PostgreSQL ($dir) stopped; data kept"
}
