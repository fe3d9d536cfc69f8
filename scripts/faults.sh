#!/usr/bin/env bash
# faults.sh is the scripted fault run of issue 12: it builds the gateway and the load
# generator, runs the gateway on loopback in front of its in-memory mock provider with
# the response cache and the rate limits in Redis and the cost ledger in Postgres, and
# drives closed-loop load through phases of about PHASE seconds each:
#
#   run 1 (Redis + Postgres):  baseline, Redis stopped, Redis back, Postgres refusing
#                              connections, Postgres back
#   run 2 (SQLite):            the ledger and its spill journal on a full 1 MiB tmpfs
#                              (skipped with a message where mount is not permitted)
#
# Per phase it prints requests/s and errors by kind (status_429, status_503, timeout...);
# per run, the ledger's events against the answers the clients got, and the ledger
# writer's counters from /metrics (spilled to the journal, replayed, dropped). Everything
# it stops is restarted by a trap, whatever happens; a watchdog bounds the whole run.
#
#   scripts/faults.sh                 # or: make faults
#   PHASE=5 CONCURRENCY=32 scripts/faults.sh
#
# Environment (defaults in brackets):
#   PHASE [10]           seconds of load per phase
#   CONCURRENCY [16]     loadgen workers
#   FAULTS_REDIS_PORT [6391]
#                        a Redis of the run's own on 127.0.0.1, started (and stopped with
#                        `redis-cli shutdown nosave`, then started again) by this script, so
#                        tests using the shared Redis on 6379 are not disturbed; set it to
#                        6379 to stop the shared one instead
#   FAULTS_PG_STOP [block]
#                        block: the run's database (switchyard_faults, created here) refuses
#                        connections (ALLOW_CONNECTIONS false, its sessions terminated);
#                        cluster: the whole PostgreSQL cluster is stopped and started with
#                        pg_ctlcluster (disturbs anything else using it)
#
# Needs Redis and PostgreSQL on 127.0.0.1:5432 (scripts/test-services.sh starts or installs
# them), psql, redis-cli, jq, sqlite3 (or python3) and Go. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

PHASE=${PHASE:-10}
CONCURRENCY=${CONCURRENCY:-16}
REDIS_PORT=${FAULTS_REDIS_PORT:-6391}
PG_STOP=${FAULTS_PG_STOP:-block}
DB=switchyard_faults
PGURL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
# The whole run: two runs of at most six phases, builds, starts and drains.
WATCHDOG=$((PHASE * 14 + 240))

log() { printf 'faults: %s\n' "$*" >&2; }

# Services: the same ones the test suite uses, started (or installed) the same way.
. scripts/test-services.sh >/dev/null || { log "test services are not available"; exit 1; }

WORK=$(mktemp -d /tmp/switchyard-faults.XXXXXX)
GW_PID=
WATCH_PID=
DISK=

redis_cmd() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
redis_up() { [ "$(redis_cmd ping 2>/dev/null)" = PONG ]; }
# redis_start starts the run's Redis with the command line of scripts/test-services.sh.
redis_start() {
	redis_up && return 0
	redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
		--dir "$WORK" >/dev/null
	_sy_wait 15 redis_up || { log "redis did not start on port $REDIS_PORT"; return 1; }
}
redis_stop() { redis_cmd shutdown nosave >/dev/null 2>&1 || true; }

psql_admin() { psql -w -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
pg_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }
pg_block() {
	if [ "$PG_STOP" = cluster ]; then
		pg_ctlcluster --skip-systemctl-redirect "$(pg_version)" main stop -m fast
	else
		psql_admin -c "alter database $DB allow_connections false" \
			-c "select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = '$DB'" >/dev/null
	fi
}
pg_unblock() {
	if [ "$PG_STOP" = cluster ]; then
		_sy_pg_up || pg_ctlcluster --skip-systemctl-redirect "$(pg_version)" main start || true
		_sy_wait 30 _sy_pg_up || true
	else
		psql_admin -c "alter database $DB allow_connections true" >/dev/null 2>&1 || true
	fi
}

gw_stop() {
	if [ -n "$GW_PID" ] && kill -0 "$GW_PID" 2>/dev/null; then
		kill -TERM "$GW_PID" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$GW_PID" 2>/dev/null || true
		wait "$GW_PID" 2>/dev/null || true
	fi
	GW_PID=
}

cleanup() {
	local rc=$?
	gw_stop
	pg_unblock
	redis_stop # the run's own Redis; with FAULTS_REDIS_PORT=6379 it is started again below
	[ "$REDIS_PORT" = 6379 ] && { redis_start || true; }
	if [ -n "$DISK" ] && mountpoint -q "$DISK"; then umount "$DISK" || true; fi
	[ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null || true
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# The watchdog's sleep holds no descriptor of ours: a pipe reading this script's output
# closes when the script ends, not when the sleep would.
(sleep "$WATCHDOG" </dev/null >/dev/null 2>&1; log "watchdog: the run took more than ${WATCHDOG}s; stopping"; kill -TERM $$) &
WATCH_PID=$!

log "building the gateway and the load generator in $WORK"
CGO_ENABLED=0 go build -o "$WORK/switchyard" ./cmd/switchyard
go build -o "$WORK/loadgen" ./bench/cmd/loadgen

redis_start
if [ "$(psql_admin -c "select 1 from pg_database where datname = '$DB'")" = 1 ]; then
	psql_admin -c "alter database $DB allow_connections true" -c "drop database $DB with (force)" >/dev/null
fi
psql_admin -c "create database $DB" >/dev/null
psql -w -h 127.0.0.1 -U postgres -d "$DB" -qAt -c 'select 1' >/dev/null ||
	{ log "cannot connect to $DB over 127.0.0.1 as postgres (trust auth needed)"; exit 1; }

# A free loopback port for the gateway.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
# Deterministic (temperature 0) chat requests: answers are cached in Redis, so every
# request reads the cache there; with Redis down they are misses served by the mock.
printf '%s' '{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"Say hello to the fault run."}]}' >"$WORK/body.json"

# write_config FILE LEDGER JOURNAL writes the gateway's configuration.
write_config() {
	cat >"$1" <<EOF
listen: 127.0.0.1:$PORT
log: {level: warn, requests: false}
providers:
  - {name: mock, kind: mock, mock: {latency: 2ms}}
models:
  - {name: gpt-4o-mini, provider: mock}
redis: {addr: 127.0.0.1:$REDIS_PORT}
cache:
  enabled: true
  store: redis
  defaults: {ttl: 1h}
rate_limits:
  store: redis
  rules:
    - {scope: team, match: "*", rpm: 100000000, on_redis_error: fail_open}
metering:
  ledger: $2
  writer: {journal: $3}
telemetry:
  enabled: true
  traces: {exporter: none}
  metrics: {exporter: none}
  prometheus: {enabled: true}
EOF
}

# gw_start CONFIG LOGFILE starts the gateway and waits until it answers /healthz.
gw_start() {
	"$WORK/switchyard" serve --config "$1" 2>"$2" &
	GW_PID=$!
	for _ in $(seq 1 100); do
		curl -fsS "$URL/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$GW_PID" 2>/dev/null || break
		sleep 0.1
	done
	log "the gateway did not start; its log:"
	cat "$2" >&2
	return 1
}

ANSWERS=0    # 2xx answers the clients got in this run
RESPONSES=0  # every HTTP answer (a status), errors included
header() { printf '%-30s %9s %8s %8s  %s\n' phase "req/s" ok errors "errors by kind"; }

# phase NAME runs PHASE seconds of load and prints one line.
phase() {
	local out="$WORK/phase.json"
	"$WORK/loadgen" -url "$URL/v1/chat/completions" -body-file "$WORK/body.json" -concurrency "$CONCURRENCY" \
		-duration "${PHASE}s" -warmup 0 -timeout 10s -json >"$out" 2>"$WORK/loadgen.err" ||
		{ log "loadgen failed: $(cat "$WORK/loadgen.err")"; return 1; }
	local ok errs kinds rps statuses
	ok=$(jq .ok "$out")
	errs=$(jq .errors "$out")
	rps=$(jq '.requests / .elapsed_s' "$out")
	kinds=$(jq -r '(.error_kinds // {}) | to_entries | map("\(.key)=\(.value)") | join(" ")' "$out")
	statuses=$(jq '[(.error_kinds // {}) | to_entries[] | select(.key | startswith("status_")) | .value] | add // 0' "$out")
	ANSWERS=$((ANSWERS + ok))
	RESPONSES=$((RESPONSES + ok + statuses))
	printf '%-30s %9.1f %8d %8d  %s\n' "$1" "$rps" "$ok" "$errs" "${kinds:--}"
}

# metric NAME prints the value of an unlabelled sample on /metrics (0 when absent).
metric() {
	curl -fsS "$URL/metrics" | awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }'
}

# ledger_stats prints the ledger writer's counters.
ledger_stats() {
	printf '  writer: spilled=%s replayed=%s dropped=%s write_failures=%s queued=%s\n' \
		"$(metric switchyard_ledger_spilled_events_total)" "$(metric switchyard_ledger_replayed_events_total)" \
		"$(metric switchyard_ledger_dropped_events_total)" "$(metric switchyard_ledger_write_failures_total)" \
		"$(metric switchyard_ledger_queue_depth)"
}

# wait_drained waits (up to 30 s) until the writer has nothing queued and nothing left to
# replay from its journal.
wait_drained() {
	for _ in $(seq 1 60); do
		local spilled replayed queued dropped
		spilled=$(metric switchyard_ledger_spilled_events_total)
		replayed=$(metric switchyard_ledger_replayed_events_total)
		dropped=$(metric switchyard_ledger_dropped_events_total)
		queued=$(metric switchyard_ledger_queue_depth)
		[ "$queued" = 0 ] && [ "$((spilled - replayed - dropped))" -le 0 ] && return 0
		sleep 0.5
	done
}

# log_summary FILE prints the gateway's warnings and errors, one line per message with
# its count, and how many lines are not JSON.
log_summary() {
	echo "  gateway log: $(wc -l <"$1") lines, $(grep -vc '^{' "$1" || true) not JSON; warnings and errors by message:"
	jq -rR 'fromjson? | select(.level == "WARN" or .level == "ERROR") | "\(.level) \(.msg)"' "$1" |
		sort | uniq -c | sort -rn | head -n 12 | sed 's/^/   /'
}

# --- run 1: Redis and Postgres ------------------------------------------------------
echo "== run 1: cache and rate limits in Redis (127.0.0.1:$REDIS_PORT), ledger in Postgres ($DB), $CONCURRENCY workers, ${PHASE}s phases"
write_config "$WORK/pg.yaml" "$PGURL" "$WORK/pg.spill"
gw_start "$WORK/pg.yaml" "$WORK/pg.log"
header
phase "baseline"
redis_stop
phase "redis stopped"
redis_start
phase "redis back"
pg_block
phase "postgres refusing ($PG_STOP)"
pg_unblock
phase "postgres back"
wait_drained
ledger_stats
gw_stop
rows=$(psql -w -h 127.0.0.1 -U postgres -d "$DB" -qAt -c 'select count(*) from cost_events')
ok_rows=$(psql -w -h 127.0.0.1 -U postgres -d "$DB" -qAt -c 'select count(*) from cost_events where status between 200 and 299')
journal=$( [ -f "$WORK/pg.spill" ] && wc -c <"$WORK/pg.spill" || echo 0)
echo "  answers: $ANSWERS 2xx of $RESPONSES HTTP responses; ledger: $rows events ($ok_rows with a 2xx status); journal left: $journal bytes"
log_summary "$WORK/pg.log"
if [ "$ok_rows" -ge "$ANSWERS" ]; then echo "  every answer has its cost event"; else echo "  MISSING: $((ANSWERS - ok_rows)) answers have no cost event"; fi

# --- run 2: SQLite on a full disk ---------------------------------------------------
echo
echo "== run 2: ledger and spill journal in SQLite on a 1 MiB tmpfs"
DISK="$WORK/disk"
mkdir -p "$DISK"
if ! mount -t tmpfs -o size=1m tmpfs "$DISK" 2>"$WORK/mount.err"; then
	echo "  skipped: cannot mount a tmpfs here ($(head -c 200 "$WORK/mount.err"))"
	DISK=
	exit 0
fi
ANSWERS=0 RESPONSES=0
write_config "$WORK/sqlite.yaml" "sqlite:$DISK/ledger.db" "$DISK/ledger.spill"
gw_start "$WORK/sqlite.yaml" "$WORK/sqlite.log"
header
phase "disk filling, then full"
phase "disk full"
ledger_stats
dropped=$(metric switchyard_ledger_dropped_events_total)
QUEUED=$(metric switchyard_ledger_queue_depth)
gw_stop
df -k "$DISK" | awk 'NR == 2 { printf "  disk: %s KiB used of %s\n", $3, $2 }'
count_sqlite() {
	if command -v sqlite3 >/dev/null; then
		sqlite3 "file:$1?mode=ro" "$2" 2>/dev/null || echo "?"
	else
		python3 -c 'import sqlite3,sys; print(sqlite3.connect("file:"+sys.argv[1]+"?mode=ro", uri=True).execute(sys.argv[2]).fetchone()[0])' "$1" "$2" 2>/dev/null || echo "?"
	fi
}
rows=$(count_sqlite "$DISK/ledger.db" 'select count(*) from cost_events')
journal=$( [ -f "$DISK/ledger.spill" ] && wc -c <"$DISK/ledger.spill" || echo 0)
echo "  answers: $ANSWERS 2xx of $RESPONSES HTTP responses; ledger: $rows events; journal: $journal bytes"
queued=$QUEUED
echo "  dropped and counted: $dropped; still queued in memory at the stop: $queued; answers not accounted for by ledger + dropped + queued: $((ANSWERS - rows - dropped - queued)) (the writer's failed batch, held in memory)"
log_summary "$WORK/sqlite.log"
