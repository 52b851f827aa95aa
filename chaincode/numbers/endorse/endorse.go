// Package endorse tells a client of the numbers chaincode which organisations' peers must
// endorse each step, for the fabric-gateway option client.WithEndorsingOrganizations. It is
// pure (no Fabric calls) so that the REST gateway and the tests share one rule.
package endorse

import (
	"sort"

	"github.com/fabmarket/fabmarket/chaincode/numbers/porting"
)

// Regulator is the MSP ID of the Regulator on the numbers channel.
var Regulator = porting.DefaultRoles().Regulator

// EndorsersFor returns the MSP IDs whose peers must endorse step (a contract function name,
// e.g. "RequestTransfer"), or nil to let the peer's gateway service plan the endorsement
// itself (the default, and the right choice for every step but one).
//
// The rule, as measured on the real network (integration/numbers_test.go):
//
//   - RequestTransfer: exactly {requester, owner, Regulator}. The request carries customer
//     data in the transient map and writes it to the pair collection transfer_<A>_<B>.
//     Without explicit organisations the gateway refuses before any endorsement with gRPC
//     FailedPrecondition "requires endorsement from organisation(s) that are not in the
//     distribution policy of the private data collection(s): [transfer_...]": with transient
//     data it only plans collection members, and the chaincode policy needs the Regulator,
//     who is in no collection. Naming the two telcos of the transfer plus the Regulator
//     satisfies AND(Regulator, 2 of 3 telcos) and keeps the customer data away from the third
//     telco (every endorser receives the transient map). The Regulator's peer sees the data
//     in transit while simulating but never stores it (not a collection member) and the
//     chaincode refuses to show it to the Regulator.
//   - Every other step (AllocateNumber, AllocateRange, IssuePAC, RevokePAC, ConfirmTransfer,
//     RejectTransfer, CancelTransfer, EscalateTransfer, ResolveTransfer, EraseCustomerData,
//     Configure): nil. They carry no private writes with transient data, so the gateway plans
//     from discovery, including the key-level policy AND(Regulator, owner) of a number key
//     that the step writes (confirm, GRANT). IssuePAC does carry the code in the transient
//     map, but writes no private data, so the gateway plans it normally: the owner's peer, the
//     Regulator's and one more telco's (the chaincode policy needs two telcos), which
//     therefore sees the code in transit.
//
// requester and owner are MSP IDs; they are used only for RequestTransfer and must then be
// two different, non-empty telcos, otherwise EndorsersFor returns nil and the gateway's
// refusal tells the caller what is wrong. The result is sorted and has no duplicates.
func EndorsersFor(step, requester, owner string) []string {
	if step != "RequestTransfer" {
		return nil
	}
	if requester == "" || owner == "" || requester == owner || requester == Regulator || owner == Regulator {
		return nil
	}
	out := []string{requester, owner, Regulator}
	sort.Strings(out)
	return out
}
