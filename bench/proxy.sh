#!/usr/bin/env bash
# bench/proxy.sh: throughput, latency and CPU per request of bulwark against a
# plain Go httputil.ReverseProxy and (when installed) nginx, all in front of
# the same 64-byte backend on 127.0.0.1; and of the refusal path, bulwark's
# rate limit against nginx's limit_req turning away the same load. See
# bench/README.md.
#
# Environment:
#   ROUNDS=3          interleaved rounds (bulwark, plain, nginx, bulwark, ...)
#   DURATION=5        seconds per wrk run
#   CONNS=64          wrk connections
#   WARMUP=1          seconds of unmeasured traffic to each proxy first
#   PORT_BASE=19180   backend, bulwark, bulwark admin, plain, nginx use
#                     PORT_BASE .. PORT_BASE+4 (TCP); the statsd sink
#                     PORT_BASE+5 (UDP)
#   PLAIN_IDLE=0      plain proxy's idle upstream connections per host
#                     (0: net/http's default Transport, which keeps 2)
#   NGINX=auto        "off" skips nginx
#   REFUSE=1          "0" skips the refusal-path rounds
#   PIPELINE=16       requests per write in the pipelined refusal runs
#                     (bulwark_429p, nginx_429p); "0" skips them
#   PROFILE=0         "1" also takes a 5 s CPU profile of bulwark forwarding
#                     under wrk and prints its top 15 (go tool pprof -top)
#   PROFILE_OUT=      where to keep that profile (default: printed only)
#   PROFILE_RUN=bulwark  the run profiled: bulwark (forwarding),
#                     bulwark_429 or bulwark_429p (the refusal path)
#   BASELINE=         a git revision (e.g. HEAD~3): also builds bulwark at
#                     that revision and runs it as "base" (forwarding) and
#                     "base_429" (refusals) with the same config on
#                     PORT_BASE+6 (admin +7), interleaved with the others,
#                     so a change is measured against its parent in one run
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-64}
WARMUP=${WARMUP:-1}
PORT_BASE=${PORT_BASE:-19180}
PLAIN_IDLE=${PLAIN_IDLE:-0}
NGINX=${NGINX:-auto}
REFUSE=${REFUSE:-1}
PIPELINE=${PIPELINE:-16}
PROFILE=${PROFILE:-0}
PROFILE_OUT=${PROFILE_OUT:-}
PROFILE_RUN=${PROFILE_RUN:-bulwark}
BASELINE=${BASELINE:-}

backend_port=$PORT_BASE
bulwark_port=$((PORT_BASE + 1))
admin_port=$((PORT_BASE + 2))
plain_port=$((PORT_BASE + 3))
nginx_port=$((PORT_BASE + 4))
statsd_port=$((PORT_BASE + 5))
base_port=$((PORT_BASE + 6))
base_admin_port=$((PORT_BASE + 7))

name=proxy
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v wrk >/dev/null || die "wrk is required"
need_free_ports "$backend_port" "$bulwark_port" "$admin_port" "$plain_port" "$nginx_port"

echo "building into $tmp"
(cd "$root" && go build -o "$tmp/bulwark" ./cmd/bulwark &&
	go build -o "$tmp/backend" ./bench/backend &&
	go build -o "$tmp/plainproxy" ./bench/plainproxy &&
	go build -o "$tmp/statsdsink" ./bench/statsdsink)
if [ -n "$BASELINE" ]; then
	need_free_ports "$base_port" "$base_admin_port"
	echo "building the baseline $BASELINE ($(cd "$root" && git rev-parse --short "$BASELINE"))"
	git -C "$root" worktree add -q --detach "$tmp/base-src" "$BASELINE"
	built=0
	(cd "$tmp/base-src" && go build -o "$tmp/base" ./cmd/bulwark) && built=1
	git -C "$root" worktree remove --force "$tmp/base-src"
	[ "$built" = 1 ] || die "could not build $BASELINE"
fi

# A realistic production config: a Persona-like route table, per-client
# limits on every route (far above what one wrk client sends, so nothing is
# refused), breakers on, statsd on (to a sink that reads and drops), Prometheus
# on, and the access log on (bulwark's stderr goes to /dev/null). /limited/
# has a tiny limit: it is the refusal path.
cat >"$tmp/bulwark.yaml" <<EOF
listen: 127.0.0.1:$bulwark_port
admin: {listen: 127.0.0.1:$admin_port}
backends:
  browserid:
    targets: [http://127.0.0.1:$backend_port]
    max_in_flight: 100000
    breaker: {consecutive_failures: 5, failure_ratio: 0.5, min_requests: 20, window: 10s, open_for: 5s}
  dbwriter:
    targets: [http://127.0.0.1:$backend_port]
    breaker: {consecutive_failures: 5}
  verifier:
    targets: [http://127.0.0.1:$backend_port]
    breaker: {consecutive_failures: 5}
  static:
    targets: [http://127.0.0.1:$backend_port]
    breaker: {consecutive_failures: 5}
routes:
  - {match: {path: /verify, methods: [POST]}, backend: verifier, stats: {name: verify}}
  - match: {paths: [/wsapi/stage_user, /wsapi/complete_user_creation, /wsapi/authenticate_user], methods: [POST]}
    backend: dbwriter
    stats: {name: wsapi_write, per_api: true}
  - {match: {path_prefix: /wsapi/}, backend: browserid, stats: {name: wsapi, per_api: true}}
  - {match: {path_prefix: /limited/}, backend: static, limit: tiny, stats: {name: limited}}
  - {match: {path_prefix: /i18n/}, backend: static, stats: {name: i18n}}
  - {backend: static, stats: {name: static}}
limits:
  default: {rate: 10000000/s, burst: 10000000}
  tiny: {rate: 1/m, burst: 1}
stats:
  statsd: {address: 127.0.0.1:$statsd_port, prefix: browserid.router}
  prometheus: {enabled: true}
log: {level: info, access: true}
EOF

start backend "${pin_other[@]}" "$tmp/backend" -port "$backend_port"
wait_http backend "http://127.0.0.1:$backend_port/"

# The statsd daemon: a process that reads and drops every packet, as a
# real daemon's receive loop would. It is part of what bulwark's config
# brings, so it shares the proxy's core: on wrk's core it would slow the
# client of every bulwark run and of no other (it wakes for each packet,
# about 650 times a second at 130k refusals/s, and took 3-5% of that core).
# Its CPU per request is reported beside bulwark's.
start statsd "${pin_proxy[@]}" "$tmp/statsdsink" -port "$statsd_port"
for i in $(seq 100); do
	grep -q '^statsdsink: reading' "$tmp/statsd.log" && break
	kill -0 "$statsd_pid" 2>/dev/null && [ "$i" -lt 100 ] || {
		cat "$tmp/statsd.log" >&2
		die "the statsd sink did not start on UDP 127.0.0.1:$statsd_port; set PORT_BASE"
	}
	sleep 0.05
done
"$tmp/bulwark" -config "$tmp/bulwark.yaml" -check >/dev/null || die "bad bulwark config"
LOG_TO=/dev/null start bulwark "${pin_proxy[@]}" "$tmp/bulwark" -config "$tmp/bulwark.yaml"
start plain "${pin_proxy[@]}" "$tmp/plainproxy" -port "$plain_port" \
	-target "http://127.0.0.1:$backend_port" -max-idle-per-host "$PLAIN_IDLE"

proxies=(bulwark plain)
if [ -n "$BASELINE" ]; then
	sed -e "s/^listen: .*/listen: 127.0.0.1:$base_port/" \
		-e "s/^admin: .*/admin: {listen: 127.0.0.1:$base_admin_port}/" "$tmp/bulwark.yaml" >"$tmp/base.yaml"
	LOG_TO=/dev/null start base "${pin_proxy[@]}" "$tmp/base" -config "$tmp/base.yaml"
	proxies+=(base)
fi
# Every run NAME measures the process named by NAME up to its first "_"; the
# _429 and _429p runs send to a route whose tiny limit refuses nearly every
# request.
declare -A url=(
	[bulwark]="http://127.0.0.1:$bulwark_port/wsapi/session_context"
	[plain]="http://127.0.0.1:$plain_port/wsapi/session_context"
	[nginx]="http://127.0.0.1:$nginx_port/wsapi/session_context"
	[bulwark_429]="http://127.0.0.1:$bulwark_port/limited/x"
	[nginx_429]="http://127.0.0.1:$nginx_port/limited/x"
	[bulwark_429p]="http://127.0.0.1:$bulwark_port/limited/x"
	[base]="http://127.0.0.1:$base_port/wsapi/session_context"
	[base_429]="http://127.0.0.1:$base_port/limited/x"
	[nginx_429p]="http://127.0.0.1:$nginx_port/limited/x"
)

# The _429p runs pipeline: each write of wrk's carries PIPELINE requests, as
# a flood's client may. A wrk thread then sends several times what it can
# unpipelined, and the proxy, not wrk, is what runs out of CPU.
cat >"$tmp/pipeline.lua" <<'EOF'
init = function(args)
	local depth = tonumber(args[1]) or 16
	local r = {}
	for i = 1, depth do r[i] = wrk.format() end
	req = table.concat(r)
end
request = function() return req end
EOF

# wrk_args RUN: wrk's arguments for RUN besides its duration.
wrk_args() {
	local a=(-t1 -c"$CONNS")
	[[ $1 == *_429p ]] && a+=(-s "$tmp/pipeline.lua")
	a+=("${url[$1]}")
	[[ $1 == *_429p ]] && a+=(-- "$PIPELINE")
	printf '%s\n' "${a[@]}"
}

if [ "$NGINX" != off ] && command -v nginx >/dev/null; then
	mkdir -p "$tmp/nginx"
	cat >"$tmp/nginx.conf" <<EOF
$(nginx_conf_head)
	limit_req_zone \$binary_remote_addr zone=tiny:1m rate=1r/m;
	limit_req_status 429;
	limit_req_log_level info;
	upstream backend {
		server 127.0.0.1:$backend_port;
		keepalive 128;
	}
	server {
		listen 127.0.0.1:$nginx_port;
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
		location /limited/ {
			limit_req zone=tiny;
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
EOF
	start nginx "${pin_proxy[@]}" nginx -p "$tmp/nginx" -e "$tmp/nginx/error.log" \
		-c "$tmp/nginx.conf" -g 'daemon off;'
	proxies+=(nginx)
fi

for p in "${proxies[@]}"; do
	wait_http "$p" "${url[$p]}"
done

runs=("${proxies[@]}")
if [ "$REFUSE" != 0 ]; then
	runs+=(bulwark_429)
	[ -n "$BASELINE" ] && runs+=(base_429)
	[[ " ${proxies[*]} " == *" nginx "* ]] && runs+=(nginx_429)
	if [ "$PIPELINE" -gt 0 ]; then
		runs+=(bulwark_429p)
		[[ " ${proxies[*]} " == *" nginx "* ]] && runs+=(nginx_429p)
	fi
fi


hz=$(getconf CLK_TCK)
echo "rounds=$ROUNDS duration=${DURATION}s connections=$CONNS pinning=${pin_proxy[*]:-none} runs=${runs[*]}"

if [ "$WARMUP" -gt 0 ]; then
	for p in "${runs[@]}"; do
		mapfile -t args < <(wrk_args "$p")
		"${pin_other[@]}" wrk -d"${WARMUP}s" "${args[@]}" >/dev/null
	done
fi

results="$tmp/results"
: >"$results"
for round in $(seq "$ROUNDS"); do
	for p in "${runs[@]}"; do
		pid_var="${p%%_*}_pid"
		mapfile -t args < <(wrk_args "$p")
		before=$(cpu_ticks "${!pid_var}")
		sd_before=$(cpu_ticks "$statsd_pid")
		out=$("${pin_other[@]}" wrk -d"${DURATION}s" --latency "${args[@]}")
		after=$(cpu_ticks "${!pid_var}")
		sd_after=$(cpu_ticks "$statsd_pid")
		rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
		reqs=$(awk '/ requests in / {print $1}' <<<"$out")
		p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
		p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
		# errors: socket errors, and answers of the wrong kind: non-2xx
		# for forwarding runs, anything not refused for the _429 runs.
		errs=$(awk -v refuse="$([[ $p == *_429* ]] && echo 1 || echo 0)" -v reqs="$reqs" '
			/Non-2xx or 3xx responses:/ {bad = $NF}
			/Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10}
			END {print n + (refuse ? reqs - bad : bad)}' <<<"$out")
		cpu_us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$reqs" \
			'BEGIN {printf "%.2f", (n > 0 ? t / hz * 1e6 / n : 0)}')
		# The share of one core the proxy used: near 100 it was the
		# bottleneck; well below, wrk or the backend was.
		cpu_pct=$(awk -v t=$((after - before)) -v hz="$hz" -v d="$DURATION" \
			'BEGIN {printf "%.0f", t / hz / d * 100}')
		# The statsd daemon's CPU per request, for the runs that feed it.
		sd_us=0.00
		if [[ $p == bulwark* || $p == base* ]]; then
			sd_us=$(awk -v t=$((sd_after - sd_before)) -v hz="$hz" -v n="$reqs" \
				'BEGIN {printf "%.2f", (n > 0 ? t / hz * 1e6 / n : 0)}')
		fi
		printf '%s %s %s %s %s %s %s %s %s\n' "$p" "$round" "$rps" "$p50" "$p99" "$cpu_us" "$errs" "$cpu_pct" "$sd_us" >>"$results"
		printf 'round %d %-12s %8.0f req/s  p50 %7.3f ms  p99 %7.3f ms  cpu %6.2f us/req %4s%% of a core  statsd %5.2f us/req  errors %s\n' \
			"$round" "$p" "$rps" "$p50" "$p99" "$cpu_us" "$cpu_pct" "$sd_us" "$errs"
	done
done


echo
printf '%-12s %10s %8s %8s %11s %10s %11s %7s\n' run "req/s" "p50 ms" "p99 ms" "cpu us/req" "cpu % core" "statsd us" errors
declare -A med_rps med_p50 med_p99 med_cpu
for p in "${runs[@]}"; do
	med_rps[$p]=$(median 3 "$p")
	med_p50[$p]=$(median 4 "$p")
	med_p99[$p]=$(median 5 "$p")
	med_cpu[$p]=$(median 6 "$p")
	errs=$(awk -v p="$p" '$1 == p {n += $7} END {print n + 0}' "$results")
	printf '%-12s %10.0f %8.3f %8.3f %11.2f %10.0f %11.2f %7s\n' "$p" "${med_rps[$p]}" "${med_p50[$p]}" \
		"${med_p99[$p]}" "${med_cpu[$p]}" "$(median 8 "$p")" "$(median 9 "$p")" "$errs"
done
echo "(medians of $ROUNDS rounds; statsd us: the statsd daemon's CPU per request, on the proxy's core;"
echo " errors: socket errors plus non-2xx answers, or for the _429 runs answers that were not refused;"
echo " _429p: $PIPELINE requests per write)"

echo
for pair in bulwark/base bulwark_429/base_429 bulwark/plain bulwark/nginx bulwark_429/nginx_429 bulwark_429p/nginx_429p; do
	a=${pair%/*} b=${pair#*/}
	[ -n "${med_rps[$a]:-}" ] && [ -n "${med_rps[$b]:-}" ] || continue
	printf '%-23s req/s %s  p50 %s  p99 %s  cpu/req %s\n' "$pair" \
		"$(ratio "${med_rps[$a]}" "${med_rps[$b]}")" \
		"$(ratio "${med_p50[$a]}" "${med_p50[$b]}")" \
		"$(ratio "${med_p99[$a]}" "${med_p99[$b]}")" \
		"$(ratio "${med_cpu[$a]}" "${med_cpu[$b]}")"
done

# The same ratios taken round by round (the two runs of a round are seconds
# apart, so a slow spell of the machine hits both), then their median and
# range: steadier than the ratio of medians on a noisy machine.
echo
for pair in bulwark/base bulwark_429/base_429 bulwark/nginx bulwark_429/nginx_429 bulwark_429p/nginx_429p; do
	a=${pair%/*} b=${pair#*/}
	[ -n "${med_rps[$a]:-}" ] && [ -n "${med_rps[$b]:-}" ] || continue
	awk -v a="$a" -v b="$b" -v pair="$pair" '
		function sort(v, n,   i, j, x) { # insertion sort of v[1..n] (mawk has no asort)
			for (i = 2; i <= n; i++) {
				x = v[i]
				for (j = i - 1; j > 0 && v[j] > x; j--) v[j + 1] = v[j]
				v[j + 1] = x
			}
		}
		function med(v, n) { return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
		$1 == a {ra[$2] = $3; ca[$2] = $6}
		$1 == b {rb[$2] = $3; cb[$2] = $6}
		END {
			for (r in ra) if ((r in rb) && rb[r] > 0 && cb[r] > 0) {
				n++; rr[n] = ra[r] / rb[r]; cr[n] = ca[r] / cb[r]
			}
			if (n == 0) exit
			sort(rr, n); sort(cr, n)
			printf "%-23s per round: req/s %.2f (%.2f-%.2f)  cpu/req %.2f (%.2f-%.2f)\n", pair,
				med(rr, n), rr[1], rr[n], med(cr, n), cr[1], cr[n]
		}' "$results"
done

# The optional CPU profile: bulwark under wrk (forwarding, or refusing with
# PROFILE_RUN=bulwark_429), sampled for 5 s through the admin listener's
# /debug/pprof/profile.
if [ "$PROFILE" = 1 ]; then
	[ -n "${url[$PROFILE_RUN]:-}" ] && [[ $PROFILE_RUN == bulwark* ]] || die "PROFILE_RUN=$PROFILE_RUN: bulwark, bulwark_429 or bulwark_429p"
	echo
	echo "CPU profile of bulwark serving ${url[$PROFILE_RUN]} (5 s under wrk -c$CONNS):"
	mapfile -t args < <(wrk_args "$PROFILE_RUN")
	"${pin_other[@]}" wrk -d7s "${args[@]}" >/dev/null &
	wrk_pid=$!
	sleep 1
	curl -fsS -o "$tmp/cpu.pprof" "http://127.0.0.1:$admin_port/debug/pprof/profile?seconds=5"
	wait "$wrk_pid"
	(cd "$root" && go tool pprof -top -nodecount=15 "$tmp/bulwark" "$tmp/cpu.pprof") 2>/dev/null
	if [ -n "$PROFILE_OUT" ]; then
		cp "$tmp/cpu.pprof" "$PROFILE_OUT"
		echo "profile kept in $PROFILE_OUT"
	fi
fi
