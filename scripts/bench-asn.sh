#!/usr/bin/env bash
# Measures the offline AS table: loading a full-size (850 k prefix)
# synthetic RouteViews IPv4 table, plain and gzip, and longest-prefix
# lookups per second on one core. Targets: load <= 1.5 s, >= 5 M lookups/s.
#
# usage: scripts/bench-asn.sh [extra go test flags, e.g. -count=5]
set -euo pipefail
cd "$(dirname "$0")/.."
exec go test -run '^$' -bench '^(BenchmarkLookup|BenchmarkLoadPfx2as)$' -benchmem -cpu 1 "$@" ./internal/trace/
