#!/usr/bin/env bash
# Native WebSocket benchmark: Switchboard against Node's `ws`, same load generator,
# same machine, server pinned to one CPU and sb-loadgen to another.
#
#   bench/run-ws.sh            # full run: every scenario 3 times, medians (~8 min)
#   bench/run-ws.sh --quick    # smoke test: 1 run each, short windows (~2 min)
#
# Options:
#   --quick               1 run per scenario, 1 s warmup, 3 s windows, 2,000 idle connections
#   --runs N              runs per scenario (default 3; the table shows the median)
#   --servers LIST        comma-separated, from: switchboard,node (default: both when
#                         available; switchboard needs a build that knows --ws-echo)
#   --scenarios LIST      comma-separated, from: echo100,echo1000,idle,connect (default all)
#   --server-cpu N        CPU for the server (default 0)
#   --loadgen-cpu N       CPU for sb-loadgen (default 1)
#   --out DIR             where the raw JSON and logs go (default build/bench-results/DATE)
#   --no-build            do not run cmake (use the binaries as they are)
#
# Each run starts a fresh server process (so the idle RSS baseline is a fresh server and
# one run's garbage does not slow the next) and stops it by PID afterwards. The table
# goes to stdout as Markdown; progress and logs go to stderr and to --out.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
COMMAND_LINE="bench/run-ws.sh${*:+ $*}"

QUICK=0
RUNS=3
SERVERS=""
SCENARIOS="echo100,echo1000,idle,connect"
SERVER_CPU=0
LOADGEN_CPU=1
OUT=""
BUILD=1

usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; }

log() { echo "run-ws: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
READY_LINE=""

declare -A OWN_OPTIONS=([--scenarios]=SCENARIOS)
parse_options "$@"

if ((QUICK)); then
  WARMUP=1; DURATION=3; IDLE_CONNECTIONS=2000; IDLE_HOLD=2
else
  WARMUP=2; DURATION=10; IDLE_CONNECTIONS=10000; IDLE_HOLD=10
fi

require_tools jq node taskset ss

BUILD_DIR=build/release
LOADGEN=$BUILD_DIR/bench/sb-loadgen
SWITCHBOARD=$BUILD_DIR/switchboard

# --- build -------------------------------------------------------------------------
if ((BUILD)); then build_targets sb-loadgen switchboard; fi
[[ -x $LOADGEN ]] || die "$LOADGEN is missing (run without --no-build)"

# --- servers -------------------------------------------------------------------------
switchboard_ready() { [[ -x $SWITCHBOARD ]] && [[ $("$SWITCHBOARD" --help 2>&1) == *--ws-echo* ]]; }
node_ready() { [[ -f node_modules/ws/package.json ]]; }

choose_servers "$SWITCHBOARD has no --ws-echo (build the switchboard target)" "node_modules/ws is missing (npm ci)"
IFS=, read -r -a SCENARIO_LIST <<<"$SCENARIOS"

setup_pinning

# Both servers (and sb-loadgen) hold up to $IDLE_CONNECTIONS sockets.
begin_runs ws "$IDLE_CONNECTIONS"

server_command() {  # name port
  case $1 in
    switchboard) echo "$SWITCHBOARD --host 127.0.0.1 --port $2 --threads 1 --ws-echo /echo" ;;
    node) echo "node bench/node/ws-echo-server.js --port $2 --path /echo" ;;
  esac
}

scenario_args() {  # scenario
  case $1 in
    echo100) echo "--scenario echo --connections 100 --inflight 8 --size 32 --warmup $WARMUP --duration $DURATION" ;;
    echo1000) echo "--scenario echo --connections 1000 --inflight 8 --size 32 --warmup $WARMUP --duration $DURATION" ;;
    idle) echo "--scenario idle --connections $IDLE_CONNECTIONS --duration $IDLE_HOLD" ;;
    connect) echo "--scenario connect --concurrency 64 --warmup $WARMUP --duration $DURATION" ;;
    *) die "unknown scenario $1" ;;
  esac
}

# --- runs ------------------------------------------------------------------------------
for scenario in "${SCENARIO_LIST[@]}"; do
  args=$(scenario_args "$scenario")
  # Runs interleave the servers, so that a machine that slows down for a while slows both.
  for run in $(seq "$RUNS"); do
    for server in "${SERVER_LIST[@]}"; do
      measure "$server" "$server-$scenario-$run" "ws://127.0.0.1:PORT/echo" 8 '/s |latency|RSS|errors|warning' "$args"
    done
  done
done

# --- table -----------------------------------------------------------------------------

cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
  echo "## Native WebSocket: Switchboard vs Node ws"
  echo
  echo "- command: \`$COMMAND_LINE\`"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $CPUS CPUs, $cpu_model, Linux $(uname -r); load average before the runs: $LOAD_BEFORE"
  echo "- node $(node --version), ws $(jq -r .version node_modules/ws/package.json 2>/dev/null || echo '?'); switchboard $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "- server pinned to CPU $SERVER_CPU, sb-loadgen (1 thread) to CPU $LOADGEN_CPU; $RUNS run(s) per cell, median; each run on a fresh server process"
  echo "- echo: 32-byte binary messages, 8 in flight per connection, ${WARMUP} s warmup, ${DURATION} s window; idle: $IDLE_CONNECTIONS connections held ${IDLE_HOLD} s, (server RSS at the end − RSS of the fresh server) ÷ connections, \"private\" counting RssAnon only, \"marginal\" (RSS at the end − RSS 1 s after the first half was open) ÷ connections added since: the cost of one more, without a fresh server's one-time costs (code paged in, first heap arenas); connect: 64 concurrent connect+upgrade+close"
  echo
  echo "| metric | switchboard | node ws | switchboard ÷ node |"
  echo "|---|---:|---:|---:|"
  row "echo, 100 conns: messages/s" echo100 messages_per_s 0
  row "echo, 100 conns: messages per server-CPU-second" echo100 per_server_cpu_s 0
  row "echo, 100 conns: p50 latency (µs, lower is better)" echo100 latency_p50_us 0
  row "echo, 100 conns: p99 latency (µs, lower is better)" echo100 latency_p99_us 0
  row "echo, 1,000 conns: messages/s" echo1000 messages_per_s 0
  row "echo, 1,000 conns: messages per server-CPU-second" echo1000 per_server_cpu_s 0
  row "echo, 1,000 conns: p50 latency (µs, lower is better)" echo1000 latency_p50_us 0
  row "echo, 1,000 conns: p99 latency (µs, lower is better)" echo1000 latency_p99_us 0
  row "idle, $IDLE_CONNECTIONS conns: RSS bytes per connection (lower is better)" idle server_rss_per_connection_bytes 0
  row "idle, $IDLE_CONNECTIONS conns: private (anonymous) bytes per connection (lower is better)" idle server_anon_rss_per_connection_bytes 0
  row "idle, $IDLE_CONNECTIONS conns: marginal RSS bytes per further connection (lower is better)" idle server_rss_marginal_per_connection_bytes 0
  row "idle, $IDLE_CONNECTIONS conns: marginal private bytes per further connection (lower is better)" idle server_anon_rss_marginal_per_connection_bytes 0
  row "connect: new connections/s" connect connections_per_s 0
  row "connect: new connections per server-CPU-second" connect per_server_cpu_s 0
  echo
  echo "CPU used, and time spent runnable but waiting for a CPU that another process held"
  echo "(medians, as a share of the window; 1.00 = one core; a wait above ~0.05 means the"
  echo "machine was busy and the rates above are low for both servers):"
  echo
  echo "| scenario | server | server CPU | server waited | sb-loadgen CPU | sb-loadgen waited | errors (all runs) |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  for scenario in "${SCENARIO_LIST[@]}"; do
    for server in "${SERVER_LIST[@]}"; do
      echo "| $scenario | $server | $(fmt "$(median "$server" "$scenario" server_cpu_share)" 2) | $(fmt "$(median "$server" "$scenario" server_runqueue_wait_share)" 2) | $(fmt "$(median "$server" "$scenario" loadgen_cpu_share)" 2) | $(fmt "$(median "$server" "$scenario" loadgen_runqueue_wait_share)" 2) | $(total "$server" "$scenario" errors) |"
    done
  done
  echo
  echo "Each run: \`taskset -c $LOADGEN_CPU $LOADGEN <scenario flags> --url ws://127.0.0.1:PORT/echo --server-pid PID\`,"
  echo "servers: \`taskset -c $SERVER_CPU $(server_command switchboard PORT)\` and \`taskset -c $SERVER_CPU $(server_command node PORT)\`."
} | tee "$OUT/table.md"
