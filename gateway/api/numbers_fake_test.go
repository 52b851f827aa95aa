package api

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/fabmarket/fabmarket/chaincode/numbers/porting"
)

// Numbers of the fake: numActive belongs to Org1MSP with no transfer; numPorting belongs to
// Org1MSP with an OPEN transfer to Org2MSP.
const (
	numActive  = "+4915100000001"
	numPorting = "+4915100000002"
	numUnknown = "+4915199999999"
)

// fakeNumbers is the numbers chaincode of the fake ledger: enough state and rules (owner,
// parties of a transfer) to exercise every path of the handlers.
type fakeNumbers struct {
	caller    string // MSP ID of this gateway's identity
	numbers   map[string]*NumberInfo
	transfers map[string]*TransferInfo
	requests  []TransferRequest // RequestTransfer calls, as the ledger received them
	steps     []TransferStep
	pacs      []string // codes given to IssuePAC
}

// setCaller sets the MSP ID the fake chaincode sees as the caller.
func (f *fakeLedger) setCaller(msp string) {
	n := f.numbersState()
	f.mu.Lock()
	n.caller = msp
	f.mu.Unlock()
}

func (f *fakeLedger) numbersState() *fakeNumbers {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.nums == nil {
		t := &TransferInfo{Transfer: porting.Transfer{ID: "t1", Number: numPorting, From: "Org1MSP", To: "Org2MSP",
			Status: porting.StatusOpen, Collection: "transfer_Org1MSP_Org2MSP", CustomerDataHash: "ab", LastAction: porting.ActionRequest}}
		f.nums = &fakeNumbers{
			numbers: map[string]*NumberInfo{
				numActive:  {Number: numActive, Owner: "Org1MSP", Status: "ACTIVE"},
				numPorting: {Number: numPorting, Owner: "Org1MSP", Status: "PORTING", PendingTransfer: t},
			},
			transfers: map[string]*TransferInfo{numPorting: t},
		}
	}
	return f.nums
}

func (f *fakeLedger) number(number string) (*fakeNumbers, *NumberInfo, error) {
	n := f.numbersState()
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := n.numbers[number]
	if !ok {
		return n, nil, NewError(CodeNotFound, "number: %s is not allocated", number)
	}
	return n, v, nil
}

func (f *fakeLedger) Number(_ context.Context, number string) (NumberInfo, error) {
	if err := f.check("Number"); err != nil {
		return NumberInfo{}, err
	}
	_, v, err := f.number(number)
	if err != nil {
		return NumberInfo{}, err
	}
	return *v, nil
}

func (f *fakeLedger) CurrentTransfer(_ context.Context, number string) (TransferInfo, error) {
	if err := f.check("CurrentTransfer"); err != nil {
		return TransferInfo{}, err
	}
	n, _, err := f.number(number)
	if err != nil {
		return TransferInfo{}, err
	}
	t, ok := n.transfers[number]
	if !ok {
		return TransferInfo{}, NewError(CodeNotFound, "number: %s has no transfer request", number)
	}
	return *t, nil
}

func (f *fakeLedger) NumberHistory(_ context.Context, number string) ([]NumberHistoryEntry, error) {
	if err := f.check("NumberHistory"); err != nil {
		return nil, err
	}
	_, v, err := f.number(number)
	if err != nil {
		return nil, err
	}
	return []NumberHistoryEntry{{TxID: testTx, Timestamp: "2025-03-03T09:00:00Z", Record: "number", Action: "ALLOCATE",
		Actor: "RegulatorMSP", Number: &porting.Number{Number: number, Owner: v.Owner, LastAction: porting.ActionAllocate}}}, nil
}

func (f *fakeLedger) Transfers(_ context.Context, status string, limit int, bookmark string) (TransferPage, error) {
	if err := f.check("Transfers"); err != nil {
		return TransferPage{}, err
	}
	n := f.numbersState()
	f.mu.Lock()
	defer f.mu.Unlock()
	if n.caller != "RegulatorMSP" {
		return TransferPage{}, NewError(CodeForbidden, "only the Regulator lists transfers")
	}
	p := TransferPage{Transfers: []TransferInfo{}}
	for _, t := range n.transfers {
		if string(t.Status) == status {
			p.Transfers = append(p.Transfers, *t)
		}
	}
	sort.Slice(p.Transfers, func(i, j int) bool { return p.Transfers[i].Number < p.Transfers[j].Number })
	p.Count = len(p.Transfers)
	return p, nil
}

func (f *fakeLedger) CustomerData(_ context.Context, number string) (CustomerData, error) {
	if err := f.check("CustomerData"); err != nil {
		return CustomerData{}, err
	}
	n, _, err := f.number(number)
	if err != nil {
		return CustomerData{}, err
	}
	t, ok := n.transfers[number]
	if !ok {
		return CustomerData{}, NewError(CodeNotFound, "number: %s has no transfer request", number)
	}
	if n.caller != t.From && n.caller != t.To {
		return CustomerData{}, NewError(CodeForbidden, "only %s and %s may read the customer data", t.From, t.To)
	}
	return CustomerData{Number: number, TransferID: t.ID, Collection: t.Collection, CustomerDataHash: t.CustomerDataHash,
		HashVerified: true, Customer: json.RawMessage(`{"name":"Erika Mustermann"}`)}, nil
}

func (f *fakeLedger) CustomerDataHash(_ context.Context, number string) (CustomerDataHash, error) {
	if err := f.check("CustomerDataHash"); err != nil {
		return CustomerDataHash{}, err
	}
	n, _, err := f.number(number)
	if err != nil {
		return CustomerDataHash{}, err
	}
	t, ok := n.transfers[number]
	if !ok {
		return CustomerDataHash{}, NewError(CodeNotFound, "number: %s has no transfer request", number)
	}
	return CustomerDataHash{Number: number, TransferID: t.ID, Collection: t.Collection, CustomerDataHash: t.CustomerDataHash,
		LedgerHash: t.CustomerDataHash, Matches: true}, nil
}

func (f *fakeLedger) AllocateNumber(_ context.Context, number, owner string, w Write) (NumberInfo, Receipt, error) {
	r, err := f.write("AllocateNumber", w)
	return NumberInfo{Number: number, Owner: owner, Status: "ACTIVE"}, r, err
}

func (f *fakeLedger) AllocateRange(_ context.Context, first, last, owner string, w Write) (RangeInfo, Receipt, error) {
	r, err := f.write("AllocateRange", w)
	return RangeInfo{First: first, Last: last, Count: 2, Owner: owner}, r, err
}

func (f *fakeLedger) IssuePAC(_ context.Context, number, code string, w Write) (PACInfo, Receipt, error) {
	n, v, err := f.number(number)
	if err != nil {
		return PACInfo{}, Receipt{}, err
	}
	if v.Owner != n.caller {
		return PACInfo{}, Receipt{}, NewError(CodeForbidden, "only the owner %s may issue a code", v.Owner)
	}
	r, err := f.write("IssuePAC", w)
	f.mu.Lock()
	n.pacs = append(n.pacs, code)
	f.mu.Unlock()
	return PACInfo{Number: number, Status: "OUTSTANDING", Outstanding: true, IssuedBy: v.Owner}, r, err
}

func (f *fakeLedger) RevokePAC(_ context.Context, number string, w Write) (PACInfo, Receipt, error) {
	_, v, err := f.number(number)
	if err != nil {
		return PACInfo{}, Receipt{}, err
	}
	r, err := f.write("RevokePAC", w)
	return PACInfo{Number: number, Status: "REVOKED", IssuedBy: v.Owner}, r, err
}

func (f *fakeLedger) RequestTransfer(_ context.Context, req TransferRequest, w Write) (TransferInfo, Receipt, error) {
	n, _, err := f.number(req.Number)
	if err != nil {
		return TransferInfo{}, Receipt{}, err
	}
	if err := f.check("RequestTransfer"); err != nil {
		return TransferInfo{}, Receipt{}, err
	}
	f.mu.Lock()
	t, open := n.transfers[req.Number]
	f.mu.Unlock()
	if open && t.Status.Active() {
		return TransferInfo{}, Receipt{}, NewError(CodeConflict, "transfer %s of %s is %s; one open request per number", t.ID, req.Number, t.Status)
	}
	r, err := f.write("RequestTransfer", w)
	if err != nil {
		return TransferInfo{}, r, err
	}
	f.mu.Lock()
	n.requests = append(n.requests, req)
	f.mu.Unlock()
	return TransferInfo{Transfer: porting.Transfer{ID: r.TxID, Number: req.Number, From: req.Owner, To: n.caller,
		Status: porting.StatusOpen, ContractHash: req.ContractHash, PACPresented: req.PAC != ""}}, r, nil
}

func (f *fakeLedger) TransferStep(_ context.Context, s TransferStep, w Write) (StepInfo, Receipt, error) {
	n, _, err := f.number(s.Number)
	if err != nil {
		return StepInfo{}, Receipt{}, err
	}
	f.mu.Lock()
	t, ok := n.transfers[s.Number]
	caller := n.caller
	f.mu.Unlock()
	if !ok {
		return StepInfo{}, Receipt{}, NewError(CodeNotFound, "number: %s has no transfer request", s.Number)
	}
	if (s.Action == StepConfirm || s.Action == StepReject) && caller != t.From {
		return StepInfo{}, Receipt{}, NewError(CodeForbidden, "only the owner %s may %s the transfer", t.From, s.Action)
	}
	r, err := f.write("TransferStep", w)
	if err != nil {
		return StepInfo{}, r, err
	}
	f.mu.Lock()
	n.steps = append(n.steps, s)
	f.mu.Unlock()
	out := *t
	switch s.Action {
	case StepConfirm:
		out.Status = porting.StatusCompleted
	case StepReject:
		out.Status, out.RejectReason = porting.StatusRejected, s.Reason
	case StepCancel:
		out.Status = porting.StatusCancelled
	case StepEscalate:
		out.Status = porting.StatusEscalated
	case StepResolve:
		out.Status, out.Resolution = porting.StatusCompleted, porting.Decision(s.Decision)
	}
	return StepInfo{Applied: true, Event: "Transfer" + s.Action, Transfer: &out}, r, nil
}
