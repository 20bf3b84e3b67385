#!/usr/bin/env bash
# bench-block.sh: how long blocking 100,000 addresses takes with irtui (one
# batch, journal included) against one iptables process per address, the
# way fail2ban's default actions do it. Everything runs inside throwaway
# network namespaces; the host's own firewall is never touched.
#
# usage: sudo scripts/bench-block.sh [N]      (N addresses, default 100000)
#        RUNS=5 sudo scripts/bench-block.sh   (runs of each irtui backend)
# Needs root, iproute2, nftables, iptables, ipset, go.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
runs=${RUNS:-5}
per=1000 # addresses for the one-process-per-address run, then extrapolated
[ "$(id -u)" = 0 ] || { echo "run as root (it creates network namespaces)" >&2; exit 1; }

work=$(mktemp -d)
ns="irtui-bench-$$"
cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/irtui" ./cmd/irtui
# Addresses from 2001:db8:ff::/48: the documentation ranges hold only 768
# IPv4 addresses.
awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++) printf "2001:db8:ff::%x:%x\n", int(i / 65536), i % 65536 }' > "$work/addrs"
head -n "$per" "$work/addrs" > "$work/addrs-per"

fresh() { ip netns del "$ns" 2>/dev/null || true; ip netns add "$ns"; ip -n "$ns" link set lo up; }

# timed LABEL CMD…: wall and CPU seconds (children included) of one run.
timed() {
  local label=$1; shift
  /usr/bin/time -o "$work/time" -f '%e %U %S' "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  read -r real user sys < "$work/time"
  awk -v l="$label" -v r="$real" -v u="$user" -v s="$sys" 'BEGIN { printf "%s %s %.2f\n", l, r, u + s }'
}

results=()
for backend in nft iptables; do
  # RUNS runs into a fresh namespace each, interleaved with nothing else;
  # the best and the median are shown (the machine may be shared).
  : > "$work/runs"
  for _ in $(seq "$runs"); do
    fresh
    rm -rf "$work/state"
    timed "irtui-$backend" ip netns exec "$ns" "$work/irtui" block --backend "$backend" \
      --state-dir "$work/state" --allowlist /dev/null --from-file "$work/addrs" --ttl 1h --why bench --yes >> "$work/runs"
  done
  results+=("$(sort -k2,2n "$work/runs" | awk '{ w[NR] = $2; c[NR] = $3; l = $1 } END { m = int((NR + 1) / 2); printf "%s %s %s %s\n", l, w[1], c[1], w[m] }')")
  # Sanity: the firewall really holds them.
  if [ "$backend" = nft ]; then
    got=$(ip netns exec "$ns" nft list table inet irtui | grep -o expires | wc -l)
  else
    got=$(ip netns exec "$ns" ipset list irtui_drop_all_6 | grep -c timeout || true)
    got=$((got - 1)) # the header line carries the default timeout
  fi
  echo "  $backend holds $got addresses" >&2
done

fresh
cat > "$work/per-address" <<'SH'
while read -r a; do ip6tables -w -I INPUT -s "$a" -j DROP; done < "$1"
SH
results+=("$(timed "iptables-per-address" ip netns exec "$ns" bash "$work/per-address" "$work/addrs-per")")
fresh

printf '\n%-34s %12s %12s\n' "method ($n addresses, IPv6)" "wall s" "CPU s"
for r in "${results[@]}"; do
  read -r label real cpu median <<<"$r"
  case $label in
    iptables-per-address)
      printf '%-34s %12s %12s   (measured on %d, x%d)\n' "one ip6tables -I per address" \
        "$(awk -v x="$real" -v k=$((n / per)) 'BEGIN { printf "%.1f", x * k }')" "$(awk -v x="$cpu" -v k=$((n / per)) 'BEGIN { printf "%.1f", x * k }')" "$per" "$((n / per))" ;;
    *)
      printf '%-34s %12s %12s   (best of %d; median %s s)\n' "irtui block, ${label#irtui-} (journal incl.)" "$real" "$cpu" "$runs" "$median" ;;
  esac
done
echo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPU(s); wall time is CPU time plus waiting for a CPU."
echo
echo "Packet lookup (a customer's TCP connect+banner+close while N others are blocked):"
go test -run '^$' -bench 'BenchmarkLookup' -benchtime 2000x ./internal/block | grep -E '^Benchmark' |
  awk '{ printf "  %-40s %10.1f µs/connection\n", $1, $3/1000 }'
