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
#   6. after wrk (they change the manifest): release latency over HTTP
#      (bench/writes), release-to-open-page in Chromium (bench/visible.mjs),
#      time to first mount against a bare page and app switches
#      (bench/browser.mjs);
#   7. prints one table, writes bench/results.json and rewrites the figures
#      between the markers of BENCHMARKS.md.
#
# Knobs (environment): BENCH_DURATION (wrk time per run, default 10s),
# BENCH_ROUNDS (interleaved rounds, default 3; figures are the medians),
# BENCH_THREADS (default 2), BENCH_CONNECTIONS (default 32),
# BENCH_GOTIME (go test -benchtime, default 2s), BENCH_LOADS (measured page
# loads of each kind in bench/browser.mjs, default 20), BENCH_SWITCHES (app
# switches, even, default 100).
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

# run_wrk TARGET SERVER URL ROUND: one wrk run; appends
# "TARGET SERVER ROUND req/s p50ms p99ms" to $tmp/wrk.tsv.
run_wrk() {
	local target=$1 server=$2 url=$3 round=$4 out rps p50 p99
	out=$tmp/wrk-$target-$server-$round.txt
	log "wrk -t$threads -c$conns -d$duration --latency $url (round $round)"
	wrk -t"$threads" -c"$conns" -d"$duration" --latency "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
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
command="make bench (bench/run.sh: wrk -t$threads -c$conns -d$duration --latency, $rounds interleaved round(s) of mfshell, Go baseline, nginx; go test -run '^\$' -bench . -benchtime $gotime ./server; bench/size.mjs; bench/writes 200+50; bench/writes on S3 200+100 over two replicas; bench/visible.mjs 20; bench/browser.mjs $BENCH_LOADS loads each, $BENCH_SWITCHES switches)"

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
