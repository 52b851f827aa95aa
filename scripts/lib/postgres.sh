# A throw-away PostgreSQL cluster on loopback for tests (the watcher's store suite runs against
# it when FABMARKET_PG_URL is set). Source it; it sets nothing in motion by itself.
#
#   source scripts/lib/postgres.sh
#   pg_start            # initdb into a temp dir, start on a free 127.0.0.1 port, create the
#                       # database; exports FABMARKET_PG_URL, PG_DIR, PG_PORT
#   go test -count=1 ./watcher/store/
#   pg_stop             # stop the server and remove its directory
#
# The binaries are looked for on PATH, in /usr/lib/postgresql/*/bin (newest first) and in
# /usr/local/bin; when none is found Debian's `postgresql` package is installed with apt-get
# (root only). initdb and postgres refuse to run as root, so as root the cluster belongs to
# the `postgres` user (created by the package) or, failing that, to `nobody`. The cluster
# listens on 127.0.0.1 only, with trust authentication: never reuse it for anything but tests.
#
# Settings (environment): PG_DB (default fabmarket_test), PG_USER (default fabmarket),
# PG_PARENT (where the temp dir goes; default ${TMPDIR:-/tmp}).

# pg_find_bin: sets PG_BIN to a directory holding initdb, pg_ctl and postgres; installs the
# Debian package when none is found. Returns non-zero when it cannot.
pg_find_bin() {
  local d cand=()
  if [[ -n ${PG_BIN:-} && -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl && -x $PG_BIN/postgres ]]; then
    return 0
  fi
  d=$(command -v initdb 2>/dev/null || true)
  [[ -n $d ]] && cand+=("$(dirname "$(readlink -f "$d")")")
  # Newest major version first.
  while IFS= read -r d; do cand+=("$d"); done < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4 -rn)
  cand+=(/usr/local/bin /usr/local/pgsql/bin)
  for d in "${cand[@]}"; do
    if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
      PG_BIN=$d
      return 0
    fi
  done
  if [[ ${PG_NO_INSTALL:-0} == 1 ]]; then
    echo "postgres.sh: initdb/pg_ctl/postgres not found and PG_NO_INSTALL=1" >&2
    return 1
  fi
  if [[ $EUID -ne 0 ]]; then
    echo "postgres.sh: initdb/pg_ctl/postgres not found; install Debian's postgresql package (needs root)" >&2
    return 1
  fi
  echo "postgres.sh: installing Debian's postgresql package" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2 || return 1
  unset PG_BIN
  PG_NO_INSTALL=1 pg_find_bin
}

# pg_free_port: prints a TCP port on 127.0.0.1 that nothing listens on.
pg_free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# pg_as_owner CMD...: runs CMD as the cluster's owner (PG_OWNER; the current user when not root).
pg_as_owner() {
  if [[ -z ${PG_OWNER:-} ]]; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    runuser -u "$PG_OWNER" -- "$@"
  else
    su -s /bin/sh "$PG_OWNER" -c "$(printf '%q ' "$@")"
  fi
}

# pg_start: initdb into a new temp dir, start the server on a free loopback port, create the
# database, export FABMARKET_PG_URL, PG_DIR, PG_PORT. Idempotent while a cluster it started
# still runs.
pg_start() {
  if [[ -n ${PG_DIR:-} && -f ${PG_DIR}/data/postmaster.pid ]] && pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
    return 0
  fi
  pg_find_bin || return 1
  local db=${PG_DB:-fabmarket_test} user=${PG_USER:-fabmarket} parent=${PG_PARENT:-${TMPDIR:-/tmp}} try port
  PG_OWNER=
  if [[ $EUID -eq 0 ]]; then
    if id postgres >/dev/null 2>&1; then PG_OWNER=postgres; else PG_OWNER=nobody; fi
  fi
  PG_DIR=$(mktemp -d "$parent/fabmarket-pg.XXXXXX") || return 1
  chmod 755 "$PG_DIR"
  [[ -n $PG_OWNER ]] && chown "$PG_OWNER" "$PG_DIR"
  if ! pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$user" --auth=trust -E UTF8 --locale=C >"$PG_DIR/initdb.log" 2>&1; then
    echo "postgres.sh: initdb failed:" >&2
    tail -n 20 "$PG_DIR/initdb.log" >&2
    return 1
  fi
  # A port picked as free can be taken before the server binds it: try a few.
  for try in 1 2 3 4 5; do
    port=$(pg_free_port) || return 1
    if pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null 2>&1; then
      PG_PORT=$port
      break
    fi
    if [[ $try == 5 ]]; then
      echo "postgres.sh: pg_ctl start failed:" >&2
      tail -n 20 "$PG_DIR/server.log" >&2
      return 1
    fi
  done
  if ! pg_as_owner "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$user" -d postgres -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $db" >/dev/null 2>&1 &&
    ! "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$user" "$db" >/dev/null 2>&1; then
    echo "postgres.sh: cannot create database $db" >&2
    pg_stop
    return 1
  fi
  export PG_DIR PG_PORT PG_BIN
  export FABMARKET_PG_URL="postgres://$user@127.0.0.1:$PG_PORT/$db?sslmode=disable"
  echo "postgres.sh: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT ($PG_DIR); FABMARKET_PG_URL=$FABMARKET_PG_URL" >&2
}

# pg_stop: stops the cluster pg_start started (PG_DIR; it may have been started by another
# shell that exported it) and removes its directory; harmless when there is none.
pg_stop() {
  [[ -n ${PG_DIR:-} && -d $PG_DIR ]] || return 0
  local pidfile=$PG_DIR/data/postmaster.pid pid i
  if [[ -f $pidfile ]]; then
    [[ -n ${PG_BIN:-} ]] || pg_find_bin || true
    PG_OWNER=
    if [[ $EUID -eq 0 ]]; then
      PG_OWNER=$(stat -c %U "$PG_DIR/data")
      [[ $PG_OWNER == root ]] && PG_OWNER=
    fi
    if [[ -n ${PG_BIN:-} ]]; then
      pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
        pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    # Whatever pg_ctl could not do: the postmaster's pid is the pid file's first line.
    if [[ -f $pidfile ]]; then
      pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
      if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
  fi
  case $PG_DIR in
    */fabmarket-pg.*) rm -rf "$PG_DIR" ;;
  esac
  unset PG_DIR PG_PORT FABMARKET_PG_URL
}
