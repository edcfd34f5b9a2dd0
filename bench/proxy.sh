#!/usr/bin/env bash
# bench/proxy.sh: throughput, latency and CPU per request of bulwark against a
# plain Go httputil.ReverseProxy and (when installed) nginx, all in front of
# the same 64-byte backend on 127.0.0.1. See bench/README.md.
#
# Environment:
#   ROUNDS=3          interleaved rounds (bulwark, plain, nginx, bulwark, ...)
#   DURATION=5        seconds per wrk run
#   CONNS=64          wrk connections
#   WARMUP=1          seconds of unmeasured traffic to each proxy first
#   PORT_BASE=19180   backend, bulwark, bulwark admin, plain, nginx use
#                     PORT_BASE .. PORT_BASE+4
#   PLAIN_IDLE=0      plain proxy's idle upstream connections per host
#                     (0: net/http's default Transport, which keeps 2)
#   NGINX=auto        "off" skips nginx
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-64}
WARMUP=${WARMUP:-1}
PORT_BASE=${PORT_BASE:-19180}
PLAIN_IDLE=${PLAIN_IDLE:-0}
NGINX=${NGINX:-auto}

backend_port=$PORT_BASE
bulwark_port=$((PORT_BASE + 1))
admin_port=$((PORT_BASE + 2))
plain_port=$((PORT_BASE + 3))
nginx_port=$((PORT_BASE + 4))

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-bench.XXXXXX")
pids=()

cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "proxy.sh: $*" >&2; exit 1; }

command -v wrk >/dev/null || die "wrk is required"
for port in "$backend_port" "$bulwark_port" "$admin_port" "$plain_port" "$nginx_port"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		die "127.0.0.1:$port is in use; set PORT_BASE"
	fi
done

# Proxies get CPU 0 to themselves; wrk and the backend share CPU 1.
pin_proxy=() pin_other=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	pin_proxy=(taskset -c 0)
	pin_other=(taskset -c 1)
fi

echo "building into $tmp"
(cd "$root" && go build -o "$tmp/bulwark" ./cmd/bulwark &&
	go build -o "$tmp/backend" ./bench/backend &&
	go build -o "$tmp/plainproxy" ./bench/plainproxy)

cat >"$tmp/bulwark.yaml" <<EOF
# A Persona-like layout; limits far above what the benchmark sends.
listen: 127.0.0.1:$bulwark_port
admin: {listen: 127.0.0.1:$admin_port}
backends:
  app: {targets: [http://127.0.0.1:$backend_port], max_in_flight: 100000}
  verifier: {targets: [http://127.0.0.1:$backend_port]}
  static: {targets: [http://127.0.0.1:$backend_port]}
routes:
  - {match: {path: /verify, methods: [POST]}, backend: verifier}
  - {match: {path_prefix: /wsapi/}, backend: app, stats: {name: wsapi, per_api: true}}
  - {backend: static}
limits:
  default: {rate: 10000000/s, burst: 10000000}
log: {level: warn, access: false}
EOF

# start NAME CMD...: runs CMD in the background, remembers its pid in
# the variable NAME_pid and its output in $tmp/NAME.log.
start() {
	local name=$1
	shift
	"$@" >"$tmp/$name.log" 2>&1 &
	pids+=($!)
	printf -v "${name}_pid" '%s' "$!"
}

# wait_http NAME URL: waits up to 10 s for URL to answer.
wait_http() {
	local i
	for i in $(seq 200); do
		if curl -fsS -o /dev/null "$2" 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	cat "$tmp/$1.log" >&2
	die "$1 did not answer $2"
}

start backend "${pin_other[@]}" "$tmp/backend" -port "$backend_port"
wait_http backend "http://127.0.0.1:$backend_port/"

start bulwark "${pin_proxy[@]}" "$tmp/bulwark" -config "$tmp/bulwark.yaml"
start plain "${pin_proxy[@]}" "$tmp/plainproxy" -port "$plain_port" \
	-target "http://127.0.0.1:$backend_port" -max-idle-per-host "$PLAIN_IDLE"

proxies=(bulwark plain)
declare -A url=(
	[bulwark]="http://127.0.0.1:$bulwark_port/wsapi/session_context"
	[plain]="http://127.0.0.1:$plain_port/wsapi/session_context"
	[nginx]="http://127.0.0.1:$nginx_port/wsapi/session_context"
)

if [ "$NGINX" != off ] && command -v nginx >/dev/null; then
	mkdir -p "$tmp/nginx"
	cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $tmp/nginx/body;
	proxy_temp_path $tmp/nginx/proxy;
	fastcgi_temp_path $tmp/nginx/fastcgi;
	uwsgi_temp_path $tmp/nginx/uwsgi;
	scgi_temp_path $tmp/nginx/scgi;
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

# cpu_ticks PID: user+system clock ticks of PID and its children (nginx's
# worker is the master's child).
cpu_ticks() {
	local total=0 p stat f
	for p in "$1" $(pgrep -P "$1" || true); do
		stat=$(<"/proc/$p/stat")
		read -ra f <<<"${stat##*) }"
		total=$((total + f[11] + f[12]))
	done
	echo "$total"
}

# to_ms VALUE: wrk's "812.00us", "1.20ms" or "1.02s" in milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000
		else if (v ~ /ms$/) n = n
		else if (v ~ /s$/) n *= 1000
		printf "%.3f", n
	}'
}

hz=$(getconf CLK_TCK)
echo "rounds=$ROUNDS duration=${DURATION}s connections=$CONNS pinning=${pin_proxy[*]:-none} proxies=${proxies[*]}"

if [ "$WARMUP" -gt 0 ]; then
	for p in "${proxies[@]}"; do
		"${pin_other[@]}" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "${url[$p]}" >/dev/null
	done
fi

results="$tmp/results"
: >"$results"
for round in $(seq "$ROUNDS"); do
	for p in "${proxies[@]}"; do
		pid_var="${p}_pid"
		before=$(cpu_ticks "${!pid_var}")
		out=$("${pin_other[@]}" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "${url[$p]}")
		after=$(cpu_ticks "${!pid_var}")
		rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
		reqs=$(awk '/ requests in / {print $1}' <<<"$out")
		p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
		p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
		errs=$(awk '/Non-2xx or 3xx responses:/ {n += $NF}
			/Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10}
			END {print n + 0}' <<<"$out")
		cpu_us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$reqs" \
			'BEGIN {printf "%.2f", (n > 0 ? t / hz * 1e6 / n : 0)}')
		# The share of one core the proxy used: near 100 it was the
		# bottleneck; well below, wrk or the backend was.
		cpu_pct=$(awk -v t=$((after - before)) -v hz="$hz" -v d="$DURATION" \
			'BEGIN {printf "%.0f", t / hz / d * 100}')
		printf '%s %s %s %s %s %s %s %s\n' "$p" "$round" "$rps" "$p50" "$p99" "$cpu_us" "$errs" "$cpu_pct" >>"$results"
		printf 'round %d %-8s %8.0f req/s  p50 %7.3f ms  p99 %7.3f ms  cpu %6.2f us/req %4s%% of a core  errors %s\n' \
			"$round" "$p" "$rps" "$p50" "$p99" "$cpu_us" "$cpu_pct" "$errs"
	done
done

# median COLUMN NAME: the median of a results column for one proxy.
median() {
	awk -v c="$1" -v p="$2" '$1 == p {print $c}' "$results" | sort -g |
		awk '{v[NR] = $1} END {
			if (NR == 0) { print 0; exit }
			if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

echo
printf '%-8s %10s %8s %8s %11s %10s %7s\n' proxy "req/s" "p50 ms" "p99 ms" "cpu us/req" "cpu % core" errors
declare -A med_rps med_p50 med_p99 med_cpu
for p in "${proxies[@]}"; do
	med_rps[$p]=$(median 3 "$p")
	med_p50[$p]=$(median 4 "$p")
	med_p99[$p]=$(median 5 "$p")
	med_cpu[$p]=$(median 6 "$p")
	errs=$(awk -v p="$p" '$1 == p {n += $7} END {print n + 0}' "$results")
	printf '%-8s %10.0f %8.3f %8.3f %11.2f %10.0f %7s\n' "$p" "${med_rps[$p]}" "${med_p50[$p]}" \
		"${med_p99[$p]}" "${med_cpu[$p]}" "$(median 8 "$p")" "$errs"
done
echo "(medians of $ROUNDS rounds)"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
echo
for other in plain nginx; do
	[ -n "${med_rps[$other]:-}" ] || continue
	printf 'bulwark/%-6s req/s %s  p50 %s  p99 %s  cpu/req %s\n' "$other" \
		"$(ratio "${med_rps[bulwark]}" "${med_rps[$other]}")" \
		"$(ratio "${med_p50[bulwark]}" "${med_p50[$other]}")" \
		"$(ratio "${med_p99[bulwark]}" "${med_p99[$other]}")" \
		"$(ratio "${med_cpu[bulwark]}" "${med_cpu[$other]}")"
done
