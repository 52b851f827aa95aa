# Builds and caches the Fabric v2.5.0 binaries from the Go module proxy. Source after common.sh.
#
# The binaries are built from network/tools (a module of its own, so Fabric's dependency graph
# stays out of the product's go.mod) into $FABRIC_HOME/bin, together with the sample node
# configs of the same module version. A stamp holding the hash of network/tools/go.sum makes a
# second run a no-op; a changed go.sum rebuilds.

FABRIC_CMDS=(peer orderer configtxgen cryptogen osnadmin configtxlator)

fabric_stamp() { sha256sum "$NET/tools/go.sum" | cut -c1-16; }

fabric_ready() {
  local c
  [[ -f $FABRIC_HOME/stamp && $(cat "$FABRIC_HOME/stamp") == "$(fabric_stamp)" ]] || return 1
  for c in "${FABRIC_CMDS[@]}"; do [[ -x $FABRIC_HOME/bin/$c ]] || return 1; done
  [[ -f $FABRIC_HOME/config/core.yaml && -f $FABRIC_HOME/config/orderer.yaml ]]
}

ensure_tools() {
  local missing=() t
  for t in curl jq perl tar gzip setsid sha256sum; do command -v "$t" >/dev/null || missing+=("$t"); done
  command -v go >/dev/null || die "Go is required (https://go.dev/dl); it was not found on PATH"
  ((${#missing[@]} == 0)) && return 0
  log "installing missing tools: ${missing[*]}"
  local sudo=""
  [[ $(id -u) == 0 ]] || sudo=sudo
  $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq "${missing[@]/setsid/util-linux}" >/dev/null ||
    die "could not install ${missing[*]}; install them and run again"
}

ensure_fabric() {
  ensure_tools
  if fabric_ready; then return 0; fi
  log "building Fabric v$FABRIC_VERSION binaries into $FABRIC_HOME (once; about 2-4 min)"
  local pkgs=() c src
  for c in "${FABRIC_CMDS[@]}"; do pkgs+=("github.com/hyperledger/fabric/cmd/$c"); done
  mkdir -p "$FABRIC_HOME/bin" "$FABRIC_HOME/config"
  (
    cd "$NET/tools"
    go build -trimpath \
      -ldflags "-X github.com/hyperledger/fabric/common/metadata.Version=$FABRIC_VERSION" \
      -o "$FABRIC_HOME/bin/" "${pkgs[@]}"
  ) || die "building Fabric failed (see the go output above)"
  src=$(cd "$NET/tools" && go list -m -f '{{.Dir}}' github.com/hyperledger/fabric) ||
    die "cannot locate the Fabric module source"
  cp "$src/sampleconfig/core.yaml" "$src/sampleconfig/orderer.yaml" "$FABRIC_HOME/config/"
  chmod u+w "$FABRIC_HOME/config/"*.yaml
  fabric_stamp >"$FABRIC_HOME/stamp"
  log "Fabric binaries ready: $("$FABRIC_HOME/bin/peer" version | sed -n 's/^ Version: //p')"
}
