#!/usr/bin/env bash
# Socket.IO v5 benchmark: Switchboard (examples/echo_server) against Node's `socket.io`
# (bench/node/sio-echo-server.js), both with their default settings and the same
# contract — "echo" comes back to its sender, a connection with room=1 in its handshake
# query joins room "room", "pub" goes to that room as "msg" — same load generator, same
# machine, server pinned to one CPU and sb-loadgen to another.
#
#   bench/run-sio.sh            # full run: every scenario 3 times, medians (~15 min)
#   bench/run-sio.sh --quick    # smoke test: 1 run each, short windows (~3 min)
#
# Options:
#   --quick               1 run per scenario, 1 s warmup, 3 s windows, 2,000 idle clients
#   --runs N              runs per scenario (default 3; the table shows the median)
#   --servers LIST        comma-separated, from: switchboard,node (default: both when
#                         available)
#   --scenarios LIST      comma-separated, from: connect-ws,connect-polling,echo100,
#                         echo1000,echo100-binary,fanout,fanout-max,idle (default: all)
#   --fanout-members N    clients in the fanout room (default 10,000; 1,000 with --quick)
#   --server-cpu N        CPU for the server (default 0)
#   --loadgen-cpu N       CPU for sb-loadgen (default 1)
#   --out DIR             where the raw JSON and logs go (default build/bench-results/sio-DATE)
#   --no-build            do not run cmake (use the binaries as they are)
#
# Each run starts a fresh server process (so the idle RSS baseline is a fresh server and
# one run's garbage does not slow the next) and stops it by PID afterwards. The table
# goes to stdout as Markdown; progress and logs go to stderr and to --out.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
COMMAND_LINE="bench/run-sio.sh${*:+ $*}"

QUICK=0
FANOUT_MEMBERS=""
RUNS=3
SERVERS=""
SCENARIOS="connect-ws,connect-polling,echo100,echo1000,echo100-binary,fanout,fanout-max,idle"
SERVER_CPU=0
LOADGEN_CPU=1
OUT=""
BUILD=1

usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; }

log() { echo "run-sio: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
READY_LINE="^listening on"

declare -A OWN_OPTIONS=([--scenarios]=SCENARIOS [--fanout-members]=FANOUT_MEMBERS)
parse_options "$@"

if ((QUICK)); then
  WARMUP=1; DURATION=3; IDLE_CONNECTIONS=2000; IDLE_HOLD=2
else
  WARMUP=2; DURATION=10; IDLE_CONNECTIONS=10000; IDLE_HOLD=10
fi
if ((QUICK)); then FANOUT_MEMBERS=${FANOUT_MEMBERS:-1000}; else FANOUT_MEMBERS=${FANOUT_MEMBERS:-10000}; fi
FANOUT_RATE=100

require_tools jq node taskset ss

BUILD_DIR=build/release
LOADGEN=$BUILD_DIR/bench/sb-loadgen
SWITCHBOARD=$BUILD_DIR/examples/echo_server

# --- build -------------------------------------------------------------------------
if ((BUILD)); then build_targets sb-loadgen echo_server; fi
[[ -x $LOADGEN ]] || die "$LOADGEN is missing (run without --no-build)"
[[ $("$LOADGEN" --help 2>&1) == *sio-polling* ]] || die "$LOADGEN does not know --transport sio-polling (rebuild it)"

# --- servers -------------------------------------------------------------------------
switchboard_ready() { [[ -x $SWITCHBOARD ]]; }
node_ready() { [[ -f node_modules/socket.io/package.json ]]; }

choose_servers "$SWITCHBOARD is missing (build the echo_server target)" "node_modules/socket.io is missing (npm ci)"
IFS=, read -r -a SCENARIO_LIST <<<"$SCENARIOS"

setup_pinning

# Both servers (and sb-loadgen) hold up to $IDLE_CONNECTIONS sockets.
begin_runs sio "$IDLE_CONNECTIONS"

server_command() {  # name port
  case $1 in
    switchboard) echo "$SWITCHBOARD --host 127.0.0.1 --port $2 --threads 1" ;;
    node) echo "node bench/node/sio-echo-server.js --host 127.0.0.1 --port $2" ;;
  esac
}

scenario_args() {  # scenario
  local window="--warmup $WARMUP --duration $DURATION"
  local echo="--transport sio-websocket --scenario echo --inflight 8 --size 32 $window"
  case $1 in
    connect-ws) echo "--transport sio-websocket --scenario connect --concurrency 64 $window" ;;
    connect-polling) echo "--transport sio-polling --scenario connect --concurrency 64 $window" ;;
    echo100) echo "--connections 100 --text $echo" ;;
    echo1000) echo "--connections 1000 --text $echo" ;;
    echo100-binary) echo "--connections 100 $echo" ;;
    fanout) echo "--transport sio-websocket --scenario fanout --connections $FANOUT_MEMBERS --rate $FANOUT_RATE --size 32 $window" ;;
    fanout-max) echo "--transport sio-websocket --scenario fanout --connections $FANOUT_MEMBERS --rate 0 --inflight 8 --size 32 $window" ;;
    idle) echo "--transport sio-websocket --scenario idle --connections $IDLE_CONNECTIONS --duration $IDLE_HOLD" ;;
    *) die "unknown scenario $1" ;;
  esac
}

# --- runs ------------------------------------------------------------------------------
for scenario in "${SCENARIO_LIST[@]}"; do
  args=$(scenario_args "$scenario")
  # Runs interleave the servers, so that a machine that slows down for a while slows both.
  for run in $(seq "$RUNS"); do
    for server in "${SERVER_LIST[@]}"; do
      measure "$server" "$server-$scenario-$run" "http://127.0.0.1:PORT/socket.io/" 10 \
        '/s |latency|handshake \(|RSS|errors|warning|sb-loadgen:' "$args"
    done
  done
done

# --- table -----------------------------------------------------------------------------

latency_rows() {  # SCENARIO LABEL
  row "$2: p50 latency (µs, lower is better)" "$1" latency_p50_us 0
  row "$2: p99 latency (µs, lower is better)" "$1" latency_p99_us 0
}

echo_rows() {  # SCENARIO LABEL
  has_scenario "$1" || return 0
  row "$2: messages/s" "$1" messages_per_s 0
  row "$2: messages per server-CPU-second" "$1" per_server_cpu_s 0
  latency_rows "$1" "$2"
}

cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
  echo "## Socket.IO v5: Switchboard vs Node socket.io"
  echo
  echo "- command: \`$COMMAND_LINE\`"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $CPUS CPUs, $cpu_model, Linux $(uname -r); load average before the runs: $LOAD_BEFORE"
  echo "- node $(node --version), socket.io $(jq -r .version node_modules/socket.io/package.json 2>/dev/null || echo '?') (engine.io $(jq -r .version node_modules/engine.io/package.json 2>/dev/null || echo '?'), ws $(jq -r .version node_modules/ws/package.json 2>/dev/null || echo '?')); switchboard $(git rev-parse --short HEAD 2>/dev/null || echo '?') (examples/echo_server)"
  echo "- server pinned to CPU $SERVER_CPU, sb-loadgen (1 thread) to CPU $LOADGEN_CPU; $RUNS run(s) per cell, median; each run on a fresh server process; both servers with their default settings (pingInterval 25 s)"
  echo "- connect: 64 in progress, each an Engine.IO handshake + CONNECT to \"/\" + its answer + DISCONNECT + Engine.IO close; websocket = upgrade, polling = one keep-alive connection whose requests take turns (handshake GET, CONNECT POST, GET of the answer, DISCONNECT + close POST); ${WARMUP} s warmup, ${DURATION} s window"
  echo "- echo (WebSocket only): 8 \`echo\` events in flight per client, one 32-byte argument: a string (\`42[\"echo\",\"…\"]\`), or binary (\`451-[…]\` + a binary attachment frame); ${WARMUP} s warmup, ${DURATION} s window"
  echo "- fanout: $FANOUT_MEMBERS WebSocket clients in room \"room\" (query room=1); one more client emits \`pub\` (a 32-byte string with its send time) at $FANOUT_RATE/s (\`fanout\`) or as fast as the room drains with at most 8 publications undelivered (\`fanout-max\`); the server emits it to the room as \`msg\`; latency = member's receive time − publisher's send time"
  echo "- idle: $IDLE_CONNECTIONS WebSocket clients connected (CONNECT answered) and silent for ${IDLE_HOLD} s; (server RSS at the end − RSS of the fresh server) ÷ clients; \"private\" counts RssAnon only (heap and stacks, without the binary's and libraries' pages that first use brings in); \"marginal\": the clients open in two halves, the server sampled 1 s after the first half is open, and (RSS at the end − RSS then) ÷ clients added since: the cost of one more client, without a fresh server's one-time costs (code paged in, first heap arenas)"
  echo
  echo "| metric | switchboard | node socket.io | switchboard ÷ node |"
  echo "|---|---:|---:|---:|"
  row "connect, websocket: connections/s" connect-ws connections_per_s 0
  row "connect, websocket: per server-CPU-second" connect-ws per_server_cpu_s 0
  row "connect, polling: connections/s" connect-polling connections_per_s 0
  row "connect, polling: per server-CPU-second" connect-polling per_server_cpu_s 0
  echo_rows echo100 "echo, 100 clients"
  echo_rows echo1000 "echo, 1,000 clients"
  echo_rows echo100-binary "echo, 100 clients, binary"
  if has_scenario fanout; then
    row "fanout $FANOUT_RATE/s to $FANOUT_MEMBERS: deliveries/s" fanout messages_per_s 0
    row "fanout $FANOUT_RATE/s to $FANOUT_MEMBERS: server CPU share (lower is better)" fanout server_cpu_share 3
    row "fanout $FANOUT_RATE/s to $FANOUT_MEMBERS: deliveries per server-CPU-second" fanout per_server_cpu_s 0
    latency_rows fanout "fanout $FANOUT_RATE/s to $FANOUT_MEMBERS"
  fi
  if has_scenario fanout-max; then
    row "fanout max to $FANOUT_MEMBERS: publications/s" fanout-max publications_per_s 0
    row "fanout max to $FANOUT_MEMBERS: deliveries/s" fanout-max messages_per_s 0
    row "fanout max to $FANOUT_MEMBERS: deliveries per server-CPU-second" fanout-max per_server_cpu_s 0
    latency_rows fanout-max "fanout max to $FANOUT_MEMBERS"
  fi
  row "idle, $(fmt $IDLE_CONNECTIONS 0) clients: RSS bytes per client (lower is better)" idle server_rss_per_connection_bytes 0
  row "idle, $(fmt $IDLE_CONNECTIONS 0) clients: private (anonymous) bytes per client (lower is better)" idle server_anon_rss_per_connection_bytes 0
  row "idle, $(fmt $IDLE_CONNECTIONS 0) clients: marginal RSS bytes per further client (lower is better)" idle server_rss_marginal_per_connection_bytes 0
  row "idle, $(fmt $IDLE_CONNECTIONS 0) clients: marginal private bytes per further client (lower is better)" idle server_anon_rss_marginal_per_connection_bytes 0
  row "idle, $(fmt $IDLE_CONNECTIONS 0) clients: clients still connected at the end" idle open_at_end 0
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
  echo "Each run: \`taskset -c $LOADGEN_CPU $LOADGEN --transport sio-websocket|sio-polling <scenario flags> --url http://127.0.0.1:PORT/socket.io/ --server-pid PID\`,"
  echo "servers: \`taskset -c $SERVER_CPU $(server_command switchboard PORT)\` and \`taskset -c $SERVER_CPU $(server_command node PORT)\`."
} | tee "$OUT/table.md"
