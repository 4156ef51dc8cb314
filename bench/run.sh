#!/usr/bin/env bash
# bench/run.sh is "make bench": it measures mfshell side by side with a bare
# Go net/http server that serves the same bytes from memory (bench/baseline),
# in one run, and records the figures.
#
# What it does:
#   1. installs wrk (Debian package) if missing, builds bin/mfshell and the
#      baseline;
#   2. runs the Go benchmarks of ./server (in-process, no network);
#   3. starts mfshell on a free port with a fresh data dir (demo seeded),
#      publishes and releases a ~20 KB bundle "bench@1.0.0", fetches the
#      public manifest and the bundle, and starts the baseline serving those
#      exact bytes at the same paths;
#   4. runs wrk against mfshell and the baseline in turn for each target
#      (mfshell, baseline, mfshell, baseline, ...), BENCH_ROUNDS times;
#   5. measures the runtime's size as served beside single-spa's and
#      qiankun's shipped builds (bench/size.mjs, npm devDependencies);
#   6. pages composed on the server from fragments, on two more mfshell
#      servers with one layout and a loopback fragment server
#      (bench/fragments): the page time with three 100 ms fragments against
#      their sum, and wrk against the page with fragments answered at once
#      and without fragments;
#   7. after wrk (they change the manifest): release latency over HTTP
#      (bench/writes), release-to-open-page in Chromium (bench/visible.mjs),
#      time to first mount against a bare page and app switches
#      (bench/browser.mjs);
#   8. prints one table, writes bench/results.json and rewrites the figures
#      between the markers of BENCHMARKS.md.
#
# Knobs (environment): BENCH_DURATION (wrk time per run, default 10s),
# BENCH_ROUNDS (interleaved rounds, default 3; figures are the medians),
# BENCH_THREADS (default 2), BENCH_CONNECTIONS (default 32),
# BENCH_GOTIME (go test -benchtime, default 2s), BENCH_LOADS (measured page
# loads of each kind in bench/browser.mjs, default 20), BENCH_SWITCHES (app
# switches, even, default 100), BENCH_FRAGMENT_PAGES (sequential composed
# pages timed, default 50), BENCH_FRAGMENT_DURATION (wrk time per run on
# the composed pages, default 5s, so that the section stays under a minute).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

duration=${BENCH_DURATION:-10s}
rounds=${BENCH_ROUNDS:-3}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-32}
gotime=${BENCH_GOTIME:-2s}
BENCH_LOADS=${BENCH_LOADS:-20}
BENCH_SWITCHES=${BENCH_SWITCHES:-100}
BENCH_FRAGMENT_PAGES=${BENCH_FRAGMENT_PAGES:-50}
frag_duration=${BENCH_FRAGMENT_DURATION:-5s}
GO=${GO:-go}

results_json=bench/results.json
doc=BENCHMARKS.md

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# --- processes and temp files: everything started here ends here ---------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mfshell-bench.XXXXXX")
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true # already gone: nothing to stop
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true # its exit status is not ours
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Other work on the machine skews every figure: measure how busy the CPUs
# are over one second before anything starts, record it, and warn.
cpu_sample() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6; exit }' /proc/stat; }
busy_before=$( { cpu_sample; sleep 1; cpu_sample; } | awk 'NR == 1 { b = $1; i = $2 } NR == 2 { d = ($1 - b) + ($2 - i); printf "%.0f", d ? 100 * ($1 - b) / d : 0 }')
if [ "$busy_before" -gt 10 ]; then
	log "warning: the CPUs were ${busy_before}% busy before the run: something else is running, figures will be noisy"
fi

# --- tools -------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
	log "installing wrk (apt-get)"
	sudo=()
	if [ "$(id -u)" != 0 ]; then sudo=(sudo); fi
	if ! "${sudo[@]}" apt-get install -y wrk >"$tmp/apt.log" 2>&1; then
		# A fresh machine may have no package lists yet.
		"${sudo[@]}" apt-get update >>"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log" >&2; die "apt-get update failed"; }
		"${sudo[@]}" apt-get install -y wrk >>"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log" >&2; die "apt-get install wrk failed"; }
	fi
fi
# nginx is the second baseline. Debian's package starts a system nginx on
# port 80 when it is installed where no init system says otherwise: stop the
# one the install started, since this script started it.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
	log "installing nginx (apt-get)"
	sudo=()
	if [ "$(id -u)" != 0 ]; then sudo=(sudo); fi
	was_running=$(pgrep -x nginx || true)
	if ! "${sudo[@]}" apt-get install -y nginx >"$tmp/apt-nginx.log" 2>&1; then
		"${sudo[@]}" apt-get update >>"$tmp/apt-nginx.log" 2>&1 || { cat "$tmp/apt-nginx.log" >&2; die "apt-get update failed"; }
		"${sudo[@]}" apt-get install -y nginx >>"$tmp/apt-nginx.log" 2>&1 || { cat "$tmp/apt-nginx.log" >&2; die "apt-get install nginx failed"; }
	fi
	if [ -z "$was_running" ] && pgrep -x nginx >/dev/null 2>&1; then
		"${sudo[@]}" /usr/sbin/nginx -s quit 2>/dev/null || true # not running after all: nothing to stop
	fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
command -v curl >/dev/null 2>&1 || die "curl is needed"

log "building bin/mfshell and the baseline"
mkdir -p bin
"$GO" build -o bin/mfshell ./cmd/mfshell
"$GO" build -o "$tmp/baseline" ./bench/baseline
"$GO" build -o "$tmp/writes" ./bench/writes
"$GO" build -o "$tmp/fragments" ./bench/fragments

# --- Go benchmarks (before any server runs, so they have the machine) -------
log "go test -run '^\$' -bench . -benchtime $gotime ./server"
"$GO" test -run '^$' -bench . -benchtime "$gotime" ./server >"$tmp/gobench.txt" 2>&1 || {
	cat "$tmp/gobench.txt" >&2
	die "go benchmarks failed"
}
# name ns/op B/op allocs/op, one line per benchmark, GOMAXPROCS suffix gone.
awk '/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name); ns = "null"; bop = "null"; allocs = "null"
	for (i = 2; i <= NF; i++) {
		if ($i == "ns/op") ns = $(i-1)
		if ($i == "B/op") bop = $(i-1)
		if ($i == "allocs/op") allocs = $(i-1)
	}
	print name, ns, bop, allocs
}' "$tmp/gobench.txt" >"$tmp/gobench.tsv"
[ -s "$tmp/gobench.tsv" ] || { cat "$tmp/gobench.txt" >&2; die "no benchmark results in go test output"; }

# --- servers -----------------------------------------------------------------
# wait_url FILE PID NAME: wait until the process PID printed "serving URL" in
# FILE, and print URL.
wait_url() {
	local file=$1 pid=$2 name=$3 url
	for _ in $(seq 300); do
		url=$(grep -o -m1 'serving http://[^ ]*' "$file" 2>/dev/null | sed 's/^serving //' || true)
		if [ -n "$url" ]; then
			printf '%s\n' "$url"
			return
		fi
		kill -0 "$pid" 2>/dev/null || { cat "$file" "$file.err" >&2 2>/dev/null; die "$name exited before serving"; }
		sleep 0.1
	done
	cat "$file" "$file.err" >&2 2>/dev/null
	die "$name did not start within 30 s"
}

data=$tmp/data
log "starting mfshell (fresh data dir, demo seeded, --access-log=false)"
bin/mfshell serve --addr 127.0.0.1:0 --data "$data" --access-log=false >"$tmp/mfshell.out" 2>"$tmp/mfshell.out.err" &
pids+=($!)
mfshell_url=$(wait_url "$tmp/mfshell.out" "${pids[-1]}" mfshell)

# A ~20 KB module bundle: deterministic, so that every run serves the same
# bytes.
bundle=$tmp/bundle
mkdir -p "$bundle"
{
	echo '// bench bundle: generated by bench/run.sh'
	i=0
	while [ "$i" -lt 355 ]; do
		printf 'export function f%d(x) { return x * %d + "%08d"; }\n' "$i" "$i" "$i"
		i=$((i + 1))
	done
	echo 'export function mount(props) { props.domElement.textContent = "bench"; }'
	echo 'export function unmount(props) { props.domElement.textContent = ""; }'
} >"$bundle/main.js"
bin/mfshell publish --app bench --version 1.0.0 --cdn "file://$data/cdn" "$bundle" >"$tmp/publish.out" 2>&1 || {
	cat "$tmp/publish.out" >&2
	die "mfshell publish failed"
}
# A second version with other bytes, for the release measurements to
# alternate with; publishing does not change the manifest.
mkdir -p "$tmp/bundle2"
{ cat "$bundle/main.js"; echo '// bench@1.0.1'; } >"$tmp/bundle2/main.js"
bin/mfshell publish --app bench --version 1.0.1 --cdn "file://$data/cdn" "$tmp/bundle2" >>"$tmp/publish.out" 2>&1 || {
	cat "$tmp/publish.out" >&2
	die "mfshell publish bench@1.0.1 failed"
}
# Live, so that the manifest measured is the one a shell with this app serves.
bin/mfshell release bench 1.0.0 --server "$mfshell_url" --token-file "$data/admin.token" >"$tmp/release.out" 2>&1 || {
	cat "$tmp/release.out" >&2
	die "mfshell release failed"
}

manifest_path=/_mfshell/manifest.json
bundle_path=/cdn/bench/1.0.0/main.js
# Plain GETs, no Accept-Encoding: the bytes wrk will get.
curl -sSf -o "$tmp/manifest.json" -D "$tmp/manifest.hdr" "$mfshell_url$manifest_path"
curl -sSf -o "$tmp/main.js" -D "$tmp/main.hdr" "$mfshell_url$bundle_path"
cmp -s "$tmp/main.js" "$bundle/main.js" || die "the bundle served differs from the one published"
# The shell page, and the runtime it names.
page_path=/
curl -sSf -o "$tmp/page.html" -D "$tmp/page.hdr" "$mfshell_url$page_path"
runtime_path=$(grep -o '<script type="module" src="/_mfshell/shell\.[^"]*\.js"' "$tmp/page.html" | sed 's/.*src="//; s/"$//')
[ -n "$runtime_path" ] || die "no <script type=module src=/_mfshell/shell.*.js> in the shell page"
curl -sSf -o "$tmp/runtime.js" -D "$tmp/runtime.hdr" "$mfshell_url$runtime_path"

log "starting the baseline with the same bytes"
"$tmp/baseline" --addr 127.0.0.1:0 \
	--file "$manifest_path=$tmp/manifest.json" \
	--file "$bundle_path=$tmp/main.js" \
	--file "$runtime_path=$tmp/runtime.js" \
	--file "$page_path=$tmp/page.html" >"$tmp/baseline.out" 2>"$tmp/baseline.out.err" &
pids+=($!)
baseline_url=$(wait_url "$tmp/baseline.out" "${pids[-1]}" baseline)

# nginx serves the same files from a temp dir laid out at their URL paths
# (the page as index.html), on a free port, as a child in the foreground.
www=$tmp/www
mkdir -p "$www/_mfshell" "$www$(dirname "$bundle_path")"
cp "$tmp/manifest.json" "$www$manifest_path"
cp "$tmp/main.js" "$www$bundle_path"
cp "$tmp/runtime.js" "$www$runtime_path"
cp "$tmp/page.html" "$www/index.html"
# Its workers run as nobody when started as root: let them reach the files.
chmod 711 "$tmp"
chmod -R a+rX "$www"
nginx_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
sed -e "s|@TMP@|$tmp|g" -e "s|@ROOT@|$www|g" -e "s|@PORT@|$nginx_port|g" bench/nginx.conf.tmpl >"$tmp/nginx.conf"
log "starting nginx ($("$NGINX" -v 2>&1 | sed 's/^nginx version: //')) with the same files"
"$NGINX" -c "$tmp/nginx.conf" -p "$tmp" -e "$tmp/nginx.error.log" >"$tmp/nginx.out" 2>&1 &
pids+=($!)
nginx_url=http://127.0.0.1:$nginx_port
for _ in $(seq 100); do
	curl -sf -o /dev/null "$nginx_url$manifest_path" && break
	kill -0 "${pids[-1]}" 2>/dev/null || { cat "$tmp/nginx.out" "$tmp/nginx.error.log" >&2 2>/dev/null; die "nginx exited before serving"; }
	sleep 0.1
done
curl -sf -o /dev/null "$nginx_url$manifest_path" || { cat "$tmp/nginx.error.log" >&2; die "nginx did not start within 10 s"; }

# Every server must send the same bytes with the same Content-Type, or the
# comparison means nothing. The page carries a new nonce on every response,
# so for it only the length is compared; and the Go baseline, which types
# files by extension, sends "/" as application/octet-stream, a string as
# long as mfshell's "text/html; charset=utf-8".
header() { tr -d '\r' <"$1" | awk -v k="$2" 'BEGIN { k = tolower(k) } { split($0, kv, ": "); if (tolower(kv[1]) == k) print substr($0, length(kv[1]) + 3) }'; }
for p in "$manifest_path:manifest.json" "$bundle_path:main.js" "$runtime_path:runtime.js" "$page_path:page.html"; do
	path=${p%%:*} file=${p##*:}
	for srv in baseline nginx; do
		base=$baseline_url
		[ "$srv" = nginx ] && base=$nginx_url
		got=$tmp/$file.$srv
		curl -sSf -o "$got" -D "$got.hdr" "$base$path"
		a=$(header "$tmp/${file%.*}.hdr" content-type) b=$(header "$got.hdr" content-type)
		if [ "$path" = "$page_path" ]; then
			[ "$(wc -c <"$got")" = "$(wc -c <"$tmp/$file")" ] || die "$srv sends $path with another length than mfshell"
			[ "$srv" = baseline ] && continue
		else
			cmp -s "$got" "$tmp/$file" || die "$srv bytes differ from mfshell's for $path"
		fi
		[ "$a" = "$b" ] || die "Content-Type differs for $path: mfshell \"$a\", $srv \"$b\""
	done
done

# --- sections measured by other scripts ------------------------------------
# Each writes a JSON document (a key of results.json) and rows of the one
# table; they are run here, before wrk, while mfshell is otherwise idle.
extra_rows=$tmp/extra-rows.md
: >"$extra_rows"
extra_keys=()
command -v node >/dev/null 2>&1 || die "node is needed (make node-deps installs the npm packages)"
[ -d node_modules/single-spa ] && [ -d node_modules/qiankun ] && [ -d node_modules/playwright-core ] || {
	log "installing the npm packages (npm ci)"
	npm ci --no-audit --no-fund >"$tmp/npm.log" 2>&1 || { cat "$tmp/npm.log" >&2; die "npm ci failed"; }
}

log "size: the runtime as served, single-spa and qiankun as shipped"
node bench/size.mjs "$mfshell_url" "$tmp/size.json" "$tmp/size.md" || die "bench/size.mjs failed"
cat "$tmp/size.md" >>"$extra_rows"
extra_keys+=(size)

# --- wrk ---------------------------------------------------------------------
# to_ms VALUE: wrk's latency ("612.00us", "1.20ms", "1.02s") in ms.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
		printf "%.3f", n
	}'
}

# run_wrk TARGET SERVER URL ROUND [DURATION]: one wrk run ($duration
# unless given); appends "TARGET SERVER ROUND req/s p50ms p99ms" to
# $tmp/wrk.tsv.
run_wrk() {
	local target=$1 server=$2 url=$3 round=$4 d=${5:-$duration} out rps p50 p99
	out=$tmp/wrk-$target-$server-$round.txt
	log "wrk -t$threads -c$conns -d$d --latency $url (round $round)"
	wrk -t"$threads" -c"$conns" -d"$d" --latency "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
	if grep -q -e 'Non-2xx' -e 'Socket errors' "$out"; then
		cat "$out" >&2
		die "wrk saw errors against $server $url"
	fi
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
	p50=$(awk '$1 == "50%" { print $2 }' "$out")
	p99=$(awk '$1 == "99%" { print $2 }' "$out")
	[ -n "$rps" ] && [ -n "$p50" ] && [ -n "$p99" ] || { cat "$out" >&2; die "cannot read wrk's output"; }
	printf '%s %s %s %s %s %s\n' "$target" "$server" "$round" "$rps" "$(to_ms "$p50")" "$(to_ms "$p99")" >>"$tmp/wrk.tsv"
}

# Warm-up, discarded: connections, caches, and each heap grown to its
# steady size before anything is measured.
log "warm-up: wrk -d2s against each target"
targets="manifest:$manifest_path bundle:$bundle_path runtime:$runtime_path page:$page_path"
for tp in $targets; do
	for base in "$mfshell_url" "$baseline_url" "$nginx_url"; do
		wrk -t"$threads" -c"$conns" -d2s "$base${tp#*:}" >/dev/null 2>&1 || die "wrk failed against $base${tp#*:}"
	done
done

: >"$tmp/wrk.tsv"
for round in $(seq "$rounds"); do
	for tp in $targets; do
		run_wrk "${tp%%:*}" mfshell "$mfshell_url${tp#*:}" "$round"
		run_wrk "${tp%%:*}" baseline "$baseline_url${tp#*:}" "$round"
		run_wrk "${tp%%:*}" nginx "$nginx_url${tp#*:}" "$round"
	done
done

# --- pages composed from fragments -------------------------------------------
# DESIGN.md, "Layout and server-side fragments". Two more mfshell servers
# with one layout (--layout, --demo=false): a header and a footer on every
# page (<header-app>, <footer-app>) and a routed app, shop at /shop, each a
# tiny published bundle. On "composed" all three have fragment URLs on a
# loopback fragment server (bench/fragments); on "plain" none has, so its
# page is the same layout with nothing to fetch.
#   1. page time: the fragments each take 100 ms (--delay 100ms); the
#      fragment alone, then the composed page, are requested one after
#      another with curl (one keep-alive connection; time to the last byte)
#      and the page is set against one fragment and the sum of the three;
#   2. throughput: the apps are PATCHed to a second fragment server that
#      answers at once (--delay 0); wrk against /shop on composed and on
#      plain in turn, interleaved like the rows above.
# mfshell's counters (/metrics) must show every fragment of part 1 arrived
# in time; those of part 2 are recorded (a page whose client goes away
# counts its fragments still on their way as timeouts: wrk's last requests
# of each run), and so is the CPU time mfshell and the fragment server
# spent on the pages.
frag_delay_ms=100
frag_timeout=1s
frag_apps="header footer shop"
log "fragments: two fragment servers (delay ${frag_delay_ms} ms and 0), mfshell with and without fragments on one layout"
"$tmp/fragments" --addr 127.0.0.1:0 --delay "${frag_delay_ms}ms" >"$tmp/frag-slow.out" 2>"$tmp/frag-slow.out.err" &
pids+=($!)
frag_slow_url=$(wait_url "$tmp/frag-slow.out" "${pids[-1]}" "fragment server (slow)")
"$tmp/fragments" --addr 127.0.0.1:0 --delay 0 >"$tmp/frag-fast.out" 2>"$tmp/frag-fast.out.err" &
pids+=($!)
frag_fast_pid=${pids[-1]}
frag_fast_url=$(wait_url "$tmp/frag-fast.out" "$frag_fast_pid" "fragment server (fast)")
cat >"$tmp/layout.html" <<'LAYOUT'
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Shop</title></head>
<body>
<header-app></header-app>
<nav id="mfshell-nav" aria-label="Apps"></nav>
<main id="mfshell-stage"></main>
<footer-app></footer-app>
</body>
</html>
LAYOUT
mkdir -p "$tmp/tiny"
{
	echo '// fragment bench bundle: generated by bench/run.sh'
	echo 'export function mount(props) { props.hydrate || (props.domElement.textContent = "client"); }'
	echo 'export function unmount(props) { props.domElement.textContent = ""; }'
} >"$tmp/tiny/main.js"
frag_urls=() frag_pids=()
for srv in composed plain; do
	bin/mfshell serve --addr 127.0.0.1:0 --data "$tmp/$srv" --demo=false --access-log=false \
		--layout "$tmp/layout.html" --fragment-timeout "$frag_timeout" >"$tmp/$srv.out" 2>"$tmp/$srv.out.err" &
	pids+=($!) frag_pids+=($!)
	frag_urls+=("$(wait_url "$tmp/$srv.out" "${pids[-1]}" "mfshell ($srv)")")
	for app in $frag_apps; do
		bin/mfshell publish --app "$app" --version 1.0.0 --cdn "file://$tmp/$srv/cdn" "$tmp/tiny" >>"$tmp/publish.out" 2>&1 || {
			cat "$tmp/publish.out" >&2
			die "mfshell publish $app into $srv failed"
		}
	done
done
composed_url=${frag_urls[0]} plain_url=${frag_urls[1]}
composed_pid=${frag_pids[0]} plain_pid=${frag_pids[1]}
# set_app SERVER_URL DATA METHOD APP JSON: an app's entry through the ops API.
set_app() {
	local code
	code=$(curl -sS -o "$tmp/api.out" -w '%{http_code}' -X "$3" -H "Authorization: Bearer $(cat "$2/admin.token")" \
		-H 'Content-Type: application/json' --data "$5" "$1/api/v1/apps/$4") || die "$3 /api/v1/apps/$4 failed"
	case $code in 200 | 201) ;; *) cat "$tmp/api.out" >&2; die "$3 /api/v1/apps/$4: HTTP $code" ;; esac
}
for app in $frag_apps; do
	route='""'
	[ "$app" = shop ] && route='"/shop"'
	set_app "$composed_url" "$tmp/composed" PUT "$app" "{\"version\": \"1.0.0\", \"route\": $route, \"isolation\": \"shadow\", \"fragment\": \"$frag_slow_url/$app\"}"
	set_app "$plain_url" "$tmp/plain" PUT "$app" "{\"version\": \"1.0.0\", \"route\": $route, \"isolation\": \"shadow\"}"
done
frag_path=/shop
# check_page URL WANT: the page at URL holds the three fragments (WANT 3) or
# none (WANT 0); prints its length.
check_page() {
	local n
	curl -sSf -o "$tmp/frag-page.html" "$1$frag_path" || die "GET $1$frag_path failed"
	n=$({ grep -o '<section class="[a-z]*">' "$tmp/frag-page.html" || true; } | sort -u | wc -l)
	[ "$n" = "$2" ] || { cat "$tmp/frag-page.html" >&2; die "$1$frag_path holds $n fragments, want $2"; }
	wc -c <"$tmp/frag-page.html" | tr -d ' '
}
# fragment_count URL RESULT: mfshell's count of fragments with RESULT (ok,
# error, timeout, too_large), all apps.
fragment_count() {
	curl -sSf "$1/metrics" | awk -v r="result=\"$2\"" '/^mfshell_fragments_total\{/ && index($0, r) { n += $2 } END { printf "%d\n", n }'
}
# timed_gets URL N OUT [CURL ARGS]: N GETs of URL one after another on one
# keep-alive connection; OUT gets each one's status and time to the last
# byte in ms.
timed_gets() {
	local url=$1 n=$2 out=$3 args=() i
	shift 3
	for i in $(seq "$n"); do args+=(-o /dev/null "$url"); done
	curl -sS "$@" -w '%{http_code} %{time_total}\n' "${args[@]}" >"$out.raw" || die "curl $url failed"
	awk '$1 != 200 { bad = 1 } { printf "%.3f\n", $2 * 1000 } END { exit bad }' "$out.raw" >"$out" || die "GET $url: a status other than 200"
}
composed_slow_bytes=$(check_page "$composed_url" 3)
plain_bytes=$(check_page "$plain_url" 0)
log "fragments: page time, $BENCH_FRAGMENT_PAGES sequential GET $frag_path composed of 3 fragments of ${frag_delay_ms} ms, and the fragment alone"
timed_gets "$frag_slow_url/shop?path=$frag_path" 5 "$tmp/frag-warm.ms" -H 'Mfshell-App: shop' -H 'Mfshell-Version: 1.0.0'
timed_gets "$frag_slow_url/shop?path=$frag_path" 20 "$tmp/frag-one.ms" -H 'Mfshell-App: shop' -H 'Mfshell-Version: 1.0.0'
timed_gets "$composed_url$frag_path" 5 "$tmp/frag-warm.ms"
ok_before=$(fragment_count "$composed_url" ok)
timed_gets "$composed_url$frag_path" "$BENCH_FRAGMENT_PAGES" "$tmp/frag-page.ms"
ok_after=$(fragment_count "$composed_url" ok)
[ $((ok_after - ok_before)) = $((3 * BENCH_FRAGMENT_PAGES)) ] ||
	die "fragments: $((ok_after - ok_before)) of $((3 * BENCH_FRAGMENT_PAGES)) fragments arrived in time during the page-time runs"

# Throughput: the same apps, their fragments now answered at once.
for app in $frag_apps; do
	set_app "$composed_url" "$tmp/composed" PATCH "$app" "{\"fragment\": \"$frag_fast_url/$app\"}"
done
composed_bytes=$(check_page "$composed_url" 3)
log "fragments: warm-up, wrk -d2s against each page"
for base in "$composed_url" "$plain_url"; do
	wrk -t"$threads" -c"$conns" -d2s "$base$frag_path" >/dev/null 2>&1 || die "wrk failed against $base$frag_path"
done
# CPU time (utime + stime, ms) of a process so far: where the cost of a
# composed page goes, mfshell's share and the fragment server's.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%d\n", ($12 + $13) * 1000 / hz }' "/proc/$1/stat"; }
cpu_with=0 cpu_frag=0 cpu_without=0
counts_before=$(for r in ok error timeout too_large; do fragment_count "$composed_url" "$r"; done | paste -sd' ')
for round in $(seq "$rounds"); do
	c0=$(cpu_ms "$composed_pid") f0=$(cpu_ms "$frag_fast_pid")
	run_wrk composed with-fragments "$composed_url$frag_path" "$round" "$frag_duration"
	cpu_with=$((cpu_with + $(cpu_ms "$composed_pid") - c0)) cpu_frag=$((cpu_frag + $(cpu_ms "$frag_fast_pid") - f0))
	p0=$(cpu_ms "$plain_pid")
	run_wrk composed without-fragments "$plain_url$frag_path" "$round" "$frag_duration"
	cpu_without=$((cpu_without + $(cpu_ms "$plain_pid") - p0))
done
counts_after=$(for r in ok error timeout too_large; do fragment_count "$composed_url" "$r"; done | paste -sd' ')
awk '$1 == "composed"' "$tmp/wrk.tsv" >"$tmp/frag-wrk.tsv"
node -e '
const fs = require("fs");
const [oneF, pageF, wrkF, outJSON, outRows, delay, timeout, before, after, composedBytes, plainBytes, slowBytes, dur, cpuWith, cpuFrag, cpuWithout, tmp] = process.argv.slice(1);
const ms = (f) => fs.readFileSync(f, "utf8").trim().split("\n").map(Number);
const stats = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const rank = (p) => s[Math.max(0, Math.min(Math.ceil(p * s.length) - 1, s.length - 1))];
  return { n: s.length, p50_ms: rank(0.5), p95_ms: rank(0.95), min_ms: s[0], max_ms: s[s.length - 1] };
};
const f = (n) => n.toFixed(2);
const one = stats(ms(oneF)), page = stats(ms(pageF));
const sum = 3 * Number(delay);
const ratio = page.p50_ms / sum;
const budget = "Implied by DESIGN.md (fragments fetched in parallel; no figure given): page time close to one fragment, far below the sum; met when page p50 / sum <= 0.40 (one fragment is 0.33, one after another 1.00 or more)";
const verdict = ratio <= 0.4 ? "met" : "missed";
// Medians of the rounds, per server.
const runs = fs.readFileSync(wrkF, "utf8").trim().split("\n").map((l) => l.split(" ")).map(([, server, round, rps, p50, p99]) => ({ server, round: +round, requests_per_sec: +rps, p50_ms: +p50, p99_ms: +p99 }));
const median = (server, k) => {
  const v = runs.filter((r) => r.server === server).map((r) => r[k]).sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const side = (server) => ({ requests_per_sec: median(server, "requests_per_sec"), p50_ms: median(server, "p50_ms"), p99_ms: median(server, "p99_ms") });
const w = side("with-fragments"), wo = side("without-fragments");
const tr = w.requests_per_sec / wo.requests_per_sec;
const [b, a] = [before, after].map((s) => s.split(" ").map(Number));
const results = Object.fromEntries(["ok", "error", "timeout", "too_large"].map((k, i) => [k, a[i] - b[i]]));
const int = (n) => Math.round(n).toLocaleString("en-US");
// Requests wrk completed in all the rounds of a server, and CPU per page.
const requests = (server) => runs.filter((r) => r.server === server)
  .map((r) => +fs.readFileSync(`${tmp}/wrk-composed-${server}-${r.round}.txt`, "utf8").match(/(\d+) requests in/)[1]).reduce((a, b) => a + b, 0);
const nWith = requests("with-fragments"), nWithout = requests("without-fragments");
const cpu = { mfshell_with_us_per_page: (cpuWith * 1000) / nWith, fragment_server_us_per_page: (cpuFrag * 1000) / nWith, mfshell_without_us_per_page: (cpuWithout * 1000) / nWithout };
const rows = [
  `| fragments: page time, GET /shop composed on the server of 3 fragments (header-app, footer-app, routed shop) each answered after ${delay} ms by a loopback server (bench/fragments), --fragment-timeout ${timeout}; ${page.n} sequential requests, curl on one keep-alive connection, to the last byte | p50 ${f(page.p50_ms)} ms, p95 ${f(page.p95_ms)} ms (min ${f(page.min_ms)}, max ${f(page.max_ms)}) | sum of the 3 fragments ${sum} ms; one fragment alone (${one.n} GETs) p50 ${f(one.p50_ms)} ms, p95 ${f(one.p95_ms)} ms | ${f(ratio)} (page p50 / sum); ${f(page.p50_ms / one.p50_ms)} (to one fragment) | ${f(page.p50_ms)} | - | ${budget} | ${verdict} |`,
  `| fragments: throughput, GET /shop (${composedBytes} B) composed of 3 fragments answered at once from loopback (bench/fragments --delay 0), against the same layout and apps without fragments (${plainBytes} B, a second mfshell); wrk ${dur}, ${runs.length / 2} interleaved round(s) | ${int(w.requests_per_sec)} req/s; CPU per page: mfshell ${int(cpu.mfshell_with_us_per_page)} µs + fragment server ${int(cpu.fragment_server_us_per_page)} µs; fragments ${int(results.ok)} inlined, ${results.error} failed, ${results.timeout} counted as timeouts (pages whose client went away: wrk closes its connections mid-request at the end of each run) | without fragments ${int(wo.requests_per_sec)} req/s; CPU per page: mfshell ${int(cpu.mfshell_without_us_per_page)} µs | ${f(tr)} (with / without) | ${f(w.p50_ms)} / ${f(wo.p50_ms)} (with / without) | ${f(w.p99_ms)} / ${f(wo.p99_ms)} (with / without) | none (the cost of composition: 3 fragment requests per page) | - |`,
];
fs.writeFileSync(outRows, rows.join("\n") + "\n");
fs.writeFileSync(outJSON, JSON.stringify({
  layout: "<header-app>, <mfshell-nav>, <main id=mfshell-stage>, <footer-app>; apps header, footer, shop (/shop), shadow isolation",
  fragment_timeout: timeout,
  page_time: { fragment_delay_ms: Number(delay), page_bytes: Number(slowBytes), sum_ms: sum, one_fragment: one, page, ratio_to_sum: ratio, ratio_to_one_fragment: page.p50_ms / one.p50_ms, budget, verdict },
  throughput: {
    duration: dur,
    with_fragments: { ...w, page_bytes: Number(composedBytes), requests: nWith, fragments: results, cpu_ms: { mfshell: +cpuWith, fragment_server: +cpuFrag } },
    without_fragments: { ...wo, page_bytes: Number(plainBytes), requests: nWithout, cpu_ms: { mfshell: +cpuWithout } },
    cpu_per_page: cpu, ratio: tr, runs,
  },
}, null, 2));
' "$tmp/frag-one.ms" "$tmp/frag-page.ms" "$tmp/frag-wrk.tsv" "$tmp/fragments.json" "$tmp/fragments.md" \
	"$frag_delay_ms" "$frag_timeout" "$counts_before" "$counts_after" "$composed_bytes" "$plain_bytes" "$composed_slow_bytes" "$frag_duration" "$cpu_with" "$cpu_frag" "$cpu_without" "$tmp" ||
	die "cannot summarise the fragment measurements"
cat "$tmp/fragments.md" >>"$extra_rows"
extra_keys+=(fragments)

# --- releases (after wrk: they change the manifest wrk measured) -------------
log "writes: 200 sequential and 50 concurrent releases (PATCH /api/v1/apps/bench)"
"$tmp/writes" --url "$mfshell_url" --token-file "$data/admin.token" --app bench --versions 1.0.1,1.0.0 \
	--sequential 200 --concurrent 50 >"$tmp/writes.out" 2>"$tmp/writes.err" || { cat "$tmp/writes.err" >&2; die "bench/writes failed"; }
log "writes: 20 releases seen by an open page (Chromium)"
node bench/visible.mjs "$mfshell_url" "$data/admin.token" bench 1.0.1,1.0.0 20 "$tmp/visible.json" >"$tmp/visible.err" 2>&1 || {
	cat "$tmp/visible.err" >&2
	die "bench/visible.mjs failed"
}
node -e '
const fs = require("fs");
const [w, v, outJSON, outRows] = process.argv.slice(1);
const writes = JSON.parse(fs.readFileSync(w, "utf8")), visible = JSON.parse(fs.readFileSync(v, "utf8"));
const f = (n) => n.toFixed(2);
const budget = "Release (PATCH) durable (fsynced) and visible on an open page through SSE within 100 ms p50 on the file store";
const s = writes.sequential, c = writes.concurrent, p = visible.visible;
const met = (x) => (x <= 100 ? "met" : "missed");
const rows = [
  `| writes: ${s.n} sequential releases, PATCH /api/v1/apps/bench over HTTP (Go client, one keep-alive connection) | p50 ${f(s.p50_ms)} ms, p99 ${f(s.p99_ms)} ms (min ${f(s.min_ms)}, max ${f(s.max_ms)}) | - | - | ${f(s.p50_ms)} | ${f(s.p99_ms)} | ${budget} (the durable part: response after fsync) | ${met(s.p50_ms)} |`,
  `| writes: ${c.n} concurrent releases (one connection each, started together) | wall ${f(c.wall_ms)} ms, ${writes.concurrent_revisions_written} revisions written; per release p50 ${f(c.p50_ms)} ms, p99 ${f(c.p99_ms)} ms | - | - | ${f(c.p50_ms)} | ${f(c.p99_ms)} | - | - |`,
  `| writes: ${p.n} releases sent from an open page (fetch) to its \`mfshell:manifest\` event, page clock | p50 ${f(p.p50_ms)} ms, p99 ${f(p.p99_ms)} ms (min ${f(p.min_ms)}, max ${f(p.max_ms)}); PATCH answered p50 ${f(visible.acked.p50_ms)} ms | - | - | ${f(p.p50_ms)} | ${f(p.p99_ms)} | ${budget} | ${met(p.p50_ms)} |`,
];
fs.writeFileSync(outRows, rows.join("\n") + "\n");
fs.writeFileSync(outJSON, JSON.stringify({ budget, release_http: writes, visible_on_page: visible }, null, 2));
' "$tmp/writes.out" "$tmp/visible.json" "$tmp/writes.json" "$tmp/writes.md" || die "cannot summarise the release measurements"
cat "$tmp/writes.md" >>"$extra_rows"
extra_keys+=(writes)

# --- releases on S3: two replicas on one bucket of a local versitygw ----------
VERSITYGW=${VERSITYGW:-.tools/bin/versitygw}
[ -x "$VERSITYGW" ] || die "no $VERSITYGW: run make s3-server (make bench does)"
s3port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
s3data=$tmp/s3
mkdir -p "$s3data/bench" # with the posix backend, a folder is a bucket
log "writes on S3: versitygw on 127.0.0.1:$s3port, two mfshell replicas on one bucket"
ROOT_ACCESS_KEY_ID=bench ROOT_SECRET_ACCESS_KEY=bench-secret-key \
	"$VERSITYGW" --port "127.0.0.1:$s3port" --quiet posix "$s3data" >"$tmp/s3.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	curl -s -o /dev/null "http://127.0.0.1:$s3port/" && break
	sleep 0.1
done
s3env=(env AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret-key AWS_REGION=us-east-1
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true)
s3flags=(--s3-endpoint "http://127.0.0.1:$s3port")
for v in 1.0.0:"$bundle" 1.0.1:"$tmp/bundle2"; do
	"${s3env[@]}" bin/mfshell publish --app bench --version "${v%%:*}" --cdn s3://bench/cdn "${s3flags[@]}" "${v#*:}" >>"$tmp/publish.out" 2>&1 || {
		cat "$tmp/publish.out" >&2
		die "mfshell publish to S3 failed"
	}
done
replica_urls=()
for r in a b; do
	"${s3env[@]}" bin/mfshell serve --addr 127.0.0.1:0 --data "$tmp/replica-$r" --access-log=false --demo=false \
		--manifest s3://bench/prod/manifest.json --cdn s3://bench/cdn "${s3flags[@]}" --tokens "$data/tokens.json" \
		>"$tmp/replica-$r.out" 2>"$tmp/replica-$r.out.err" &
	pids+=($!)
	replica_urls+=("$(wait_url "$tmp/replica-$r.out" "${pids[-1]}" "replica $r")")
done
bin/mfshell release bench 1.0.0 --server "${replica_urls[0]}" --token-file "$data/admin.token" >>"$tmp/release.out" 2>&1 || {
	cat "$tmp/release.out" >&2
	die "mfshell release on S3 failed"
}
"$tmp/writes" --url "${replica_urls[0]},${replica_urls[1]}" --token-file "$data/admin.token" --app bench --versions 1.0.1,1.0.0 \
	--sequential 200 --concurrent 100 >"$tmp/writes-s3.out" 2>"$tmp/writes-s3.err" || { cat "$tmp/writes-s3.err" >&2; die "bench/writes on S3 failed"; }
node -e '
const fs = require("fs");
const [w, outJSON, outRows] = process.argv.slice(1);
const writes = JSON.parse(fs.readFileSync(w, "utf8"));
const f = (n) => n.toFixed(2);
const s = writes.sequential, c = writes.concurrent;
const rows = [
  `| writes on S3 (versitygw on 127.0.0.1, posix backend): ${s.n} sequential releases through one replica | p50 ${f(s.p50_ms)} ms, p99 ${f(s.p99_ms)} ms (min ${f(s.min_ms)}, max ${f(s.max_ms)}) | - | - | ${f(s.p50_ms)} | ${f(s.p99_ms)} | none (the 100 ms budget is for the file store) | - |`,
  `| writes on S3: ${c.n} concurrent releases spread over two replicas (one connection each, started together) | wall ${f(c.wall_ms)} ms (${f(c.n / c.wall_ms * 1000)} releases/s), ${writes.concurrent_revisions_written} revisions written; per release p50 ${f(c.p50_ms)} ms, p99 ${f(c.p99_ms)} ms | - | - | ${f(c.p50_ms)} | ${f(c.p99_ms)} | - | - |`,
];
fs.writeFileSync(outRows, rows.join("\n") + "\n");
fs.writeFileSync(outJSON, JSON.stringify({ server: "versitygw posix, 127.0.0.1", replicas: 2, release_http: writes }, null, 2));
' "$tmp/writes-s3.out" "$tmp/writes_s3.json" "$tmp/writes-s3.md" || die "cannot summarise the S3 release measurements"
cat "$tmp/writes-s3.md" >>"$extra_rows"
extra_keys+=(writes_s3)

# --- the runtime in Chromium -------------------------------------------------
# Publishes the e2e React and Vue fixture apps (built into e2e/.build/ when
# missing) as react (/react) and vue (/vue), then times first mounts against
# a bare page and app switches; see bench/browser.mjs.
log "browser: time to first mount ($BENCH_LOADS loads each) and $BENCH_SWITCHES app switches (Chromium)"
node bench/browser.mjs "$mfshell_url" "$data" bin/mfshell "$tmp/browser.json" "$tmp/browser.md" "$BENCH_LOADS" "$BENCH_SWITCHES" >"$tmp/browser.err" 2>&1 || {
	cat "$tmp/browser.err" >&2
	die "bench/browser.mjs failed"
}
cat "$tmp/browser.md" >>"$extra_rows"
extra_keys+=(browser)

# median TARGET SERVER COLUMN: median over the rounds (column 4 req/s,
# 5 p50, 6 p99).
median() {
	awk -v t="$1" -v s="$2" -v c="$3" '$1 == t && $2 == s { print $c }' "$tmp/wrk.tsv" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Figures of a run that shared the machine are not worth reading: say so
# when the CPUs were busy before the run, or when the rounds of one server
# on one target disagree by more than 30% in req/s.
warnings=()
if [ "$busy_before" -gt 10 ]; then
	warnings+=("the CPUs were ${busy_before}% busy in the second before the run: something else was running")
fi
while read -r t s spread; do
	warnings+=("$s on $t: its rounds differ by ${spread}% in req/s")
done < <(awk '{ k = $1 " " $2; if (!(k in lo) || $4 < lo[k]) lo[k] = $4; if ($4 > hi[k]) hi[k] = $4 }
	END { for (k in lo) if (hi[k] > 1.3 * lo[k]) printf "%s %.0f\n", k, 100 * (hi[k] / lo[k] - 1) }' "$tmp/wrk.tsv" | sort)
for w in "${warnings[@]}"; do log "warning: $w"; done

# --- report --------------------------------------------------------------------
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cpus=$(nproc)
mem_gib=$(awk '/^MemTotal:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
cpu_model=${cpu_model:-unknown}
go_version=$("$GO" env GOVERSION)
kernel=$(uname -r)
wrk_version=$(wrk -v 2>&1 | awk 'NR == 1 { sub(/^debian\//, "", $2); print $2 }' || true)
manifest_bytes=$(wc -c <"$tmp/manifest.json" | tr -d ' ')
bundle_bytes=$(wc -c <"$tmp/main.js" | tr -d ' ')
runtime_bytes=$(wc -c <"$tmp/runtime.js" | tr -d ' ')
page_bytes=$(wc -c <"$tmp/page.html" | tr -d ' ')
nginx_version=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')
command="make bench (bench/run.sh: wrk -t$threads -c$conns -d$duration --latency, $rounds interleaved round(s) of mfshell, Go baseline, nginx; go test -run '^\$' -bench . -benchtime $gotime ./server; bench/size.mjs; bench/writes 200+50; bench/writes on S3 200+100 over two replicas; bench/visible.mjs 20; bench/browser.mjs $BENCH_LOADS loads each, $BENCH_SWITCHES switches; fragments: $BENCH_FRAGMENT_PAGES sequential composed pages with curl, wrk -t$threads -c$conns -d$frag_duration --latency, $rounds interleaved round(s) with and without fragments)"

json_str() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
fmt_int() { awk -v n="$1" 'BEGIN { printf "%d\n", n + 0.5 }' | sed -E ':a; s/^([0-9]+)([0-9]{3})/\1,\2/; ta'; }
fmt_ms() { awk -v n="$1" 'BEGIN { printf "%.2f", n }'; }

table=$tmp/table.md
json_targets=$tmp/targets.json
{
	echo '| target | mfshell | baseline (Go net/http; nginx) | ratio (to Go; to nginx) | p50 ms (mfshell / Go / nginx) | p99 ms (mfshell / Go / nginx) | budget (DESIGN.md) | verdict |'
	echo '| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |'
} >"$table"
: >"$json_targets"
sep=''
for tp in $targets; do
	t=${tp%%:*} path=${tp#*:}
	m_rps=$(median "$t" mfshell 4) b_rps=$(median "$t" baseline 4) n_rps=$(median "$t" nginx 4)
	m_p50=$(median "$t" mfshell 5) b_p50=$(median "$t" baseline 5) n_p50=$(median "$t" nginx 5)
	m_p99=$(median "$t" mfshell 6) b_p99=$(median "$t" baseline 6) n_p99=$(median "$t" nginx 6)
	ratio=$(awk -v a="$m_rps" -v b="$b_rps" 'BEGIN { printf "%.3f", a / b }')
	nratio=$(awk -v a="$m_rps" -v b="$n_rps" 'BEGIN { printf "%.3f", a / b }')
	case $t in
	manifest)
		bytes=$manifest_bytes bar=1.0
		budget='Public manifest served at least as fast as a bare Go net/http server with the bytes in memory (ratio to Go >= 1.00)'
		;;
	bundle)
		bytes=$bundle_bytes bar=1.0
		budget='none for CDN bundles; the runtime'"'"'s bar (ratio to Go >= 1.00) shown for reference'
		;;
	runtime)
		bytes=$runtime_bytes bar=1.0
		budget='Runtime served at least as fast as a bare Go net/http server with the bytes in memory (ratio to Go >= 1.00)'
		;;
	page)
		bytes=$page_bytes bar=0.5
		budget='Shell page at least half the rate of the bare Go server serving its bytes (ratio to Go >= 0.50); mfshell renders it per request (nonce), the baselines serve a snapshot'
		;;
	esac
	verdict=$(awk -v r="$ratio" -v b="$bar" 'BEGIN { print (r >= b) ? "met" : "missed" }')
	[ "$t" = bundle ] && verdict="$verdict (reference)"
	label="GET $path ($bytes B, identity)"
	printf '| %s | %s req/s | Go %s req/s; nginx %s req/s | %.2f; %.2f | %s / %s / %s | %s / %s / %s | %s | %s |\n' "$label" \
		"$(fmt_int "$m_rps")" "$(fmt_int "$b_rps")" "$(fmt_int "$n_rps")" "$ratio" "$nratio" \
		"$(fmt_ms "$m_p50")" "$(fmt_ms "$b_p50")" "$(fmt_ms "$n_p50")" "$(fmt_ms "$m_p99")" "$(fmt_ms "$b_p99")" "$(fmt_ms "$n_p99")" \
		"$budget" "$verdict" >>"$table"
	runs=$(awk -v t="$t" '$1 == t { printf "%s{\"server\": \"%s\", \"round\": %s, \"requests_per_sec\": %s, \"p50_ms\": %s, \"p99_ms\": %s}", sep, $2, $3, $4, $5, $6; sep = ", " }' "$tmp/wrk.tsv")
	printf '%s    {"target": "%s", "path": "%s", "bytes": %s, "accept_encoding": null,\n     "mfshell": {"requests_per_sec": %s, "p50_ms": %s, "p99_ms": %s},\n     "baseline": {"requests_per_sec": %s, "p50_ms": %s, "p99_ms": %s},\n     "nginx": {"requests_per_sec": %s, "p50_ms": %s, "p99_ms": %s},\n     "ratio": %s, "ratio_to_nginx": %s, "budget": "%s", "verdict": "%s",\n     "runs": [%s]}' \
		"$sep" "$t" "$path" "$bytes" \
		"$m_rps" "$m_p50" "$m_p99" "$b_rps" "$b_p50" "$b_p99" "$n_rps" "$n_p50" "$n_p99" "$ratio" "$nratio" "$(json_str "$budget")" "$verdict" "$runs" >>"$json_targets"
	sep=$',\n'
done

json_go=$tmp/go.json
: >"$json_go"
sep=''
while read -r name ns bop allocs; do
	case $name in
	BenchmarkRelease)
		label="go: $name (PATCH through the handler, fsynced revision)"
		figure=$(awk -v n="$ns" 'BEGIN { printf "%.2f ms/op", n / 1e6 }')
		budget='Release (PATCH) durable (fsynced) within 100 ms p50 on the file store (this is the mean of the write; SSE delivery not included)'
		verdict=$(awk -v n="$ns" 'BEGIN { print (n / 1e6 <= 100) ? "met" : "missed" }')
		;;
	*)
		label="go: $name (in-process, no network)"
		figure=$(awk -v n="$ns" 'BEGIN { printf "%.2f µs/op", n / 1e3 }')
		budget='-'
		verdict='-'
		;;
	esac
	printf '| %s | %s, %s allocs | - | - | - | - | %s | %s |\n' "$label" "$figure" "$allocs" "$budget" "$verdict" >>"$table"
	printf '%s    {"name": "%s", "ns_per_op": %s, "bytes_per_op": %s, "allocs_per_op": %s, "verdict": "%s"}' \
		"$sep" "$name" "$ns" "$bop" "$allocs" "$verdict" >>"$json_go"
	sep=$',\n'
done <"$tmp/gobench.tsv"
cat "$extra_rows" >>"$table"

{
	echo '{'
	printf '  "date": "%s",\n' "$date"
	printf '  "command": "%s",\n' "$(json_str "$command")"
	printf '  "machine": {"cpus": %s, "memory_gib": %s, "cpu_model": "%s", "kernel": "%s", "cpu_busy_percent_before": %s},\n' "$cpus" "$mem_gib" "$(json_str "$cpu_model")" "$(json_str "$kernel")" "$busy_before"
	printf '  "go": "%s",\n' "$go_version"
	printf '  "warnings": ['
	sep=''
	for w in "${warnings[@]}"; do printf '%s"%s"' "$sep" "$(json_str "$w")"; sep=', '; done
	printf '],\n'
	printf '  "wrk": {"version": "%s", "threads": %s, "connections": %s, "duration": "%s", "rounds": %s},\n' "$wrk_version" "$threads" "$conns" "$duration" "$rounds"
	printf '  "nginx": {"version": "%s", "config": "bench/nginx.conf.tmpl"},\n' "$(json_str "$nginx_version")"
	echo '  "targets": ['
	cat "$json_targets"
	echo
	echo '  ],'
	echo '  "go_benchmarks": ['
	cat "$json_go"
	echo
	printf '  ]'
	for k in "${extra_keys[@]}"; do
		printf ',\n  "%s": ' "$k"
		cat "$tmp/$k.json"
	done
	echo
	echo '}'
} >"$results_json"

figures=$tmp/figures.md
{
	echo "Figures of the latest run, written by \`bench/run.sh\`; do not edit by hand."
	echo
	echo "- command: \`$command\`"
	echo "- date: $date"
	echo "- machine: $cpus CPUs ($cpu_model), $mem_gib GiB memory, Linux $kernel; $go_version; wrk $wrk_version; CPUs ${busy_before}% busy in the second before the run"
	echo "- requests: plain GETs without Accept-Encoding (identity bodies), keep-alive, median of $rounds interleaved round(s) of mfshell, the Go baseline (bench/baseline, bytes in memory) and $nginx_version (bench/nginx.conf.tmpl, files from a temp dir, access_log off)"
	echo "- browser rows: $(node -p '"Chromium " + require(process.argv[1]).chromium' "$tmp/browser.json" 2>/dev/null || echo Chromium) at /usr/bin/chromium through playwright-core; the bare page is served by a Node server on another port of 127.0.0.1, so for it the bundle is cross-origin (CORS) and has no integrity check"
	echo "- fragment rows: two more mfshell servers (--demo=false, one layout with <header-app>, <footer-app> and the stage; apps header, footer and shop at /shop, shadow isolation); fragments from bench/fragments on 127.0.0.1 (about 300 B of HTML each), inlined in declarative shadow roots; the fragment servers, both mfshell and wrk or curl share the machine's CPUs"
	for w in "${warnings[@]}"; do echo "- **warning: $w; these figures are unreliable, run again on a quiet machine**"; done
	echo
	cat "$table"
} >"$figures"

if [ ! -f "$doc" ] || ! grep -q '^<!-- bench:start -->$' "$doc" || ! grep -q '^<!-- bench:end -->$' "$doc"; then
	printf '\n<!-- bench:start -->\n<!-- bench:end -->\n' >>"$doc"
fi
awk -v figures="$figures" '
	/^<!-- bench:start -->$/ { print; while ((getline line < figures) > 0) print line; skip = 1; next }
	/^<!-- bench:end -->$/ { skip = 0 }
	!skip { print }
' "$doc" >"$tmp/doc.md"
cat "$tmp/doc.md" >"$doc"

echo
cat "$figures"
echo
log "wrote $results_json and the figures in $doc"
