# Shared settings and helpers for scripts/*.sh. Source it; it sets nothing else in motion.
#
# Layout:
#   network/network.conf      hosts and ports of every node (the one config file)
#   network/run/              everything generated: crypto, rendered configs, channel blocks,
#                             ledgers (data/), logs/, pids/, built binaries (bin/), packages
#   $FABRIC_HOME              Fabric binaries built from the Go module proxy, outside the repo

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NET=$REPO/network
RUN=${FABMARKET_RUN:-$NET/run}
CONF=${FABMARKET_CONF:-$NET/network.conf}
CACHE=${FABMARKET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fabmarket}
FABRIC_VERSION=2.5.0
FABRIC_HOME=$CACHE/fabric-v$FABRIC_VERSION
CRYPTO=$RUN/crypto
LOGS=$RUN/logs
PIDS=$RUN/pids
DATA=$RUN/data

ORDERERS=(0 1 2)
ORGS=(org1 org2 org3 regulator)
CHANNELS=(market payments numbers)

# Load network.conf: KEY=VALUE lines; an environment variable of the same name wins.
load_conf() {
  local line key val
  [[ -f $CONF ]] || die "config file $CONF not found"
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^([A-Z0-9_]+)=(.*)$ ]] || die "$CONF: cannot read line: $line"
    key=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
    if [[ -z ${!key+x} ]]; then export "$key=$val"; else export "$key"; fi
  done <"$CONF"
}

log()  { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

# Upper-case prefix of an org's keys in network.conf (org1 -> ORG1).
okey() { printf '%s' "${1^^}"; }
# conf NAME: the value of a config key, failing clearly when it is missing.
conf() { [[ -n ${!1:-} ]] || die "$1 is not set in $CONF"; printf '%s' "${!1}"; }

msp_id() {
  case $1 in
    org1) echo Org1MSP ;; org2) echo Org2MSP ;; org3) echo Org3MSP ;;
    regulator) echo RegulatorMSP ;; *) die "unknown org $1" ;;
  esac
}
org_dir()   { echo "$CRYPTO/peerOrganizations/$1.example.com"; }
peer_dir()  { echo "$(org_dir "$1")/peers/peer0.$1.example.com"; }
peer_addr() { echo "$(conf "$(okey "$1")_PEER_HOST"):$(conf "$(okey "$1")_PEER_PORT")"; }
peer_tlsca() { echo "$(peer_dir "$1")/tls/ca.crt"; }
ord_dir()   { echo "$CRYPTO/ordererOrganizations/example.com/orderers/orderer$1.example.com"; }
ord_addr()  { echo "$(conf "ORDERER$1_HOST"):$(conf "ORDERER$1_PORT")"; }
ord_admin() { echo "$(conf "ORDERER$1_HOST"):$(conf "ORDERER$1_ADMIN_PORT")"; }
ord_ops()   { echo "$(conf "ORDERER$1_HOST"):$(conf "ORDERER$1_OPS_PORT")"; }
ORDERER_CA() { echo "$CRYPTO/ordererOrganizations/example.com/tlsca/tlsca.example.com-cert.pem"; }
ORDERER_ADMIN_TLS() { echo "$CRYPTO/ordererOrganizations/example.com/users/Admin@example.com/tls"; }

# The Fabric CLIs from the cache, configured by the rendered core.yaml.
peer_cli()      { FABRIC_CFG_PATH=$RUN/config/peer "$FABRIC_HOME/bin/peer" "$@"; }
osnadmin_cli()  { "$FABRIC_HOME/bin/osnadmin" "$@"; }

# as_admin ORG: point the peer CLI at ORG's peer as ORG's admin (exports; use in a subshell).
as_admin() {
  export CORE_PEER_LOCALMSPID
  CORE_PEER_LOCALMSPID=$(msp_id "$1")
  export CORE_PEER_MSPCONFIGPATH="$(org_dir "$1")/users/Admin@$1.example.com/msp"
  export CORE_PEER_ADDRESS
  CORE_PEER_ADDRESS=$(peer_addr "$1")
  export CORE_PEER_TLS_ENABLED=true
  export CORE_PEER_TLS_ROOTCERT_FILE
  CORE_PEER_TLS_ROOTCERT_FILE=$(peer_tlsca "$1")
  # Never set CORE_PEER_TLS_SERVERHOSTOVERRIDE: the CLI applies it to every --peerAddresses.
  unset CORE_PEER_TLS_SERVERHOSTOVERRIDE
}

# Host:port reachability (bash's /dev/tcp: no external tool needed).
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
# wait_port HOST PORT SECONDS WHAT
wait_port() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    port_open "$1" "$2" && return 0
    sleep 0.1
  done
  die "$4 did not open $1:$2 within $3 s (log: $LOGS/$4.log)"
}

# Process bookkeeping: every process we start has $PIDS/<node>.pid; we stop only those.
pid_of()   { [[ -f $PIDS/$1.pid ]] && cat "$PIDS/$1.pid"; }
running()  { local p; p=$(pid_of "$1") && [[ -n $p ]] && kill -0 "$p" 2>/dev/null; }

# start_node NODE HOST PORT CMD...: start CMD detached with its output in $LOGS/NODE.log,
# unless NODE is already running. Refuses when the port is taken by someone else.
start_node() {
  local node=$1 host=$2 port=$3
  shift 3
  if running "$node"; then return 0; fi
  if port_open "$host" "$port"; then
    die "port $port on $host (needed by $node) is already in use by another process; stop it or change $CONF"
  fi
  mkdir -p "$LOGS" "$PIDS"
  setsid nohup "$@" >>"$LOGS/$node.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$node.pid"
}

# stop_node NODE [SIGNAL]: SIGTERM (or SIGNAL), wait up to 10 s, then SIGKILL.
stop_node() {
  local node=$1 sig=${2:-TERM} p i
  p=$(pid_of "$node") || return 0
  if [[ -n $p ]] && kill -0 "$p" 2>/dev/null; then
    kill "-$sig" "$p" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$PIDS/$node.pid"
}

# render SRC DST: copy SRC with every ${NAME} replaced by the environment's NAME (must be set).
render() {
  RENDER_SRC=$1 perl -pe 's/\$\{([A-Z0-9_]+)\}/defined $ENV{$1} ? $ENV{$1} : die "render: \${$1} used in $ENV{RENDER_SRC} is not set\n"/ge' "$1" >"$2"
}

# retry N SECONDS CMD...: run CMD until it succeeds, at most N times, SECONDS apart.
retry() {
  local n=$1 pause=$2 i
  shift 2
  for ((i = 1; i <= n; i++)); do
    "$@" && return 0
    ((i < n)) && sleep "$pause"
  done
  return 1
}
