#!/usr/bin/env bash
# Chat simulation (issue 5): the `switchboard` binary (its default configuration: the
# chat contract of DESIGN.md, no JWT) against bench/node/chat-server.js (the same
# contract on npm `socket.io`), under the same load from sb-loadgen's chat scenario:
# --clients Socket.IO clients over WebSocket in --rooms rooms, each joining its room,
# then every --period seconds emitting `typing` and, a second later, `send-message`
# with an ack; every member of the room (the sender too) gets each message as
# `new-message`. Server pinned to one CPU, sb-loadgen to another.
#
#   bench/run-chat.sh            # full run: 10,000 clients, 100 rooms, 3 runs per server (~6 min)
#   bench/run-chat.sh --quick    # smoke test: 1,000 clients in 10 rooms, 1 run, 10 s (~30 s)
#
# Options:
#   --clients N           clients (default 10,000; 1,000 with --quick)
#   --rooms N             rooms; client i joins room i % N (default 100; 10 with --quick)
#   --period S            seconds between one client's messages (default 10)
#   --duration S          measured window in seconds (default 30; 10 with --quick)
#   --warmup S            seconds of load before the window (default 5; 2 with --quick)
#   --quick               1 run, the smaller defaults above
#   --runs N              runs per server (default 3; the table shows the median)
#   --servers LIST        comma-separated, from: switchboard,node (default: both when
#                         available)
#   --server-cpu N        CPU for the server (default 0)
#   --loadgen-cpu N       CPU for sb-loadgen (default 1)
#   --out DIR             where the raw JSON and logs go (default build/bench-results/chat-DATE)
#   --no-build            do not run cmake (use the binaries as they are)
#
# Each run starts a fresh server process and stops it by PID afterwards. The table goes
# to stdout as Markdown; progress and logs go to stderr and to --out.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
COMMAND_LINE="bench/run-chat.sh${*:+ $*}"

QUICK=0
RUNS=3
SERVERS=""
SERVER_CPU=0
LOADGEN_CPU=1
OUT=""
BUILD=1
CLIENTS=""
ROOMS=""
PERIOD=10
DURATION=""
WARMUP=""

usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; }
log() { echo "run-chat: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
READY_LINE="listening on"

declare -A OWN_OPTIONS=([--clients]=CLIENTS [--rooms]=ROOMS [--period]=PERIOD [--duration]=DURATION [--warmup]=WARMUP)
parse_options "$@"

if ((QUICK)); then
  CLIENTS=${CLIENTS:-1000}; ROOMS=${ROOMS:-10}; DURATION=${DURATION:-10}; WARMUP=${WARMUP:-2}
else
  CLIENTS=${CLIENTS:-10000}; ROOMS=${ROOMS:-100}; DURATION=${DURATION:-30}; WARMUP=${WARMUP:-5}
fi

require_tools jq node taskset ss

BUILD_DIR=build/release
LOADGEN=$BUILD_DIR/bench/sb-loadgen
SWITCHBOARD=$BUILD_DIR/switchboard

# --- build -------------------------------------------------------------------------
if ((BUILD)); then build_targets sb-loadgen switchboard; fi
[[ -x $LOADGEN ]] || die "$LOADGEN is missing (run without --no-build)"
# Not `| grep -q`: with pipefail, grep leaving at the first match fails the pipeline.
[[ $("$LOADGEN" --help 2>&1) == *--rooms* ]] || die "$LOADGEN has no chat scenario (rebuild it)"

# --- servers -------------------------------------------------------------------------
switchboard_ready() { [[ -x $SWITCHBOARD ]]; }
node_ready() { [[ -f node_modules/socket.io/package.json ]]; }

choose_servers "$SWITCHBOARD is missing (build the switchboard target)" "node_modules/socket.io is missing (npm ci)"
SCENARIO_LIST=(chat)

setup_pinning

# Both servers (and sb-loadgen) hold up to $CLIENTS sockets.
begin_runs chat "$CLIENTS"

server_command() {  # name port
  case $1 in
    # env -u: the default configuration has no auth, whatever this shell exports.
    switchboard) echo "env -u JWT_SECRET -u SWITCHBOARD_API_KEY $SWITCHBOARD --host 127.0.0.1 --port $2 --threads 1" ;;
    node) echo "node bench/node/chat-server.js --host 127.0.0.1 --port $2" ;;
  esac
}

# Opening: every join sends user-joined to the room so far (about 500,000 packets for
# 10,000 clients in rooms of 100), which keeps a slow server busy while the others
# connect; fewer handshakes at a time and a 30 s handshake timeout (socket.io-client
# waits 20 s) let every client in, so that both servers carry the same load.
LOADGEN_ARGS="--transport sio-websocket --scenario chat --connections $CLIENTS --rooms $ROOMS --period $PERIOD --warmup $WARMUP --duration $DURATION --ramp-concurrency 500 --handshake-timeout 30 --ramp-timeout 600"

# --- runs ------------------------------------------------------------------------------
# Runs interleave the servers, so that a machine that slows down for a while slows both.
for run in $(seq "$RUNS"); do
  for server in "${SERVER_LIST[@]}"; do
    measure "$server" "$server-chat-$run" "http://127.0.0.1:PORT/socket.io/" all \
      '^(all open|ramp ended|joined|deliveries|typing|chat errors|latency|server|errors|warning|sb-loadgen:)' "$LOADGEN_ARGS"
  done
done

# --- table -----------------------------------------------------------------------------

MiB=1048576
messages_per_s=$(awk -v c="$CLIENTS" -v p="$PERIOD" 'BEGIN { printf "%.0f", c / p }')
room_size=$(awk -v c="$CLIENTS" -v r="$ROOMS" 'BEGIN { printf "%.0f", c / r }')
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
  echo "## Chat simulation: Switchboard vs Node socket.io"
  echo
  echo "- command: \`$COMMAND_LINE\`"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $CPUS CPUs, $cpu_model, Linux $(uname -r); load average before the runs: $LOAD_BEFORE"
  echo "- node $(node --version), socket.io $(jq -r .version node_modules/socket.io/package.json 2>/dev/null || echo '?') (bench/node/chat-server.js); switchboard $(git rev-parse --short HEAD 2>/dev/null || echo '?') (the binary, default configuration, \`--threads 1\`)"
  echo "- server pinned to CPU $SERVER_CPU, sb-loadgen (1 thread) to CPU $LOADGEN_CPU; $RUNS run(s) per server, median; each run on a fresh server process"
  echo "- load: $(fmt "$CLIENTS" 0) Socket.IO clients over WebSocket in $ROOMS rooms (~$room_size each); each joins its room, then every $PERIOD s (from a random point of its first period) emits \`typing\` and 1 s later \`send-message\` with an ack (a 32-character text): ~$(fmt "$messages_per_s" 0) messages/s, each delivered to the ~$room_size members of its room, sender included; ${WARMUP} s warmup, ${DURATION} s window"
  echo "- latency: a member's receive time of \`new-message\` − the sender's send time written into the message (both in sb-loadgen, one clock); every delivery is checked byte for byte and for gaps in each sender's numbers"
  echo
  echo "| metric | switchboard | node socket.io | switchboard ÷ node |"
  echo "|---|---:|---:|---:|"
  row "messages sent/s (the offered load)" chat chat_messages_per_s 0
  row "new-message deliveries/s" chat messages_per_s 0
  row "user-typing deliveries/s" chat chat_typing_deliveries_per_s 0
  row "server CPU share (1.00 = one core; lower is better)" chat server_cpu_share 3
  row "deliveries per server-CPU-second" chat per_server_cpu_s 0
  row "p50 delivery latency (µs, lower is better)" chat latency_p50_us 0
  row "p99 delivery latency (µs, lower is better)" chat latency_p99_us 0
  row "server RSS at the end (MiB, lower is better)" chat server_rss_end_bytes 1 "$MiB"
  row "server peak RSS (MiB, lower is better)" chat server_rss_peak_bytes 1 "$MiB"
  row "clients still connected at the end" chat open_at_end 0
  echo
  echo "CPU used, and time spent runnable but waiting for a CPU that another process held"
  echo "(medians, as a share of the window; a wait above ~0.05 means the machine was busy);"
  echo "errors over all runs: connect and handshake failures, drops, protocol errors, and"
  echo "mismatches (lost messages, refused or out-of-order acks, rate-limited notices,"
  echo "deliveries not as sent or to the wrong room):"
  echo
  echo "| server | server CPU | server waited | sb-loadgen CPU | sb-loadgen waited | errors | of which lost messages |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for server in "${SERVER_LIST[@]}"; do
    echo "| $server | $(fmt "$(median "$server" chat server_cpu_share)" 2) | $(fmt "$(median "$server" chat server_runqueue_wait_share)" 2) | $(fmt "$(median "$server" chat loadgen_cpu_share)" 2) | $(fmt "$(median "$server" chat loadgen_runqueue_wait_share)" 2) | $(total "$server" chat errors) | $(total "$server" chat chat_lost) |"
  done
  echo
  echo "Each run: \`taskset -c $LOADGEN_CPU $LOADGEN $LOADGEN_ARGS --url http://127.0.0.1:PORT/socket.io/ --server-pid PID\`,"
  echo "servers: \`taskset -c $SERVER_CPU $SWITCHBOARD --host 127.0.0.1 --port PORT --threads 1\` and \`taskset -c $SERVER_CPU node bench/node/chat-server.js --port PORT\`."
} | tee "$OUT/table.md"
