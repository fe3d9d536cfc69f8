#!/usr/bin/env bash
# test-services.sh makes sure the services the test suite talks to are up, then exports
# the environment variables the tests read:
#
#   SWITCHYARD_TEST_REDIS     host:port of a Redis server     (default 127.0.0.1:6379)
#   SWITCHYARD_TEST_POSTGRES  URL of a PostgreSQL database    (default
#                             postgres://postgres@127.0.0.1:5432/switchyard_test?sslmode=disable)
#
# Tests that need a service skip only when its variable is unset, so `make test` always
# runs this first.
#
# Usage:
#   . scripts/test-services.sh            # in bash: ensure services, export the variables
#   scripts/test-services.sh CMD ARGS...  # ensure services, then run CMD with the variables
#   scripts/test-services.sh              # ensure services, print `export` lines
#
# It is idempotent: a service that already answers is left alone. On Debian 12 as root it
# installs what is missing (redis-server, postgresql) with apt-get and starts it without
# systemd. When a variable is already set to something other than its default, that
# service is taken as the caller's and is neither installed nor started here.

_sy_default_redis=127.0.0.1:6379
_sy_default_postgres='postgres://postgres@127.0.0.1:5432/switchyard_test?sslmode=disable'
_sy_test_db=switchyard_test

_sy_log() { printf 'test-services: %s\n' "$*" >&2; }

# _sy_apt_install PKG... installs Debian packages, running `apt-get update` at most once.
_sy_apt_updated=
_sy_apt_install() {
	if [ "$(id -u)" != 0 ]; then
		_sy_log "need to install $* but not running as root; install them and retry"
		return 1
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		_sy_log "need to install $* but apt-get is not available"
		return 1
	fi
	if [ -z "$_sy_apt_updated" ]; then
		_sy_log "apt-get update"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
		_sy_apt_updated=1
	fi
	_sy_log "apt-get install $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# _sy_wait SECONDS CMD... retries CMD every 0.2s until it succeeds or SECONDS pass.
_sy_wait() {
	local tries=$(($1 * 5))
	shift
	while ! "$@" >/dev/null 2>&1; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.2
	done
}

_sy_redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

_sy_ensure_redis() {
	if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
		_sy_apt_install redis-server || return 1
	fi
	_sy_redis_up && return 0
	_sy_log "starting redis-server on 127.0.0.1:6379"
	redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >&2 || return 1
	if ! _sy_wait 15 _sy_redis_up; then
		_sy_log "redis did not answer PING on 127.0.0.1:6379"
		return 1
	fi
}

# _sy_pg_version prints the newest PostgreSQL major version with a config directory.
_sy_pg_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }

_sy_pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }

# _sy_psql_admin ARGS... runs psql as the postgres superuser: over TCP when that is
# trusted, else over the local socket as the postgres OS user (peer auth; needs root).
_sy_psql_admin() {
	if psql -w -h 127.0.0.1 -p 5432 -U postgres -d postgres -c 'select 1' >/dev/null 2>&1; then
		psql -w -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"
	elif [ "$(id -u)" = 0 ]; then
		(cd / && runuser -u postgres -- psql -p 5432 -d postgres -v ON_ERROR_STOP=1 -qAt "$@")
	else
		_sy_log "cannot connect to PostgreSQL as postgres (not trusted on 127.0.0.1 and not root)"
		return 1
	fi
}

_sy_pg_test_db_reachable() {
	psql -w -h 127.0.0.1 -p 5432 -U postgres -d "$_sy_test_db" -c 'select 1' >/dev/null 2>&1
}

_sy_ensure_postgres() {
	if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
		_sy_apt_install postgresql || return 1
	fi
	local ver
	ver=$(_sy_pg_version)
	if [ -z "$ver" ]; then
		_sy_log "no PostgreSQL version under /etc/postgresql"
		return 1
	fi
	if ! _sy_pg_up; then
		if [ ! -d "/etc/postgresql/$ver/main" ]; then
			_sy_log "creating PostgreSQL $ver cluster main"
			pg_createcluster "$ver" main >&2 || return 1
		fi
		_sy_log "starting PostgreSQL $ver cluster main"
		pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || true
		if ! _sy_wait 30 _sy_pg_up; then
			_sy_log "PostgreSQL is not accepting connections on 127.0.0.1:5432"
			return 1
		fi
	fi
	if [ "$(_sy_psql_admin -c "select 1 from pg_database where datname = '$_sy_test_db'")" != 1 ]; then
		_sy_log "creating database $_sy_test_db"
		_sy_psql_admin -c "create database $_sy_test_db" >&2 || return 1
	fi
	_sy_pg_test_db_reachable && return 0
	# A fresh Debian cluster asks for a password on 127.0.0.1. Trust the postgres user on
	# 127.0.0.1 for the test database only; pg_hba.conf is first match, so it goes on top.
	local hba="/etc/postgresql/$ver/main/pg_hba.conf"
	local line="host $_sy_test_db postgres 127.0.0.1/32 trust"
	if [ ! -w "$hba" ]; then
		_sy_log "cannot connect to $_sy_test_db over 127.0.0.1 and cannot edit $hba"
		return 1
	fi
	if ! grep -qxF "$line" "$hba"; then
		_sy_log "adding '$line' to $hba"
		{ printf '# added by switchyard scripts/test-services.sh\n%s\n' "$line"; cat "$hba"; } >"$hba.new" &&
			cat "$hba.new" >"$hba" && rm -f "$hba.new" || return 1
	fi
	pg_ctlcluster --skip-systemctl-redirect "$ver" main reload >&2 || return 1
	if ! _sy_wait 10 _sy_pg_test_db_reachable; then
		_sy_log "still cannot connect to $_sy_test_db as postgres over 127.0.0.1"
		return 1
	fi
}

# sy_test_services ensures both services and exports the variables.
sy_test_services() {
	if [ -z "${SWITCHYARD_TEST_REDIS:-}" ] || [ "$SWITCHYARD_TEST_REDIS" = "$_sy_default_redis" ]; then
		_sy_ensure_redis || { _sy_log "Redis is not available"; return 1; }
	fi
	if [ -z "${SWITCHYARD_TEST_POSTGRES:-}" ] || [ "$SWITCHYARD_TEST_POSTGRES" = "$_sy_default_postgres" ]; then
		_sy_ensure_postgres || { _sy_log "PostgreSQL is not available"; return 1; }
	fi
	export SWITCHYARD_TEST_REDIS="${SWITCHYARD_TEST_REDIS:-$_sy_default_redis}"
	export SWITCHYARD_TEST_POSTGRES="${SWITCHYARD_TEST_POSTGRES:-$_sy_default_postgres}"
	_sy_log "SWITCHYARD_TEST_REDIS=$SWITCHYARD_TEST_REDIS"
	_sy_log "SWITCHYARD_TEST_POSTGRES=$SWITCHYARD_TEST_POSTGRES"
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
	# Sourced: leave the caller's shell options alone and report failure as a status.
	sy_test_services
	return $?
fi

set -euo pipefail
sy_test_services
if [ "$#" -gt 0 ]; then
	exec "$@"
fi
printf 'export SWITCHYARD_TEST_REDIS=%q\n' "$SWITCHYARD_TEST_REDIS"
printf 'export SWITCHYARD_TEST_POSTGRES=%q\n' "$SWITCHYARD_TEST_POSTGRES"
