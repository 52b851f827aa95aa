package contract

import (
	"time"

	"github.com/fabmarket/fabmarket/chaincode/numbers/porting"
)

// Number statuses shown by GetNumber.
const (
	// NumberActive: no transfer is being decided.
	NumberActive = "ACTIVE"
	// NumberPorting: a transfer is OPEN or ESCALATED.
	NumberPorting = "PORTING"
)

// NumberView is what GetNumber returns (REST GET /v1/numbers/{number}).
type NumberView struct {
	// Number is the E.164 number.
	Number string `json:"number"`
	// Owner is the telco holding the number.
	Owner string `json:"owner"`
	// Status is ACTIVE or PORTING.
	Status string `json:"status"`
	// AllocatedAt is when the Regulator allocated the number.
	AllocatedAt string `json:"allocatedAt"`
	// UpdatedAt is when the number record last changed.
	UpdatedAt string `json:"updatedAt"`
	// PreviousOwner is the owner before the last transfer.
	PreviousOwner string `json:"previousOwner,omitempty" metadata:",optional"`
	// PAC describes the last porting authorisation code, if any.
	PAC *PACView `json:"pac,omitempty" metadata:",optional"`
	// PendingTransfer is the OPEN or ESCALATED transfer, if any.
	PendingTransfer *TransferView `json:"pendingTransfer,omitempty" metadata:",optional"`
}

// PACView describes a porting authorisation code without its hash.
type PACView struct {
	// Number is the number the code releases.
	Number string `json:"number"`
	// Status is OUTSTANDING, USED or REVOKED.
	Status porting.PACStatus `json:"status"`
	// Outstanding says a request must present this code now (status OUTSTANDING, issued by
	// the current owner, not expired).
	Outstanding bool `json:"outstanding"`
	// IssuedBy is the telco that issued the code.
	IssuedBy string `json:"issuedBy"`
	// IssuedAt is when the code was issued.
	IssuedAt string `json:"issuedAt"`
	// ExpiresAt is when the code expires.
	ExpiresAt string `json:"expiresAt"`
	// UsedByTransfer is the transfer that used the code.
	UsedByTransfer string `json:"usedByTransfer,omitempty" metadata:",optional"`
}

func pacView(p porting.PAC, owner string, now time.Time) *PACView {
	return &PACView{
		Number: p.Number, Status: p.Status, Outstanding: p.OutstandingFor(owner, now),
		IssuedBy: p.IssuedBy, IssuedAt: p.IssuedAt, ExpiresAt: p.ExpiresAt, UsedByTransfer: p.UsedByTransfer,
	}
}

// TransferView is a transfer record plus whether it is past its deadline now.
type TransferView struct {
	porting.Transfer
	// Overdue says an OPEN transfer is past its deadline; its next step escalates it.
	Overdue bool `json:"overdue"`
}

func transferView(t porting.Transfer, now time.Time) *TransferView {
	return &TransferView{Transfer: t, Overdue: t.Overdue(now)}
}

// StepResult is what the transfer steps return (confirm, reject, cancel, escalate, resolve,
// erase).
type StepResult struct {
	// Applied is false when the step found the request past its deadline and only escalated
	// it (a late confirm or reject); the escalation is committed all the same.
	Applied bool `json:"applied"`
	// Event is the name of the event emitted.
	Event string `json:"event"`
	// Message explains a step that was not applied.
	Message string `json:"message,omitempty" metadata:",optional"`
	// EscalatedByDeadline says the step found the request past its deadline.
	EscalatedByDeadline bool `json:"escalatedByDeadline"`
	// Transfer is the transfer after the step.
	Transfer *TransferView `json:"transfer"`
}

// RangeResult is what AllocateRange returns.
type RangeResult struct {
	// First is the first number allocated.
	First string `json:"first"`
	// Last is the last number allocated.
	Last string `json:"last"`
	// Count is how many numbers were allocated.
	Count int `json:"count"`
	// Owner is the telco the numbers were allocated to.
	Owner string `json:"owner"`
}

// CustomerData is what ReadCustomerData returns to one of the two telcos of a transfer.
type CustomerData struct {
	// Number is the number being ported.
	Number string `json:"number"`
	// TransferID identifies the transfer.
	TransferID string `json:"transferId"`
	// Collection is the private data collection holding the record.
	Collection string `json:"collection"`
	// ContractHash is the hex SHA-256 of the contract document.
	ContractHash string `json:"contractHash"`
	// CustomerDataHash is the on-chain hash of the record.
	CustomerDataHash string `json:"customerDataHash"`
	// HashVerified says the stored record hashes to CustomerDataHash.
	HashVerified bool `json:"hashVerified"`
	// Customer is the customer data as the requester sent it (a JSON object).
	Customer any `json:"customer"`
}

// HistoryEntry is one change of one of a number's records.
type HistoryEntry struct {
	// TxID is the transaction that made the change.
	TxID string `json:"txId"`
	// Timestamp is the transaction time.
	Timestamp string `json:"timestamp"`
	// Record is "number", "transfer" or "pac".
	Record string `json:"record"`
	// Action is the step recorded (lastAction of the record).
	Action string `json:"action"`
	// Actor is the MSP ID of the caller (updatedBy of the record).
	Actor string `json:"actor"`
	// Deleted says the record was deleted (never done by this chaincode).
	Deleted bool `json:"deleted"`
	// Number is the number record after the change.
	Number *porting.Number `json:"number,omitempty" metadata:",optional"`
	// Transfer is the transfer record after the change.
	Transfer *porting.Transfer `json:"transfer,omitempty" metadata:",optional"`
	// PAC is the code record after the change (without hash).
	PAC *PACView `json:"pac,omitempty" metadata:",optional"`
}

// TransferPage is one page of the Regulator's transfer list.
type TransferPage struct {
	// Transfers are ordered by number.
	Transfers []*TransferView `json:"transfers"`
	// Count is the number of transfers in this page.
	Count int `json:"count"`
	// Bookmark continues the list; empty at the end.
	Bookmark string `json:"bookmark"`
}

// CustomerDataHashView is what GetCustomerDataHash returns.
type CustomerDataHashView struct {
	// Number is the number of the transfer.
	Number string `json:"number"`
	// TransferID identifies the transfer.
	TransferID string `json:"transferId"`
	// Collection is the private data collection of the customer record.
	Collection string `json:"collection"`
	// CustomerDataHash is the hash kept on the transfer record (stays after a purge).
	CustomerDataHash string `json:"customerDataHash"`
	// LedgerHash is the hex hash of the private write held by the answering peer; empty once
	// the data was purged (or before the peer committed the request).
	LedgerHash string `json:"ledgerHash"`
	// Matches says LedgerHash equals CustomerDataHash.
	Matches bool `json:"matches"`
	// PurgedAt is when the chaincode purged the customer data, if it did.
	PurgedAt string `json:"purgedAt,omitempty" metadata:",optional"`
}
