#!/usr/bin/env bash
# scripts/postgres.sh start|stop|restart|dsn|status
#
# A throwaway PostgreSQL server (loopback only, trust auth, locale C) for the
# store's integration tests:
#
#   scripts/postgres.sh start
#   LIENTHONG_TEST_POSTGRES_DSN=$(scripts/postgres.sh dsn) go test ./internal/store/...
#   scripts/postgres.sh stop
#
# If no PostgreSQL is installed, start installs Debian's (apt-get, as root).
# initdb refuses to run as root, so as root the server runs as the postgres
# user, in a directory under /tmp that it owns (not a 0700 root temp dir).
#
# Environment:
#   POSTGRES_PORT       port (default 55432; if taken and not set, the next free one)
#   POSTGRES_STATE      state file shared by start/dsn/stop (default /tmp/lienthong-postgres.state)
#   POSTGRES_FSYNC      on|off (default off: test data, faster CREATE DATABASE); benchmarks want on
set -euo pipefail

STATE=${POSTGRES_STATE:-/tmp/lienthong-postgres.state}
LOCK="$STATE.lock"
FSYNC=${POSTGRES_FSYNC:-off}

die() {
	echo "postgres.sh: $*" >&2
	exit 1
}
say() { echo "postgres.sh: $*" >&2; }

# The newest installed server's bin dir, or nothing.
bindir() {
	local d dirs=()
	for d in /usr/lib/postgresql/*/bin; do
		[[ -x "$d/initdb" ]] && dirs+=("$d")
	done
	((${#dirs[@]} > 0)) || return 1
	printf '%s\n' "${dirs[@]}" | sort -V | tail -n 1
}

install() {
	[[ $(id -u) -eq 0 ]] || die "PostgreSQL is not installed and installing it needs root (apt-get install postgresql)"
	command -v apt-get >/dev/null || die "PostgreSQL is not installed and there is no apt-get to install it"
	say "installing PostgreSQL with apt-get..."
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq postgresql >&2
}

# as_pg runs a command as the server's owner: postgres when we are root.
as_pg() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# load reads DIR, PORT and BIN from the state file; fails if there is none.
load() {
	[[ -f "$STATE" ]] || return 1
	DIR=$(sed -n 's/^dir=//p' "$STATE")
	PORT=$(sed -n 's/^port=//p' "$STATE")
	BIN=$(sed -n 's/^bin=//p' "$STATE")
	# Only ever a directory this script made: stop removes it.
	[[ "$DIR" == /tmp/lienthong-pg-* && -n "$PORT" && -n "$BIN" ]]
}

# running reports whether the server of the state file is up. The port
# check catches a killed server whose zombie pg_ctl still counts as alive.
running() {
	load || return 1
	[[ -f "$DIR/data/postmaster.pid" ]] || return 1
	as_pg "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1 && port_open "$PORT"
}

dsn() { echo "postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"; }

lock() {
	if command -v flock >/dev/null; then
		exec 9>"$LOCK"
		flock -w 120 9 || die "another postgres.sh is starting or stopping the server"
	fi
}

# port_lock serialises picking a free port and binding it across every
# postgres.sh (each state file has its own lock), until this script exits.
port_lock() {
	if command -v flock >/dev/null; then
		exec 8>/tmp/lienthong-postgres-ports.lock
		flock -w 120 8 || die "another postgres.sh is picking a port"
	fi
}

pick_port() {
	local p
	if [[ -n "${POSTGRES_PORT:-}" ]]; then
		port_open "$POSTGRES_PORT" && die "port $POSTGRES_PORT is in use; set POSTGRES_PORT to a free one"
		echo "$POSTGRES_PORT"
		return 0
	fi
	for ((p = 55432; p < 55532; p++)); do
		if ! port_open "$p"; then
			echo "$p"
			return 0
		fi
	done
	die "no free port in 55432-55531; set POSTGRES_PORT"
}

# launch starts the server on the data in $DIR and waits until it accepts.
launch() {
	# 8>&- 9>&- so the server does not hold the locks.
	if ! as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 60 \
		-o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=$FSYNC -c full_page_writes=$FSYNC -c synchronous_commit=$FSYNC" \
		start >/dev/null 8>&- 9>&-; then
		tail -n 40 "$DIR/log" >&2 || true
		die "the server did not start; last lines of $DIR/log are above"
	fi
}

cmd_start() {
	local t0=$SECONDS
	lock
	if running; then
		dsn
		return 0
	fi
	if load; then
		# A stale state file (server gone, e.g. after a reboot): start afresh.
		rm -rf "$DIR"
		rm -f "$STATE"
	fi
	BIN=$(bindir) || {
		install
		BIN=$(bindir) || die "no initdb under /usr/lib/postgresql/*/bin after installing"
	}
	DIR=$(mktemp -d /tmp/lienthong-pg-XXXXXX)
	chmod 0755 "$DIR"
	if [[ $(id -u) -eq 0 ]]; then
		chown postgres:postgres "$DIR"
	fi
	if ! as_pg "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust --locale=C --encoding=UTF8 --no-sync \
		--no-instructions >"$DIR/initdb.log" 2>&1; then
		cat "$DIR/initdb.log" >&2
		rm -rf "$DIR"
		die "initdb failed (output above)"
	fi
	port_lock
	PORT=$(pick_port)
	printf 'dir=%s\nport=%s\nbin=%s\n' "$DIR" "$PORT" "$BIN" >"$STATE"
	launch
	say "PostgreSQL $("$BIN/postgres" --version | sed -n 's/^postgres (PostgreSQL) \([^ ]*\).*/\1/p') up on 127.0.0.1:$PORT ($((SECONDS - t0))s, fsync=$FSYNC, data $DIR)"
	dsn
}

# halt stops the server fast and keeps its data.
halt() {
	if running; then
		as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >/dev/null
	fi
}

cmd_stop() {
	lock
	if load; then
		halt
		rm -rf "$DIR"
		say "stopped; removed $DIR"
	fi
	rm -f "$STATE"
}

# restart stops and starts the server on the same data (fault tests).
cmd_restart() {
	lock
	load || die "no server state in $STATE (run: scripts/postgres.sh start)"
	halt
	launch
	say "restarted on 127.0.0.1:$PORT"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
restart) cmd_restart ;;
dsn)
	load || die "no server state in $STATE (run: scripts/postgres.sh start)"
	dsn
	;;
status)
	if running; then
		echo "running: $(dsn) (data $DIR)"
	else
		echo "not running"
		exit 1
	fi
	;;
*)
	echo "usage: $0 start|stop|restart|dsn|status" >&2
	exit 2
	;;
esac
