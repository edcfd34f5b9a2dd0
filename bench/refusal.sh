#!/usr/bin/env bash
# bench/refusal.sh: how much cheaper a refused request is than a forwarded
# one. bulwark runs in front of the 64-byte backend on 127.0.0.1 with two
# routes: /ok under a limit far above the load (every request is forwarded)
# and /limited under `limit: tight` (1/m, burst 1: after the first request
# every one is answered 429 by the router without touching the backend).
# Interleaved wrk rounds against each print req/s, CPU per request and the
# ratio refusal/forward (the target is at least 2x).
#
# Environment:
#   ROUNDS=3          interleaved rounds (forward, refusal, forward, ...)
#   DURATION=5        seconds per wrk run
#   CONNS=64          wrk connections
#   WARMUP=1          seconds of unmeasured traffic to each path first
#   PORT_BASE=19190   backend, bulwark, bulwark admin use PORT_BASE .. +2
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-64}
WARMUP=${WARMUP:-1}
PORT_BASE=${PORT_BASE:-19190}

backend_port=$PORT_BASE
bulwark_port=$((PORT_BASE + 1))
admin_port=$((PORT_BASE + 2))

name=refusal
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v wrk >/dev/null || die "wrk is required"
command -v curl >/dev/null || die "curl is required"
need_free_ports "$backend_port" "$bulwark_port" "$admin_port"

echo "building into $tmp"
(cd "$root" && go build -o "$tmp/bulwark" ./cmd/bulwark &&
	go build -o "$tmp/backend" ./bench/backend)

# No bans: the refusal path stays the rate limit's 429 for the whole run.
cat >"$tmp/bulwark.yaml" <<EOF
listen: 127.0.0.1:$bulwark_port
admin: {listen: 127.0.0.1:$admin_port}
backends:
  app: {targets: [http://127.0.0.1:$backend_port]}
routes:
  - {match: {path: /limited}, backend: app, limit: tight}
  - {match: {path: /ok}, backend: app}
limits:
  default: {rate: 10000000/s, burst: 10000000}
  tight: {rate: 1/m, burst: 1}
log: {level: warn, access: false}
EOF

start backend "${pin_other[@]}" "$tmp/backend" -port "$backend_port"
wait_http backend "http://127.0.0.1:$backend_port/"
start bulwark "${pin_proxy[@]}" "$tmp/bulwark" -config "$tmp/bulwark.yaml"
wait_http bulwark "http://127.0.0.1:$bulwark_port/__lbheartbeat__"

paths=(forward refusal)
declare -A url=(
	[forward]="http://127.0.0.1:$bulwark_port/ok"
	[refusal]="http://127.0.0.1:$bulwark_port/limited"
)
declare -A want=([forward]=200 [refusal]=429)

# Spend /limited's one token, then check both paths answer as expected.
curl -sS -o /dev/null "${url[refusal]}"
for p in "${paths[@]}"; do
	code=$(curl -sS -o /dev/null -w '%{http_code}' "${url[$p]}")
	[ "$code" = "${want[$p]}" ] || die "${url[$p]} answered $code, want ${want[$p]}"
done


hz=$(getconf CLK_TCK)
echo "rounds=$ROUNDS duration=${DURATION}s connections=$CONNS pinning=${pin_proxy[*]:-none}"

if [ "$WARMUP" -gt 0 ]; then
	for p in "${paths[@]}"; do
		"${pin_other[@]}" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "${url[$p]}" >/dev/null
	done
fi

results="$tmp/results"
: >"$results"
for round in $(seq "$ROUNDS"); do
	for p in "${paths[@]}"; do
		before=$(cpu_ticks "$bulwark_pid")
		out=$("${pin_other[@]}" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "${url[$p]}")
		after=$(cpu_ticks "$bulwark_pid")
		rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
		reqs=$(awk '/ requests in / {print $1}' <<<"$out")
		p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
		p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
		# Non-2xx answers are the point of the refusal path: count them
		# apart from socket errors.
		non2xx=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} END {print n + 0}' <<<"$out")
		errs=$(awk '/Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10}
			END {print n + 0}' <<<"$out")
		cpu_us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$reqs" \
			'BEGIN {printf "%.2f", (n > 0 ? t / hz * 1e6 / n : 0)}')
		cpu_pct=$(awk -v t=$((after - before)) -v hz="$hz" -v d="$DURATION" \
			'BEGIN {printf "%.0f", t / hz / d * 100}')
		printf '%s %s %s %s %s %s %s %s %s\n' "$p" "$round" "$rps" "$p50" "$p99" "$cpu_us" "$errs" "$cpu_pct" "$non2xx" >>"$results"
		printf 'round %d %-8s %8.0f req/s  p50 %7.3f ms  p99 %7.3f ms  cpu %6.2f us/req %4s%% of a core  non-2xx %s/%s  socket errors %s\n' \
			"$round" "$p" "$rps" "$p50" "$p99" "$cpu_us" "$cpu_pct" "$non2xx" "$reqs" "$errs"
	done
done


echo
printf '%-8s %10s %8s %8s %11s %10s %7s\n' path "req/s" "p50 ms" "p99 ms" "cpu us/req" "cpu % core" errors
declare -A med_rps med_cpu
for p in "${paths[@]}"; do
	med_rps[$p]=$(median 3 "$p")
	med_cpu[$p]=$(median 6 "$p")
	errs=$(awk -v p="$p" '$1 == p {n += $7} END {print n + 0}' "$results")
	printf '%-8s %10.0f %8.3f %8.3f %11.2f %10.0f %7s\n' "$p" "${med_rps[$p]}" "$(median 4 "$p")" \
		"$(median 5 "$p")" "${med_cpu[$p]}" "$(median 8 "$p")" "$errs"
done
echo "(medians of $ROUNDS rounds)"

echo
rps_ratio=$(ratio "${med_rps[refusal]}" "${med_rps[forward]}")
printf 'refusal/forward req/s %s  forward/refusal cpu per request %s  (target req/s ratio >= 2)\n' \
	"$rps_ratio" "$(ratio "${med_cpu[forward]}" "${med_cpu[refusal]}")"
if awk -v r="$rps_ratio" 'BEGIN {exit !(r + 0 < 2)}'; then
	echo "refusal.sh: the refusal path is less than twice as fast as the forward path" >&2
fi
