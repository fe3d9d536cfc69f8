#!/usr/bin/env bash
# run.sh runs the whole benchmark in one command (see bench/README.md): it builds the
# gateway and the bench binaries, starts everything on loopback, measures, prints the
# tables and stops everything. Arguments, and any flags in $BENCH_FLAGS, go to benchrun:
#
#   bash bench/run.sh -duration 3s -profile
#   BENCH_FLAGS="-duration 10s" make bench
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags, split on purpose
exec go run ./bench/cmd/benchrun ${BENCH_FLAGS:-} "$@"
