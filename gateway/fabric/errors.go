package fabric

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/fabmarket/fabmarket/gateway/api"
	"github.com/fabmarket/fabmarket/internal/fabnet"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// chaincodeRE finds a coded chaincode error in a peer's message, e.g.
// "chaincode response 500, INSUFFICIENT_FUNDS: available 10 < 20".
var chaincodeRE = regexp.MustCompile(`chaincode response \d+, ([A-Z][A-Z_]{1,39}: .*)$`)

// classify turns a fabric-gateway error into the *api.Error answered to the client: a coded
// chaincode rejection keeps its code (400/403/404/409/422); a chaincode error without a code is
// 500; everything else (peer or orderer unreachable, not enough endorsements, timeouts) is 503.
// The raw gRPC text never reaches the client; the log gets fabnet.Describe.
func classify(err error) *api.Error {
	if err == nil {
		return nil
	}
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae
	}
	msgs := []string{}
	for _, d := range fabnet.Details(err) {
		msgs = append(msgs, d.Message)
	}
	if st, ok := status.FromError(err); ok {
		msgs = append(msgs, st.Message())
	}
	msgs = append(msgs, err.Error())
	for _, m := range msgs {
		if sub := chaincodeRE.FindStringSubmatch(m); sub != nil {
			if e, ok := api.ParseCoded(sub[1]); ok {
				return e
			}
		}
	}
	for _, m := range msgs {
		if strings.Contains(m, "chaincode response") && !strings.Contains(m, "could not launch chaincode") {
			return api.NewError(api.CodeInternal, "the chaincode failed without a code")
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return api.NewError(api.CodeTimeout, "the network did not answer in time")
	}
	if st, ok := status.FromError(err); ok && st.Code() == codes.DeadlineExceeded {
		return api.NewError(api.CodeTimeout, "the network did not answer in time")
	}
	return api.NewError(api.CodeUnavailable, "the network is unavailable")
}

func detailsText(err error) []string {
	var out []string
	for _, d := range fabnet.Details(err) {
		out = append(out, d.Message)
	}
	return out
}
