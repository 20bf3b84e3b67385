#!/bin/sh
# Measures `irtui report --json` against GoAccess on the same generated
# combined log (1 M lines, ~10 % IPv6), side by side in one run, then the
# live lag: a writer appends 50,000 lines/s while `irtui report --follow`
# prints a snapshot every 50 ms; the lag of a write is the time until the
# first snapshot that counts it.
#
#   scripts/bench-report.sh                    # 1,000,000 lines, 60 s live
#   LINES=200000 LIVE_SECONDS=10 scripts/bench-report.sh
#   LIVE_SECONDS=0 scripts/bench-report.sh     # backfill only
#   RUNS=5 scripts/bench-report.sh             # runs of each tool, interleaved
#
# The machine may be shared: each tool runs RUNS times, interleaved, and
# the best and the median are shown with the load average before and after.
#
# Needs goaccess and GNU time (Debian packages goaccess, time).
set -eu
cd "$(dirname "$0")/.."

lines=${LINES:-1000000}
live=${LIVE_SECONDS:-60}
rate=${LIVE_RATE:-50000}
runs=${RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
for tool in goaccess /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install goaccess time)" >&2; exit 1; }
done

go build -o "$work/irtui" ./cmd/irtui
go build -o "$work/loggen" ./cmd/loggen
log="$work/access.log"
"$work/loggen" -lines "$lines" -o "$log"
cat "$log" >/dev/null # both tools start from the page cache
echo "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# measure CMD…: runs CMD, prints "wall-s peak-RSS-MB cpu-s". The wall time
# is taken to the millisecond around the run (GNU time's own is rounded to
# 10 ms, 3 % of irtui's time); GNU time gives the peak RSS and the CPU.
measure() {
	start=$(date +%s%N)
	/usr/bin/time -f '%e %M %U %S' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || {
		cat "$work/stderr" >&2
		exit 1
	}
	end=$(date +%s%N)
	awk -v ns=$((end - start)) '{printf "%.3f %.0f %.2f\n", ns / 1e9, $2/1024, $3+$4}' "$work/time"
}

# stats: reads "wall rss cpu" lines; prints the best run's line, then the
# median wall time.
stats() {
	sort -n >"$work/runs"
	n=$(wc -l <"$work/runs")
	best=$(head -1 "$work/runs")
	median=$(sed -n "$(((n + 1) / 2))p" "$work/runs" | cut -d' ' -f1)
	echo "$best $median"
}

irtui=""
goaccess=""
for _ in $(seq "$runs"); do
	# Each run starts with an empty lookup cache, as on a fresh machine:
	# a cache grown by earlier runs would make the runs unequal.
	rm -rf "$work/cache"
	irtui="$irtui$(measure env XDG_CACHE_HOME="$work/cache" "$work/irtui" report --json "$log")
"
	# The issue's command as it stands, with Debian's /etc/goaccess config.
	goaccess="$goaccess$(measure goaccess "$log" --log-format=COMBINED -o "$work/report.json")
"
done
irtui=$(printf '%s' "$irtui" | stats)
goaccess=$(printf '%s' "$goaccess" | stats)

printf '%-52s %7s %9s %13s %7s\n' "command ($lines lines, $(($(wc -c <"$log") / 1000000)) MB, $runs runs)" "best s" "median s" "peak RSS MB" "CPU s"
set -- $irtui
printf '%-52s %7s %9s %13s %7s\n' "irtui report --json FILE" "$1" "$4" "$2" "$3"
ib=$1 im=$4
set -- $goaccess
printf '%-52s %7s %9s %13s %7s\n' "goaccess FILE --log-format=COMBINED -o report.json" "$1" "$4" "$2" "$3"
awk -v gb="$1" -v gm="$4" -v ib="$ib" -v im="$im" 'BEGIN { printf "irtui is %.1fx faster (best against best), %.1fx (median against median)\n", gb / ib, gm / im }'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

[ "$live" -gt 0 ] || exit 0
echo
echo "live: $rate lines/s appended for ${live}s, a snapshot every 50 ms"
: >"$work/live.log"
/usr/bin/time -f '%e %M %U %S' -o "$work/live-time" \
	"$work/irtui" report --follow --json --interval 50ms --top 3 "$work/live.log" >"$work/snaps.jsonl" 2>"$work/live-err" &
follower=$!
sleep 2
"$work/loggen" append -o "$work/live.log" -rate "$rate" -duration "${live}s" -marks "$work/marks"
sleep 2
# GNU time ignores SIGINT while it waits: stop irtui itself, its child.
kill -INT $(ps -o pid= --ppid "$follower") 2>/dev/null || true
wait "$follower" || true
"$work/loggen" lag -marks "$work/marks" "$work/snaps.jsonl"
awk -v d="$live" '{printf "irtui report --follow: %.1f CPU s over %.0f s (%.0f%% of one core), peak RSS %.0f MB\n", $3+$4, $1, 100*($3+$4)/$1, $2/1024}' "$work/live-time"
