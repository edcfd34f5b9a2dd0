# Shared pieces of the bench scripts. Source it after setting $name (used in
# messages and the temp dir); it sets $root, $tmp and the pinning arrays and
# kills everything started with `start` on exit.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-$name.XXXXXX")
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

die() { echo "$name.sh: $*" >&2; exit 1; }

# need_free_ports PORT...: dies when one of the loopback ports is taken.
need_free_ports() {
	local port
	for port in "$@"; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			die "127.0.0.1:$port is in use; set PORT_BASE"
		fi
	done
}

# The measured process gets CPU 0 to itself; wrk and the backend share CPU 1.
pin_proxy=() pin_other=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	pin_proxy=(taskset -c 0)
	pin_other=(taskset -c 1)
fi

# start NAME CMD...: runs CMD in the background, remembers its pid in
# the variable NAME_pid and its output in $tmp/NAME.log (or in $LOG_TO).
start() {
	local name=$1
	shift
	"$@" >"${LOG_TO:-$tmp/$name.log}" 2>&1 &
	pids+=($!)
	printf -v "${name}_pid" '%s' "$!"
}

# wait_http NAME URL: waits up to 10 s for URL to answer 2xx.
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

# median COLUMN NAME: the median of a column of $results for one run.
median() {
	awk -v c="$1" -v p="$2" '$1 == p {print $c}' "$results" | sort -g |
		awk '{v[NR] = $1} END {
			if (NR == 0) { print 0; exit }
			if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }

# nginx_conf_head prints the start of an nginx.conf that keeps every file
# nginx writes under $tmp/nginx, up to and inside the open http block.
nginx_conf_head() {
	cat <<EOF
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
EOF
}
