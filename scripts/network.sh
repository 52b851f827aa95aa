#!/usr/bin/env bash
# Runs the consortium's Fabric 2.5 network as native processes (no Docker).
#
#   network.sh up [--nodes "LIST"]      everything: binaries, crypto, 3 orderers, 4 peers, channels
#                                       market/payments/numbers, chaincodes exchange and numbers,
#                                       gateways and watcher; idempotent; prints where all listens
#   network.sh down                     stop what these scripts started (by pid), remove network/run
#   network.sh createChannel -c NAME    create channel NAME (profile <Name>Channel) and join all nodes
#   network.sh deployCC -ccn NAME       package as CCaaS, install, approve, commit, start, wait
#   network.sh generate                 crypto material, rendered configs and channel blocks only
#   network.sh status                   every node: pid, address, health
#   network.sh start|stop|kill NODE     one node (orderer0..2, peer0.org1.., cc.exchange, cc.numbers,
#                                       gateway.org1.., watcher, watchdog); kill = SIGKILL
#   network.sh heights [CHANNEL]        block height of every orderer and peer
#   network.sh watchdog                 run the orderer watchdog in the foreground (up starts it)
#
# Hosts and ports come from network/network.conf (environment variables of the same names win).
# --nodes limits up/start to the named nodes, for a layout with each org on its own machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/fabric.sh"
load_conf

NODES_FILTER=${NODES:-}
CC_NAMES=(exchange numbers)
BUILD_VERSION=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo dev)

wanted() { [[ -z $NODES_FILTER ]] || [[ " $NODES_FILTER " == *" $1 "* ]]; }

# ---------------------------------------------------------------------------------------------
# Generated material

generate() {
  mkdir -p "$RUN/config/peer" "$RUN/config/orderer" "$RUN/config/configtx" "$RUN/channels" "$LOGS" "$PIDS"
  export CRYPTO
  if [[ ! -f $CRYPTO/.done ]]; then
    log "generating crypto material (cryptogen)"
    render "$REPO/crypto-config.yaml" "$RUN/config/crypto-config.yaml"
    rm -rf "$CRYPTO"
    "$FABRIC_HOME/bin/cryptogen" generate --config="$RUN/config/crypto-config.yaml" --output="$CRYPTO" >"$LOGS/cryptogen.log" 2>&1 ||
      die "cryptogen failed: $(tail -3 "$LOGS/cryptogen.log")"
    touch "$CRYPTO/.done"
  fi
  render "$REPO/configtx.yaml" "$RUN/config/configtx/configtx.yaml"
  # The sample core.yaml with two changes: no Docker endpoint (otherwise /healthz answers 503),
  # and our chaincode-as-a-service builder.
  sed -e 's#^\(\s*endpoint:\) unix:///var/run/docker.sock#\1 ""#' \
    -e "s#^\(\s*path:\) /opt/hyperledger/ccaas_builder#\1 $NET/builders/ccaas#" \
    "$FABRIC_HOME/config/core.yaml" >"$RUN/config/peer/core.yaml"
  grep -q 'endpoint: ""' "$RUN/config/peer/core.yaml" || die "could not set vm.endpoint in core.yaml"
  grep -q "path: $NET/builders/ccaas" "$RUN/config/peer/core.yaml" || die "could not add the external builder to core.yaml"
  cp "$FABRIC_HOME/config/orderer.yaml" "$RUN/config/orderer/orderer.yaml"
  local ch
  for ch in "${CHANNELS[@]}"; do channel_block "$ch"; done
  gen_apikeys
}

# Development API keys of the REST gateways, one random key per org, made once.
gen_apikeys() (
  local f=$RUN/apikeys.json o sep=""
  [[ -s $f ]] && exit 0
  mkdir -p "$RUN"
  umask 077
  {
    printf '{'
    for o in "${ORGS[@]}"; do
      printf '%s"%s": "%s"' "$sep" "$o" "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
      sep=", "
    done
    printf '}\n'
  } >"$f.tmp"
  mv "$f.tmp" "$f"
)

profile_of() { echo "${1^}Channel"; }

channel_block() {
  local ch=$1
  [[ -f $RUN/channels/$ch.block ]] && return 0
  grep -q "^  $(profile_of "$ch"):" "$REPO/configtx.yaml" || die "configtx.yaml has no profile $(profile_of "$ch") for channel $ch"
  FABRIC_CFG_PATH=$RUN/config/configtx "$FABRIC_HOME/bin/configtxgen" -profile "$(profile_of "$ch")" \
    -channelID "$ch" -outputBlock "$RUN/channels/$ch.block" >>"$LOGS/configtxgen.log" 2>&1 ||
    die "configtxgen failed for $ch: $(tail -3 "$LOGS/configtxgen.log")"
}

# ---------------------------------------------------------------------------------------------
# Orderers and peers

start_orderer() {
  local i=$1 d host
  d=$(ord_dir "$i")
  host=$(conf "ORDERER${i}_HOST")
  wanted "orderer$i" || return 0
  mkdir -p "$DATA/orderer$i"
  start_node "orderer$i" "$host" "$(conf "ORDERER${i}_PORT")" env \
    FABRIC_CFG_PATH="$RUN/config/orderer" \
    FABRIC_LOGGING_SPEC="${ORDERER_LOGGING_SPEC:-INFO}" \
    ORDERER_GENERAL_LISTENADDRESS="$host" \
    ORDERER_GENERAL_LISTENPORT="$(conf "ORDERER${i}_PORT")" \
    ORDERER_GENERAL_LOCALMSPID=OrdererMSP \
    ORDERER_GENERAL_LOCALMSPDIR="$d/msp" \
    ORDERER_GENERAL_TLS_ENABLED=true \
    ORDERER_GENERAL_TLS_PRIVATEKEY="$d/tls/server.key" \
    ORDERER_GENERAL_TLS_CERTIFICATE="$d/tls/server.crt" \
    ORDERER_GENERAL_TLS_ROOTCAS="[$d/tls/ca.crt]" \
    ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE="$d/tls/server.crt" \
    ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY="$d/tls/server.key" \
    ORDERER_GENERAL_CLUSTER_ROOTCAS="[$d/tls/ca.crt]" \
    ORDERER_GENERAL_BOOTSTRAPMETHOD=none \
    ORDERER_CHANNELPARTICIPATION_ENABLED=true \
    ORDERER_ADMIN_LISTENADDRESS="$(ord_admin "$i")" \
    ORDERER_ADMIN_TLS_ENABLED=true \
    ORDERER_ADMIN_TLS_CERTIFICATE="$d/tls/server.crt" \
    ORDERER_ADMIN_TLS_PRIVATEKEY="$d/tls/server.key" \
    ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED=true \
    ORDERER_ADMIN_TLS_CLIENTROOTCAS="[$d/tls/ca.crt]" \
    ORDERER_OPERATIONS_LISTENADDRESS="$(ord_ops "$i")" \
    ORDERER_METRICS_PROVIDER=prometheus \
    ORDERER_FILELEDGER_LOCATION="$DATA/orderer$i" \
    ORDERER_CONSENSUS_WALDIR="$DATA/orderer$i/etcdraft/wal" \
    ORDERER_CONSENSUS_SNAPDIR="$DATA/orderer$i/etcdraft/snapshot" \
    "$FABRIC_HOME/bin/orderer"
}

start_peer() {
  local o=$1 d host port
  wanted "peer0.$o" || return 0
  d=$(peer_dir "$o")
  host=$(conf "$(okey "$o")_PEER_HOST")
  port=$(conf "$(okey "$o")_PEER_PORT")
  mkdir -p "$DATA/peer0.$o"
  # Gossip reconnect 5 s instead of 25 s: otherwise discovery cannot see another org's peer for
  # up to ~30 s after the joins, and the gateway cannot build an endorsement plan. Block pull and
  # state info every 10 s instead of 4 s: with one peer per org there is no one to pull blocks
  # from (each peer takes them from the orderers), and gossip was the largest CPU load of a
  # network at rest (about 16 % of both cores after a restart, 31 % after an hour; 12 % with 10 s).
  start_node "peer0.$o" "$host" "$port" env \
    FABRIC_CFG_PATH="$RUN/config/peer" \
    FABRIC_LOGGING_SPEC="${PEER_LOGGING_SPEC:-INFO}" \
    CORE_PEER_ID="peer0.$o.example.com" \
    CORE_PEER_LOCALMSPID="$(msp_id "$o")" \
    CORE_PEER_MSPCONFIGPATH="$d/msp" \
    CORE_PEER_LISTENADDRESS="$host:$port" \
    CORE_PEER_ADDRESS="$host:$port" \
    CORE_PEER_CHAINCODELISTENADDRESS="$host:$(conf "$(okey "$o")_PEER_CC_PORT")" \
    CORE_PEER_CHAINCODEADDRESS="$host:$(conf "$(okey "$o")_PEER_CC_PORT")" \
    CORE_PEER_GOSSIP_BOOTSTRAP="$host:$port" \
    CORE_PEER_GOSSIP_EXTERNALENDPOINT="$host:$port" \
    CORE_PEER_GOSSIP_RECONNECTINTERVAL=5s \
    CORE_PEER_GOSSIP_PULLINTERVAL="${PEER_GOSSIP_PULL_INTERVAL:-10s}" \
    CORE_PEER_GOSSIP_PUBLISHSTATEINFOINTERVAL="${PEER_GOSSIP_STATEINFO_INTERVAL:-10s}" \
    CORE_PEER_GOSSIP_REQUESTSTATEINFOINTERVAL="${PEER_GOSSIP_STATEINFO_INTERVAL:-10s}" \
    CORE_PEER_TLS_ENABLED=true \
    CORE_PEER_TLS_CERT_FILE="$d/tls/server.crt" \
    CORE_PEER_TLS_KEY_FILE="$d/tls/server.key" \
    CORE_PEER_TLS_ROOTCERT_FILE="$d/tls/ca.crt" \
    CORE_PEER_FILESYSTEMPATH="$DATA/peer0.$o" \
    CORE_PEER_GATEWAY_ENABLED=true \
    CORE_LEDGER_STATE_STATEDATABASE=goleveldb \
    CORE_OPERATIONS_LISTENADDRESS="$host:$(conf "$(okey "$o")_PEER_OPS_PORT")" \
    CORE_METRICS_PROVIDER=prometheus \
    "$FABRIC_HOME/bin/peer" node start
}

osnadmin_on() {
  local i=$1
  shift
  osnadmin_cli "$@" -o "$(ord_admin "$i")" --ca-file "$(ORDERER_CA)" \
    --client-cert "$(ORDERER_ADMIN_TLS)/client.crt" --client-key "$(ORDERER_ADMIN_TLS)/client.key"
}

join_orderers() {
  local ch=$1 i out
  for i in "${ORDERERS[@]}"; do
    wanted "orderer$i" || continue
    out=$(osnadmin_on "$i" channel list --channelID "$ch" 2>&1 || true)
    if grep -q 'Status: 200' <<<"$out"; then continue; fi
    out=$(osnadmin_on "$i" channel join --channelID "$ch" --config-block "$RUN/channels/$ch.block" 2>&1) ||
      die "orderer$i could not join $ch: $out"
    grep -q 'Status: 201' <<<"$out" || die "orderer$i could not join $ch: $out"
  done
}

join_peers() {
  local ch=$1 o
  for o in "${ORGS[@]}"; do
    wanted "peer0.$o" || continue
    (
      as_admin "$o"
      joined=$(peer_cli channel list 2>/dev/null || true)
      grep -qx "$ch" <<<"$joined" && exit 0
      retry 10 1 peer_cli channel join -b "$RUN/channels/$ch.block" >>"$LOGS/cli.log" 2>&1 ||
        die "peer0.$o could not join $ch (see $LOGS/cli.log)"
    )
  done
}

create_channel() {
  local ch=$1
  channel_block "$ch"
  join_orderers "$ch"
  join_peers "$ch"
}

# ---------------------------------------------------------------------------------------------
# Chaincode as a service

cc_channels() {
  case $1 in
    exchange) echo "market payments" ;;
    numbers) echo "numbers" ;;
    *) die "unknown chaincode $1 (known: ${CC_NAMES[*]})" ;;
  esac
}
cc_policy() {
  case $1 in
    exchange) echo "OutOf(2, 'Org1MSP.peer','Org2MSP.peer','Org3MSP.peer','RegulatorMSP.peer')" ;;
    numbers) echo "AND('RegulatorMSP.peer', OutOf(2, 'Org1MSP.peer','Org2MSP.peer','Org3MSP.peer'))" ;;
  esac
}
cc_collections() { [[ $1 == numbers ]] && echo "$REPO/collections_config.json" || true; }
cc_key() { echo "${1^^}_CC"; }
CC_VERSION=1.0
CC_SEQUENCE=1

build_binary() { # NAME PACKAGE
  mkdir -p "$RUN/bin"
  (cd "$REPO" && go build -trimpath -o "$RUN/bin/$1" \
    -ldflags "-X github.com/fabmarket/fabmarket/chaincode/internal/ccserver.BuildVersion=$BUILD_VERSION" "$2") ||
    die "building $2 failed"
}

# A reproducible CCaaS package: fixed mtimes, owners and order, gzip without a timestamp, so
# the package id is the same on every rebuild and every machine.
cc_package() {
  local name=$1 dir=$RUN/pkg/$1
  rm -rf "$dir"
  mkdir -p "$dir/src"
  printf '{"address":"%s:%s","dial_timeout":"10s","tls_required":false}\n' \
    "$(conf "$(cc_key "$name")_HOST")" "$(conf "$(cc_key "$name")_PORT")" >"$dir/src/connection.json"
  printf '{"type":"ccaas","label":"%s_%s"}\n' "$name" "$CC_VERSION" >"$dir/metadata.json"
  local tarflags=(--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner)
  tar "${tarflags[@]}" -C "$dir/src" -cf - connection.json | gzip -n >"$dir/code.tar.gz"
  tar "${tarflags[@]}" -C "$dir" -cf - metadata.json code.tar.gz | gzip -n >"$RUN/pkg/$name.tar.gz"
  peer_cli lifecycle chaincode calculatepackageid "$RUN/pkg/$name.tar.gz" >"$RUN/pkg/$name.id"
}

start_chaincode() {
  local name=$1
  wanted "cc.$name" || return 0
  [[ -f $RUN/pkg/$name.id ]] || cc_package "$name"
  [[ -x $RUN/bin/$name-cc ]] || build_binary "$name-cc" "./chaincode/$name"
  local host port
  host=$(conf "$(cc_key "$name")_HOST")
  port=$(conf "$(cc_key "$name")_PORT")
  start_node "cc.$name" "$host" "$port" env CHAINCODE_ID="$(cat "$RUN/pkg/$name.id")" \
    CHAINCODE_SERVER_ADDRESS="$host:$port" "$RUN/bin/$name-cc"
  wait_port "$host" "$port" 20 "cc.$name"
}

deploy_cc() {
  local name=$1 ch o pkgid
  cc_channels "$name" >/dev/null
  build_binary "$name-cc" "./chaincode/$name"
  cc_package "$name"
  pkgid=$(cat "$RUN/pkg/$name.id")
  for o in "${ORGS[@]}"; do
    wanted "peer0.$o" || continue
    (
      as_admin "$o"
      installed=$(peer_cli lifecycle chaincode queryinstalled 2>/dev/null || true)
      [[ $installed == *"$pkgid"* ]] && exit 0
      retry 3 2 peer_cli lifecycle chaincode install "$RUN/pkg/$name.tar.gz" >>"$LOGS/cli.log" 2>&1 ||
        die "installing $name on peer0.$o failed (see $LOGS/cli.log)"
    )
  done
  # A redeploy runs the freshly built code: the package (an address) is unchanged, the process not.
  stop_node "cc.$name"
  start_chaincode "$name"
  for ch in $(cc_channels "$name"); do approve_and_commit "$name" "$ch" "$pkgid"; done
  wait_chaincode "$name"
}

approve_and_commit() {
  local name=$1 ch=$2 pkgid=$3 o coll
  (
    as_admin org1
    peer_cli lifecycle chaincode querycommitted -C "$ch" -n "$name" >/dev/null 2>&1
  ) && return 0
  local def=(--channelID "$ch" --name "$name" --version "$CC_VERSION" --sequence "$CC_SEQUENCE"
    --signature-policy "$(cc_policy "$name")")
  coll=$(cc_collections "$name")
  [[ -n $coll ]] && def+=(--collections-config "$coll")
  local ord=(-o "$(ord_addr 0)" --tls --cafile "$(ORDERER_CA)")
  local readiness
  readiness=$(as_admin org1 && peer_cli lifecycle chaincode checkcommitreadiness "${def[@]}" --output json 2>>"$LOGS/cli.log") ||
    die "checkcommitreadiness for $name on $ch failed (see $LOGS/cli.log)"
  local pids=()
  for o in "${ORGS[@]}"; do
    [[ $(jq -r --arg m "$(msp_id "$o")" '.approvals[$m]' <<<"$readiness") == true ]] && continue
    (
      as_admin "$o"
      retry 3 2 peer_cli lifecycle chaincode approveformyorg "${ord[@]}" "${def[@]}" --package-id "$pkgid" \
        >>"$LOGS/cli.log" 2>&1 || die "approving $name on $ch for $o failed (see $LOGS/cli.log)"
    ) &
    pids+=($!)
  done
  local p
  for p in "${pids[@]}"; do wait "$p" || exit 1; done
  local peers=()
  for o in "${ORGS[@]}"; do peers+=(--peerAddresses "$(peer_addr "$o")" --tlsRootCertFiles "$(peer_tlsca "$o")"); done
  (
    as_admin org1
    retry 10 1 peer_cli lifecycle chaincode checkcommitreadiness "${def[@]}" --output json 2>/dev/null |
      jq -e '[.approvals[]] | all' >/dev/null || die "not every org approved $name on $ch"
    retry 3 2 peer_cli lifecycle chaincode commit "${ord[@]}" "${def[@]}" "${peers[@]}" >>"$LOGS/cli.log" 2>&1 ||
      die "committing $name on $ch failed (see $LOGS/cli.log)"
  )
}

# The chaincode answers on every channel it is defined on, from every peer's point of view.
wait_chaincode() {
  local name=$1 ch
  for ch in $(cc_channels "$name"); do
    (
      as_admin org1
      retry 30 1 peer_cli chaincode query -C "$ch" -n "$name" -c '{"Args":["version:Version"]}' >"$RUN/pkg/$name.$ch.version" 2>>"$LOGS/cli.log" ||
        die "$name does not answer on $ch (see $LOGS/cc.$name.log and $LOGS/cli.log)"
    )
  done
}

# ---------------------------------------------------------------------------------------------
# Services of this repository that run beside the network (started once they exist)

start_services() {
  local o
  if [[ -d $REPO/gateway/cmd/gateway ]]; then
    gen_apikeys
    [[ -x $RUN/bin/gateway ]] || build_binary gateway ./gateway/cmd/gateway
    for o in "${ORGS[@]}"; do start_gateway "$o"; done
  fi
  if [[ -d $REPO/watcher/cmd/watcher ]]; then start_watcher; fi
}

start_gateway() {
  local o=$1 host port
  wanted "gateway.$o" || return 0
  gen_apikeys
  [[ -x $RUN/bin/gateway ]] || build_binary gateway ./gateway/cmd/gateway
  host=$(conf "$(okey "$o")_GATEWAY_HOST")
  port=$(conf "$(okey "$o")_GATEWAY_PORT")
  start_node "gateway.$o" "$host" "$port" "$RUN/bin/gateway" --org "$o" --network-conf "$CONF" --run-dir "$RUN"
  wait_port "$host" "$port" 30 "gateway.$o"
}

start_watcher() {
  local host port
  wanted watcher || return 0
  [[ -x $RUN/bin/watcher ]] || build_binary watcher ./watcher/cmd/watcher
  host=$(conf WATCHER_HOST)
  port=$(conf WATCHER_PORT)
  start_node watcher "$host" "$port" "$RUN/bin/watcher" --network-conf "$CONF" --run-dir "$RUN" \
    --nats-listen "$host:$(conf WATCHER_NATS_PORT)" --webhook-allow-private
  wait_port "$host" "$port" 30 watcher
}

# ---------------------------------------------------------------------------------------------
# Orderer watchdog (Fabric v2.5.0 restart deadlock, issue 4199)
#
# Prevention is SnapshotIntervalSize 16 KB in configtx.yaml. Belt and braces: an orderer whose
# height on a channel has not moved for WATCHDOG_LAG seconds while both others are higher, with
# a leader among the others and the others level (within 2 blocks), is killed, its Raft WAL and
# snapshot of that channel moved aside (the block ledger is kept), and restarted: it rejoins as
# a follower and catches up. `osnadmin channel remove` is never used: on a stuck node it hangs.

# orderer_state ORDERER: one scrape of the orderer's metrics, printed as "CHANNEL HEIGHT LEADER"
# lines. One curl and one awk per orderer and round: scraping once per channel and metric
# spawned 72 processes every round, about 5 % of both cores under load.
orderer_state() {
  curl -s -m 2 "http://$(ord_ops "$1")/metrics" 2>/dev/null | awk '
    /^(ledger_blockchain_height|consensus_etcdraft_is_leader)\{channel="[^"]*"\} / {
      split($0, q, "\""); v = $2; sub(/\..*/, "", v)
      if ($1 ~ /^ledger/) h[q[2]] = v; else l[q[2]] = v
    }
    END { for (c in h) print c, h[c], ((c in l) ? l[c] : 0) }'
}

# forget FILE: remove a watchdog state file; no rm process when there is none (the usual case).
forget() { [[ ! -e $1 ]] || rm -f "$1"; }

# watchdog_check CHANNEL: reads this round's heights H and leader flags L (keyed ORDERER.CHANNEL,
# set by watchdog_loop); prints what it did; returns 3 after a recovery.
watchdog_check() {
  local ch=$1 v a b hv ha hb la lb state since hs age lo diff rc=0
  for v in "${ORDERERS[@]}"; do
    a=$(((v + 1) % 3)) b=$(((v + 2) % 3))
    hv=${H[$v.$ch]:-} ha=${H[$a.$ch]:-} hb=${H[$b.$ch]:-}
    state=$RUN/watchdog/$ch.orderer$v
    if [[ -z $hv || -z $ha || -z $hb ]]; then forget "$state"; continue; fi
    lo=$((ha < hb ? ha : hb))
    if ((hv >= lo)); then forget "$state"; continue; fi
    if ! { read -r since hs <"$state"; } 2>/dev/null || [[ $hs != "$hv" ]]; then
      echo "$EPOCHSECONDS $hv" >"$state"
      continue
    fi
    age=$((EPOCHSECONDS - since))
    ((age >= ${WATCHDOG_LAG:-20})) || continue
    diff=$((ha > hb ? ha - hb : hb - ha))
    la=${L[$a.$ch]:-0} lb=${L[$b.$ch]:-0}
    if [[ $la != 1 && $lb != 1 ]]; then log "watchdog: orderer$v stuck on $ch at $hv, but no leader among the others: left alone"; continue; fi
    if ((diff > 2)); then log "watchdog: orderer$v stuck on $ch, but the others differ by $diff blocks: left alone"; continue; fi
    log "watchdog: orderer$v STUCK on $ch: height $hv for ${age}s while the others are at $ha/$hb; recovering"
    recover_orderer "$v" "$ch"
    rm -f "$state"
    rc=3
  done
  return $rc
}

recover_orderer() { # ORDERER CHANNEL
  local v=$1 ch=$2 d aside
  d=$DATA/orderer$v/etcdraft
  aside=$DATA/orderer$v/aside-$(date +%Y%m%d%H%M%S)-$ch
  stop_node "orderer$v" KILL
  mkdir -p "$aside"
  [[ -d $d/wal/$ch ]] && mv "$d/wal/$ch" "$aside/wal"
  [[ -d $d/snapshot/$ch ]] && mv "$d/snapshot/$ch" "$aside/snapshot"
  start_orderer "$v"
  wait_port "$(conf "ORDERER${v}_HOST")" "$(conf "ORDERER${v}_PORT")" 30 "orderer$v"
  log "watchdog: orderer$v restarted with an empty Raft log for $ch (old WAL/snapshot in $aside)"
}

watchdog_loop() {
  mkdir -p "$RUN/watchdog"
  log "watchdog: watching orderers on ${CHANNELS[*]} every ${WATCHDOG_INTERVAL:-5}s"
  local v c h l ch
  local -A H L
  while :; do
    H=() L=()
    for v in "${ORDERERS[@]}"; do
      while read -r c h l; do H[$v.$c]=$h L[$v.$c]=$l; done < <(orderer_state "$v")
    done
    for ch in "${CHANNELS[@]}"; do watchdog_check "$ch" || true; done
    sleep "${WATCHDOG_INTERVAL:-5}"
  done
}

start_watchdog() {
  wanted watchdog || return 0
  running watchdog && return 0
  mkdir -p "$LOGS" "$PIDS"
  setsid nohup "$REPO/scripts/network.sh" watchdog >>"$LOGS/watchdog.log" 2>&1 </dev/null &
  echo $! >"$PIDS/watchdog.pid"
}

# ---------------------------------------------------------------------------------------------
# Commands

all_nodes() {
  local i o c
  for i in "${ORDERERS[@]}"; do echo "orderer$i"; done
  for o in "${ORGS[@]}"; do echo "peer0.$o"; done
  for c in "${CC_NAMES[@]}"; do echo "cc.$c"; done
  for o in "${ORGS[@]}"; do echo "gateway.$o"; done
  echo watcher
  echo watchdog
}

node_address() {
  case $1 in
    orderer*) ord_addr "${1#orderer}" ;;
    peer0.*) peer_addr "${1#peer0.}" ;;
    cc.*) echo "$(conf "$(cc_key "${1#cc.}")_HOST"):$(conf "$(cc_key "${1#cc.}")_PORT")" ;;
    gateway.*) echo "$(conf "$(okey "${1#gateway.}")_GATEWAY_HOST"):$(conf "$(okey "${1#gateway.}")_GATEWAY_PORT")" ;;
    watcher) echo "$(conf WATCHER_HOST):$(conf WATCHER_PORT)" ;;
    watchdog) echo "-" ;;
    *) die "unknown node $1 (known: $(all_nodes | tr '\n' ' '))" ;;
  esac
}

start_one() {
  local n=$1
  case $n in
    orderer*) start_orderer "${n#orderer}" && wait_port "$(conf "ORDERER${n#orderer}_HOST")" "$(conf "ORDERER${n#orderer}_PORT")" 30 "$n" ;;
    peer0.*) start_peer "${n#peer0.}" && wait_port "${CORE_HOST:-$(conf "$(okey "${n#peer0.}")_PEER_HOST")}" "$(conf "$(okey "${n#peer0.}")_PEER_PORT")" 60 "$n" ;;
    cc.*) start_chaincode "${n#cc.}" ;;
    gateway.*) start_gateway "${n#gateway.}" ;;
    watcher) start_watcher ;;
    watchdog) start_watchdog ;;
    *) node_address "$n" >/dev/null ;;
  esac
}

cmd_up() {
  local t0=$SECONDS i o ch c
  ensure_fabric
  generate
  for i in "${ORDERERS[@]}"; do start_orderer "$i"; done
  for o in "${ORGS[@]}"; do start_peer "$o"; done
  for i in "${ORDERERS[@]}"; do wanted "orderer$i" && wait_port "$(conf "ORDERER${i}_HOST")" "$(conf "ORDERER${i}_ADMIN_PORT")" 30 "orderer$i"; done
  for ch in "${CHANNELS[@]}"; do join_orderers "$ch"; done
  for o in "${ORGS[@]}"; do wanted "peer0.$o" && wait_port "$(conf "$(okey "$o")_PEER_HOST")" "$(conf "$(okey "$o")_PEER_PORT")" 60 "peer0.$o"; done
  for ch in "${CHANNELS[@]}"; do join_peers "$ch"; done
  start_watchdog
  if [[ -z $NODES_FILTER ]]; then
    for c in "${CC_NAMES[@]}"; do deploy_cc "$c"; done
  else
    for c in "${CC_NAMES[@]}"; do wanted "cc.$c" && start_chaincode "$c"; done
  fi
  start_services
  log "network up in $((SECONDS - t0)) s"
  cmd_status
}

cmd_down() {
  local n
  for n in $(all_nodes | tac); do stop_node "$n"; done
  # Processes whose pid files were lost cannot be told apart from someone else's: say so.
  rm -rf "$RUN"
  log "network down; generated state removed ($RUN)"
}

cmd_status() {
  local n p addr state rss
  printf '%-18s %-8s %-22s %-8s %s\n' NODE PID ADDRESS RSS STATE
  for n in $(all_nodes); do
    addr=$(node_address "$n")
    rss=-
    if running "$n"; then
      p=$(pid_of "$n") state=running
      rss=$(awk '/^VmRSS/ {printf "%dMB", $2/1024}' "/proc/$p/status" 2>/dev/null || echo -)
    else p=- state=stopped; fi
    [[ $state == stopped && ! -f $PIDS/$n.pid ]] && [[ $n == gateway.* || $n == watcher ]] && [[ ! -x $RUN/bin/${n%%.*} ]] && state="not built yet"
    printf '%-18s %-8s %-22s %-8s %s\n' "$n" "$p" "$addr" "$rss" "$state"
  done
  if [[ -f $RUN/apikeys.json ]]; then echo "API keys: $RUN/apikeys.json"; fi
  echo "logs: $LOGS"
}

cmd_heights() {
  local ch=${1:-market} i o
  for i in "${ORDERERS[@]}"; do printf 'orderer%s %s\n' "$i" "$(orderer_state "$i" | awk -v c="$ch" '$1 == c { print $2 }')"; done
  for o in "${ORGS[@]}"; do
    printf 'peer0.%s %s\n' "$o" "$(curl -s -m 2 "http://$(conf "$(okey "$o")_PEER_HOST"):$(conf "$(okey "$o")_PEER_OPS_PORT")/metrics" |
      sed -n "s/^ledger_blockchain_height{channel=\"$ch\"} \([0-9]*\).*/\1/p")"
  done
}

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  local args=()
  while [[ $# -gt 0 ]]; do
    case $1 in
      --nodes) NODES_FILTER=$2; shift 2 ;;
      -c) CHANNEL_ARG=$2; shift 2 ;;
      -ccn) CCN_ARG=$2; shift 2 ;;
      *) args+=("$1"); shift ;;
    esac
  done
  case $cmd in
    up) cmd_up ;;
    down) cmd_down ;;
    generate) ensure_fabric && generate ;;
    createChannel)
      [[ -n ${CHANNEL_ARG:-} ]] || die "createChannel needs -c NAME"
      ensure_fabric; generate; create_channel "$CHANNEL_ARG" ;;
    deployCC)
      [[ -n ${CCN_ARG:-} ]] || die "deployCC needs -ccn NAME (${CC_NAMES[*]})"
      ensure_fabric; deploy_cc "$CCN_ARG" ;;
    status) cmd_status ;;
    heights) cmd_heights "${args[@]}" ;;
    start) [[ ${#args[@]} -gt 0 ]] || die "start needs a node name"; for n in "${args[@]}"; do start_one "$n"; done ;;
    stop) [[ ${#args[@]} -gt 0 ]] || die "stop needs a node name"; for n in "${args[@]}"; do node_address "$n" >/dev/null; stop_node "$n"; done ;;
    kill) [[ ${#args[@]} -gt 0 ]] || die "kill needs a node name"; for n in "${args[@]}"; do node_address "$n" >/dev/null; stop_node "$n" KILL; done ;;
    watchdog) watchdog_loop ;;
    -h | --help | help | "") usage ;;
    *) usage; die "unknown command $cmd" ;;
  esac
}

main "$@"
