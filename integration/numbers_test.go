//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/numbers/contract"
	"github.com/fabmarket/fabmarket/chaincode/numbers/endorse"
	"github.com/fabmarket/fabmarket/chaincode/numbers/porting"
	"github.com/fabmarket/fabmarket/internal/fabnet"
	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/hash"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The numbers chaincode as the tests reach it: org (the gateway key of harness_test.go) →
// MSP ID.
var mspOf = map[string]string{"org1": "Org1MSP", "org2": "Org2MSP", "org3": "Org3MSP", "regulator": "RegulatorMSP"}

// Every number a test run uses is "+491<run><seq>" (single numbers) or "+492<run><seq>"
// (the big range): <run> is 8 digits of the run's start time in milliseconds and <seq> 4
// digits, so reruns on the same ledger never collide (15 digits, the E.164 maximum).
var (
	runID  = time.Now().UnixMilli() % 100_000_000
	numSeq atomic.Int64
)

func freshNumber() string { return fmt.Sprintf("+491%08d%04d", runID, numSeq.Add(1)) }

// nums drives the numbers chaincode through the peers' gateway services.
type nums struct {
	e   *env
	sub fabnet.Submitter
}

func numbersNet(t *testing.T) *nums { return &nums{e: network(t)} }

func (n *nums) contract(t testing.TB, org string) *client.Contract {
	return n.e.gateway(t, org).GetNetwork("numbers").GetContractWithName("numbers", contract.Name)
}

// opts are the options of one submission.
type opts struct {
	endorsers []string          // nil: the gateway's own plan
	transient map[string][]byte // nil: none
}

// submit runs fn as org and waits for its commit.
func (n *nums) submit(t testing.TB, org, fn string, o opts, args ...string) (*fabnet.Outcome, error) {
	t.Helper()
	po := []client.ProposalOption{client.WithArguments(args...)}
	if o.endorsers != nil {
		po = append(po, client.WithEndorsingOrganizations(o.endorsers...))
	}
	if o.transient != nil {
		po = append(po, client.WithTransient(o.transient))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return n.sub.Submit(ctx, n.contract(t, org), fn, po...)
}

// ok submits and fails the test unless the transaction commits VALID; it decodes the
// chaincode's answer into out (if not nil).
func (n *nums) ok(t testing.TB, org, fn string, o opts, out any, args ...string) *fabnet.Outcome {
	t.Helper()
	res, err := n.submit(t, org, fn, o, args...)
	if err != nil {
		t.Fatalf("%s %s%v: %s", org, fn, args, fabnet.Describe(err))
	}
	if out != nil {
		if err := json.Unmarshal(res.Result, out); err != nil {
			t.Fatalf("%s answer %q: %v", fn, res.Result, err)
		}
	}
	n.synced(t, res.Block)
	return res
}

// peerHas waits until org's peer committed block.
func (n *nums) peerHas(t testing.TB, org string, block uint64) {
	deadline := time.Now().Add(30 * time.Second)
	for n.e.peerHeight(org, "numbers") <= int64(block) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// synced waits until every peer committed block: the commit status comes from the
// submitting org's peer, and the tests then read from the others.
func (n *nums) synced(t testing.TB, block uint64) {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("every peer to commit block %d of numbers", block), func() bool {
		for _, org := range []string{"org1", "org2", "org3", "regulator"} {
			if n.e.peerHeight(org, "numbers") <= int64(block) {
				return false
			}
		}
		return true
	})
}

// eval evaluates fn as org on org's peer and decodes the answer into out.
func (n *nums) eval(t testing.TB, org, fn string, out any, args ...string) error {
	t.Helper()
	raw, err := n.contract(t, org).EvaluateTransaction(fn, args...)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s answer %q: %v", fn, raw, err)
		}
	}
	return nil
}

// wantCode fails unless err carries the chaincode error code (in the peers' details).
func wantCode(t testing.TB, err error, code porting.Code, what string) string {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded; want %s", what, code)
	}
	msg := fabnet.Describe(err)
	if !strings.Contains(msg, string(code)+": ") {
		t.Fatalf("%s: %s; want %s", what, msg, code)
	}
	return msg
}

// wantInvalid fails unless err says the transaction committed with the validation code want.
func wantInvalid(t testing.TB, err error, want peer.TxValidationCode, what string) {
	t.Helper()
	var inv *fabnet.InvalidError
	if !errors.As(err, &inv) || inv.Code != want {
		t.Fatalf("%s: %s; want a transaction committed %v", what, fabnet.Describe(err), want)
	}
}

func (n *nums) allocate(t testing.TB, number, owner string) {
	t.Helper()
	var v contract.NumberView
	n.ok(t, "regulator", "AllocateNumber", opts{}, &v, number, owner)
	if v.Owner != owner || v.Status != contract.NumberActive {
		t.Fatalf("allocated %+v", v)
	}
}

// customerTransient is the transient map of a request; the salt is random, the customer a
// recognisable object.
func customerTransient(t testing.TB, name, pac string) map[string][]byte {
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	doc := sha256.Sum256([]byte("contract of " + name))
	tm := map[string][]byte{
		contract.TransientCustomer:     []byte(fmt.Sprintf(`{"name":%q,"dateOfBirth":"1980-02-29","address":"Hauptstr. 1, Berlin"}`, name)),
		contract.TransientContractHash: []byte(hex.EncodeToString(doc[:])),
		contract.TransientSalt:         salt,
	}
	if pac != "" {
		tm[contract.TransientPAC] = []byte(pac)
	}
	return tm
}

// request opens a transfer of number (owned by ownerOrg) to requesterOrg, endorsed as
// endorse.EndorsersFor says.
func (n *nums) request(t testing.TB, requesterOrg, ownerOrg, number, pac string) *contract.TransferView {
	t.Helper()
	var v contract.TransferView
	n.ok(t, requesterOrg, "RequestTransfer", n.requestOpts(t, requesterOrg, ownerOrg, "Customer "+number, pac), &v, number)
	if v.Status != porting.StatusOpen || v.To != mspOf[requesterOrg] || v.From != mspOf[ownerOrg] {
		t.Fatalf("request: %+v", v)
	}
	return &v
}

func (n *nums) requestOpts(t testing.TB, requesterOrg, ownerOrg, customer, pac string) opts {
	return opts{
		endorsers: endorse.EndorsersFor("RequestTransfer", mspOf[requesterOrg], mspOf[ownerOrg]),
		transient: customerTransient(t, customer, pac),
	}
}

func (n *nums) number(t testing.TB, number string) contract.NumberView {
	t.Helper()
	var v contract.NumberView
	if err := n.eval(t, "org3", "GetNumber", &v, number); err != nil {
		t.Fatalf("GetNumber %s: %s", number, fabnet.Describe(err))
	}
	return v
}

func (n *nums) transfer(t testing.TB, org, number string) contract.TransferView {
	t.Helper()
	var v contract.TransferView
	if err := n.eval(t, org, "GetTransfer", &v, number); err != nil {
		t.Fatalf("GetTransfer %s: %s", number, fabnet.Describe(err))
	}
	return v
}

func (n *nums) hashView(t testing.TB, org, number string) contract.CustomerDataHashView {
	t.Helper()
	var v contract.CustomerDataHashView
	if err := n.eval(t, org, "GetCustomerDataHash", &v, number); err != nil {
		t.Fatalf("GetCustomerDataHash %s as %s: %s", number, org, fabnet.Describe(err))
	}
	return v
}

// TestNumbersPortingOrg1ToOrg2 is the full porting of one number from Org1 to Org2 with a
// porting authorisation code, the endorsement checks of the confirmation, the privacy of the
// customer data, its purge, the history, and the key-level policy following the owner.
func TestNumbersPortingOrg1ToOrg2(t *testing.T) {
	n := numbersNet(t)
	num := freshNumber()
	n.allocate(t, num, "Org1MSP")

	// PAC: issued by the owner with the gateway's own plan (transient data, no private write).
	const pac = "PAC7K2Q9ZX"
	var pv contract.PACView
	out := n.ok(t, "org1", "IssuePAC", opts{transient: map[string][]byte{contract.TransientPAC: []byte(pac)}}, &pv, num)
	if pv.Status != porting.PACOutstanding || !pv.Outstanding {
		t.Fatalf("IssuePAC: %+v", pv)
	}
	t.Logf("IssuePAC with the gateway's plan: VALID in block %d", out.Block)
	_, err := n.submit(t, "org2", "IssuePAC", opts{transient: map[string][]byte{contract.TransientPAC: []byte("PAC0000000")}}, num)
	wantCode(t, err, porting.CodeForbidden, "IssuePAC by a non-owner")

	// RequestTransfer with the gateway's own plan: refused before any endorsement.
	_, err = n.submit(t, "org2", "RequestTransfer", opts{transient: customerTransient(t, "Erika Mustermann", pac)}, num)
	if err == nil {
		t.Fatal("RequestTransfer with the gateway's plan succeeded; the endorse helper's rule is out of date")
	}
	t.Logf("RequestTransfer with transient data and the gateway's own plan: %s", fabnet.Describe(err))
	// Without the code, with a wrong one: refused.
	_, err = n.submit(t, "org2", "RequestTransfer", n.requestOpts(t, "org2", "org1", "Erika Mustermann", ""), num)
	wantCode(t, err, porting.CodePACRequired, "request without the outstanding code")
	_, err = n.submit(t, "org2", "RequestTransfer", n.requestOpts(t, "org2", "org1", "Erika Mustermann", "WRONG12345"), num)
	wantCode(t, err, porting.CodePACInvalid, "request with a wrong code")

	// The request, endorsed by requester, owner and Regulator.
	var tr contract.TransferView
	n.ok(t, "org2", "RequestTransfer", n.requestOpts(t, "org2", "org1", "Erika Mustermann", pac), &tr, num)
	if tr.Status != porting.StatusOpen || !tr.PACPresented || tr.Collection != "transfer_Org1MSP_Org2MSP" {
		t.Fatalf("request: %+v", tr)
	}
	if v := n.number(t, num); v.Status != contract.NumberPorting || v.PAC == nil || v.PAC.Status != porting.PACUsed {
		t.Fatalf("GetNumber after the request: %+v", v)
	}

	t.Run("customer data readable by the two telcos only", func(t *testing.T) {
		for _, org := range []string{"org1", "org2"} {
			var cd contract.CustomerData
			if err := n.eval(t, org, "ReadCustomerData", &cd, num); err != nil {
				t.Fatalf("%s reads the customer data: %s", org, fabnet.Describe(err))
			}
			c, _ := cd.Customer.(map[string]any)
			if !cd.HashVerified || cd.CustomerDataHash != tr.CustomerDataHash || c["name"] != "Erika Mustermann" {
				t.Fatalf("%s read %+v", org, cd)
			}
		}
		for _, org := range []string{"org3", "regulator"} {
			err := n.eval(t, org, "ReadCustomerData", nil, num)
			t.Logf("%s reading the customer data: %s", org, wantCode(t, err, porting.CodeForbidden, org+" reads the customer data"))
		}
		// Every peer holds the hash of the private write, collection member or not.
		for _, org := range []string{"org1", "org2", "org3", "regulator"} {
			if hv := n.hashView(t, org, num); !hv.Matches || hv.LedgerHash != tr.CustomerDataHash {
				t.Fatalf("%s's peer: %+v", org, hv)
			}
		}
	})

	t.Run("confirm by a non-owner is refused", func(t *testing.T) {
		for _, org := range []string{"org2", "org3", "regulator"} {
			_, err := n.submit(t, org, "ConfirmTransfer", opts{}, num)
			msg := wantCode(t, err, porting.CodeForbidden, "confirm by "+org)
			if !strings.Contains(msg, "only the owner Org1MSP may confirm") {
				t.Fatalf("unclear error: %s", msg)
			}
		}
	})

	t.Run("confirm endorsed without the Regulator is invalid", func(t *testing.T) {
		_, err := n.submit(t, "org1", "ConfirmTransfer", opts{endorsers: []string{"Org1MSP", "Org2MSP", "Org3MSP"}}, num)
		wantInvalid(t, err, peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE, "confirm endorsed by the three telcos")
	})
	t.Run("confirm endorsed without the owner is invalid", func(t *testing.T) {
		// The chaincode policy (Regulator + 2 telcos) is met; the number key's AND(Regulator, Org1) is not.
		_, err := n.submit(t, "org1", "ConfirmTransfer", opts{endorsers: []string{"RegulatorMSP", "Org2MSP", "Org3MSP"}}, num)
		wantInvalid(t, err, peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE, "confirm endorsed by Regulator, Org2, Org3")
	})
	if v := n.number(t, num); v.Owner != "Org1MSP" || v.Status != contract.NumberPorting {
		t.Fatalf("an invalid confirmation changed the number: %+v", v)
	}

	// The confirmation with the gateway's own plan.
	var res contract.StepResult
	out = n.ok(t, "org1", "ConfirmTransfer", opts{}, &res, num)
	if !res.Applied || res.Transfer.Status != porting.StatusCompleted || res.Event != porting.EventTransferConfirmed {
		t.Fatalf("confirm: %+v", res)
	}
	t.Logf("ConfirmTransfer with the gateway's plan: %v in block %d", out.Code, out.Block)
	v := n.number(t, num)
	if v.Owner != "Org2MSP" || v.PreviousOwner != "Org1MSP" || v.Status != contract.NumberActive || v.PendingTransfer != nil {
		t.Fatalf("after the confirmation: %+v", v)
	}

	t.Run("customer data purged, hash kept", func(t *testing.T) {
		for _, org := range []string{"org1", "org2"} {
			err := n.eval(t, org, "ReadCustomerData", nil, num)
			wantCode(t, err, porting.CodeNotFound, org+" reads purged data")
		}
		got := n.transfer(t, "regulator", num)
		if got.CustomerDataHash != tr.CustomerDataHash || got.CustomerDataPurgedAt == "" {
			t.Fatalf("transfer after purge: %+v", got)
		}
		for _, org := range []string{"org1", "org2", "org3", "regulator"} {
			hv := n.hashView(t, org, num)
			if hv.LedgerHash != "" || hv.CustomerDataHash != tr.CustomerDataHash || hv.PurgedAt == "" {
				t.Fatalf("%s's peer after the purge: %+v", org, hv)
			}
		}
	})

	t.Run("history shows every step", func(t *testing.T) {
		var hist []contract.HistoryEntry
		if err := n.eval(t, "regulator", "History", &hist, num); err != nil {
			t.Fatal(fabnet.Describe(err))
		}
		var steps []string
		for _, h := range hist {
			steps = append(steps, h.Record+":"+h.Action+":"+h.Actor)
			if h.TxID == "" || h.Timestamp == "" {
				t.Fatalf("entry without tx id or time: %+v", h)
			}
		}
		want := []string{
			"number:ALLOCATE:RegulatorMSP",
			"pac:ISSUE_PAC:Org1MSP",
			"transfer:REQUEST:Org2MSP", "pac:REQUEST:Org2MSP",
			"transfer:CONFIRM:Org1MSP", "number:CONFIRM:Org1MSP",
		}
		if strings.Join(steps, " ") != strings.Join(want, " ") {
			t.Fatalf("history\n got %v\nwant %v", steps, want)
		}
	})

	t.Run("key-level policy moved to Org2", func(t *testing.T) {
		n.request(t, "org3", "org2", num, "")
		// Org1, the former owner, can no longer stand in for the owner.
		_, err := n.submit(t, "org2", "ConfirmTransfer", opts{endorsers: []string{"RegulatorMSP", "Org1MSP", "Org3MSP"}}, num)
		wantInvalid(t, err, peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE, "confirm endorsed by the former owner instead of Org2")
		var res contract.StepResult
		n.ok(t, "org2", "ConfirmTransfer", opts{endorsers: []string{"RegulatorMSP", "Org2MSP", "Org3MSP"}}, &res, num)
		if v := n.number(t, num); v.Owner != "Org3MSP" || v.PreviousOwner != "Org2MSP" {
			t.Fatalf("after the second porting: %+v", v)
		}
	})
}

// TestNumbersEscalation: the owner rejects, the requester disputes, the Regulator grants
// (ownership and key-level policy move); the requester escalates an open request, the
// Regulator denies; an erasure request purges an open transfer's data. Checks the
// Regulator's list and who may escalate and resolve.
func TestNumbersEscalation(t *testing.T) {
	n := numbersNet(t)
	t.Run("reject, dispute, GRANT", func(t *testing.T) {
		num := freshNumber()
		n.allocate(t, num, "Org1MSP")
		n.request(t, "org2", "org1", num, "")
		var res contract.StepResult
		n.ok(t, "org1", "RejectTransfer", opts{}, &res, num, "customer account in arrears")
		if res.Transfer.Status != porting.StatusRejected || res.Transfer.CustomerDataPurgedAt == "" {
			t.Fatalf("reject: %+v", res)
		}
		// A third telco cannot escalate someone else's dispute.
		_, err := n.submit(t, "org3", "EscalateTransfer", opts{}, num, "not mine")
		wantCode(t, err, porting.CodeForbidden, "escalation by a third telco")
		n.ok(t, "org2", "EscalateTransfer", opts{}, &res, num, "arrears were settled on the 3rd")
		if res.Transfer.Status != porting.StatusEscalated || res.Transfer.EscalationCause != porting.CauseDispute {
			t.Fatalf("escalate: %+v", res)
		}
		var page contract.TransferPage
		if err := n.eval(t, "regulator", "ListTransfers", &page, "ESCALATED", "1000", ""); err != nil {
			t.Fatal(fabnet.Describe(err))
		}
		if !listed(page, num) {
			t.Fatalf("%s not in the Regulator's ESCALATED list (%d entries)", num, page.Count)
		}
		wantCode(t, n.eval(t, "org1", "ListTransfers", nil, "ESCALATED", "", ""), porting.CodeForbidden, "ListTransfers by a telco")
		for _, org := range []string{"org1", "org2"} {
			_, err := n.submit(t, org, "ResolveTransfer", opts{}, num, "GRANT", "self-service")
			wantCode(t, err, porting.CodeForbidden, "resolve by "+org)
		}
		n.ok(t, "regulator", "ResolveTransfer", opts{}, &res, num, "GRANT", "arrears settled; porting is due")
		if res.Transfer.Status != porting.StatusCompleted || res.Transfer.Resolution != porting.DecisionGrant {
			t.Fatalf("resolve: %+v", res)
		}
		if v := n.number(t, num); v.Owner != "Org2MSP" || v.PreviousOwner != "Org1MSP" {
			t.Fatalf("after GRANT: %+v", v)
		}
		// The GRANT moved the key-level policy: Org2's peer is now required.
		n.request(t, "org3", "org2", num, "")
		_, err = n.submit(t, "org2", "ConfirmTransfer", opts{endorsers: []string{"RegulatorMSP", "Org1MSP", "Org3MSP"}}, num)
		wantInvalid(t, err, peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE, "confirm after GRANT without Org2")
		if ok := n.eval(t, "regulator", "ListTransfers", &page, "ESCALATED", "1000", ""); ok != nil || listed(page, num) {
			t.Fatalf("%s still listed as ESCALATED (%v)", num, ok)
		}
	})
	t.Run("escalate open request, DENY", func(t *testing.T) {
		num := freshNumber()
		n.allocate(t, num, "Org3MSP")
		tr := n.request(t, "org1", "org3", num, "")
		var res contract.StepResult
		n.ok(t, "org1", "EscalateTransfer", opts{}, &res, num, "owner stalls")
		if res.Transfer.Status != porting.StatusEscalated {
			t.Fatalf("escalate: %+v", res)
		}
		// The data stays while the dispute runs; the owner cannot answer any more.
		if hv := n.hashView(t, "org1", num); !hv.Matches {
			t.Fatalf("data gone during the dispute: %+v", hv)
		}
		_, err := n.submit(t, "org3", "ConfirmTransfer", opts{}, num)
		wantCode(t, err, porting.CodeFailedPrecondition, "confirm of an escalated transfer")
		_, err = n.submit(t, "regulator", "ResolveTransfer", opts{}, num, "MAYBE", "x")
		wantCode(t, err, porting.CodeInvalidArgument, "resolve with a bad decision")
		n.ok(t, "regulator", "ResolveTransfer", opts{}, &res, num, "DENY", "customer identity not proven")
		if res.Transfer.Status != porting.StatusDenied || res.Transfer.Resolution != porting.DecisionDeny || res.Transfer.CustomerDataPurgedAt == "" {
			t.Fatalf("deny: %+v", res)
		}
		if v := n.number(t, num); v.Owner != "Org3MSP" || v.Status != contract.NumberActive {
			t.Fatalf("after DENY: %+v", v)
		}
		if hv := n.hashView(t, "org3", num); hv.LedgerHash != "" || hv.CustomerDataHash != tr.CustomerDataHash {
			t.Fatalf("after DENY: %+v", hv)
		}
	})
	t.Run("erasure request purges an open transfer's data", func(t *testing.T) {
		num := freshNumber()
		n.allocate(t, num, "Org2MSP")
		tr := n.request(t, "org1", "org2", num, "")
		var res contract.StepResult
		n.ok(t, "org1", "EraseCustomerData", opts{}, &res, num)
		if res.Transfer.Status != porting.StatusOpen || res.Transfer.CustomerDataErasedAt == "" {
			t.Fatalf("erase: %+v", res)
		}
		wantCode(t, n.eval(t, "org2", "ReadCustomerData", nil, num), porting.CodeNotFound, "read after erasure")
		if hv := n.hashView(t, "regulator", num); hv.LedgerHash != "" || hv.CustomerDataHash != tr.CustomerDataHash {
			t.Fatalf("after erasure: %+v", hv)
		}
		n.ok(t, "org1", "CancelTransfer", opts{}, &res, num)
		if res.Transfer.Status != porting.StatusCancelled {
			t.Fatalf("cancel: %+v", res)
		}
	})
}

func listed(p contract.TransferPage, number string) bool {
	for _, tv := range p.Transfers {
		if tv.Number == number {
			return true
		}
	}
	return false
}

// TestNumbersBadInputs: malformed and unknown numbers, a second open request, duplicates and
// transient-map mistakes are refused with their codes.
func TestNumbersBadInputs(t *testing.T) {
	n := numbersNet(t)
	num := freshNumber()
	n.allocate(t, num, "Org1MSP")
	unknown := freshNumber()

	for _, bad := range []string{"4915112345678", "+49 151 1234", "+0151123456", "+49151abc4567", "+49", "+4915112345678901"} {
		_, err := n.submit(t, "regulator", "AllocateNumber", opts{}, bad, "Org1MSP")
		wantCode(t, err, porting.CodeInvalidArgument, "allocate "+bad)
		wantCode(t, n.eval(t, "org1", "GetNumber", nil, bad), porting.CodeInvalidArgument, "GetNumber "+bad)
	}
	_, err := n.submit(t, "regulator", "AllocateNumber", opts{}, num, "Org2MSP")
	wantCode(t, err, porting.CodeAlreadyExists, "allocate twice")
	_, err = n.submit(t, "regulator", "AllocateNumber", opts{}, freshNumber(), "RegulatorMSP")
	wantCode(t, err, porting.CodeInvalidArgument, "allocate to the Regulator")
	_, err = n.submit(t, "org1", "AllocateNumber", opts{}, freshNumber(), "Org1MSP")
	wantCode(t, err, porting.CodeForbidden, "allocate by a telco")

	wantCode(t, n.eval(t, "org1", "GetNumber", nil, unknown), porting.CodeNotFound, "GetNumber of an unknown number")
	_, err = n.submit(t, "org2", "RequestTransfer", n.requestOpts(t, "org2", "org1", "X", ""), unknown)
	wantCode(t, err, porting.CodeNotFound, "request for an unknown number")
	_, err = n.submit(t, "org1", "ConfirmTransfer", opts{}, unknown)
	wantCode(t, err, porting.CodeNotFound, "confirm for an unknown number")
	_, err = n.submit(t, "org1", "ConfirmTransfer", opts{}, num)
	wantCode(t, err, porting.CodeNotFound, "confirm without a request")

	// Transient mistakes.
	o := n.requestOpts(t, "org2", "org1", "X", "")
	delete(o.transient, contract.TransientCustomer)
	_, err = n.submit(t, "org2", "RequestTransfer", o, num)
	wantCode(t, err, porting.CodeInvalidArgument, "request without customer data")
	o = n.requestOpts(t, "org2", "org1", "X", "")
	o.transient["custmer"] = []byte(`{}`)
	_, err = n.submit(t, "org2", "RequestTransfer", o, num)
	wantCode(t, err, porting.CodeInvalidArgument, "request with a misspelt transient key")
	_, err = n.submit(t, "org1", "RequestTransfer", n.requestOpts(t, "org2", "org1", "X", ""), num)
	wantCode(t, err, porting.CodeFailedPrecondition, "request by the owner")

	// One open request per number.
	n.request(t, "org2", "org1", num, "")
	_, err = n.submit(t, "org3", "RequestTransfer", n.requestOpts(t, "org3", "org1", "Y", ""), num)
	wantCode(t, err, porting.CodeConflict, "second request by another telco")
	_, err = n.submit(t, "org2", "RequestTransfer", n.requestOpts(t, "org2", "org1", "Z", ""), num)
	wantCode(t, err, porting.CodeConflict, "second request by the same telco")
	_, err = n.submit(t, "org3", "CancelTransfer", opts{}, num)
	wantCode(t, err, porting.CodeForbidden, "cancel by a third telco")
	_, err = n.submit(t, "org1", "RejectTransfer", opts{}, num, "")
	wantCode(t, err, porting.CodeInvalidArgument, "reject without a reason")
	n.ok(t, "org2", "CancelTransfer", opts{}, nil, num)
}

// proposalAt builds fn's proposal as org with the transaction timestamp ts (a client
// chooses the timestamp; nothing in Fabric checks it) and signs it with org's User1.
func (n *nums) proposalAt(t testing.TB, org, fn string, ts time.Time, o opts, args ...string) *client.Proposal {
	t.Helper()
	po := []client.ProposalOption{client.WithArguments(args...)}
	if o.endorsers != nil {
		po = append(po, client.WithEndorsingOrganizations(o.endorsers...))
	}
	if o.transient != nil {
		po = append(po, client.WithTransient(o.transient))
	}
	p, err := n.contract(t, org).NewProposal(fn, po...)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var pt gateway.ProposedTransaction
	var prop peer.Proposal
	var hdr common.Header
	var ch common.ChannelHeader
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(proto.Unmarshal(raw, &pt))
	must(proto.Unmarshal(pt.GetProposal().GetProposalBytes(), &prop))
	must(proto.Unmarshal(prop.GetHeader(), &hdr))
	must(proto.Unmarshal(hdr.GetChannelHeader(), &ch))
	ch.Timestamp = timestamppb.New(ts)
	hdr.ChannelHeader, err = proto.Marshal(&ch)
	must(err)
	prop.Header, err = proto.Marshal(&hdr)
	must(err)
	pt.Proposal.ProposalBytes, err = proto.Marshal(&prop)
	must(err)
	id, err := n.e.cfg.User(org, "User1")
	must(err)
	_, sign, err := fabnet.LoadIdentity(id)
	must(err)
	sig, err := sign(hash.SHA256(pt.Proposal.ProposalBytes))
	must(err)
	pt.Proposal.Signature = sig
	signed, err := proto.Marshal(&pt)
	must(err)
	p2, err := n.e.gateway(t, org).NewSignedProposal(signed, sig)
	must(err)
	return p2
}

func (n *nums) submitProposal(t testing.TB, p *client.Proposal) (*fabnet.Outcome, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tx, err := p.EndorseWithContext(ctx)
	if err != nil {
		return nil, err
	}
	return n.sub.Commit(ctx, tx)
}

// TestNumbersExpiryAndTxTime: deadlines use the transaction timestamp, which the client sets.
// The shortest answer time Configure allows is one business day, so the test does not wait:
// it sends proposals whose timestamp lies outside the peers' tolerated clock skew and checks
// that the chaincode refuses them; a proposal within the tolerance is accepted.
func TestNumbersExpiryAndTxTime(t *testing.T) {
	n := numbersNet(t)
	num := freshNumber()
	n.allocate(t, num, "Org1MSP")

	// A request backdated by a week: had it been accepted, its deadline would already be
	// past and the owner's next answer would only escalate it.
	p := n.proposalAt(t, "org2", "RequestTransfer", time.Now().Add(-7*24*time.Hour), n.requestOpts(t, "org2", "org1", "Backdated", ""), num)
	out, err := n.submitProposal(t, p)
	if err == nil {
		var v contract.TransferView
		_ = json.Unmarshal(out.Result, &v)
		var res contract.StepResult
		n.ok(t, "org1", "ConfirmTransfer", opts{}, &res, num)
		t.Fatalf("a request backdated by 7 days was accepted (deadline %s); the owner's confirm then gave applied=%v escalatedByDeadline=%v status=%s",
			v.Deadline, res.Applied, res.EscalatedByDeadline, res.Transfer.Status)
	}
	t.Logf("backdated request: %s", wantCode(t, err, porting.CodeInvalidArgument, "backdated request"))

	// Post-dated by a week: refused too.
	p = n.proposalAt(t, "org2", "EscalateTransfer", time.Now().Add(7*24*time.Hour), opts{}, num, "late")
	_, err = n.submitProposal(t, p)
	wantCode(t, err, porting.CodeInvalidArgument, "post-dated escalation")

	// A client clock one minute off is tolerated.
	p = n.proposalAt(t, "org2", "RequestTransfer", time.Now().Add(-time.Minute), n.requestOpts(t, "org2", "org1", "Slow clock", ""), num)
	out, err = n.submitProposal(t, p)
	if err != nil {
		t.Fatalf("request with a clock one minute slow: %s", fabnet.Describe(err))
	}
	var v contract.TransferView
	if err := json.Unmarshal(out.Result, &v); err != nil || v.Overdue || v.Status != porting.StatusOpen {
		t.Fatalf("request: %+v %v", v, err)
	}
	// The deadline is two business days after the transaction time (default settings).
	var s porting.Settings
	if err := n.eval(t, "org1", "GetSettings", &s); err != nil {
		t.Fatal(fabnet.Describe(err))
	}
	req, _ := time.Parse(time.RFC3339Nano, v.RequestedAt)
	if want := porting.FormatTime(porting.AddBusinessDays(req, s.AnswerBusinessDays)); v.Deadline != want {
		t.Fatalf("deadline %s; want %s (%d business days after %s)", v.Deadline, want, s.AnswerBusinessDays, v.RequestedAt)
	}
	// Configure refuses an answer time below one business day.
	_, err = n.submit(t, "regulator", "Configure", opts{}, "0", "5", "30")
	wantCode(t, err, porting.CodeInvalidArgument, "Configure with 0 business days")
	n.ok(t, "org2", "CancelTransfer", opts{}, nil, num)
}

// TestNumbersRangeAllocation allocates the largest range the chaincode accepts in one
// transaction (porting.MaxRangeSize) and logs its size and timings; 10,000 numbers are refused.
func TestNumbersRangeAllocation(t *testing.T) {
	n := numbersNet(t)
	first := fmt.Sprintf("+492%08d0000", runID)
	last := fmt.Sprintf("+492%08d%04d", runID, porting.MaxRangeSize-1)
	_, err := n.submit(t, "regulator", "AllocateRange", opts{}, first, fmt.Sprintf("+492%08d9999", runID), "Org1MSP")
	t.Logf("10,000 numbers: %s", wantCode(t, err, porting.CodeInvalidArgument, "range above the cap"))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	p, err := n.contract(t, "regulator").NewProposal("AllocateRange", client.WithArguments(first, last, "Org2MSP"))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := p.EndorseWithContext(ctx)
	endorsed := time.Since(start)
	if err != nil {
		t.Fatalf("AllocateRange of %d numbers: endorsement failed after %v: %s", porting.MaxRangeSize, endorsed.Round(time.Millisecond), fabnet.Describe(err))
	}
	raw, _ := tx.Bytes()
	out, err := n.sub.Commit(ctx, tx)
	total := time.Since(start)
	if err != nil {
		t.Fatalf("AllocateRange of %d numbers (%d bytes): %s after %v", porting.MaxRangeSize, len(raw), fabnet.Describe(err), total.Round(time.Millisecond))
	}
	var rr contract.RangeResult
	if err := json.Unmarshal(out.Result, &rr); err != nil || rr.Count != porting.MaxRangeSize {
		t.Fatalf("range result %+v %v", rr, err)
	}
	t.Logf("AllocateRange %s..%s (%d numbers): transaction %d bytes, endorsed in %v, committed %v after the start (block %d)",
		first, last, rr.Count, len(raw), endorsed.Round(time.Millisecond), total.Round(time.Millisecond), out.Block)
	n.synced(t, out.Block)
	for _, num := range []string{first, last} {
		if v := n.number(t, num); v.Owner != "Org2MSP" {
			t.Fatalf("%s: %+v", num, v)
		}
	}
	// All or nothing: an overlapping range allocates nothing.
	_, err = n.submit(t, "regulator", "AllocateRange", opts{}, fmt.Sprintf("+492%08d9999", runID-1), first, "Org3MSP")
	wantCode(t, err, porting.CodeAlreadyExists, "overlapping range")
	wantCode(t, n.eval(t, "org1", "GetNumber", nil, fmt.Sprintf("+492%08d9999", runID-1)), porting.CodeNotFound, "number of a refused range")
}

// TestNumbersThroughput measures transfers (request + confirm) per second with 16 numbers
// ported concurrently, against the put-state baseline on the same channel in the same run.
// It logs the figures and never fails on timing.
func TestNumbersThroughput(t *testing.T) {
	n := numbersNet(t)
	const workers = 16
	const rounds = 4 // transfers per number: Org1 → Org2 → Org1 → ...

	// Baseline: 16 clients, 2*rounds puts each (as many transactions as the transfers).
	base := n.e.gateway(t, "org1").GetNetwork("numbers").GetContractWithName("numbers", "baseline")
	var baseErrs atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 2*rounds; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				_, err := n.sub.Submit(ctx, base, "Put", client.WithArguments(fmt.Sprintf("%s-%d-%d", uniqueKey("numbers-bench"), w, i), "v"))
				cancel()
				if err != nil {
					baseErrs.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	baseDur := time.Since(start)
	baseTx := workers*2*rounds - int(baseErrs.Load())
	baseRate := float64(baseTx) / baseDur.Seconds()

	// Transfers: 16 numbers allocated in one range, each ported back and forth.
	first := freshNumber()
	for i := 1; i < workers; i++ {
		freshNumber()
	}
	var firstN int64
	fmt.Sscanf(first[len(first)-4:], "%d", &firstN)
	last := fmt.Sprintf("+491%08d%04d", runID, firstN+workers-1)
	n.ok(t, "regulator", "AllocateRange", opts{}, nil, first, last, "Org1MSP")
	var done, failed atomic.Int64
	var lastErr atomic.Value
	start = time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(num string) {
			defer wg.Done()
			owner, to := "org1", "org2"
			for r := 0; r < rounds; r++ {
				// Each step waits until the next actor's peer has the block (as the owner's
				// system would learn of a request from a block event); without it the
				// owner's peer may still see the previous transfer.
				out, err := n.submit(t, to, "RequestTransfer", n.requestOpts(t, to, owner, "Bench "+num, ""), num)
				if err == nil {
					n.peerHas(t, owner, out.Block)
					out, err = n.submit(t, owner, "ConfirmTransfer", opts{}, num)
				}
				if err == nil {
					n.peerHas(t, to, out.Block)
				}
				if err != nil {
					failed.Add(1)
					lastErr.Store(fabnet.Describe(err))
					return
				}
				done.Add(1)
				owner, to = to, owner
			}
		}(fmt.Sprintf("+491%08d%04d", runID, firstN+int64(w)))
	}
	wg.Wait()
	xferDur := time.Since(start)
	xferRate := float64(done.Load()) / xferDur.Seconds()
	t.Logf("baseline Put (numbers/numbers, %d clients): %d tx in %v = %.1f tx/s (%d failed)", workers, baseTx, baseDur.Round(time.Millisecond), baseRate, baseErrs.Load())
	t.Logf("transfers (request+confirm, %d numbers concurrently): %d in %v = %.1f transfers/s = %.1f tx/s (%d failed)",
		workers, done.Load(), xferDur.Round(time.Millisecond), xferRate, 2*xferRate, failed.Load())
	if baseRate > 0 {
		t.Logf("ratio: %.3f transfers per baseline put (%.2f of the baseline's transaction rate)", xferRate/baseRate, 2*xferRate/baseRate)
	}
	if failed.Load() > 0 {
		// A measurement, not a correctness check (TestNumbersPortingOrg1ToOrg2 is): report it.
		t.Logf("%d numbers failed to port under load; last error: %v", failed.Load(), lastErr.Load())
	}
}
