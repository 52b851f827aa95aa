// Package ccserver runs a fabric-contract-api chaincode as an external service (CCaaS) and
// gives every chaincode of this repository the same Version query.
//
// The peer reaches the process through the connection.json of its CCaaS package; the process
// learns its package id and listen address from CHAINCODE_ID and CHAINCODE_SERVER_ADDRESS, as
// the Fabric external-builder documentation prescribes.
package ccserver

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// BuildVersion is the version of the build, set with
// -ldflags "-X github.com/fabmarket/fabmarket/chaincode/internal/ccserver.BuildVersion=...".
var BuildVersion = "dev"

// VersionInfo is what the Version query returns.
type VersionInfo struct {
	Chaincode string   `json:"chaincode"`
	Version   string   `json:"version"`
	Contracts []string `json:"contracts"`
}

// VersionContract answers the Version query; it is registered by New next to the product
// contracts, under the name "version".
type VersionContract struct {
	contractapi.Contract
	info VersionInfo
}

// Version reports the chaincode name, its build version and the contracts it serves.
func (v *VersionContract) Version(ctx contractapi.TransactionContextInterface) (*VersionInfo, error) {
	info := v.info
	info.Contracts = append([]string(nil), v.info.Contracts...)
	return &info, nil
}

// New builds a chaincode named name from the given contracts plus the version and baseline
// contracts.
// The first contract is the default one (called without a "Name:" prefix).
func New(name string, contracts ...contractapi.ContractInterface) (*contractapi.ContractChaincode, error) {
	if name == "" {
		return nil, errors.New("ccserver: chaincode name is empty")
	}
	vc := newVersionContract(name, contracts)
	vc.Name = "version"
	bc := &BaselineContract{}
	bc.Name = "baseline"
	all := append(append([]contractapi.ContractInterface{}, contracts...), vc, bc)
	cc, err := contractapi.NewChaincode(all...)
	if err != nil {
		return nil, fmt.Errorf("ccserver: build chaincode %s: %w", name, err)
	}
	cc.Info.Title = name
	cc.Info.Version = BuildVersion
	if len(contracts) > 0 {
		if n, ok := contracts[0].(interface{ GetName() string }); ok {
			cc.DefaultContract = n.GetName()
		}
	}
	return cc, nil
}

// newVersionContract answers for chaincode name serving contracts plus baseline and version.
func newVersionContract(name string, contracts []contractapi.ContractInterface) *VersionContract {
	names := make([]string, 0, len(contracts)+2)
	for _, c := range contracts {
		if n, ok := c.(interface{ GetName() string }); ok && n.GetName() != "" {
			names = append(names, n.GetName())
		}
	}
	names = append(names, "baseline", "version")
	sort.Strings(names)
	return &VersionContract{info: VersionInfo{Chaincode: name, Version: BuildVersion, Contracts: names}}
}

// Serve runs cc as a chaincode server until the process is stopped. It reads CHAINCODE_ID
// (the package id the peers installed) and CHAINCODE_SERVER_ADDRESS (host:port to listen on).
func Serve(cc *contractapi.ContractChaincode) error {
	id := os.Getenv("CHAINCODE_ID")
	addr := os.Getenv("CHAINCODE_SERVER_ADDRESS")
	if id == "" || addr == "" {
		return errors.New("ccserver: CHAINCODE_ID and CHAINCODE_SERVER_ADDRESS must be set")
	}
	server := &shim.ChaincodeServer{
		CCID:     id,
		Address:  addr,
		CC:       cc,
		TLSProps: shim.TLSProperties{Disabled: true},
	}
	if err := server.Start(); err != nil {
		return fmt.Errorf("ccserver: serve %s on %s: %w", id, addr, err)
	}
	return nil
}
