package contract

import (
	"encoding/hex"
	"encoding/json"
	"sort"
	"strconv"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/fabmarket/fabmarket/chaincode/numbers/porting"
)

// Name is the contract name ("numbers:Function" when called with a prefix; it is also the
// chaincode's default contract).
const Name = "numbers"

// Transient map keys.
const (
	// TransientCustomer is the customer data, a JSON object (RequestTransfer).
	TransientCustomer = "customer"
	// TransientContractHash is the hex SHA-256 of the contract document (RequestTransfer).
	TransientContractHash = "contractHash"
	// TransientSalt is 16 to 64 random bytes chosen by the client (RequestTransfer).
	TransientSalt = "salt"
	// TransientPAC is the porting authorisation code (IssuePAC; RequestTransfer when one is
	// outstanding).
	TransientPAC = "pac"
)

// Page sizes of ListTransfers.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Contract is the number-transfer contract.
type Contract struct {
	contractapi.Contract
	roles porting.Roles
	clock func() time.Time // the endorsing peer's clock (time.Now), for porting.CheckTxTime
}

// New returns the contract for the organisations of ARCHITECTURE.md (RegulatorMSP; telcos
// Org1MSP, Org2MSP, Org3MSP).
func New() *Contract {
	c, _ := NewWithRoles(porting.DefaultRoles()) // the defaults are valid (tested)
	return c
}

// NewWithRoles returns the contract for other organisation names; it fails if roles is not
// valid (see porting.Roles.Validate).
func NewWithRoles(roles porting.Roles) (*Contract, error) {
	if err := roles.Validate(); err != nil {
		return nil, err
	}
	c := &Contract{roles: porting.Roles{Regulator: roles.Regulator, Telcos: append([]string(nil), roles.Telcos...)}, clock: time.Now}
	c.Name = Name
	c.Info.Title = "Number transfer"
	c.Info.Description = "Telco phone-number ownership and porting under the Regulator's endorsement"
	return c, nil
}

// GetEvaluateTransactions lists the read-only functions (evaluated, not submitted).
func (c *Contract) GetEvaluateTransactions() []string {
	return []string{"GetNumber", "GetTransfer", "ReadCustomerData", "GetCustomerDataHash", "History", "ListTransfers", "GetSettings"}
}

// AllocateNumber allocates number to the telco owner. Regulator only. The number key gets the
// key-level policy AND(Regulator.peer, owner.peer). Event NumberAllocated.
func (c *Contract) AllocateNumber(ctx contractapi.TransactionContextInterface, number, owner string) (*NumberView, error) {
	stub := ctx.GetStub()
	actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	now, err := c.writeTime(stub)
	if err != nil {
		return nil, err
	}
	n, err := porting.Allocate(number, owner, actor, c.roles, now)
	if err != nil {
		return nil, err
	}
	key, err := numberKey(stub, number)
	if err != nil {
		return nil, err
	}
	var existing porting.Number
	if ok, err := getJSON(stub, key, &existing); err != nil {
		return nil, err
	} else if ok {
		return nil, porting.Errorf(porting.CodeAlreadyExists, "number", "%s is already allocated to %s", number, existing.Owner)
	}
	policy, err := ownerPolicy(c.roles.Regulator, owner)
	if err != nil {
		return nil, err
	}
	if err := putJSON(stub, key, n); err != nil {
		return nil, err
	}
	if err := setOwnerPolicy(stub, key, policy); err != nil {
		return nil, err
	}
	if err := emit(stub, Event{Name: porting.EventNumberAllocated, Number: number, Owner: owner, Applied: true, Actor: actor, TxID: stub.GetTxID(), Time: porting.FormatTime(now)}); err != nil {
		return nil, err
	}
	return &NumberView{Number: n.Number, Owner: n.Owner, Status: NumberActive, AllocatedAt: n.AllocatedAt, UpdatedAt: n.UpdatedAt}, nil
}

// AllocateRange allocates first..last (inclusive, same length, at most porting.MaxRangeSize)
// to the telco owner. Regulator only; all or nothing: if any number of the range is already
// allocated, nothing is. Event NumberRangeAllocated.
func (c *Contract) AllocateRange(ctx contractapi.TransactionContextInterface, first, last, owner string) (*RangeResult, error) {
	stub := ctx.GetStub()
	actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !c.roles.IsRegulator(actor) {
		return nil, porting.Errorf(porting.CodeForbidden, "", "only the Regulator (%s) allocates numbers; caller is %s", c.roles.Regulator, actor)
	}
	numbers, err := porting.NumberRange(first, last)
	if err != nil {
		return nil, err
	}
	if err := porting.ValidateOwner("owner", owner, c.roles); err != nil {
		return nil, err
	}
	now, err := c.writeTime(stub)
	if err != nil {
		return nil, err
	}
	policy, err := ownerPolicy(c.roles.Regulator, owner)
	if err != nil {
		return nil, err
	}
	for _, number := range numbers {
		n, err := porting.Allocate(number, owner, actor, c.roles, now)
		if err != nil {
			return nil, err
		}
		key, err := numberKey(stub, number)
		if err != nil {
			return nil, err
		}
		b, err := stub.GetState(key)
		if err != nil {
			return nil, porting.Wrap(porting.CodeInternal, err, "read state")
		}
		if b != nil {
			return nil, porting.Errorf(porting.CodeAlreadyExists, "first", "%s in range %s..%s is already allocated; nothing was allocated", number, first, last)
		}
		if err := putJSON(stub, key, n); err != nil {
			return nil, err
		}
		if err := setOwnerPolicy(stub, key, policy); err != nil {
			return nil, err
		}
	}
	if err := emit(stub, Event{Name: porting.EventNumberRangeAllocated, Number: first, Last: last, Count: len(numbers), Owner: owner, Applied: true, Actor: actor, TxID: stub.GetTxID(), Time: porting.FormatTime(now)}); err != nil {
		return nil, err
	}
	return &RangeResult{First: first, Last: last, Count: len(numbers), Owner: owner}, nil
}

// GetNumber returns the number, its owner, its status (ACTIVE or PORTING), its last code and
// its pending transfer. Any member of the channel.
func (c *Contract) GetNumber(ctx contractapi.TransactionContextInterface, number string) (*NumberView, error) {
	stub := ctx.GetStub()
	if err := porting.ValidateNumber("number", number); err != nil {
		return nil, err
	}
	now, err := txTime(stub)
	if err != nil {
		return nil, err
	}
	n, _, err := loadNumber(stub, number)
	if err != nil {
		return nil, err
	}
	v := &NumberView{Number: n.Number, Owner: n.Owner, Status: NumberActive, AllocatedAt: n.AllocatedAt, UpdatedAt: n.UpdatedAt, PreviousOwner: n.PreviousOwner}
	p, _, err := loadPAC(stub, number)
	if err != nil {
		return nil, err
	}
	if p != nil {
		v.PAC = pacView(*p, n.Owner, now)
	}
	t, _, err := loadTransfer(stub, number)
	if err != nil {
		return nil, err
	}
	if t != nil && t.Status.Active() {
		v.Status = NumberPorting
		v.PendingTransfer = transferView(*t, now)
	}
	return v, nil
}

// GetTransfer returns the number's current or last transfer, whatever its status. Any member
// of the channel.
func (c *Contract) GetTransfer(ctx contractapi.TransactionContextInterface, number string) (*TransferView, error) {
	stub := ctx.GetStub()
	if err := porting.ValidateNumber("number", number); err != nil {
		return nil, err
	}
	now, err := txTime(stub)
	if err != nil {
		return nil, err
	}
	t, err := requireTransfer(stub, number)
	if err != nil {
		return nil, err
	}
	return transferView(*t, now), nil
}

// IssuePAC records a porting authorisation code for number; the code itself is in the
// transient map under "pac" and only its salted PBKDF2 hash and expiry go on chain. Owner
// only. A new code replaces an earlier one. Event PACIssued.
func (c *Contract) IssuePAC(ctx contractapi.TransactionContextInterface, number string) (*PACView, error) {
	var tm map[string][]byte
	w, err := c.beginWrite(ctx, number, func() (err error) {
		tm, err = transient(ctx, TransientPAC)
		return err
	})
	if err != nil {
		return nil, err
	}
	stub, actor, now, n := w.stub, w.actor, w.now, w.n
	settings, err := loadSettings(stub)
	if err != nil {
		return nil, err
	}
	p, err := porting.IssuePAC(n, actor, string(tm[TransientPAC]), stub.GetTxID(), settings, now)
	if err != nil {
		return nil, err
	}
	key, err := pacKey(stub, number)
	if err != nil {
		return nil, err
	}
	if err := putJSON(stub, key, p); err != nil {
		return nil, err
	}
	if err := emit(stub, Event{Name: porting.EventPACIssued, Number: number, Owner: n.Owner, Status: string(p.Status), Applied: true, Actor: actor, TxID: stub.GetTxID(), Time: porting.FormatTime(now)}); err != nil {
		return nil, err
	}
	return pacView(p, n.Owner, now), nil
}

// RevokePAC withdraws the outstanding code of number. Owner only. Event PACRevoked.
func (c *Contract) RevokePAC(ctx contractapi.TransactionContextInterface, number string) (*PACView, error) {
	w, err := c.beginWrite(ctx, number, nil)
	if err != nil {
		return nil, err
	}
	stub, actor, now, n := w.stub, w.actor, w.now, w.n
	old, key, err := loadPAC(stub, number)
	if err != nil {
		return nil, err
	}
	p, err := porting.RevokePAC(n, old, actor, now)
	if err != nil {
		return nil, err
	}
	if err := putJSON(stub, key, p); err != nil {
		return nil, err
	}
	if err := emit(stub, Event{Name: porting.EventPACRevoked, Number: number, Owner: n.Owner, Status: string(p.Status), Applied: true, Actor: actor, TxID: stub.GetTxID(), Time: porting.FormatTime(now)}); err != nil {
		return nil, err
	}
	return pacView(p, n.Owner, now), nil
}

// RequestTransfer opens a transfer of number to the calling telco. Transient map: "customer"
// (JSON object), "contractHash" (hex SHA-256), "salt" (16-64 random bytes), and "pac" when a
// code is outstanding. The customer record goes to the collection of the pair {requester,
// owner}; on chain only its hash, the parties, the time and the deadline. Event
// TransferRequested.
func (c *Contract) RequestTransfer(ctx contractapi.TransactionContextInterface, number string) (*TransferView, error) {
	txID := ctx.GetStub().GetTxID()
	var tm map[string][]byte
	var value []byte
	var hash, contractHash string
	w, err := c.beginWrite(ctx, number, func() (err error) {
		if tm, err = transient(ctx, TransientCustomer, TransientContractHash, TransientSalt, TransientPAC); err != nil {
			return err
		}
		if value, hash, err = porting.BuildCustomerRecord(number, txID, tm[TransientCustomer], string(tm[TransientContractHash]), tm[TransientSalt]); err != nil {
			return err
		}
		contractHash, _ = porting.ValidateContractHash(TransientContractHash, string(tm[TransientContractHash])) // validated above
		return nil
	})
	if err != nil {
		return nil, err
	}
	stub, actor, now, n := w.stub, w.actor, w.now, w.n
	cur, tkey, err := loadTransfer(stub, number)
	if err != nil {
		return nil, err
	}
	pac, pkey, err := loadPAC(stub, number)
	if err != nil {
		return nil, err
	}
	settings, err := loadSettings(stub)
	if err != nil {
		return nil, err
	}
	res, err := porting.Request(porting.RequestInput{
		Number: n, Current: cur, PAC: pac, PresentedPAC: string(tm[TransientPAC]), Requester: actor, TxID: txID,
		CustomerDataHash: hash, ContractHash: contractHash, Settings: settings, Now: now,
	}, c.roles)
	if err != nil {
		return nil, err
	}
	t := res.Transfer
	if err := putJSON(stub, tkey, t); err != nil {
		return nil, err
	}
	if err := moveIndex(stub, number, t.ID, "", t.Status); err != nil {
		return nil, err
	}
	if res.PAC != nil {
		if err := putJSON(stub, pkey, *res.PAC); err != nil {
			return nil, err
		}
	}
	ckey, err := customerKey(stub, number, t.ID)
	if err != nil {
		return nil, err
	}
	if err := stub.PutPrivateData(t.Collection, ckey, value); err != nil {
		return nil, porting.Wrap(porting.CodeInternal, err, "write private data to %s", t.Collection)
	}
	if err := emit(stub, transferEvent(porting.EventTransferRequested, t, true, false, actor, txID, now)); err != nil {
		return nil, err
	}
	return transferView(t, now), nil
}

// ConfirmTransfer gives number to the requester of its open transfer. Owner only; needs the
// endorsement of the Regulator, the owner and a second telco. Moves the key-level policy to
// the new owner and purges the customer data. Past the deadline it escalates instead
// (Applied false). Event TransferConfirmed (or TransferEscalated).
func (c *Contract) ConfirmTransfer(ctx contractapi.TransactionContextInterface, number string) (*StepResult, error) {
	return c.step(ctx, number, porting.ActionConfirm, "", "")
}

// RejectTransfer rejects the open transfer of number with a reason (public; no customer
// data). Owner only. Purges the customer data and opens the dispute window. Past the deadline
// it escalates instead (Applied false). Event TransferRejected (or TransferEscalated).
func (c *Contract) RejectTransfer(ctx contractapi.TransactionContextInterface, number, reason string) (*StepResult, error) {
	return c.step(ctx, number, porting.ActionReject, reason, "")
}

// CancelTransfer withdraws the open or escalated transfer of number. Requester only. Purges
// the customer data. Event TransferCancelled.
func (c *Contract) CancelTransfer(ctx contractapi.TransactionContextInterface, number string) (*StepResult, error) {
	return c.step(ctx, number, porting.ActionCancel, "", "")
}

// EscalateTransfer sends the open transfer of number, or a rejected one within its dispute
// window, to the Regulator. Requester or owner. Event TransferEscalated.
func (c *Contract) EscalateTransfer(ctx contractapi.TransactionContextInterface, number, reason string) (*StepResult, error) {
	return c.step(ctx, number, porting.ActionEscalate, reason, "")
}

// ResolveTransfer decides an escalated transfer of number: decision GRANT moves the number to
// the requester (key-level policy included), DENY closes the request. Regulator only. Purges
// the customer data. Event TransferResolved.
func (c *Contract) ResolveTransfer(ctx contractapi.TransactionContextInterface, number, decision, reason string) (*StepResult, error) {
	d, err := porting.ParseDecision("decision", decision)
	if err != nil {
		return nil, err
	}
	return c.step(ctx, number, porting.ActionResolve, reason, d)
}

// EraseCustomerData records a customer's erasure request for the current transfer of number
// and purges its private customer data (the on-chain hash stays). Requester or owner of that
// transfer; the transfer's status is not changed. Event CustomerDataErased.
func (c *Contract) EraseCustomerData(ctx contractapi.TransactionContextInterface, number string) (*StepResult, error) {
	return c.step(ctx, number, porting.ActionErase, "", "")
}

// requireTransfer loads the number's current or last transfer: NOT_FOUND names the number
// when it does not exist, else says it has no transfer.
func requireTransfer(stub shim.ChaincodeStubInterface, number string) (*porting.Transfer, error) {
	t, _, err := loadTransfer(stub, number)
	if err != nil {
		return nil, err
	}
	if t == nil {
		if _, _, err := loadNumber(stub, number); err != nil {
			return nil, err
		}
		return nil, porting.Errorf(porting.CodeNotFound, "number", "%s has no transfer request", number)
	}
	return t, nil
}

// numberWrite is where every write on one number starts: the caller, the transaction time
// and the number's record.
type numberWrite struct {
	stub  shim.ChaincodeStubInterface
	actor string
	now   time.Time
	n     porting.Number
	nkey  string
}

// beginWrite validates number, runs check (nil: none; it reads what the call carries, such as
// its transient data, so that its errors come before any ledger read), then reads the caller,
// the transaction time and the number's record.
func (c *Contract) beginWrite(ctx contractapi.TransactionContextInterface, number string, check func() error) (*numberWrite, error) {
	if err := porting.ValidateNumber("number", number); err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(); err != nil {
			return nil, err
		}
	}
	w := &numberWrite{stub: ctx.GetStub()}
	var err error
	if w.actor, err = caller(ctx); err != nil {
		return nil, err
	}
	if w.now, err = c.writeTime(w.stub); err != nil {
		return nil, err
	}
	if w.n, w.nkey, err = loadNumber(w.stub, number); err != nil {
		return nil, err
	}
	return w, nil
}

// step runs one transfer step: load, porting.Apply, store, index, ownership, purge, event.
func (c *Contract) step(ctx contractapi.TransactionContextInterface, number string, action porting.Action, reason string, decision porting.Decision) (*StepResult, error) {
	w, err := c.beginWrite(ctx, number, nil)
	if err != nil {
		return nil, err
	}
	stub, actor, now, n, nkey := w.stub, w.actor, w.now, w.n, w.nkey
	cur, tkey, err := loadTransfer(stub, number)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return nil, porting.Errorf(porting.CodeNotFound, "number", "%s has no transfer request", number)
	}
	settings, err := loadSettings(stub)
	if err != nil {
		return nil, err
	}
	st, err := porting.Apply(porting.StepInput{Transfer: *cur, Action: action, Actor: actor, Reason: reason, Decision: decision, Settings: settings, Now: now}, c.roles)
	if err != nil {
		return nil, err
	}
	t := st.Transfer
	if err := putJSON(stub, tkey, t); err != nil {
		return nil, err
	}
	if err := moveIndex(stub, number, t.ID, cur.Status, t.Status); err != nil {
		return nil, err
	}
	if st.MoveOwnership {
		moved, err := porting.MoveOwnership(n, t, actor, action, now)
		if err != nil {
			return nil, err
		}
		policy, err := ownerPolicy(c.roles.Regulator, moved.Owner)
		if err != nil {
			return nil, err
		}
		if err := putJSON(stub, nkey, moved); err != nil {
			return nil, err
		}
		if err := setOwnerPolicy(stub, nkey, policy); err != nil {
			return nil, err
		}
	}
	if st.Purge {
		ckey, err := customerKey(stub, number, t.ID)
		if err != nil {
			return nil, err
		}
		if err := stub.PurgePrivateData(t.Collection, ckey); err != nil {
			return nil, porting.Wrap(porting.CodeInternal, err, "purge private data in %s", t.Collection)
		}
	}
	e := transferEvent(st.Event, t, st.Applied, st.EscalatedByDeadline, actor, stub.GetTxID(), now)
	if action == porting.ActionResolve && st.Applied {
		e.Decision = string(decision)
	}
	if err := emit(stub, e); err != nil {
		return nil, err
	}
	return &StepResult{Applied: st.Applied, Event: st.Event, Message: st.Message, EscalatedByDeadline: st.EscalatedByDeadline, Transfer: transferView(t, now)}, nil
}

func transferEvent(name string, t porting.Transfer, applied, byDeadline bool, actor, txID string, now time.Time) Event {
	owner := t.From
	if t.Status == porting.StatusCompleted {
		owner = t.To
	}
	return Event{
		Name: name, Number: t.Number, Owner: owner, TransferID: t.ID, From: t.From, To: t.To, Status: string(t.Status),
		Applied: applied, EscalatedByDeadline: byDeadline, Actor: actor, TxID: txID, Time: porting.FormatTime(now),
	}
}

// ReadCustomerData returns the private customer data of the number's current transfer.
// Only the two telcos of that transfer (members of its collection); the Regulator and the
// third telco get FORBIDDEN (the Regulator checks the on-chain hash against what the telcos
// show it in a dispute). NOT_FOUND once the data was purged; the hash stays in the transfer.
func (c *Contract) ReadCustomerData(ctx contractapi.TransactionContextInterface, number string) (*CustomerData, error) {
	stub := ctx.GetStub()
	if err := porting.ValidateNumber("number", number); err != nil {
		return nil, err
	}
	actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	t, err := requireTransfer(stub, number)
	if err != nil {
		return nil, err
	}
	if actor != t.From && actor != t.To {
		return nil, porting.Errorf(porting.CodeForbidden, "", "only %s and %s may read the customer data of transfer %s; caller is %s", t.From, t.To, t.ID, actor)
	}
	if t.CustomerDataPurgedAt != "" {
		return nil, porting.Errorf(porting.CodeNotFound, "", "customer data of transfer %s was purged at %s; its hash %s remains on chain", t.ID, t.CustomerDataPurgedAt, t.CustomerDataHash)
	}
	ckey, err := customerKey(stub, number, t.ID)
	if err != nil {
		return nil, err
	}
	b, err := stub.GetPrivateData(t.Collection, ckey)
	if err != nil {
		return nil, porting.Wrap(porting.CodeInternal, err, "read private data from %s", t.Collection)
	}
	if b == nil {
		return nil, porting.Errorf(porting.CodeNotFound, "", "customer data of transfer %s is not on this peer (collection %s)", t.ID, t.Collection)
	}
	var rec porting.CustomerRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, porting.Wrap(porting.CodeInternal, err, "decode customer record")
	}
	return &CustomerData{
		Number: number, TransferID: t.ID, Collection: t.Collection, ContractHash: rec.ContractHash,
		CustomerDataHash: t.CustomerDataHash, HashVerified: porting.HashPrivate(b) == t.CustomerDataHash, Customer: rec.Customer,
	}, nil
}

// GetCustomerDataHash compares the customer-data hash on the number's current transfer record
// with the hash of the private write that the answering peer holds (GetPrivateDataHash, which
// every peer of the channel keeps, collection member or not). After a purge the peer's hash is
// gone (LedgerHash empty) while the transfer record keeps CustomerDataHash as proof. Any
// member of the channel: the hash reveals nothing (the record carries a secret salt).
func (c *Contract) GetCustomerDataHash(ctx contractapi.TransactionContextInterface, number string) (*CustomerDataHashView, error) {
	stub := ctx.GetStub()
	if err := porting.ValidateNumber("number", number); err != nil {
		return nil, err
	}
	t, err := requireTransfer(stub, number)
	if err != nil {
		return nil, err
	}
	ckey, err := customerKey(stub, number, t.ID)
	if err != nil {
		return nil, err
	}
	h, err := stub.GetPrivateDataHash(t.Collection, ckey)
	if err != nil {
		return nil, porting.Wrap(porting.CodeInternal, err, "read private data hash from %s", t.Collection)
	}
	v := &CustomerDataHashView{
		Number: number, TransferID: t.ID, Collection: t.Collection, CustomerDataHash: t.CustomerDataHash,
		LedgerHash: hex.EncodeToString(h), PurgedAt: t.CustomerDataPurgedAt,
	}
	v.Matches = v.LedgerHash == t.CustomerDataHash
	return v, nil
}

// History returns every change of the number's records (number, transfer, code) from the
// ledger history, oldest first (by transaction time, then transaction ID, then record).
// Any member of the channel.
func (c *Contract) History(ctx contractapi.TransactionContextInterface, number string) ([]*HistoryEntry, error) {
	stub := ctx.GetStub()
	if err := porting.ValidateNumber("number", number); err != nil {
		return nil, err
	}
	if _, _, err := loadNumber(stub, number); err != nil {
		return nil, err
	}
	out := []*HistoryEntry{}
	for _, rec := range []string{"number", "transfer", "pac"} {
		var key string
		var err error
		switch rec {
		case "number":
			key, err = numberKey(stub, number)
		case "transfer":
			key, err = transferKey(stub, number)
		default:
			key, err = pacKey(stub, number)
		}
		if err != nil {
			return nil, err
		}
		entries, err := keyHistory(stub, key, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, entries...)
	}
	order := map[string]int{"transfer": 0, "pac": 1, "number": 2}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Timestamp != b.Timestamp {
			ta, _ := porting.ParseTime("timestamp", a.Timestamp)
			tb, _ := porting.ParseTime("timestamp", b.Timestamp)
			return ta.Before(tb)
		}
		if a.TxID != b.TxID {
			return a.TxID < b.TxID
		}
		return order[a.Record] < order[b.Record]
	})
	return out, nil
}

// ListTransfers lists transfers of status OPEN or ESCALATED, ordered by number, one page at
// a time (pageSize "" means 100, at most 1000; bookmark "" starts at the beginning).
// Regulator only.
func (c *Contract) ListTransfers(ctx contractapi.TransactionContextInterface, status, pageSize, bookmark string) (*TransferPage, error) {
	stub := ctx.GetStub()
	s, err := porting.ParseListStatus("status", status)
	if err != nil {
		return nil, err
	}
	size := DefaultPageSize
	if pageSize != "" {
		size, err = strconv.Atoi(pageSize)
		if err != nil || size < 1 || size > MaxPageSize {
			return nil, porting.Errorf(porting.CodeInvalidArgument, "pageSize", "%q is not a whole number in 1..%d", porting.Clip(pageSize), MaxPageSize)
		}
	}
	if len(bookmark) > 1024 {
		return nil, porting.Errorf(porting.CodeInvalidArgument, "bookmark", "is too long")
	}
	actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !c.roles.IsRegulator(actor) {
		return nil, porting.Errorf(porting.CodeForbidden, "", "only the Regulator (%s) lists transfers; caller is %s", c.roles.Regulator, actor)
	}
	now, err := txTime(stub)
	if err != nil {
		return nil, err
	}
	it, meta, err := stub.GetStateByPartialCompositeKeyWithPagination(objIndex, []string{string(s)}, int32(size), bookmark)
	if err != nil {
		return nil, porting.Wrap(porting.CodeInternal, err, "list %s transfers", s)
	}
	defer it.Close()
	page := &TransferPage{Transfers: []*TransferView{}}
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return nil, porting.Wrap(porting.CodeInternal, err, "iterate %s transfers", s)
		}
		_, attrs, err := stub.SplitCompositeKey(kv.Key)
		if err != nil || len(attrs) != 2 {
			return nil, porting.Errorf(porting.CodeInternal, "", "malformed index key %q", kv.Key)
		}
		t, _, err := loadTransfer(stub, attrs[1])
		if err != nil {
			return nil, err
		}
		if t == nil || t.Status != s || t.ID != string(kv.Value) {
			return nil, porting.Errorf(porting.CodeInternal, "", "index entry %s/%s does not match the transfer record", s, attrs[1])
		}
		page.Transfers = append(page.Transfers, transferView(*t, now))
	}
	page.Count = len(page.Transfers)
	if meta != nil {
		page.Bookmark = meta.GetBookmark()
	}
	return page, nil
}

// Configure sets the timers (whole numbers): the owner's answer time and the dispute window
// in business days, the code validity in calendar days. Regulator only. Existing deadlines
// are not changed. Event SettingsUpdated.
func (c *Contract) Configure(ctx contractapi.TransactionContextInterface, answerBusinessDays, disputeBusinessDays, pacValidityDays string) (*porting.Settings, error) {
	stub := ctx.GetStub()
	var s porting.Settings
	for _, f := range []struct {
		name string
		in   string
		out  *int
	}{
		{"answerBusinessDays", answerBusinessDays, &s.AnswerBusinessDays},
		{"disputeBusinessDays", disputeBusinessDays, &s.DisputeBusinessDays},
		{"pacValidityDays", pacValidityDays, &s.PACValidityDays},
	} {
		v, err := strconv.Atoi(f.in)
		if err != nil {
			return nil, porting.Errorf(porting.CodeInvalidArgument, f.name, "%q is not a whole number", porting.Clip(f.in))
		}
		*f.out = v
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !c.roles.IsRegulator(actor) {
		return nil, porting.Errorf(porting.CodeForbidden, "", "only the Regulator (%s) configures the timers; caller is %s", c.roles.Regulator, actor)
	}
	now, err := c.writeTime(stub)
	if err != nil {
		return nil, err
	}
	if err := putJSON(stub, keySettings, s); err != nil {
		return nil, err
	}
	if err := emit(stub, Event{Name: porting.EventSettingsUpdated, Applied: true, Actor: actor, TxID: stub.GetTxID(), Time: porting.FormatTime(now)}); err != nil {
		return nil, err
	}
	return &s, nil
}

// GetSettings returns the timers in force. Any member of the channel.
func (c *Contract) GetSettings(ctx contractapi.TransactionContextInterface) (*porting.Settings, error) {
	s, err := loadSettings(ctx.GetStub())
	if err != nil {
		return nil, err
	}
	return &s, nil
}
