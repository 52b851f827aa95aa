package contract

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/fabmarket/fabmarket/chaincode/numbers/porting"
)

func TestNew(t *testing.T) {
	c := New()
	if c == nil || c.GetName() != Name {
		t.Fatal("New")
	}
	if _, err := NewWithRoles(porting.Roles{Regulator: "R", Telcos: []string{"A"}}); err == nil {
		t.Fatal("NewWithRoles accepted one telco")
	}
	custom, err := NewWithRoles(porting.Roles{Regulator: "Reg", Telcos: []string{"TA", "TB"}})
	if err != nil || !custom.roles.IsTelco("TA") {
		t.Fatalf("NewWithRoles: %v", err)
	}
	// Every evaluate function exists.
	for _, fn := range c.GetEvaluateTransactions() {
		if _, ok := reflect.TypeOf(c).MethodByName(fn); !ok {
			t.Errorf("evaluate function %s does not exist", fn)
		}
	}
}

func TestAllocateNumber(t *testing.T) {
	h := newHarness(t)
	v, err := submit(h, reg, nil, func(c *Contract, ctx contractapi.TransactionContextInterface) (*NumberView, error) {
		return c.AllocateNumber(ctx, num1, org1)
	})
	if err != nil || v.Owner != org1 || v.Status != NumberActive {
		t.Fatalf("%+v %v", v, err)
	}
	if name, e := h.event(); name != porting.EventNumberAllocated || e.Number != num1 || e.Owner != org1 || e.Actor != reg {
		t.Fatalf("event %s %+v", name, e)
	}
	if got := h.policyOrgs(num1); !reflect.DeepEqual(got, []string{org1, reg}) {
		t.Fatalf("key-level policy orgs %v", got)
	}
	tests := []struct {
		name, actor, number, owner string
		code                       porting.Code
		field                      string
	}{
		{"again", reg, num1, org2, porting.CodeAlreadyExists, "number"},
		{"telco", org1, "+4915100000001", org1, porting.CodeForbidden, ""},
		{"malformed", reg, "015112345678", org1, porting.CodeInvalidArgument, "number"},
		{"empty number", reg, "", org1, porting.CodeInvalidArgument, "number"},
		{"no owner", reg, "+4915100000001", "", porting.CodeInvalidArgument, "owner"},
		{"owner not telco", reg, "+4915100000001", reg, porting.CodeInvalidArgument, "owner"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := submit(h, tc.actor, nil, func(c *Contract, ctx contractapi.TransactionContextInterface) (*NumberView, error) {
				return c.AllocateNumber(ctx, tc.number, tc.owner)
			})
			wantCode(t, err, tc.code, tc.field)
		})
	}
	if got := h.getNumber(num1); got.Owner != org1 {
		t.Fatalf("owner changed to %s", got.Owner)
	}
}

func TestAllocateRange(t *testing.T) {
	h := newHarness(t)
	alloc := func(actor, first, last, owner string) (*RangeResult, error) {
		return submit(h, actor, nil, func(c *Contract, ctx contractapi.TransactionContextInterface) (*RangeResult, error) {
			return c.AllocateRange(ctx, first, last, owner)
		})
	}
	r, err := alloc(reg, "+4930000000", "+4930000009", org3)
	if err != nil || r.Count != 10 || r.Owner != org3 {
		t.Fatalf("%+v %v", r, err)
	}
	if name, e := h.event(); name != porting.EventNumberRangeAllocated || e.Count != 10 || e.Number != "+4930000000" || e.Last != "+4930000009" {
		t.Fatalf("event %s %+v", name, e)
	}
	for _, n := range []string{"+4930000000", "+4930000005", "+4930000009"} {
		if h.getNumber(n).Owner != org3 || !reflect.DeepEqual(h.policyOrgs(n), []string{org3, reg}) {
			t.Fatalf("%s not allocated with its policy", n)
		}
	}
	before := len(h.ledger.state)
	tests := []struct {
		name, actor, first, last, owner string
		code                            porting.Code
		field                           string
	}{
		{"overlap", reg, "+4930000009", "+4930000012", org1, porting.CodeAlreadyExists, "first"},
		{"telco", org1, "+4930000100", "+4930000101", org1, porting.CodeForbidden, ""},
		{"too large", reg, "+4940000000", "+4940005000", org1, porting.CodeInvalidArgument, "last"},
		{"reversed", reg, "+4940000009", "+4940000000", org1, porting.CodeInvalidArgument, "last"},
		{"bad first", reg, "4940000000", "+4940000009", org1, porting.CodeInvalidArgument, "first"},
		{"bad owner", reg, "+4940000000", "+4940000009", "Org9MSP", porting.CodeInvalidArgument, "owner"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := alloc(tc.actor, tc.first, tc.last, tc.owner)
			wantCode(t, err, tc.code, tc.field)
		})
	}
	if len(h.ledger.state) != before {
		t.Fatal("a failed allocation wrote state")
	}
	t.Run("maximum size", func(t *testing.T) {
		r, err := alloc(reg, "+4950000000", "+4950004999", org2)
		if err != nil || r.Count != porting.MaxRangeSize {
			t.Fatalf("%+v %v", r, err)
		}
	})
}

// TestFullPorting is the happy path Org1 → Org2 with every check of the issue along the way.
func TestFullPorting(t *testing.T) {
	h := newHarness(t)
	h.allocate(num1, org1)

	tr, err := h.request(num1, org2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Status != porting.StatusOpen || tr.From != org1 || tr.To != org2 || tr.Collection != "transfer_Org1MSP_Org2MSP" || tr.Deadline != "2025-03-05T09:00:02Z" {
		t.Fatalf("transfer %+v", tr)
	}
	if name, e := h.event(); name != porting.EventTransferRequested || e.TransferID != tr.ID || e.From != org1 || e.To != org2 {
		t.Fatalf("event %s %+v", name, e)
	}
	if strings.Contains(string(h.last.eventPayload), "Jane") {
		t.Fatal("customer data in the event")
	}
	// Private data in the pair collection; only its hash in public state.
	priv := h.privateValue(tr.Collection, num1, tr.ID)
	if priv == nil || sha256hex(priv) != tr.CustomerDataHash {
		t.Fatalf("private value %q, hash %s", priv, tr.CustomerDataHash)
	}
	for k, v := range h.ledger.state {
		if strings.Contains(string(v), "Jane") || strings.Contains(string(v), "0123456789abcdef") {
			t.Fatalf("customer data or salt in public key %q", k)
		}
	}
	if got := h.indexed(porting.StatusOpen); !reflect.DeepEqual(got, []string{num1 + "=" + tr.ID}) {
		t.Fatalf("OPEN index %v", got)
	}

	v := h.getNumber(num1)
	if v.Status != NumberPorting || v.PendingTransfer == nil || v.PendingTransfer.ID != tr.ID || v.PendingTransfer.Overdue {
		t.Fatalf("number view %+v", v)
	}

	// Who can read the customer data.
	for _, msp := range []string{org1, org2} {
		cd, err := h.readCustomer(num1, msp)
		if err != nil || !cd.HashVerified || cd.TransferID != tr.ID {
			t.Fatalf("%s reads: %+v %v", msp, cd, err)
		}
		b, _ := json.Marshal(cd.Customer)
		if !strings.Contains(string(b), `"name":"Jane Doe"`) {
			t.Fatalf("customer %s", b)
		}
	}
	for _, msp := range []string{org3, reg} {
		_, err := h.readCustomer(num1, msp)
		wantCode(t, err, porting.CodeForbidden, "")
		// The peer itself refuses too (memberOnlyRead), whatever the chaincode does.
		key, _ := customerKey(h.last, num1, tr.ID)
		stub := h.ledger.newStub("probe", msp, h.now, nil)
		if _, err := stub.GetPrivateData(tr.Collection, key); err == nil {
			t.Fatalf("fake peer let %s read %s", msp, tr.Collection)
		}
	}

	// Every member sees the private write's hash, equal to the one on the transfer record.
	for _, msp := range []string{reg, org3, org1} {
		if hv, err := h.customerHash(num1, msp); err != nil || !hv.Matches || hv.LedgerHash != tr.CustomerDataHash || hv.PurgedAt != "" {
			t.Fatalf("GetCustomerDataHash by %s before purge: %+v %v", msp, hv, err)
		}
	}
	// Only the owner confirms.
	for _, msp := range []string{org2, org3, reg} {
		_, err := h.confirm(num1, msp)
		wantCode(t, err, porting.CodeForbidden, "")
		if !strings.Contains(err.Error(), "only the owner Org1MSP may confirm") {
			t.Fatalf("unclear error %q", err)
		}
	}
	res, err := h.confirm(num1, org1)
	if err != nil || !res.Applied || res.Transfer.Status != porting.StatusCompleted || res.Event != porting.EventTransferConfirmed {
		t.Fatalf("confirm: %+v %v", res, err)
	}
	if name, e := h.event(); name != porting.EventTransferConfirmed || e.Owner != org2 || !e.Applied {
		t.Fatalf("event %s %+v", name, e)
	}
	// Ownership and key-level policy moved; transfer closed; data purged, hash kept.
	v = h.getNumber(num1)
	if v.Owner != org2 || v.PreviousOwner != org1 || v.Status != NumberActive || v.PendingTransfer != nil {
		t.Fatalf("after confirm %+v", v)
	}
	if got := h.policyOrgs(num1); !reflect.DeepEqual(got, []string{org2, reg}) {
		t.Fatalf("key-level policy %v", got)
	}
	if h.privateValue(tr.Collection, num1, tr.ID) != nil {
		t.Fatal("customer data not purged")
	}
	if len(h.ledger.purged[tr.Collection]) != 1 {
		t.Fatal("no purge recorded")
	}
	got := must(evaluate(h, reg, func(c *Contract, ctx contractapi.TransactionContextInterface) (*TransferView, error) {
		return c.GetTransfer(ctx, num1)
	}))
	if got.CustomerDataHash != tr.CustomerDataHash || got.CustomerDataPurgedAt == "" {
		t.Fatalf("hash must remain: %+v", got)
	}
	if hv, err := h.customerHash(num1, reg); err != nil || hv.LedgerHash != "" || hv.Matches || hv.CustomerDataHash != tr.CustomerDataHash || hv.PurgedAt == "" {
		t.Fatalf("GetCustomerDataHash after purge: %+v %v", hv, err)
	}
	_, err = h.readCustomer(num1, org2)
	wantCode(t, err, porting.CodeNotFound, "")
	if len(h.indexed(porting.StatusOpen)) != 0 {
		t.Fatal("index entry left behind")
	}

	// History: allocation, request, confirmation (transfer then number), in order.
	hist := h.history(num1)
	var steps []string
	for _, e := range hist {
		steps = append(steps, e.Record+":"+e.Action+":"+e.Actor)
		if e.TxID == "" || e.Timestamp == "" {
			t.Fatalf("entry %+v", e)
		}
	}
	want := []string{"number:ALLOCATE:RegulatorMSP", "transfer:REQUEST:Org2MSP", "transfer:CONFIRM:Org1MSP", "number:CONFIRM:Org1MSP"}
	if !reflect.DeepEqual(steps, want) {
		t.Fatalf("history %v, want %v", steps, want)
	}

	// The new owner can port it on; the old owner can request it back.
	if _, err := h.request(num1, org1, nil); err != nil {
		t.Fatal(err)
	}
	if tv, _ := h.readCustomer(num1, org1); tv == nil || tv.Collection != "transfer_Org1MSP_Org2MSP" {
		t.Fatal("request back")
	}
}

func TestRequestTransferErrors(t *testing.T) {
	h := newHarness(t)
	h.allocate(num1, org1)
	tests := []struct {
		name   string
		number string
		msp    string
		extra  map[string]string
		code   porting.Code
		field  string
	}{
		{"malformed number", "+49 151", org2, nil, porting.CodeInvalidArgument, "number"},
		{"unknown number", "+4915199999999", org2, nil, porting.CodeNotFound, "number"},
		{"no customer", num1, org2, map[string]string{TransientCustomer: ""}, porting.CodeInvalidArgument, "customer"},
		{"customer not object", num1, org2, map[string]string{TransientCustomer: `[1]`}, porting.CodeInvalidArgument, "customer"},
		{"no contract hash", num1, org2, map[string]string{TransientContractHash: ""}, porting.CodeInvalidArgument, "contractHash"},
		{"bad contract hash", num1, org2, map[string]string{TransientContractHash: "xyz"}, porting.CodeInvalidArgument, "contractHash"},
		{"no salt", num1, org2, map[string]string{TransientSalt: ""}, porting.CodeInvalidArgument, "salt"},
		{"short salt", num1, org2, map[string]string{TransientSalt: "short"}, porting.CodeInvalidArgument, "salt"},
		{"misspelt key", num1, org2, map[string]string{"Customer": "{}"}, porting.CodeInvalidArgument, "transient"},
		{"regulator requests", num1, reg, nil, porting.CodeForbidden, ""},
		{"owner requests", num1, org1, nil, porting.CodeFailedPrecondition, ""},
		{"pac without code outstanding", num1, org2, map[string]string{TransientPAC: "ABC123456"}, porting.CodePACInvalid, "pac"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.request(tc.number, tc.msp, tc.extra)
			wantCode(t, err, tc.code, tc.field)
		})
	}
	if len(h.ledger.state) != 1 || len(h.ledger.private) != 0 {
		t.Fatal("bad input changed the ledger")
	}
	first, err := h.request(num1, org2, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, msp := range []string{org2, org3} {
		_, err := h.request(num1, msp, nil)
		wantCode(t, err, porting.CodeConflict, "")
		if !strings.Contains(err.Error(), first.ID) {
			t.Fatalf("conflict does not name the open transfer: %v", err)
		}
	}
}

func TestPAC(t *testing.T) {
	h := newHarness(t)
	h.allocate(num1, org1)
	issue := func(msp string, tm map[string][]byte) (*PACView, error) {
		return submit(h, msp, tm, func(c *Contract, ctx contractapi.TransactionContextInterface) (*PACView, error) {
			return c.IssuePAC(ctx, num1)
		})
	}
	revoke := func(msp string) (*PACView, error) {
		return submit(h, msp, nil, func(c *Contract, ctx contractapi.TransactionContextInterface) (*PACView, error) {
			return c.RevokePAC(ctx, num1)
		})
	}
	code := map[string][]byte{TransientPAC: []byte("ABC123456")}

	_, err := issue(org2, code)
	wantCode(t, err, porting.CodeForbidden, "")
	_, err = issue(org1, nil)
	wantCode(t, err, porting.CodeInvalidArgument, "pac")
	_, err = issue(org1, map[string][]byte{TransientPAC: []byte("abc")})
	wantCode(t, err, porting.CodeInvalidArgument, "pac")
	_, err = issue(org1, map[string][]byte{"code": []byte("ABC123456")})
	wantCode(t, err, porting.CodeInvalidArgument, "transient")
	_, err = submit(h, org1, code, func(c *Contract, ctx contractapi.TransactionContextInterface) (*PACView, error) {
		return c.IssuePAC(ctx, "+4915100000000")
	})
	wantCode(t, err, porting.CodeNotFound, "number")

	p, err := issue(org1, code)
	issued, _ := porting.ParseTime("issuedAt", p.IssuedAt)
	if err != nil || !p.Outstanding || p.ExpiresAt != porting.FormatTime(issued.AddDate(0, 0, 30)) {
		t.Fatalf("%+v %v", p, err)
	}
	if name, _ := h.event(); name != porting.EventPACIssued {
		t.Fatal(name)
	}
	for k, v := range h.ledger.state {
		if strings.Contains(string(v), "ABC123456") {
			t.Fatalf("the code itself is stored in %q", k)
		}
	}
	b, _ := json.Marshal(h.getNumber(num1))
	if strings.Contains(string(b), "hash") || !strings.Contains(string(b), `"outstanding":true`) {
		t.Fatalf("number view %s", b)
	}

	_, err = h.request(num1, org2, nil)
	wantCode(t, err, porting.CodePACRequired, "pac")
	_, err = h.request(num1, org2, map[string]string{TransientPAC: "ABC123457"})
	wantCode(t, err, porting.CodePACInvalid, "pac")
	tr, err := h.request(num1, org2, map[string]string{TransientPAC: "ABC123456"})
	if err != nil || !tr.PACPresented {
		t.Fatalf("%+v %v", tr, err)
	}
	if v := h.getNumber(num1); v.PAC.Status != porting.PACUsed || v.PAC.Outstanding || v.PAC.UsedByTransfer != tr.ID {
		t.Fatalf("pac %+v", v.PAC)
	}
	must(h.cancel(num1, org2))
	// Works once.
	_, err = h.request(num1, org3, map[string]string{TransientPAC: "ABC123456"})
	wantCode(t, err, porting.CodePACInvalid, "pac")

	// Revoke.
	_, err = revoke(org1)
	wantCode(t, err, porting.CodeFailedPrecondition, "")
	must(issue(org1, map[string][]byte{TransientPAC: []byte("XYZ987654")}))
	_, err = revoke(org3)
	wantCode(t, err, porting.CodeForbidden, "")
	r, err := revoke(org1)
	if err != nil || r.Status != porting.PACRevoked {
		t.Fatalf("%+v %v", r, err)
	}
	if name, _ := h.event(); name != porting.EventPACRevoked {
		t.Fatal(name)
	}
	if _, err := h.request(num1, org3, nil); err != nil {
		t.Fatalf("request after revoke: %v", err)
	}
	must(h.cancel(num1, org3))

	// Expiry: a code past its validity is not outstanding.
	must(issue(org1, map[string][]byte{TransientPAC: []byte("LMN111222")}))
	h.advance(30 * 24 * time.Hour)
	if _, err := h.request(num1, org3, nil); err != nil {
		t.Fatalf("request after expiry: %v", err)
	}
}

func TestRejectEscalateResolveGrant(t *testing.T) {
	h := newHarness(t)
	h.allocate(num1, org1)
	tr := must(h.request(num1, org2, nil))

	_, err := h.reject(num1, org1, "")
	wantCode(t, err, porting.CodeInvalidArgument, "reason")
	_, err = h.reject(num1, org2, "no")
	wantCode(t, err, porting.CodeForbidden, "")
	res := must(h.reject(num1, org1, "contract holder mismatch"))
	if res.Transfer.Status != porting.StatusRejected || res.Transfer.DisputeUntil == "" || res.Transfer.CustomerDataPurgedAt == "" {
		t.Fatalf("%+v", res.Transfer)
	}
	if h.privateValue(tr.Collection, num1, tr.ID) != nil {
		t.Fatal("not purged on reject")
	}
	if name, _ := h.event(); name != porting.EventTransferRejected {
		t.Fatal(name)
	}
	// Third telcos wait for the dispute window.
	_, err = h.request(num1, org3, nil)
	wantCode(t, err, porting.CodeConflict, "")

	_, err = h.escalate(num1, org3, "me too")
	wantCode(t, err, porting.CodeForbidden, "")
	_, err = h.escalate(num1, org2, "")
	wantCode(t, err, porting.CodeInvalidArgument, "reason")
	res = must(h.escalate(num1, org2, "customer identity verified in shop"))
	if res.Transfer.Status != porting.StatusEscalated || res.Transfer.EscalationCause != porting.CauseDispute || res.Transfer.EscalatedBy != org2 {
		t.Fatalf("%+v", res.Transfer)
	}
	if got := h.indexed(porting.StatusEscalated); len(got) != 1 {
		t.Fatalf("ESCALATED index %v", got)
	}
	_, err = h.escalate(num1, org1, "again")
	wantCode(t, err, porting.CodeFailedPrecondition, "")
	_, err = h.confirm(num1, org1)
	wantCode(t, err, porting.CodeFailedPrecondition, "")

	page := must(h.list("ESCALATED", "", "", reg))
	if page.Count != 1 || page.Transfers[0].ID != tr.ID {
		t.Fatalf("list %+v", page)
	}
	_, err = h.list("ESCALATED", "", "", org1)
	wantCode(t, err, porting.CodeForbidden, "")

	_, err = h.resolve(num1, org1, "GRANT", "x")
	wantCode(t, err, porting.CodeForbidden, "")
	_, err = h.resolve(num1, reg, "MAYBE", "x")
	wantCode(t, err, porting.CodeInvalidArgument, "decision")
	_, err = h.resolve(num1, reg, "GRANT", "")
	wantCode(t, err, porting.CodeInvalidArgument, "reason")
	res = must(h.resolve(num1, reg, "GRANT", "rejection unfounded"))
	if res.Transfer.Status != porting.StatusCompleted || res.Transfer.Resolution != porting.DecisionGrant {
		t.Fatalf("%+v", res.Transfer)
	}
	if name, e := h.event(); name != porting.EventTransferResolved || e.Decision != "GRANT" || e.Owner != org2 {
		t.Fatalf("event %s %+v", name, e)
	}
	if v := h.getNumber(num1); v.Owner != org2 || !reflect.DeepEqual(h.policyOrgs(num1), []string{org2, reg}) {
		t.Fatalf("after grant %+v", v)
	}
	if len(h.indexed(porting.StatusEscalated)) != 0 {
		t.Fatal("index left")
	}
	hist := h.history(num1)
	last := hist[len(hist)-1]
	if last.Record != "number" || last.Action != "RESOLVE" || last.Actor != reg {
		t.Fatalf("last history entry %+v", last)
	}
	_, err = h.resolve(num1, reg, "DENY", "again")
	wantCode(t, err, porting.CodeFailedPrecondition, "")
}

func TestDeadlineEscalatesAtNextTouch(t *testing.T) {
	h := newHarness(t)
	h.allocate(num1, org1)
	tr := must(h.request(num1, org2, nil))
	h.advance(3 * 24 * time.Hour) // Thursday: past Wednesday's deadline

	if v := h.getNumber(num1); !v.PendingTransfer.Overdue || v.PendingTransfer.Status != porting.StatusOpen {
		t.Fatalf("%+v", v.PendingTransfer)
	}
	open := must(h.list("OPEN", "", "", reg))
	if open.Count != 1 || !open.Transfers[0].Overdue {
		t.Fatalf("%+v", open)
	}
	// A third telco's request does not touch it.
	_, err := h.request(num1, org3, nil)
	wantCode(t, err, porting.CodeConflict, "")

	res, err := h.confirm(num1, org1)
	if err != nil || res.Applied || res.Transfer.Status != porting.StatusEscalated || res.Transfer.EscalationCause != porting.CauseDeadline || res.Message == "" {
		t.Fatalf("late confirm: %+v %v", res, err)
	}
	if name, e := h.event(); name != porting.EventTransferEscalated || e.Applied || !e.EscalatedByDeadline {
		t.Fatalf("event %s %+v", name, e)
	}
	if v := h.getNumber(num1); v.Owner != org1 {
		t.Fatal("a late confirm moved the number")
	}
	if h.privateValue(tr.Collection, num1, tr.ID) == nil {
		t.Fatal("escalation purged the data the Regulator's dispute may need")
	}
	if len(h.indexed(porting.StatusOpen)) != 0 || len(h.indexed(porting.StatusEscalated)) != 1 {
		t.Fatal("index not moved")
	}
	_, err = h.reject(num1, org1, "late")
	wantCode(t, err, porting.CodeFailedPrecondition, "")

	res = must(h.resolve(num1, reg, "DENY", "customer did not confirm"))
	if res.Transfer.Status != porting.StatusDenied || h.privateValue(tr.Collection, num1, tr.ID) != nil {
		t.Fatalf("%+v", res.Transfer)
	}
	if v := h.getNumber(num1); v.Owner != org1 || v.Status != NumberActive {
		t.Fatalf("%+v", v)
	}
}

func TestCancel(t *testing.T) {
	h := newHarness(t)
	h.allocate(num1, org1)
	_, err := h.cancel(num1, org2)
	wantCode(t, err, porting.CodeNotFound, "number")
	tr := must(h.request(num1, org2, nil))
	for _, msp := range []string{org1, org3, reg} {
		_, err := h.cancel(num1, msp)
		wantCode(t, err, porting.CodeForbidden, "")
	}
	res := must(h.cancel(num1, org2))
	if res.Transfer.Status != porting.StatusCancelled || h.privateValue(tr.Collection, num1, tr.ID) != nil {
		t.Fatalf("%+v", res.Transfer)
	}
	if name, _ := h.event(); name != porting.EventTransferCancelled {
		t.Fatal(name)
	}
	_, err = h.cancel(num1, org2)
	wantCode(t, err, porting.CodeFailedPrecondition, "")
	// The number is free for another telco; the collection follows the pair.
	tr3 := must(h.request(num1, org3, nil))
	if tr3.Collection != "transfer_Org1MSP_Org3MSP" || h.privateValue(tr3.Collection, num1, tr3.ID) == nil {
		t.Fatalf("%+v", tr3)
	}
	if _, err := h.readCustomer(num1, org2); err == nil {
		t.Fatal("Org2 reads Org1/Org3 data")
	}
}

func TestEraseCustomerData(t *testing.T) {
	h := newHarness(t)
	h.allocate(num1, org1)
	tr := must(h.request(num1, org2, nil))
	for _, msp := range []string{org3, reg} {
		_, err := h.erase(num1, msp)
		wantCode(t, err, porting.CodeForbidden, "")
	}
	res := must(h.erase(num1, org1))
	if res.Transfer.Status != porting.StatusOpen || res.Transfer.CustomerDataErasedBy != org1 || res.Transfer.CustomerDataHash != tr.CustomerDataHash {
		t.Fatalf("%+v", res.Transfer)
	}
	if name, _ := h.event(); name != porting.EventCustomerDataErased {
		t.Fatal(name)
	}
	if h.privateValue(tr.Collection, num1, tr.ID) != nil {
		t.Fatal("not purged")
	}
	_, err := h.readCustomer(num1, org2)
	wantCode(t, err, porting.CodeNotFound, "")
	_, err = h.erase(num1, org2)
	wantCode(t, err, porting.CodeFailedPrecondition, "")
	// The transfer can still be decided.
	must(h.confirm(num1, org1))
}

func TestListTransfers(t *testing.T) {
	h := newHarness(t)
	must(submit(h, reg, nil, func(c *Contract, ctx contractapi.TransactionContextInterface) (*RangeResult, error) {
		return c.AllocateRange(ctx, "+4930000000", "+4930000004", org1)
	}))
	for _, n := range []string{"+4930000003", "+4930000000", "+4930000004", "+4930000001", "+4930000002"} {
		must(h.request(n, org2, nil))
	}
	must(h.escalate("+4930000002", org2, "slow"))

	var got []string
	bookmark := ""
	for pages := 0; ; pages++ {
		p := must(h.list("OPEN", "2", bookmark, reg))
		if p.Count != len(p.Transfers) || p.Count > 2 {
			t.Fatalf("page %+v", p)
		}
		for _, tr := range p.Transfers {
			got = append(got, tr.Number)
		}
		if p.Bookmark == "" {
			break
		}
		bookmark = p.Bookmark
		if pages > 3 {
			t.Fatal("no end")
		}
	}
	if want := []string{"+4930000000", "+4930000001", "+4930000003", "+4930000004"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("OPEN %v, want %v", got, want)
	}
	esc := must(h.list("ESCALATED", "", "", reg))
	if esc.Count != 1 || esc.Transfers[0].Number != "+4930000002" {
		t.Fatalf("%+v", esc)
	}
	empty := must(h.list("ESCALATED", "1", "\x00xfer-status\x00ESCALATED\x00+4939999999\x00", reg))
	if empty.Count != 0 || empty.Transfers == nil {
		t.Fatalf("empty page %+v", empty)
	}
	tests := []struct {
		name, status, size, bookmark, msp string
		code                              porting.Code
		field                             string
	}{
		{"no status", "", "", "", reg, porting.CodeInvalidArgument, "status"},
		{"closed status", "COMPLETED", "", "", reg, porting.CodeInvalidArgument, "status"},
		{"lower case", "open", "", "", reg, porting.CodeInvalidArgument, "status"},
		{"size zero", "OPEN", "0", "", reg, porting.CodeInvalidArgument, "pageSize"},
		{"size big", "OPEN", "1001", "", reg, porting.CodeInvalidArgument, "pageSize"},
		{"size text", "OPEN", "ten", "", reg, porting.CodeInvalidArgument, "pageSize"},
		{"bookmark long", "OPEN", "", strings.Repeat("x", 1025), reg, porting.CodeInvalidArgument, "bookmark"},
		{"telco", "OPEN", "", "", org2, porting.CodeForbidden, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.list(tc.status, tc.size, tc.bookmark, tc.msp)
			wantCode(t, err, tc.code, tc.field)
		})
	}
}

func TestConfigure(t *testing.T) {
	h := newHarness(t)
	configure := func(msp, a, d, p string) (*porting.Settings, error) {
		return submit(h, msp, nil, func(c *Contract, ctx contractapi.TransactionContextInterface) (*porting.Settings, error) {
			return c.Configure(ctx, a, d, p)
		})
	}
	def := must(evaluate(h, org1, func(c *Contract, ctx contractapi.TransactionContextInterface) (*porting.Settings, error) {
		return c.GetSettings(ctx)
	}))
	if *def != porting.DefaultSettings() {
		t.Fatalf("%+v", def)
	}
	tests := []struct {
		name, msp, a, d, p string
		code               porting.Code
		field              string
	}{
		{"telco", org1, "3", "5", "30", porting.CodeForbidden, ""},
		{"answer text", reg, "two", "5", "30", porting.CodeInvalidArgument, "answerBusinessDays"},
		{"answer empty", reg, "", "5", "30", porting.CodeInvalidArgument, "answerBusinessDays"},
		{"answer zero", reg, "0", "5", "30", porting.CodeInvalidArgument, "answerBusinessDays"},
		{"dispute big", reg, "2", "31", "30", porting.CodeInvalidArgument, "disputeBusinessDays"},
		{"pac negative", reg, "2", "5", "-1", porting.CodeInvalidArgument, "pacValidityDays"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := configure(tc.msp, tc.a, tc.d, tc.p)
			wantCode(t, err, tc.code, tc.field)
		})
	}
	s := must(configure(reg, "5", "10", "14"))
	if s.AnswerBusinessDays != 5 {
		t.Fatalf("%+v", s)
	}
	if name, _ := h.event(); name != porting.EventSettingsUpdated {
		t.Fatal(name)
	}
	h.allocate(num1, org1)
	tr := must(h.request(num1, org2, nil))
	requested, _ := porting.ParseTime("requestedAt", tr.RequestedAt)
	if want := porting.FormatTime(porting.AddBusinessDays(requested, 5)); tr.Deadline != want {
		t.Fatalf("deadline %s, want %s", tr.Deadline, want)
	}
}

func TestReadFunctionsErrors(t *testing.T) {
	h := newHarness(t)
	h.allocate(num1, org1)
	unknown := "+4915199999999"
	for _, tc := range []struct {
		name  string
		fn    func() error
		code  porting.Code
		field string
	}{
		{"GetNumber malformed", func() error {
			_, err := evaluate(h, org1, func(c *Contract, ctx contractapi.TransactionContextInterface) (*NumberView, error) {
				return c.GetNumber(ctx, "x")
			})
			return err
		}, porting.CodeInvalidArgument, "number"},
		{"GetNumber unknown", func() error {
			_, err := evaluate(h, org1, func(c *Contract, ctx contractapi.TransactionContextInterface) (*NumberView, error) {
				return c.GetNumber(ctx, unknown)
			})
			return err
		}, porting.CodeNotFound, "number"},
		{"GetTransfer malformed", func() error {
			_, err := evaluate(h, org1, func(c *Contract, ctx contractapi.TransactionContextInterface) (*TransferView, error) {
				return c.GetTransfer(ctx, "")
			})
			return err
		}, porting.CodeInvalidArgument, "number"},
		{"GetTransfer unknown number", func() error {
			_, err := evaluate(h, org1, func(c *Contract, ctx contractapi.TransactionContextInterface) (*TransferView, error) {
				return c.GetTransfer(ctx, unknown)
			})
			return err
		}, porting.CodeNotFound, "number"},
		{"GetTransfer none yet", func() error {
			_, err := evaluate(h, org1, func(c *Contract, ctx contractapi.TransactionContextInterface) (*TransferView, error) {
				return c.GetTransfer(ctx, num1)
			})
			return err
		}, porting.CodeNotFound, "number"},
		{"ReadCustomerData malformed", func() error { _, err := h.readCustomer("+0", org1); return err }, porting.CodeInvalidArgument, "number"},
		{"ReadCustomerData unknown", func() error { _, err := h.readCustomer(unknown, org1); return err }, porting.CodeNotFound, "number"},
		{"ReadCustomerData no transfer", func() error { _, err := h.readCustomer(num1, org1); return err }, porting.CodeNotFound, "number"},
		{"History malformed", func() error {
			_, err := evaluate(h, org1, func(c *Contract, ctx contractapi.TransactionContextInterface) ([]*HistoryEntry, error) {
				return c.History(ctx, "+49")
			})
			return err
		}, porting.CodeInvalidArgument, "number"},
		{"History unknown", func() error {
			_, err := evaluate(h, org1, func(c *Contract, ctx contractapi.TransactionContextInterface) ([]*HistoryEntry, error) {
				return c.History(ctx, unknown)
			})
			return err
		}, porting.CodeNotFound, "number"},
		{"RevokePAC malformed", func() error {
			_, err := submit(h, org1, nil, func(c *Contract, ctx contractapi.TransactionContextInterface) (*PACView, error) {
				return c.RevokePAC(ctx, "1")
			})
			return err
		}, porting.CodeInvalidArgument, "number"},
		{"Confirm malformed", func() error { _, err := h.confirm("abc", org1); return err }, porting.CodeInvalidArgument, "number"},
		{"Confirm unknown", func() error { _, err := h.confirm(unknown, org1); return err }, porting.CodeNotFound, "number"},
		{"Resolve bad decision first", func() error { _, err := h.resolve("bad", reg, "", "x"); return err }, porting.CodeInvalidArgument, "decision"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.fn(), tc.code, tc.field) })
	}
}

// TestLedgerFailures checks a failing ledger call becomes an INTERNAL error, never a panic,
// and nothing is committed.
func TestLedgerFailures(t *testing.T) {
	for _, method := range []string{"GetState", "PutState", "DelState", "SetStateValidationParameter", "GetTxTimestamp", "GetTransient", "PutPrivateData", "PurgePrivateData", "SetEvent", "GetStateByPartialCompositeKeyWithPagination", "GetHistoryForKey"} {
		t.Run(method, func(t *testing.T) {
			h := newHarness(t)
			h.allocate(num1, org1)
			must(h.request(num1, org2, nil))
			h.allocate("+4915100000001", org1)
			h.inject = map[string]error{method: errFake}
			errs := []error{}
			_, err := submit(h, reg, nil, func(c *Contract, ctx contractapi.TransactionContextInterface) (*NumberView, error) {
				return c.AllocateNumber(ctx, "+4915100000000", org1)
			})
			errs = append(errs, err)
			_, err = h.request("+4915100000001", org3, nil)
			errs = append(errs, err)
			_, err = h.confirm(num1, org1)
			errs = append(errs, err)
			_, err = h.list("OPEN", "", "", reg)
			errs = append(errs, err)
			_, err = evaluate(h, reg, func(c *Contract, ctx contractapi.TransactionContextInterface) ([]*HistoryEntry, error) {
				return c.History(ctx, num1)
			})
			errs = append(errs, err)
			internal := 0
			for _, err := range errs {
				if porting.CodeOf(err) == porting.CodeInternal {
					internal++
					if !strings.Contains(err.Error(), "fake ledger failure") {
						t.Fatalf("cause lost: %v", err)
					}
				}
			}
			if internal == 0 {
				t.Fatalf("no function reported the failure of %s: %v", method, errs)
			}
		})
	}
	t.Run("identity", func(t *testing.T) {
		h := newHarness(t)
		ctx := h.newCtx(reg, nil)
		ctx.id = fakeIdentity{msp: reg, err: errFake}
		_, err := h.c.AllocateNumber(ctx, num1, org1)
		wantCode(t, err, porting.CodeInternal, "")
		// No identity or no MSP ID: nobody the contract knows (as in the exchange contract).
		ctx.id = fakeIdentity{}
		_, err = h.c.AllocateNumber(ctx, num1, org1)
		wantCode(t, err, porting.CodeForbidden, "")
		ctx.id = nil
		_, err = h.c.AllocateNumber(ctx, num1, org1)
		wantCode(t, err, porting.CodeForbidden, "")
	})
	t.Run("corrupt record", func(t *testing.T) {
		h := newHarness(t)
		h.allocate(num1, org1)
		key, _ := numberKey(h.last, num1)
		h.ledger.state[key] = []byte("{not json")
		_, err := evaluate(h, org1, func(c *Contract, ctx contractapi.TransactionContextInterface) (*NumberView, error) {
			return c.GetNumber(ctx, num1)
		})
		wantCode(t, err, porting.CodeInternal, "")
		h.ledger.state[keySettings] = []byte(`{"answerBusinessDays":0}`)
		_, err = evaluate(h, org1, func(c *Contract, ctx contractapi.TransactionContextInterface) (*porting.Settings, error) {
			return c.GetSettings(ctx)
		})
		wantCode(t, err, porting.CodeInternal, "")
	})
}

var errFake = fakeError("fake ledger failure")

type fakeError string

func (e fakeError) Error() string { return string(e) }

func TestWritesRefuseATimestampFarFromThePeersClock(t *testing.T) {
	h := newHarness(t)
	h.allocate(num1, org1)
	peerNow := h.now.Add(7 * 24 * time.Hour) // the client backdates by a week
	h.c.clock = func() time.Time { return peerNow }
	_, err := h.request(num1, org2, nil)
	wantCode(t, err, porting.CodeInvalidArgument, "timestamp")
	if v := h.getNumber(num1); v.Status != NumberActive || v.PendingTransfer != nil {
		t.Fatalf("a refused request changed the number: %+v", v)
	}
	// Reads are not checked: a client with a wrong clock can still look.
	if v := h.getNumber(num1); v.Owner != org1 {
		t.Fatalf("GetNumber: %+v", v)
	}
	h.c.clock = func() time.Time { return h.now.Add(time.Minute) }
	if _, err := h.request(num1, org2, nil); err != nil {
		t.Fatalf("request one minute off the peer's clock: %v", err)
	}
}
