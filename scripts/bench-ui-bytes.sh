#!/bin/sh
# bench-ui-bytes.sh: how many bytes per second the console writes to the
# terminal while following a busy log, side by side with GoAccess.
#
# Both programs run at the same time, each in its own tmux session of
# COLSxROWS, recorded with script(1), on the same access log that a writer
# grows by RATE lines per second. After SECONDS seconds the recordings are
# measured: everything written to the terminal, start-up paint included.
#
# usage: scripts/bench-ui-bytes.sh [SECONDS [RATE [COLSxROWS]]]
#        IRTUI=path/to/irtui scripts/bench-ui-bytes.sh   (default: build it)
# needs: tmux, script (util-linux), awk; goaccess for the comparison.
set -eu

secs=${1:-60}
rate=${2:-1000}
size=${3:-80x24}
cols=${size%x*}
rows=${size#*x}

for tool in tmux script awk; do
	command -v "$tool" >/dev/null || { echo "bench-ui-bytes: $tool is not installed (apt-get install tmux util-linux)" >&2; exit 1; }
done

dir=$(mktemp -d)
sessions=""
writer=""
cleanup() {
	# script(1) outlives a killed tmux pane, so end it (and with it the
	# program it records) by its own process id first
	for s in $sessions; do
		pid=$(tmux display-message -p -t "$s" '#{pane_pid}' 2>/dev/null || true)
		[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
		tmux kill-session -t "$s" 2>/dev/null || true
	done
	[ -n "$writer" ] && kill "$writer" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

root=$(cd "$(dirname "$0")/.." && pwd)
irtui=${IRTUI:-}
if [ -z "$irtui" ]; then
	irtui=$dir/irtui
	(cd "$root" && go build -o "$irtui" ./cmd/irtui)
fi

log=$dir/access.log
: >"$log"

# The writer appends combined-format lines from 250 addresses, with a
# timestamp of now, like a web server under a flood. It keeps to RATE
# lines per second by catching up on the clock every 100 ms, so a slow
# machine still gets the full load.
(
	t0=$(date +%s%N)
	i=0
	while :; do
		now=$(date +%s%N)
		n=$(((now - t0) / 1000000 * rate / 1000 - i))
		if [ "$n" -gt 0 ]; then
			ts=$(date -u +%d/%b/%Y:%H:%M:%S)
			awk -v n="$n" -v ts="$ts" -v s="$i" 'BEGIN {
				for (k = 0; k < n; k++) {
					j = s + k
					printf "203.0.113.%d - - [%s +0000] \"GET /img/%d.jpg HTTP/1.1\" 200 %d \"-\" \"Mozilla/5.0 (bot %d)\"\n", j % 250 + 1, ts, j % 5, 5000 + j % 999, j % 7
				}
			}' >>"$log"
			i=$((i + n))
		fi
		sleep 0.1
	done
) &
writer=$!
sleep 2

# record NAME COMMAND: run COMMAND in a detached tmux session under script.
record() {
	name=$1
	shift
	s=bench-ui-$name-$$
	sessions="$sessions $s"
	tmux new-session -d -s "$s" -x "$cols" -y "$rows" \
		"TERM=xterm-256color exec script -q -f -c '$*' $dir/$name.typescript"
}

record irtui "$irtui watch --offline --dry-run --state-dir $dir/state $log"
have_goaccess=0
if command -v goaccess >/dev/null; then
	have_goaccess=1
	record goaccess "goaccess $log --log-format=COMBINED --no-global-config"
fi

start=$(wc -l <"$log")
sleep "$secs"
lines=$(($(wc -l <"$log") - start))

# bytes written to the terminal: the typescript without script's own
# header and footer lines
bytes() {
	f=$dir/$1.typescript
	total=$(wc -c <"$f")
	head_len=$(head -n 1 "$f" | awk '/^Script started/ { print length($0) + 1; exit } { print 0 }')
	echo $((total - head_len))
}

echo "terminal ${cols}x${rows}, ${secs} s, writer appended $lines lines ($((lines / secs)) lines/s)"
b=$(bytes irtui)
echo "irtui watch:  $b bytes, $((b / secs)) B/s"
if [ "$have_goaccess" = 1 ]; then
	g=$(bytes goaccess)
	echo "goaccess:     $g bytes, $((g / secs)) B/s"
else
	echo "goaccess:     not installed (apt-get install goaccess)"
fi
