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
#   5. prints one table, writes bench/results.json and rewrites the figures
#      between the markers of BENCHMARKS.md.
#
# Knobs (environment): BENCH_DURATION (wrk time per run, default 10s),
# BENCH_ROUNDS (interleaved rounds, default 3; figures are the medians),
# BENCH_THREADS (default 2), BENCH_CONNECTIONS (default 32),
# BENCH_GOTIME (go test -benchtime, default 2s).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

duration=${BENCH_DURATION:-10s}
rounds=${BENCH_ROUNDS:-3}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-32}
gotime=${BENCH_GOTIME:-2s}
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
command -v curl >/dev/null 2>&1 || die "curl is needed"

log "building bin/mfshell and the baseline"
mkdir -p bin
"$GO" build -o bin/mfshell ./cmd/mfshell
"$GO" build -o "$tmp/baseline" ./bench/baseline

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

log "starting the baseline with the same bytes"
"$tmp/baseline" --addr 127.0.0.1:0 \
	--file "$manifest_path=$tmp/manifest.json" \
	--file "$bundle_path=$tmp/main.js" >"$tmp/baseline.out" 2>"$tmp/baseline.out.err" &
pids+=($!)
baseline_url=$(wait_url "$tmp/baseline.out" "${pids[-1]}" baseline)

# Both servers must send the same bytes with the same Content-Type, or the
# comparison means nothing.
header() { tr -d '\r' <"$1" | awk -v k="$2" 'BEGIN { k = tolower(k) } { split($0, kv, ": "); if (tolower(kv[1]) == k) print substr($0, length(kv[1]) + 3) }'; }
for p in "$manifest_path:manifest" "$bundle_path:main"; do
	path=${p%%:*} name=${p##*:}
	curl -sSf -o "$tmp/$name.base" -D "$tmp/$name.base.hdr" "$baseline_url$path"
	cmp -s "$tmp/$name.base" "$tmp/$name.${path##*.}" || die "baseline bytes differ from mfshell's for $path"
	a=$(header "$tmp/$name.hdr" content-type) b=$(header "$tmp/$name.base.hdr" content-type)
	[ "$a" = "$b" ] || die "Content-Type differs for $path: mfshell \"$a\", baseline \"$b\""
done

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
for url in "$mfshell_url$manifest_path" "$baseline_url$manifest_path" "$mfshell_url$bundle_path" "$baseline_url$bundle_path"; do
	wrk -t"$threads" -c"$conns" -d2s "$url" >/dev/null 2>&1 || die "wrk failed against $url"
done

: >"$tmp/wrk.tsv"
for round in $(seq "$rounds"); do
	run_wrk manifest mfshell "$mfshell_url$manifest_path" "$round"
	run_wrk manifest baseline "$baseline_url$manifest_path" "$round"
	run_wrk bundle mfshell "$mfshell_url$bundle_path" "$round"
	run_wrk bundle baseline "$baseline_url$bundle_path" "$round"
done

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
command="make bench (bench/run.sh: wrk -t$threads -c$conns -d$duration --latency, $rounds interleaved round(s); go test -run '^\$' -bench . -benchtime $gotime ./server)"

fmt_int() { awk -v n="$1" 'BEGIN { printf "%d\n", n + 0.5 }' | sed -E ':a; s/^([0-9]+)([0-9]{3})/\1,\2/; ta'; }
fmt_ms() { awk -v n="$1" 'BEGIN { printf "%.2f", n }'; }

table=$tmp/table.md
json_targets=$tmp/targets.json
{
	echo '| target | mfshell | baseline | ratio | p50 ms (mfshell / baseline) | p99 ms (mfshell / baseline) | budget (DESIGN.md) | verdict |'
	echo '| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |'
} >"$table"
: >"$json_targets"
sep=''
for t in manifest bundle; do
	m_rps=$(median "$t" mfshell 4) b_rps=$(median "$t" baseline 4)
	m_p50=$(median "$t" mfshell 5) b_p50=$(median "$t" baseline 5)
	m_p99=$(median "$t" mfshell 6) b_p99=$(median "$t" baseline 6)
	ratio=$(awk -v a="$m_rps" -v b="$b_rps" 'BEGIN { printf "%.3f", a / b }')
	ok=$(awk -v r="$ratio" 'BEGIN { print (r >= 1.0) ? "met" : "missed" }')
	if [ "$t" = manifest ]; then
		label="GET $manifest_path ($manifest_bytes B, identity)"
		budget='Public manifest served at least as fast as a bare Go net/http server with the bytes in memory (ratio >= 1.00)'
		verdict=$ok
	else
		label="GET $bundle_path ($bundle_bytes B, identity)"
		budget='none for CDN bundles; the runtime'"'"'s bar (ratio >= 1.00) shown for reference'
		verdict="$ok (reference)"
	fi
	printf '| %s | %s req/s | %s req/s | %.2f | %s / %s | %s / %s | %s | %s |\n' "$label" \
		"$(fmt_int "$m_rps")" "$(fmt_int "$b_rps")" "$ratio" \
		"$(fmt_ms "$m_p50")" "$(fmt_ms "$b_p50")" "$(fmt_ms "$m_p99")" "$(fmt_ms "$b_p99")" \
		"$budget" "$verdict" >>"$table"
	runs=$(awk -v t="$t" '$1 == t { printf "%s{\"server\": \"%s\", \"round\": %s, \"requests_per_sec\": %s, \"p50_ms\": %s, \"p99_ms\": %s}", sep, $2, $3, $4, $5, $6; sep = ", " }' "$tmp/wrk.tsv")
	printf '%s    {"target": "%s", "path": "%s", "bytes": %s, "accept_encoding": null,\n     "mfshell": {"requests_per_sec": %s, "p50_ms": %s, "p99_ms": %s},\n     "baseline": {"requests_per_sec": %s, "p50_ms": %s, "p99_ms": %s},\n     "ratio": %s, "budget": "%s", "verdict": "%s",\n     "runs": [%s]}' \
		"$sep" "$t" "$([ "$t" = manifest ] && echo "$manifest_path" || echo "$bundle_path")" \
		"$([ "$t" = manifest ] && echo "$manifest_bytes" || echo "$bundle_bytes")" \
		"$m_rps" "$m_p50" "$m_p99" "$b_rps" "$b_p50" "$b_p99" "$ratio" "$budget" "$verdict" "$runs" >>"$json_targets"
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

json_str() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
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
	echo '  "targets": ['
	cat "$json_targets"
	echo
	echo '  ],'
	echo '  "go_benchmarks": ['
	cat "$json_go"
	echo
	echo '  ]'
	echo '}'
} >"$results_json"

figures=$tmp/figures.md
{
	echo "Figures of the latest run, written by \`bench/run.sh\`; do not edit by hand."
	echo
	echo "- command: \`$command\`"
	echo "- date: $date"
	echo "- machine: $cpus CPUs ($cpu_model), $mem_gib GiB memory, Linux $kernel; $go_version; wrk $wrk_version; CPUs ${busy_before}% busy in the second before the run"
	echo "- requests: plain GETs without Accept-Encoding (identity bodies), keep-alive, median of $rounds interleaved round(s)"
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
