#!/usr/bin/env bash
# bench/tls.sh: bulwark over TLS against nginx over TLS, the same
# certificate (a P-256 key made for the run) and the same 64-byte backend
# on 127.0.0.1, keep-alive on: HTTP/1.1 runs with wrk, HTTP/2 runs with
# h2load (one stream at a time per connection, so the two protocols see
# the same concurrency). Rounds are interleaved; CPU per request is the
# proxy's own (user+system ticks of its process over the requests done).
#
# Environment:
#   ROUNDS=3 DURATION=5 CONNS=64 WARMUP=1
#   PORT_BASE=19280   backend, bulwark, bulwark admin, nginx
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-64}
WARMUP=${WARMUP:-1}
PORT_BASE=${PORT_BASE:-19280}
backend_port=$PORT_BASE
bulwark_port=$((PORT_BASE + 1))
admin_port=$((PORT_BASE + 2))
nginx_port=$((PORT_BASE + 3))

name=tls
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in wrk h2load nginx openssl curl; do
	command -v "$tool" >/dev/null || die "$tool is required"
done
need_free_ports "$backend_port" "$bulwark_port" "$admin_port" "$nginx_port"

echo "building into $tmp"
(cd "$root" && go build -o "$tmp/bulwark" ./cmd/bulwark && go build -o "$tmp/backend" ./bench/backend)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null

cat >"$tmp/bulwark.yaml" <<EOF
listen: 127.0.0.1:$bulwark_port
admin: {listen: 127.0.0.1:$admin_port}
tls: {cert_file: $tmp/cert.pem, key_file: $tmp/key.pem}
backends:
  app: {targets: [http://127.0.0.1:$backend_port], max_in_flight: 100000}
routes:
  - {backend: app}
limits:
  default: {rate: 10000000/s, burst: 10000000}
log: {level: info, access: false}
EOF

mkdir -p "$tmp/nginx"
cat >"$tmp/nginx.conf" <<EOF
$(nginx_conf_head)
	upstream backend {
		server 127.0.0.1:$backend_port;
		keepalive 128;
	}
	server {
		listen 127.0.0.1:$nginx_port ssl http2;
		ssl_certificate $tmp/cert.pem;
		ssl_certificate_key $tmp/key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		keepalive_requests 1000000;
		http2_max_requests 1000000;
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
EOF

start backend "${pin_other[@]}" "$tmp/backend" -port "$backend_port"
wait_http backend "http://127.0.0.1:$backend_port/"
"$tmp/bulwark" -config "$tmp/bulwark.yaml" -check >/dev/null || die "bad bulwark config"
LOG_TO=/dev/null start bulwark "${pin_proxy[@]}" "$tmp/bulwark" -config "$tmp/bulwark.yaml"
start nginx "${pin_proxy[@]}" nginx -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx.conf" -g 'daemon off;'
for p in bulwark nginx; do
	port_var="${p}_port"
	for i in $(seq 200); do
		curl -kfsS -o /dev/null "https://127.0.0.1:${!port_var}/x" 2>/dev/null && break
		[ "$i" -lt 200 ] || die "$p does not answer over TLS"
		sleep 0.05
	done
done

runs=(bulwark_h1 nginx_h1 bulwark_h2 nginx_h2)
# measure RUN SECONDS: prints "requests errors" of one load run.
measure() {
	local p=${1%%_*} proto=${1#*_} port_var out
	port_var="${p}_port"
	local url="https://127.0.0.1:${!port_var}/wsapi/session_context"
	if [ "$proto" = h1 ]; then
		out=$("${pin_other[@]}" wrk -t1 -c"$CONNS" -d"$2s" "$url")
		awk '/ requests in / {n = $1} /Non-2xx or 3xx responses:/ {bad = $NF}
			/Socket errors:/ {gsub(",", ""); bad += $4 + $6 + $8 + $10}
			END {print n, bad + 0}' <<<"$out"
	else
		out=$("${pin_other[@]}" h2load -t1 -c"$CONNS" -m1 -D"$2" "$url")
		awk '/^requests:/ {n = $8; bad = $10 + $12} /^status codes:/ {gsub(",", ""); bad += $7 + $9}
			END {print n, bad + 0}' <<<"$out"
	fi
}

hz=$(getconf CLK_TCK)
echo "rounds=$ROUNDS duration=${DURATION}s connections=$CONNS pinning=${pin_proxy[*]:-none}"
for p in "${runs[@]}"; do
	[ "$WARMUP" -gt 0 ] && measure "$p" "$WARMUP" >/dev/null
done
results="$tmp/results"
: >"$results"
for round in $(seq "$ROUNDS"); do
	for p in "${runs[@]}"; do
		pid_var="${p%%_*}_pid"
		before=$(cpu_ticks "${!pid_var}")
		read -r reqs errs < <(measure "$p" "$DURATION")
		after=$(cpu_ticks "${!pid_var}")
		rps=$(awk -v n="$reqs" -v d="$DURATION" 'BEGIN {printf "%.0f", n / d}')
		cpu_us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$reqs" 'BEGIN {printf "%.2f", (n > 0 ? t / hz * 1e6 / n : 0)}')
		cpu_pct=$(awk -v t=$((after - before)) -v hz="$hz" -v d="$DURATION" 'BEGIN {printf "%.0f", t / hz / d * 100}')
		echo "$p $round $rps $cpu_us $errs $cpu_pct" >>"$results"
		printf 'round %d %-11s %8s req/s  cpu %6s us/req %4s%% of a core  errors %s\n' "$round" "$p" "$rps" "$cpu_us" "$cpu_pct" "$errs"
	done
done

echo
printf '%-11s %10s %11s %10s %7s\n' run "req/s" "cpu us/req" "cpu % core" errors
for p in "${runs[@]}"; do
	errs=$(awk -v p="$p" '$1 == p {n += $5} END {print n + 0}' "$results")
	printf '%-11s %10.0f %11.2f %10.0f %7s\n' "$p" "$(median 3 "$p")" "$(median 4 "$p")" "$(median 6 "$p")" "$errs"
done
echo "(medians of $ROUNDS rounds)"
