package fabric

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func statusWithDetail(t *testing.T, code codes.Code, msg, detail string) error {
	t.Helper()
	st := status.New(code, msg)
	st, err := st.WithDetails(&gateway.ErrorDetail{Address: "peer0.org1:7051", MspId: "Org1MSP", Message: detail})
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"funds in detail", statusWithDetail(t, codes.Aborted, "failed to endorse transaction, see attached details for more info",
			"chaincode response 500, INSUFFICIENT_FUNDS: account a1 has 10 USD available"), 422, "INSUFFICIENT_FUNDS"},
		{"not found in message", status.Error(codes.Unknown, "evaluate call to endorser returned error: chaincode response 500, NOT_FOUND: account x does not exist"), 404, "NOT_FOUND"},
		{"forbidden", statusWithDetail(t, codes.Aborted, "failed", "chaincode response 500, FORBIDDEN: only RegulatorMSP lists instruments"), 403, "FORBIDDEN"},
		{"conflict", statusWithDetail(t, codes.Aborted, "failed", "chaincode response 500, CONFLICT: account a exists"), 409, "CONFLICT"},
		{"invalid", statusWithDetail(t, codes.Aborted, "failed", "chaincode response 500, INVALID_ARGUMENT: field price: x"), 400, "INVALID_ARGUMENT"},
		{"unknown code", statusWithDetail(t, codes.Aborted, "failed", "chaincode response 500, SOMETHING_NEW: y"), 422, "SOMETHING_NEW"},
		{"internal code", statusWithDetail(t, codes.Aborted, "failed", "chaincode response 500, INTERNAL: decode"), 500, "INTERNAL"},
		{"uncoded chaincode", statusWithDetail(t, codes.Aborted, "failed", "chaincode response 500, Function Foo not found"), 500, "INTERNAL"},
		{"chaincode down", statusWithDetail(t, codes.Aborted, "failed", "could not launch chaincode exchange: connection refused"), 503, "UNAVAILABLE"},
		{"unavailable", status.Error(codes.Unavailable, "connection refused"), 503, "UNAVAILABLE"},
		{"deadline", fmt.Errorf("wrapped: %w", context.DeadlineExceeded), 503, "TIMEOUT"},
		{"grpc deadline", status.Error(codes.DeadlineExceeded, "x"), 503, "TIMEOUT"},
		{"plain", errors.New("boom"), 503, "UNAVAILABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := classify(tt.err)
			if e.Status != tt.status || e.Code != tt.code {
				t.Fatalf("classify = %d %s (%s); want %d %s", e.Status, e.Code, e.Message, tt.status, tt.code)
			}
			if e.Status == http.StatusServiceUnavailable && e.Message == "" {
				t.Fatal("empty message")
			}
		})
	}
}
