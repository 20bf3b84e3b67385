#!/bin/sh
# Writes cmd/irtui/default.pgo, the CPU profile `go build` uses to optimise
# irtui (profile-guided optimisation: hot calls inlined, the parser and
# sink interfaces devirtualised). The profile comes from the work irtui
# spends its CPU on: `irtui report` over a generated 1 M-line combined log
# with attacks, over the real mail and DNS fixtures (../shared/fixtures)
# when present, and `irtui parse` of the combined log.
#
#   scripts/pgo-profile.sh          # then commit cmd/irtui/default.pgo
#   RUNS=20 scripts/pgo-profile.sh  # more samples
#
# Rerun it after changing the parsers or the analyzer: a stale profile
# still builds, it only optimises less.
set -eu
cd "$(dirname "$0")/.."

runs=${RUNS:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# The profiling build is made without the old profile, so the new one
# describes the plain code.
go build -pgo=off -tags irtuiprofile -o "$work/irtui" ./cmd/irtui
go build -o "$work/loggen" ./cmd/loggen
log="$work/access.log"
"$work/loggen" -lines 1000000 -attacks page_flood,single_flood,login,scanner -attack-from 0.8 -attack-share 0.3 -o "$log" >/dev/null

fixtures=../shared/fixtures
set --
for f in "$fixtures"/real-mail/*/* "$fixtures"/real-dns/*/*.log; do
	[ -f "$f" ] && set -- "$@" "$f"
done

i=0
profile() {
	i=$((i + 1))
	env XDG_CACHE_HOME="$work/cache" IRTUI_CPUPROFILE="$work/cpu$i.prof" "$work/irtui" "$@" >/dev/null
}
for _ in $(seq "$runs"); do
	rm -rf "$work/cache" # each run starts with an empty lookup cache
	profile report --json "$log"
	if [ $# -gt 0 ]; then
		for _ in 1 2 3; do
			profile report --json "$@"
		done
	fi
done
for _ in $(seq $(((runs + 2) / 3))); do
	profile parse "$log"
done

go tool pprof -proto "$work/irtui" "$work"/cpu*.prof >cmd/irtui/default.pgo 2>/dev/null
echo "cmd/irtui/default.pgo: $(wc -c <cmd/irtui/default.pgo) bytes from $i profiled runs"
