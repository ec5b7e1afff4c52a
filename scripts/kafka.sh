#!/usr/bin/env bash
# scripts/kafka.sh start|stop|addr|status|topic NAME [PARTITIONS]
#
# A real Apache Kafka 4.x broker (single-node KRaft, broker+controller in one
# JVM, loopback only) for integration tests. The embedded kfake broker is a
# re-implementation; this one is the reference, so protocol-version and
# behaviour differences show up in tests rather than in production.
#
# The broker and its runtime dependencies come from Maven Central via mvn
# (scripts/kafka/pom.xml); the jars are cached under .kafka/ in the repo (and
# ~/.m2), so only the first start downloads. Needs Java 17+ and Maven 3.8+.
#
# Environment:
#   KAFKA_PORT             client port (default 19092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port (default KAFKA_PORT+1)
#   KAFKA_STATE_DIR        pid/config/data/log dir (default /tmp/lienthong-kafka-<port>)
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to serve metadata (default 90)
#   KAFKA_HEAP_OPTS        JVM heap flags (default -Xms256m -Xmx512m)
#   JAVA_HOME              Java to use (else `java` on PATH, else a newer JDK in /usr/lib/jvm)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
POM="$ROOT/scripts/kafka/pom.xml"
LOG4J_CONF="$ROOT/scripts/kafka/log4j2.properties"
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")
CACHE="$ROOT/.kafka/kafka-$KAFKA_VERSION"
LIBS="$CACHE/libs"

PORT=${KAFKA_PORT:-19092}
CPORT=${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}
STATE=${KAFKA_STATE_DIR:-/tmp/lienthong-kafka-$PORT}
TIMEOUT=${KAFKA_START_TIMEOUT:-90}
HEAP=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
ADDR="127.0.0.1:$PORT"

die() {
	echo "kafka.sh: $*" >&2
	exit 1
}
say() { echo "kafka.sh: $*" >&2; }

# pid of our broker if it is alive, else nothing (and a stale state dir is left
# for start to clean up).
running_pid() {
	local pid
	[[ -f "$STATE/pid" ]] || return 1
	pid=$(<"$STATE/pid")
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
	# Guard against pid reuse: the process must be our java with our config.
	# (No `| grep -q`: under pipefail the writer's EPIPE would fail the test.)
	[[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *"$STATE/server.properties"* ]] || return 1
	echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

java_major() {
	"$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1
}

# Kafka 4.x brokers need Java 17+.
find_java() {
	local cand v
	for cand in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java || true)" /usr/lib/jvm/temurin-25*/bin/java /usr/lib/jvm/*/bin/java; do
		[[ -n "$cand" && -x "$cand" ]] || continue
		v=$(java_major "$cand")
		if [[ -n "$v" && "$v" -ge 17 ]]; then
			echo "$cand"
			return 0
		fi
	done
	die "no Java 17+ found (JAVA_HOME=${JAVA_HOME:-unset}, java on PATH: $(command -v java || echo none)); Kafka $KAFKA_VERSION needs Java 17 or newer"
}

# Resolve the broker jars with Maven, once per pom.xml content.
fetch() {
	local want have out rc
	want=$(sha256sum "$POM" | cut -d' ' -f1)
	have=$(cat "$CACHE/pom.sha256" 2>/dev/null || true)
	if [[ "$want" == "$have" && -d "$LIBS" ]]; then
		return 0
	fi
	command -v mvn >/dev/null || die "mvn not found on PATH: Maven 3.8+ is needed to fetch Kafka $KAFKA_VERSION from Maven Central"
	say "fetching Apache Kafka $KAFKA_VERSION and its dependencies with Maven (first start only)..."
	rm -rf "$LIBS.tmp"
	mkdir -p "$CACHE"
	set +e
	out=$(mvn -B -q -Dstyle.color=never -f "$POM" \
		dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" 2>&1)
	rc=$?
	set -e
	if [[ $rc -ne 0 ]]; then
		# Maven 3.8 prints colour resets even in batch mode; drop them.
		# shellcheck disable=SC2001 # a regex, not a fixed string
		sed 's/\x1b\[[0-9;]*m//g' <<<"$out" >&2
		die "mvn could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION (exit $rc); the Maven output is above"
	fi
	ls "$LIBS.tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || die "mvn succeeded but no kafka_2.13 jar landed in $LIBS.tmp"
	rm -rf "$LIBS"
	mv "$LIBS.tmp" "$LIBS"
	echo "$want" >"$CACHE/pom.sha256"
}

# Runs a Kafka command-line tool; it logs only warnings, so its output is its result.
kjava() {
	local main=$1
	shift
	"$JAVA" -Xmx256m -Dkafka.log.level=WARN -Dlog4j2.configurationFile="$LOG4J_CONF" -Djava.awt.headless=true \
		-cp "$LIBS/*" "$main" "$@"
}

write_config() {
	cat >"$STATE/server.properties" <<EOF
# Written by scripts/kafka.sh: single-node KRaft test broker on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$STATE/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
# One node: every internal topic has one replica. Few partitions keep the
# first consumer-group join fast on a small machine.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
log.retention.hours=24
EOF
}

# Ready when kcat sees broker 1 at our address (metadata served); without
# kcat, when the port accepts and the broker has logged that it started.
ready() {
	if command -v kcat >/dev/null; then
		[[ "$(kcat -L -b "$ADDR" -m 3 2>/dev/null)" == *"broker 1 at $ADDR"* ]]
	else
		port_open "$PORT" && grep -q "Kafka Server started" "$STATE/server.log" 2>/dev/null
	fi
}

# Serialise start/stop per port so parallel test runs do not start two brokers.
lock() {
	if command -v flock >/dev/null; then
		exec 9>"/tmp/lienthong-kafka-$PORT.lock"
		flock -w 120 9 || die "another kafka.sh is starting or stopping the broker on port $PORT"
	fi
}

# launch starts the JVM on the prepared state dir and waits until it serves
# metadata.
launch() {
	local pid waited
	# exec so that $! is the JVM itself; nohup so it outlives the calling shell;
	# 9>&- so the JVM does not hold the start/stop lock.
	# shellcheck disable=SC2086 # HEAP is a list of flags
	(exec nohup "$JAVA" $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
		-Dlog4j2.configurationFile="$LOG4J_CONF" -Djava.awt.headless=true \
		-cp "$LIBS/*" kafka.Kafka "$STATE/server.properties" </dev/null >"$STATE/server.log" 2>&1 9>&-) &
	pid=$!
	echo "$pid" >"$STATE/pid"
	echo "$PORT" >"$STATE/port"

	waited=0
	until ready; do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 60 "$STATE/server.log" >&2 || true
			die "the broker (pid $pid) exited during start-up; last lines of $STATE/server.log are above"
		fi
		if ((waited >= TIMEOUT)); then
			tail -n 60 "$STATE/server.log" >&2 || true
			kill -KILL "$pid" 2>/dev/null || true
			die "the broker did not serve metadata on $ADDR within ${TIMEOUT}s; last lines of $STATE/server.log are above"
		fi
		sleep 1
		waited=$((waited + 1))
	done
}

cmd_start() {
	local pid id t0
	lock
	if pid=$(running_pid); then
		echo "$ADDR"
		return 0
	fi
	if port_open "$PORT"; then
		die "port $PORT is in use by another process (not a broker started by this script with state dir $STATE); set KAFKA_PORT"
	fi
	if port_open "$CPORT"; then
		die "controller port $CPORT is in use; set KAFKA_CONTROLLER_PORT"
	fi
	JAVA=$(find_java)
	t0=$SECONDS
	fetch
	rm -rf "$STATE"
	mkdir -p "$STATE/data"
	write_config

	# A random cluster id in Kafka's format (base64url of 16 bytes, no padding),
	# made here rather than by a JVM start of `StorageTool random-uuid`.
	id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
	if ! kjava kafka.tools.StorageTool format -t "$id" -c "$STATE/server.properties" --standalone \
		>"$STATE/format.log" 2>&1; then
		cat "$STATE/format.log" >&2
		die "formatting the KRaft storage failed (log above)"
	fi

	launch
	say "Kafka $KAFKA_VERSION up on $ADDR (pid $(cat "$STATE/pid"), $((SECONDS - t0))s, state $STATE)"
	echo "$ADDR"
}

# halt stops the broker process and keeps its data.
halt() {
	local pid i
	if pid=$(running_pid); then
		kill -TERM "$pid" 2>/dev/null || true
		# A controlled shutdown of one node takes a few seconds.
		for ((i = 0; i < 300; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			say "broker pid $pid ignored TERM for 30s; killing"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.2
		fi
		say "stopped broker pid $pid"
	fi
}

cmd_stop() {
	lock
	halt
	rm -rf "$STATE"
}

# restart stops and starts the broker on the same data (failure tests).
cmd_restart() {
	local t0=$SECONDS
	lock
	[ -f "$STATE/server.properties" ] || die "no broker state in $STATE (run: scripts/kafka.sh start)"
	halt
	JAVA=$(find_java)
	launch
	say "Kafka $KAFKA_VERSION restarted on $ADDR ($((SECONDS - t0))s)"
}

# Topics are created explicitly (auto-create is off, as in production).
cmd_topic() {
	local name=${1:?usage: kafka.sh topic NAME [PARTITIONS]} parts=${2:-1}
	running_pid >/dev/null || die "no broker running on $ADDR (run: scripts/kafka.sh start)"
	JAVA=$(find_java)
	kjava org.apache.kafka.tools.TopicCommand --bootstrap-server "$ADDR" --create --if-not-exists \
		--topic "$name" --partitions "$parts" --replication-factor 1
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
restart) cmd_restart ;;
addr) echo "$ADDR" ;;
status)
	if pid=$(running_pid); then
		echo "running: $ADDR (pid $pid, Kafka $KAFKA_VERSION)"
	else
		echo "not running"
		exit 1
	fi
	;;
topic)
	shift
	cmd_topic "$@"
	;;
*)
	echo "usage: $0 start|stop|restart|addr|status|topic NAME [PARTITIONS]" >&2
	exit 2
	;;
esac
