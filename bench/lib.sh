# shellcheck shell=bash
# Shared by bench/run-ws.sh, run-eio.sh, run-sio.sh and run-chat.sh (sourced): the options
# every harness takes, pinning, starting and stopping one pinned server, free ports, and
# the Markdown table's medians, totals and ratios.
#
# The sourcing script defines: log, die, usage, server_command NAME PORT, OUT, RUNS,
# SERVER_LIST, SCENARIO_LIST, SERVER_PID (""), and READY_LINE (a pattern the server's
# log must show besides the open port; empty: the port alone).

# common_option "$@": takes the option in $1 if it is one every harness has — --quick,
# --runs N, --servers LIST, --server-cpu N, --loadgen-cpu N, --out DIR, --no-build,
# -h/--help — and sets QUICK, RUNS, SERVERS, SERVER_CPU, LOADGEN_CPU, OUT or BUILD;
# COMMON_USED says how many words it took (0: not one of these).
# shellcheck disable=SC2034  # the sourcing script's variables
common_option() {
  COMMON_USED=2
  case "$1" in
    --runs|--servers|--server-cpu|--loadgen-cpu|--out)
      (($# >= 2)) || die "$1 needs a value (see --help)" ;;
  esac
  case "$1" in
    --quick) QUICK=1; RUNS=1; COMMON_USED=1 ;;
    --no-build) BUILD=0; COMMON_USED=1 ;;
    --runs) RUNS=$2 ;;
    --servers) SERVERS=$2 ;;
    --server-cpu) SERVER_CPU=$2 ;;
    --loadgen-cpu) LOADGEN_CPU=$2 ;;
    --out) OUT=$2 ;;
    -h|--help) usage; exit 0 ;;
    *) COMMON_USED=0 ;;
  esac
}

# parse_options "$@": the harness's own options, each taking a value into the variable
# that the associative array OWN_OPTIONS (declared by the sourcing script) names for it,
# then common_option's; anything else stops the script, pointing at --help.
parse_options() {
  while (($#)); do
    if [[ -n $1 && -n ${OWN_OPTIONS[$1]+set} ]]; then
      (($# >= 2)) || die "$1 needs a value (see --help)"
      printf -v "${OWN_OPTIONS[$1]}" '%s' "$2"
      shift 2
      continue
    fi
    common_option "$@"
    ((COMMON_USED)) || { echo "$(basename "$0"): unknown option $1 (see --help)" >&2; exit 2; }
    shift "$COMMON_USED"
  done
}

# setup_pinning: PIN_SERVER and PIN_LOADGEN (taskset to SERVER_CPU, LOADGEN_CPU), empty
# on a one-CPU machine; CPUS.
# shellcheck disable=SC2034  # the sourcing script's variables
setup_pinning() {
  CPUS=$(nproc)
  PIN_SERVER=(taskset -c "$SERVER_CPU")
  PIN_LOADGEN=(taskset -c "$LOADGEN_CPU")
  if ((CPUS < 2)); then
    log "only $CPUS CPU: not pinning (server and load generator share it)"
    PIN_SERVER=(); PIN_LOADGEN=()
  fi
}

# Dies unless every tool named is on PATH.
require_tools() {
  local tool
  for tool in "$@"; do command -v "$tool" >/dev/null || die "needs $tool"; done
}

# Configures $BUILD_DIR if it has never been, and builds only the targets a benchmark
# runs (the rest of the tree may be mid-edit).
build_targets() {  # TARGET...
  if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
    log "configuring the release tree (cmake --preset release)"
    cmake --preset release >&2
  fi
  log "building $* ($BUILD_DIR)"
  local target
  for target in "$@"; do cmake --build "$BUILD_DIR" --target "$target" >&2 || die "cannot build $target"; done
}

# SERVER_LIST: the --servers given, or each server whose switchboard_ready / node_ready
# (defined by the script) says yes; every server chosen must be ready.
choose_servers() {  # WHY_SWITCHBOARD_IS_NOT_READY WHY_NODE_IS_NOT_READY
  if [[ -z $SERVERS ]]; then
    if switchboard_ready; then SERVERS="switchboard"; else log "skipping switchboard: $1"; fi
    if node_ready; then SERVERS="${SERVERS:+$SERVERS,}node"; else log "skipping node: $2"; fi
  fi
  [[ -n $SERVERS ]] || die "no server to benchmark"
  IFS=, read -r -a SERVER_LIST <<<"$SERVERS"
  local s
  for s in "${SERVER_LIST[@]}"; do
    case $s in
      switchboard) switchboard_ready || die "switchboard: $1" ;;
      node) node_ready || die "node: $2" ;;
      *) die "unknown server $s" ;;
    esac
  done
}

# Before the first run: the open-file limit for SOCKETS (if given), the load average,
# the results folder ($OUT, or build/bench-results/NAME-DATE), and the traps that stop a
# server left running.
begin_runs() {  # NAME [SOCKETS]
  if [[ -n ${2:-} ]]; then
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    (( $(ulimit -n) >= $2 + 100 )) || log "warning: ulimit -n $(ulimit -n) is below the $2 sockets the runs hold"
  fi
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
  OUT=${OUT:-build/bench-results/$1-$(date +%Y%m%d-%H%M%S)}
  mkdir -p "$OUT"
  log "raw results in $OUT"
  SERVER_PID=""
  trap stop_server EXIT
  trap 'exit 130' INT TERM
}

stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# A port nobody listens on now (the kernel picks it; the server binds it right after).
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start_server() {  # name port logfile
  local command
  command=$(server_command "$1" "$2")
  # taskset execs the server, so $! is the server's own PID.
  # shellcheck disable=SC2086
  "${PIN_SERVER[@]}" $command >"$3" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    if { [[ -z ${READY_LINE:-} ]] || grep -q "$READY_LINE" "$3" 2>/dev/null; } && ss -Hltn "sport = :$2" | grep -q .; then
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$3" >&2; die "$1 exited at start"; }
    sleep 0.1
  done
  die "$1 did not open port $2 within 10 s"
}

# median SERVER SCENARIO JQ_FIELD: the median over the runs that produced a number.
# measure SERVER NAME URL LINES SUMMARY ARGS: one run — SERVER started on a free port
# (PORT in URL becomes it), `sb-loadgen ARGS --url URL` pinned against it, its JSON
# report in $OUT/NAME.json and its log in $OUT/NAME.log, of whose last LINES lines ("all":
# every line) those matching the regex SUMMARY are shown; then the server stops.
measure() {
  local server=$1 name=$2 port url lines=$4 summary=$5 args=$6
  port=$(free_port)
  url=${3//PORT/$port}
  start_server "$server" "$port" "$OUT/$name.server.log"
  log "$name: sb-loadgen $args --url $url --server-pid $SERVER_PID"
  # shellcheck disable=SC2086  # ARGS are words
  if ! "${PIN_LOADGEN[@]}" "$LOADGEN" $args --url "$url" \
      --server-pid "$SERVER_PID" --quiet >"$OUT/$name.json" 2>"$OUT/$name.log"; then
    log "$name: sb-loadgen failed:"; tail -5 "$OUT/$name.log" >&2
  fi
  if [[ $lines == all ]]; then cat "$OUT/$name.log"; else tail -n "$lines" "$OUT/$name.log"; fi |
    grep -E "$summary" | sed "s/^/  /" >&2 || true
  stop_server
}

median() {
  local values
  values=$(for run in $(seq "$RUNS"); do
    f="$OUT/$1-$2-$run.json"
    [[ -s $f ]] && jq -r ".$3 // empty" "$f" 2>/dev/null
  done | sort -g)
  [[ -n $values ]] || { echo ""; return; }
  awk '{v[NR]=$1} END {if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2] + v[NR/2+1]) / 2}' <<<"$values"
}
total() {  # SERVER SCENARIO JQ_FIELD: the sum over the runs
  for run in $(seq "$RUNS"); do
    f="$OUT/$1-$2-$run.json"
    [[ -s $f ]] && jq -r ".$3 // 0" "$f" 2>/dev/null
  done | awk '{s += $1} END {print s + 0}'
}

fmt() {  # VALUE DECIMALS: 1234567.8 0 -> 1,234,568
  [[ -n $1 ]] || { echo "—"; return; }
  awk -v v="$1" -v d="$2" 'BEGIN {
    s = sprintf("%." d "f", v); sign = ""
    if (substr(s, 1, 1) == "-") { sign = "-"; s = substr(s, 2) }
    dot = index(s, "."); int_part = dot ? substr(s, 1, dot - 1) : s; frac = dot ? substr(s, dot) : ""
    out = ""
    while (length(int_part) > 3) { out = "," substr(int_part, length(int_part) - 2) out; int_part = substr(int_part, 1, length(int_part) - 3) }
    print sign int_part out frac
  }'
}

ratio() {  # A B
  [[ -n $1 && -n $2 ]] || { echo "—"; return; }
  awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "—"; else printf "%.2f×\n", a / b }'
}

has() { local x; for x in "${SERVER_LIST[@]}"; do [[ $x == "$1" ]] && return 0; done; return 1; }
has_scenario() { local x; for x in "${SCENARIO_LIST[@]}"; do [[ $x == "$1" ]] && return 0; done; return 1; }

row() {  # LABEL SCENARIO FIELD DECIMALS [DIVISOR: shown as value ÷ DIVISOR, e.g. 1048576 for MiB]
  has_scenario "$2" || return 0
  local sb="" nd=""
  has switchboard && sb=$(median switchboard "$2" "$3")
  has node && nd=$(median node "$2" "$3")
  echo "| $1 | $(fmt "$(scaled "$sb" "${5:-1}")" "$4") | $(fmt "$(scaled "$nd" "${5:-1}")" "$4") | $(ratio "$sb" "$nd") |"
}

scaled() {  # VALUE DIVISOR: empty stays empty, and DIVISOR 1 leaves VALUE as it is
  [[ -n $1 && $2 != 1 ]] || { echo "$1"; return; }
  awk -v v="$1" -v d="$2" 'BEGIN { printf "%.6f\n", v / d }'
}
