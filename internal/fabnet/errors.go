package fabnet

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"google.golang.org/grpc/status"
)

// Detail is what one peer or orderer said about a failed call: the gateway service attaches
// them to its gRPC status, and they hold the real cause (a chaincode error message, "connection
// refused" from a stopped chaincode, a policy failure).
type Detail struct {
	MSPID   string
	Address string
	Message string
}

// Details extracts the per-node details of a fabric-gateway error, sorted by MSP ID and
// address so that they read the same every time. It returns nil when there are none.
func Details(err error) []Detail {
	st, ok := status.FromError(err)
	if !ok {
		// The fabric-gateway error types wrap the gRPC status; errors.As-style unwrapping
		// is what status.FromError does, so nothing else to try.
		return nil
	}
	var out []Detail
	for _, d := range st.Details() {
		if ed, ok := d.(*gateway.ErrorDetail); ok {
			out = append(out, Detail{MSPID: ed.GetMspId(), Address: ed.GetAddress(), Message: ed.GetMessage()})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].MSPID != out[j].MSPID {
			return out[i].MSPID < out[j].MSPID
		}
		return out[i].Address < out[j].Address
	})
	return out
}

// Describe renders err with its per-node details on one line.
func Describe(err error) string {
	if err == nil {
		return ""
	}
	ds := Details(err)
	if len(ds) == 0 {
		return err.Error()
	}
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%s@%s: %s", d.MSPID, d.Address, d.Message)
	}
	return err.Error() + " [" + strings.Join(parts, "; ") + "]"
}
