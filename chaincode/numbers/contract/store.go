package contract

import (
	"encoding/json"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/statebased"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/fabmarket/fabmarket/chaincode/numbers/porting"
)

// caller returns the MSP ID of the submitting client.
func caller(ctx contractapi.TransactionContextInterface) (string, error) {
	ci := ctx.GetClientIdentity()
	if ci == nil {
		return "", porting.Errorf(porting.CodeForbidden, "", "no client identity")
	}
	msp, err := ci.GetMSPID()
	if err != nil {
		return "", porting.Wrap(porting.CodeInternal, err, "read client MSP ID")
	}
	if msp == "" {
		return "", porting.Errorf(porting.CodeForbidden, "", "empty client MSP ID")
	}
	return msp, nil
}

// txTime is the transaction timestamp (chosen by the client, the same on every endorser).
func txTime(stub shim.ChaincodeStubInterface) (time.Time, error) {
	ts, err := stub.GetTxTimestamp()
	if err != nil {
		return time.Time{}, porting.Wrap(porting.CodeInternal, err, "read transaction timestamp")
	}
	if ts == nil {
		return time.Time{}, porting.Errorf(porting.CodeInternal, "", "no transaction timestamp")
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, porting.Wrap(porting.CodeInternal, err, "transaction timestamp")
	}
	return ts.AsTime().UTC(), nil
}

// writeTime is the transaction timestamp of a writing transaction, refused (INVALID_ARGUMENT)
// when it is further than porting.MaxClockSkew from the endorsing peer's clock: deadlines are
// computed from it and the client chooses it. Read-only functions use txTime unchecked.
func (c *Contract) writeTime(stub shim.ChaincodeStubInterface) (time.Time, error) {
	now, err := txTime(stub)
	if err != nil {
		return time.Time{}, err
	}
	if err := porting.CheckTxTime(now, c.clock()); err != nil {
		return time.Time{}, err
	}
	return now, nil
}

// getJSON loads key into v; it reports false when the key does not exist.
func getJSON(stub shim.ChaincodeStubInterface, key string, v any) (bool, error) {
	b, err := stub.GetState(key)
	if err != nil {
		return false, porting.Wrap(porting.CodeInternal, err, "read state")
	}
	if b == nil {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, porting.Wrap(porting.CodeInternal, err, "decode stored record")
	}
	return true, nil
}

func putJSON(stub shim.ChaincodeStubInterface, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return porting.Wrap(porting.CodeInternal, err, "encode record")
	}
	if err := stub.PutState(key, b); err != nil {
		return porting.Wrap(porting.CodeInternal, err, "write state")
	}
	return nil
}

// loadNumber returns the number's record or NOT_FOUND.
func loadNumber(stub shim.ChaincodeStubInterface, number string) (porting.Number, string, error) {
	key, err := numberKey(stub, number)
	if err != nil {
		return porting.Number{}, "", err
	}
	var n porting.Number
	ok, err := getJSON(stub, key, &n)
	if err != nil {
		return porting.Number{}, "", err
	}
	if !ok {
		return porting.Number{}, "", porting.Errorf(porting.CodeNotFound, "number", "%s is not allocated", number)
	}
	return n, key, nil
}

// loadTransfer returns the number's current transfer, nil if it never had one.
func loadTransfer(stub shim.ChaincodeStubInterface, number string) (*porting.Transfer, string, error) {
	key, err := transferKey(stub, number)
	if err != nil {
		return nil, "", err
	}
	var t porting.Transfer
	ok, err := getJSON(stub, key, &t)
	if err != nil || !ok {
		return nil, key, err
	}
	return &t, key, nil
}

// loadPAC returns the number's code record, nil if none was ever issued.
func loadPAC(stub shim.ChaincodeStubInterface, number string) (*porting.PAC, string, error) {
	key, err := pacKey(stub, number)
	if err != nil {
		return nil, "", err
	}
	var p porting.PAC
	ok, err := getJSON(stub, key, &p)
	if err != nil || !ok {
		return nil, key, err
	}
	return &p, key, nil
}

// loadSettings returns the stored settings or the defaults.
func loadSettings(stub shim.ChaincodeStubInterface) (porting.Settings, error) {
	s := porting.DefaultSettings()
	ok, err := getJSON(stub, keySettings, &s)
	if err != nil {
		return porting.Settings{}, err
	}
	if ok {
		if err := s.Validate(); err != nil {
			return porting.Settings{}, porting.Wrap(porting.CodeInternal, err, "stored settings")
		}
	}
	return s, nil
}

// setOwnerPolicy gives key the key-level endorsement policy AND(regulator.peer, owner.peer).
func setOwnerPolicy(stub shim.ChaincodeStubInterface, key string, policy []byte) error {
	if err := stub.SetStateValidationParameter(key, policy); err != nil {
		return porting.Wrap(porting.CodeInternal, err, "set key-level endorsement policy")
	}
	return nil
}

// ownerPolicy is the serialized policy AND(regulator.peer, owner.peer).
func ownerPolicy(regulator, owner string) ([]byte, error) {
	ep, err := statebased.NewStateEP(nil)
	if err != nil {
		return nil, porting.Wrap(porting.CodeInternal, err, "new key-level policy")
	}
	if err := ep.AddOrgs(statebased.RoleTypePeer, regulator, owner); err != nil {
		return nil, porting.Wrap(porting.CodeInternal, err, "key-level policy orgs")
	}
	b, err := ep.Policy()
	if err != nil {
		return nil, porting.Wrap(porting.CodeInternal, err, "serialize key-level policy")
	}
	return b, nil
}

// moveIndex keeps the status index in step with a transfer's status change.
func moveIndex(stub shim.ChaincodeStubInterface, number, id string, from, to porting.Status) error {
	if from == to {
		return nil
	}
	if indexed(from) {
		k, err := indexKey(stub, from, number)
		if err != nil {
			return err
		}
		if err := stub.DelState(k); err != nil {
			return porting.Wrap(porting.CodeInternal, err, "delete index entry")
		}
	}
	if indexed(to) {
		k, err := indexKey(stub, to, number)
		if err != nil {
			return err
		}
		if err := stub.PutState(k, []byte(id)); err != nil {
			return porting.Wrap(porting.CodeInternal, err, "write index entry")
		}
	}
	return nil
}

// Event is the payload of every chaincode event; the event name is repeated in Name.
type Event struct {
	// Name is the event name (porting.Event*).
	Name string `json:"name"`
	// Number is the number concerned (the first one for a range).
	Number string `json:"number,omitempty" metadata:",optional"`
	// Last is the last number of a range allocation.
	Last string `json:"last,omitempty" metadata:",optional"`
	// Count is the size of a range allocation.
	Count int `json:"count,omitempty" metadata:",optional"`
	// Owner is the owner after the step.
	Owner string `json:"owner,omitempty" metadata:",optional"`
	// TransferID identifies the transfer.
	TransferID string `json:"transferId,omitempty" metadata:",optional"`
	// From is the releasing telco.
	From string `json:"from,omitempty" metadata:",optional"`
	// To is the requesting telco.
	To string `json:"to,omitempty" metadata:",optional"`
	// Status is the transfer (or code) status after the step.
	Status string `json:"status,omitempty" metadata:",optional"`
	// Applied is false when a late confirm or reject only escalated the transfer.
	Applied bool `json:"applied"`
	// EscalatedByDeadline says the step found the request past its deadline.
	EscalatedByDeadline bool `json:"escalatedByDeadline,omitempty" metadata:",optional"`
	// Decision is the Regulator's ruling.
	Decision string `json:"decision,omitempty" metadata:",optional"`
	// Actor is the caller's MSP ID.
	Actor string `json:"actor"`
	// TxID is the transaction ID.
	TxID string `json:"txId"`
	// Time is the transaction time.
	Time string `json:"time"`
}

func emit(stub shim.ChaincodeStubInterface, e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return porting.Wrap(porting.CodeInternal, err, "encode event")
	}
	if err := stub.SetEvent(e.Name, b); err != nil {
		return porting.Wrap(porting.CodeInternal, err, "set event")
	}
	return nil
}
