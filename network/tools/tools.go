//go:build tools

// Package tools pins the Hyperledger Fabric v2.5.0 commands that scripts/network.sh builds
// into a cache outside the repository. It is a module of its own so that Fabric's old
// dependency graph never leaks into the product's go.mod.
package tools

import (
	_ "github.com/hyperledger/fabric/cmd/configtxgen"
	_ "github.com/hyperledger/fabric/cmd/configtxlator"
	_ "github.com/hyperledger/fabric/cmd/cryptogen"
	_ "github.com/hyperledger/fabric/cmd/orderer"
	_ "github.com/hyperledger/fabric/cmd/osnadmin"
	_ "github.com/hyperledger/fabric/cmd/peer"
)
