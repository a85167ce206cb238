#!/usr/bin/env bash
# blackbox_rate.sh - how many TCP probes per second Prometheus blackbox_exporter
# sustains on this machine, for comparison with rendan's own monitor.
#
# Starts TARGETS stand-in TCP listeners on 127.2.X.Y:7500 (listeners.py),
# starts blackbox_exporter on 127.0.0.1:9115 with one `tcp_connect` module
# (timeout 1s), then drives /probe flat out with wrk (CONCURRENCY connections,
# target rotated per request by probe_rotate.lua) for DURATION_S seconds.
# Prints probes completed, successes (body has "probe_success 1") vs failures,
# probes/s, latency p50/p90/p99 of the /probe requests, and the CPU seconds
# (utime+stime from /proc/PID/stat) and peak RSS (VmHWM) of blackbox_exporter
# over the run, plus the CPU of wrk and of the listeners (to show whether the
# load side was the bottleneck). Everything started is stopped on exit/Ctrl-C.
#
# Needs (Debian): apt-get install -y prometheus-blackbox-exporter wrk curl
# Run:   TARGETS=5000 CONCURRENCY=64 DURATION_S=30 tools/blackbox/blackbox_rate.sh
# Other knobs: WRK_THREADS (1), LISTENER_PROCS (auto, by the fd hard limit),
#   BLACKBOX_BIN (prometheus-blackbox-exporter), KEEP_TMP=1 keeps logs/config.
set -euo pipefail

TARGETS=${TARGETS:-5000}
CONCURRENCY=${CONCURRENCY:-64}
DURATION_S=${DURATION_S:-30}
WRK_THREADS=${WRK_THREADS:-1}
PORT=7500
LISTEN=127.0.0.1:9115
BLACKBOX_BIN=${BLACKBOX_BIN:-prometheus-blackbox-exporter}
KEEP_TMP=${KEEP_TMP:-0}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "blackbox_rate: $*" >&2; exit 1; }
for c in "$BLACKBOX_BIN" wrk curl python3 awk; do
  command -v "$c" >/dev/null || die "missing $c (apt-get install -y prometheus-blackbox-exporter wrk curl)"
done
(( TARGETS >= 1 && TARGETS <= 64000 )) || die "TARGETS must be 1..64000"
(( CONCURRENCY >= WRK_THREADS )) || die "CONCURRENCY must be >= WRK_THREADS"
if curl -s -o /dev/null --max-time 1 "http://$LISTEN/"; then
  die "something already listens on $LISTEN"
fi

TMP=$(mktemp -d /tmp/blackbox_rate.XXXXXX)
PIDS=()          # processes we started, stopped in reverse order
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -f $TMP/wrk.pid ]] && PIDS+=("$(cat "$TMP/wrk.pid")")
  local i pid
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do
    kill -TERM "${PIDS[i]}" 2>/dev/null || true
  done
  for _ in $(seq 30); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $KEEP_TMP == 1 || $rc -ne 0 ]]; then
    echo "blackbox_rate: logs and config kept in $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TCK=$(getconf CLK_TCK)
cpu_ticks() {  # utime+stime of one pid, in clock ticks (0 if gone)
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  s=${s##*) }  # drop "pid (comm) "
  awk '{print $12 + $13}' <<<"$s"
}
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---- 1. stand-in targets -------------------------------------------------
HARD=$(ulimit -Hn); [[ $HARD == unlimited ]] && HARD=1048576
PER_PROC=$(( HARD - 1024 ))
(( PER_PROC > 0 )) || die "fd hard limit $HARD too small"
NPROCS=$(( (TARGETS + PER_PROC - 1) / PER_PROC ))
(( NPROCS >= ${LISTENER_PROCS:-1} )) || NPROCS=$LISTENER_PROCS
LPIDS=()
first=0
for (( p=0; p<NPROCS; p++ )); do
  count=$(( (TARGETS - first) / (NPROCS - p) ))
  python3 "$HERE/listeners.py" --first "$first" --count "$count" --port "$PORT" \
    >"$TMP/listeners.$p.log" 2>&1 &
  PIDS+=($!); LPIDS+=($!)
  first=$(( first + count ))
done
for (( p=0; p<NPROCS; p++ )); do
  for _ in $(seq 600); do
    grep -q '^READY' "$TMP/listeners.$p.log" && break
    kill -0 "${LPIDS[p]}" 2>/dev/null || { cat "$TMP/listeners.$p.log" >&2; die "listener $p died"; }
    sleep 0.1
  done
  grep -q '^READY' "$TMP/listeners.$p.log" || die "listener $p not ready after 60s"
done

# ---- 2. blackbox_exporter ------------------------------------------------
cat >"$TMP/blackbox.yml" <<'EOF'
modules:
  tcp_connect:
    prober: tcp
    timeout: 1s
    tcp:
      preferred_ip_protocol: ip4
EOF
"$BLACKBOX_BIN" --config.file="$TMP/blackbox.yml" --web.listen-address="$LISTEN" \
  >"$TMP/blackbox.log" 2>&1 &
BB=$!; PIDS+=($BB)
last=$(( TARGETS - 1 ))
last_addr="127.2.$(( last / 250 )).$(( last % 250 + 1 ))"
probe_ok() {  # one /probe through blackbox_exporter; true if it says success
  local body
  body=$(curl -s --max-time 2 "http://$LISTEN/probe?module=tcp_connect&target=$1:$PORT") || return 1
  [[ $body == *$'\nprobe_success 1'* ]]
}
ready=0
for _ in $(seq 100); do
  kill -0 "$BB" 2>/dev/null || { cat "$TMP/blackbox.log" >&2; die "blackbox_exporter died"; }
  if probe_ok 127.2.0.1; then ready=1; break; fi
  sleep 0.1
done
(( ready )) || { cat "$TMP/blackbox.log" >&2; die "blackbox_exporter not probing 127.2.0.1:$PORT"; }
probe_ok "$last_addr" || die "probe of last target $last_addr:$PORT failed"
VERSION=$("$BLACKBOX_BIN" --version 2>&1 | head -1)

# ---- 3. load ---------------------------------------------------------------
bb0=$(cpu_ticks "$BB")
l0=0; for p in "${LPIDS[@]}"; do l0=$(( l0 + $(cpu_ticks "$p") )); done
load0=$(cut -d' ' -f1-3 /proc/loadavg)
# wrk runs under a small bash so that `times` reports its CPU after it exits.
WRK_OUT="$TMP/wrk.out" WRK_PID="$TMP/wrk.pid" WRK_TIMES="$TMP/wrk.times" \
  bash -c 'wrk "$@" >"$WRK_OUT" 2>&1 & echo $! >"$WRK_PID"; wait $!; rc=$?; times >"$WRK_TIMES"; exit $rc' \
  wrk -t "$WRK_THREADS" -c "$CONCURRENCY" -d "${DURATION_S}s" --timeout 10s \
  -s "$HERE/probe_rotate.lua" "http://$LISTEN" -- "$TARGETS" "$WRK_THREADS" "$PORT" tcp_connect &
WRAP=$!; PIDS+=($WRAP)
wrk_rc=0; wait "$WRAP" || wrk_rc=$?
bb1=$(cpu_ticks "$BB")
l1=0; for p in "${LPIDS[@]}"; do l1=$(( l1 + $(cpu_ticks "$p") )); done
hwm=$(status_kb "$BB" VmHWM); rss=$(status_kb "$BB" VmRSS)
(( wrk_rc == 0 )) || { cat "$TMP/wrk.out" >&2; die "wrk exited $wrk_rc"; }
grep -q '^WRK requests' "$TMP/wrk.out" || { cat "$TMP/wrk.out" >&2; die "no wrk results"; }
# second line of `times`: children's user and system time, e.g. "0m1.234s 0m0.567s"
wrk_cpu=$(sed -n 2p "$TMP/wrk.times" | awk '{
  t = 0
  for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
  print t }')
bb_log_lines=$(wc -l <"$TMP/blackbox.log")

# ---- 4. report -------------------------------------------------------------
awk -v tck="$TCK" -v bb0="$bb0" -v bb1="$bb1" -v l0="$l0" -v l1="$l1" \
    -v hwm="$hwm" -v rss="$rss" -v wcpu="$wrk_cpu" -v targets="$TARGETS" \
    -v conc="$CONCURRENCY" -v wthr="$WRK_THREADS" -v nl="$NPROCS" \
    -v ver="$VERSION" -v load0="$load0" -v ncpu="$(nproc)" -v logl="$bb_log_lines" '
  $1 == "WRK" { w[$2] = $3 }
  END {
    d = w["duration_us"] / 1e6
    bbc = (bb1 - bb0) / tck; lc = (l1 - l0) / tck
    errs = w["err_connect"] + w["err_read"] + w["err_write"] + w["err_timeout"]
    printf "blackbox_exporter TCP probe rate  (%s; %d CPUs; loadavg before %s)\n", ver, ncpu, load0
    printf "  %-30s %s\n", "targets / concurrency / wrk thr", targets " / " conc " / " wthr
    printf "  %-30s %.2f\n", "measured duration (s)", d
    printf "  %-30s %d\n", "probes completed", w["requests"]
    printf "  %-30s %d\n", "  success (probe_success 1)", w["ok"]
    printf "  %-30s %d\n", "  failure (other body/status)", w["fail"]
    printf "  %-30s %d\n", "wrk socket errors/timeouts", errs
    printf "  %-30s %.0f\n", "probes/s", w["requests"] / d
    printf "  %-30s %.0f\n", "successful probes/s", w["ok"] / d
    printf "  %-30s %.2f / %.2f / %.2f / %.2f\n", "latency p50/p90/p99/max (ms)", \
      w["p50_us"] / 1000, w["p90_us"] / 1000, w["p99_us"] / 1000, w["max_us"] / 1000
    printf "  %-30s %.2f s  (%.0f%% of one core)\n", "blackbox_exporter CPU", bbc, 100 * bbc / d
    printf "  %-30s %.1f MiB  (RSS at end %.1f MiB)\n", "blackbox_exporter VmHWM", hwm / 1024, rss / 1024
    printf "  %-30s %.0f\n", "blackbox CPU us per probe", w["requests"] ? 1e6 * bbc / w["requests"] : 0
    printf "  %-30s %.2f s  (%.0f%% of one core)\n", "wrk CPU (load client)", wcpu, 100 * wcpu / d
    printf "  %-30s %.2f s  (%.0f%% of one core, %d procs)\n", "listeners CPU (targets)", lc, 100 * lc / d, nl
    printf "  %-30s %d\n", "blackbox log lines", logl
  }' "$TMP/wrk.out"
