package ccserver

import (
	"errors"
	"fmt"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// BaselineContract is the trivial put-state transaction that end-to-end benchmarks measure
// themselves against (scripts/bench-fabric.sh): one key written, nothing read. It is served by
// every chaincode of the repository as the contract "baseline"; its keys live under the prefix
// "baseline/" so that they can never collide with product state.
type BaselineContract struct {
	contractapi.Contract
}

const baselinePrefix = "baseline/"

// MaxBaselineKey and MaxBaselineValue bound the arguments of Put.
const (
	MaxBaselineKey   = 128
	MaxBaselineValue = 4096
)

func checkBaselineKey(key string) error {
	if key == "" {
		return errors.New("key: must not be empty")
	}
	if len(key) > MaxBaselineKey {
		return fmt.Errorf("key: longer than %d bytes", MaxBaselineKey)
	}
	return nil
}

// Put writes value under key.
func (b *BaselineContract) Put(ctx contractapi.TransactionContextInterface, key, value string) error {
	if err := checkBaselineKey(key); err != nil {
		return err
	}
	if len(value) > MaxBaselineValue {
		return fmt.Errorf("value: longer than %d bytes", MaxBaselineValue)
	}
	return ctx.GetStub().PutState(baselinePrefix+key, []byte(value))
}

// Get reads the value under key; an unknown key is an error.
func (b *BaselineContract) Get(ctx contractapi.TransactionContextInterface, key string) (string, error) {
	if err := checkBaselineKey(key); err != nil {
		return "", err
	}
	v, err := ctx.GetStub().GetState(baselinePrefix + key)
	if err != nil {
		return "", err
	}
	if v == nil {
		return "", fmt.Errorf("key %q: not found", key)
	}
	return string(v), nil
}
