package contract

import (
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/fabmarket/fabmarket/chaincode/numbers/porting"
)

// Object types of the composite keys.
const (
	objNumber   = "num"
	objTransfer = "xfer"
	objPAC      = "pac"
	objIndex    = "xfer-status"
	objCustomer = "customer"
	keySettings = "settings"
)

func compositeKey(stub shim.ChaincodeStubInterface, obj string, attrs ...string) (string, error) {
	k, err := stub.CreateCompositeKey(obj, attrs)
	if err != nil {
		return "", porting.Wrap(porting.CodeInternal, err, "build %s key", obj)
	}
	return k, nil
}

func numberKey(stub shim.ChaincodeStubInterface, number string) (string, error) {
	return compositeKey(stub, objNumber, number)
}

func transferKey(stub shim.ChaincodeStubInterface, number string) (string, error) {
	return compositeKey(stub, objTransfer, number)
}

func pacKey(stub shim.ChaincodeStubInterface, number string) (string, error) {
	return compositeKey(stub, objPAC, number)
}

func indexKey(stub shim.ChaincodeStubInterface, status porting.Status, number string) (string, error) {
	return compositeKey(stub, objIndex, string(status), number)
}

func customerKey(stub shim.ChaincodeStubInterface, number, transferID string) (string, error) {
	return compositeKey(stub, objCustomer, number, transferID)
}

// indexed reports whether transfers of status s are in the status index.
func indexed(s porting.Status) bool { return s.Active() }
