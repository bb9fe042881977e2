#!/usr/bin/env bash
# Engine.IO v4 benchmark: Switchboard (`switchboard --protocol-test-mode`) against Node's
# `engine.io`, both serving an echo at /engine.io/ with the same settings (engine.io's
# default heartbeat: pingInterval 25 s, pingTimeout 20 s), same load generator, same machine, server pinned to one
# CPU and sb-loadgen to another.
#
#   bench/run-eio.sh            # full run: every scenario 3 times, medians (~8 min)
#   bench/run-eio.sh --quick    # smoke test: 1 run each, short windows (~1.5 min)
#
# Options:
#   --quick               1 run per scenario, 1 s warmup, 3 s windows
#   --runs N              runs per scenario (default 3; the table shows the median)
#   --servers LIST        comma-separated, from: switchboard,node (default: both when
#                         available)
#   --scenarios LIST      comma-separated, from: connect-polling,connect-ws,polling100,
#                         polling1000,ws100,ws1000 (default: all but polling1000)
#   --server-cpu N        CPU for the server (default 0)
#   --loadgen-cpu N       CPU for sb-loadgen (default 1)
#   --out DIR             where the raw JSON and logs go (default build/bench-results/eio-DATE)
#   --no-build            do not run cmake (use the binaries as they are)
#
# Each run starts a fresh server process and stops it by PID afterwards. The table goes
# to stdout as Markdown; progress and logs go to stderr and to --out.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
COMMAND_LINE="bench/run-eio.sh${*:+ $*}"

QUICK=0
RUNS=3
SERVERS=""
SCENARIOS="connect-polling,connect-ws,polling100,ws100,ws1000"
SERVER_CPU=0
LOADGEN_CPU=1
OUT=""
BUILD=1

usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; }

log() { echo "run-eio: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
READY_LINE=""

declare -A OWN_OPTIONS=([--scenarios]=SCENARIOS)
parse_options "$@"

if ((QUICK)); then
  WARMUP=1; DURATION=3
else
  WARMUP=2; DURATION=10
fi

require_tools jq node taskset ss

BUILD_DIR=build/release
LOADGEN=$BUILD_DIR/bench/sb-loadgen
SWITCHBOARD=$BUILD_DIR/switchboard

# --- build -------------------------------------------------------------------------
if ((BUILD)); then build_targets sb-loadgen switchboard; fi
[[ -x $LOADGEN ]] || die "$LOADGEN is missing (run without --no-build)"
[[ $("$LOADGEN" --help 2>&1) == *eio-polling* ]] || die "$LOADGEN does not know --transport eio-polling (rebuild it)"

# --- servers -------------------------------------------------------------------------
switchboard_ready() { [[ -x $SWITCHBOARD ]] && [[ $("$SWITCHBOARD" --help 2>&1) == *--protocol-test-mode* ]]; }
node_ready() { [[ -f node_modules/engine.io/package.json ]]; }

choose_servers "$SWITCHBOARD has no --protocol-test-mode (build the switchboard target)" "node_modules/engine.io is missing (npm ci)"
IFS=, read -r -a SCENARIO_LIST <<<"$SCENARIOS"

setup_pinning

begin_runs eio

server_command() {  # name port
  case $1 in
    switchboard) echo "$SWITCHBOARD --protocol-test-mode --ping-interval 25000 --ping-timeout 20000 --host 127.0.0.1 --port $2 --threads 1" ;;
    node) echo "node bench/node/eio-echo-server.js --port $2" ;;
  esac
}

scenario_args() {  # scenario
  local echo="--scenario echo --inflight 8 --size 32 --warmup $WARMUP --duration $DURATION"
  case $1 in
    connect-polling) echo "--transport eio-polling --scenario connect --concurrency 64 --warmup $WARMUP --duration $DURATION" ;;
    connect-ws) echo "--transport eio-websocket --scenario connect --concurrency 64 --warmup $WARMUP --duration $DURATION" ;;
    polling100) echo "--transport eio-polling --connections 100 $echo" ;;
    polling1000) echo "--transport eio-polling --connections 1000 $echo" ;;
    ws100) echo "--transport eio-websocket --connections 100 $echo" ;;
    ws1000) echo "--transport eio-websocket --connections 1000 $echo" ;;
    *) die "unknown scenario $1" ;;
  esac
}

# --- runs ------------------------------------------------------------------------------
for scenario in "${SCENARIO_LIST[@]}"; do
  args=$(scenario_args "$scenario")
  # Runs interleave the servers, so that a machine that slows down for a while slows both.
  for run in $(seq "$RUNS"); do
    for server in "${SERVER_LIST[@]}"; do
      measure "$server" "$server-$scenario-$run" "http://127.0.0.1:PORT/engine.io/" 9 \
        '/s |latency|handshake \(|errors|warning|sb-loadgen:' "$args"
    done
  done
done

# --- table -----------------------------------------------------------------------------

echo_rows() {  # SCENARIO LABEL
  row "$2: messages/s" "$1" messages_per_s 0
  row "$2: messages per server-CPU-second" "$1" per_server_cpu_s 0
  row "$2: p50 latency (µs, lower is better)" "$1" latency_p50_us 0
  row "$2: p99 latency (µs, lower is better)" "$1" latency_p99_us 0
}

cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
  echo "## Engine.IO v4: Switchboard vs Node engine.io"
  echo
  echo "- command: \`$COMMAND_LINE\`"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $CPUS CPUs, $cpu_model, Linux $(uname -r); load average before the runs: $LOAD_BEFORE"
  echo "- node $(node --version), engine.io $(jq -r .version node_modules/engine.io/package.json 2>/dev/null || echo '?'); switchboard $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "- server pinned to CPU $SERVER_CPU, sb-loadgen (1 thread) to CPU $LOADGEN_CPU; $RUNS run(s) per cell, median; each run on a fresh server process"
  echo "- both servers: echo at /engine.io/, engine.io's default heartbeat (pingInterval 25 s, pingTimeout 20 s)"
  echo "- connect: 64 sessions in progress; polling = handshake GET + close-packet POST on one keep-alive connection, websocket = upgrade + open packet + WebSocket close; ${WARMUP} s warmup, ${DURATION} s window"
  echo "- echo: 32-byte binary messages, 8 in flight per session (polling: queued client-side, one POST in flight, one GET held; binary as base64), ${WARMUP} s warmup, ${DURATION} s window"
  echo
  echo "| metric | switchboard | node engine.io | switchboard ÷ node |"
  echo "|---|---:|---:|---:|"
  row "connect, polling: handshakes/s" connect-polling connections_per_s 0
  row "connect, polling: handshakes per server-CPU-second" connect-polling per_server_cpu_s 0
  row "connect, websocket: handshakes/s" connect-ws connections_per_s 0
  row "connect, websocket: handshakes per server-CPU-second" connect-ws per_server_cpu_s 0
  has_scenario polling100 && echo_rows polling100 "echo, polling, 100 sessions"
  has_scenario polling1000 && echo_rows polling1000 "echo, polling, 1,000 sessions"
  has_scenario ws100 && echo_rows ws100 "echo, websocket, 100 sessions"
  has_scenario ws1000 && echo_rows ws1000 "echo, websocket, 1,000 sessions"
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
  echo "Each run: \`taskset -c $LOADGEN_CPU $LOADGEN --transport eio-polling|eio-websocket <scenario flags> --url http://127.0.0.1:PORT/engine.io/ --server-pid PID\`,"
  echo "servers: \`taskset -c $SERVER_CPU $(server_command switchboard PORT)\` and \`taskset -c $SERVER_CPU $(server_command node PORT)\`."
} | tee "$OUT/table.md"
