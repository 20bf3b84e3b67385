#!/bin/sh
# Measures the parse stage: lines/s, MB/s and allocations per line on a
# generated 1 M-line combined log and on the real mail fixtures
# (../shared/fixtures), then the whole backfill path and `irtui parse`.
#
#   scripts/bench-parse.sh            # 1,000,000 lines
#   LINES=200000 scripts/bench-parse.sh
set -eu
cd "$(dirname "$0")/.."

lines=${LINES:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
log="$work/access.log"

echo "generating $lines combined lines…"
go run ./scripts/gencombined -n "$lines" >"$log"
size=$(wc -c <"$log")
echo "$lines lines, $size bytes ($((size / lines)) bytes/line)"
echo

echo "== parse stage alone, one core (GOMAXPROCS=1); one op = one line"
IRTUI_BENCH_COMBINED="$log" GOMAXPROCS=1 go test -run='^$' \
	-bench='^BenchmarkParseStage(Combined|Mail)$' -benchmem -benchtime=3s -count=1 \
	./internal/logs/ingest | grep '^Benchmark'
echo

echo "== whole backfill path (read, cut, parse, batch), one op = the whole file"
for p in 1 2; do
	IRTUI_BENCH_COMBINED="$log" GOMAXPROCS=$p go test -run='^$' \
		-bench='^BenchmarkBackfillCombined$' -benchmem -benchtime=5x -count=1 \
		./internal/logs/ingest | grep '^Benchmark' | sed "s/^/GOMAXPROCS=$p /"
done
echo

echo "== irtui parse (JSON to /dev/null, then --summary), wall time"
go build -o "$work/irtui" ./cmd/irtui
for mode in "" --summary; do
	start=$(date +%s%N)
	"$work/irtui" parse $mode "$log" >/dev/null
	end=$(date +%s%N)
	ms=$(((end - start) / 1000000))
	echo "irtui parse $mode: ${ms} ms, $((lines * 1000 / (ms > 0 ? ms : 1))) lines/s"
done
