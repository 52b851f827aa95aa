package porting

import (
	"time"
	"unicode"
	"unicode/utf8"
)

// Status is the status of a transfer request.
type Status string

// Transfer statuses. OPEN and ESCALATED are active: they block new requests for the number.
const (
	// StatusOpen: requested, waiting for the owner's answer until the deadline.
	StatusOpen Status = "OPEN"
	// StatusEscalated: waiting for the Regulator's decision.
	StatusEscalated Status = "ESCALATED"
	// StatusRejected: rejected by the owner; can be escalated within the dispute window.
	StatusRejected Status = "REJECTED"
	// StatusCancelled: withdrawn by the requester.
	StatusCancelled Status = "CANCELLED"
	// StatusCompleted: ownership moved to the requester (confirmed or granted).
	StatusCompleted Status = "COMPLETED"
	// StatusDenied: the Regulator decided against the transfer.
	StatusDenied Status = "DENIED"
)

// Active reports whether the transfer is still being decided (OPEN or ESCALATED).
func (s Status) Active() bool { return s == StatusOpen || s == StatusEscalated }

// Closed reports whether the transfer reached a final outcome (possibly still disputable, for
// REJECTED).
func (s Status) Closed() bool {
	return s == StatusRejected || s == StatusCancelled || s == StatusCompleted || s == StatusDenied
}

// ParseListStatus parses the status filter of the Regulator's list: OPEN or ESCALATED.
func ParseListStatus(field, s string) (Status, error) {
	switch Status(s) {
	case StatusOpen, StatusEscalated:
		return Status(s), nil
	case "":
		return "", Errorf(CodeInvalidArgument, field, "is required: OPEN or ESCALATED")
	default:
		return "", Errorf(CodeInvalidArgument, field, "%q is not listable: use OPEN or ESCALATED", Clip(s))
	}
}

// Action names a step; it is recorded as lastAction on every record, so the ledger history
// says what happened in each transaction.
type Action string

// Actions.
const (
	ActionAllocate  Action = "ALLOCATE"
	ActionIssuePAC  Action = "ISSUE_PAC"
	ActionRevokePAC Action = "REVOKE_PAC"
	ActionRequest   Action = "REQUEST"
	ActionConfirm   Action = "CONFIRM"
	ActionReject    Action = "REJECT"
	ActionCancel    Action = "CANCEL"
	ActionEscalate  Action = "ESCALATE"
	ActionResolve   Action = "RESOLVE"
	ActionErase     Action = "ERASE"
)

// Decision is the Regulator's ruling on an escalated transfer.
type Decision string

// Decisions.
const (
	// DecisionGrant moves the number to the requester.
	DecisionGrant Decision = "GRANT"
	// DecisionDeny closes the request; the number stays with its owner.
	DecisionDeny Decision = "DENY"
)

// ParseDecision parses GRANT or DENY (exact, upper case).
func ParseDecision(field, s string) (Decision, error) {
	switch Decision(s) {
	case DecisionGrant, DecisionDeny:
		return Decision(s), nil
	case "":
		return "", Errorf(CodeInvalidArgument, field, "is required: GRANT or DENY")
	default:
		return "", Errorf(CodeInvalidArgument, field, "%q is not GRANT or DENY", Clip(s))
	}
}

// EscalationCause says why a transfer went to the Regulator.
type EscalationCause string

// Escalation causes.
const (
	// CauseDeadline: the owner did not answer by the deadline.
	CauseDeadline EscalationCause = "DEADLINE"
	// CauseDispute: a telco escalated explicitly.
	CauseDispute EscalationCause = "DISPUTE"
)

// Event names, one per transaction (Fabric keeps only the last SetEvent of a transaction).
const (
	EventNumberAllocated      = "NumberAllocated"
	EventNumberRangeAllocated = "NumberRangeAllocated"
	EventPACIssued            = "PACIssued"
	EventPACRevoked           = "PACRevoked"
	EventTransferRequested    = "TransferRequested"
	EventTransferConfirmed    = "TransferConfirmed"
	EventTransferRejected     = "TransferRejected"
	EventTransferCancelled    = "TransferCancelled"
	EventTransferEscalated    = "TransferEscalated"
	EventTransferResolved     = "TransferResolved"
	EventCustomerDataErased   = "CustomerDataErased"
	EventSettingsUpdated      = "SettingsUpdated"
)

// MaxReasonBytes bounds free-text reasons.
const MaxReasonBytes = 500

// ValidateReason checks a free-text reason: required, at most [MaxReasonBytes] bytes of valid
// UTF-8, no control characters. Reasons are public on the channel: no customer data in them.
func ValidateReason(field, s string) error {
	if s == "" {
		return Errorf(CodeInvalidArgument, field, "is required")
	}
	if len(s) > MaxReasonBytes {
		return Errorf(CodeInvalidArgument, field, "is %d bytes; at most %d", len(s), MaxReasonBytes)
	}
	if !utf8.ValidString(s) {
		return Errorf(CodeInvalidArgument, field, "is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return Errorf(CodeInvalidArgument, field, "contains control characters")
		}
	}
	return nil
}

// Number is the public record of a phone number (key-level policy AND(Regulator, owner)).
type Number struct {
	// Number is the E.164 number.
	Number string `json:"number"`
	// Owner is the MSP ID of the telco holding the number.
	Owner string `json:"owner"`
	// AllocatedAt is when the Regulator allocated the number.
	AllocatedAt string `json:"allocatedAt"`
	// PreviousOwner is the owner before the last transfer, if any.
	PreviousOwner string `json:"previousOwner,omitempty" metadata:",optional"`
	// LastTransferID is the transfer that last moved the number, if any.
	LastTransferID string `json:"lastTransferId,omitempty" metadata:",optional"`
	// LastAction is the step that wrote this version (ALLOCATE, CONFIRM or RESOLVE).
	LastAction Action `json:"lastAction"`
	// UpdatedBy is the MSP ID of the caller that wrote this version.
	UpdatedBy string `json:"updatedBy"`
	// UpdatedAt is the transaction time of this version.
	UpdatedAt string `json:"updatedAt"`
}

// Allocate creates the record of a number allocated by the Regulator (actor) to owner.
func Allocate(number, owner, actor string, roles Roles, now time.Time) (Number, error) {
	if !roles.IsRegulator(actor) {
		return Number{}, Errorf(CodeForbidden, "", "only the Regulator (%s) allocates numbers; caller is %s", roles.Regulator, actor)
	}
	if err := ValidateNumber("number", number); err != nil {
		return Number{}, err
	}
	if err := ValidateOwner("owner", owner, roles); err != nil {
		return Number{}, err
	}
	ts := FormatTime(now)
	return Number{Number: number, Owner: owner, AllocatedAt: ts, LastAction: ActionAllocate, UpdatedBy: actor, UpdatedAt: ts}, nil
}

// ValidateOwner checks owner is one of the telcos.
func ValidateOwner(field, owner string, roles Roles) error {
	if owner == "" {
		return Errorf(CodeInvalidArgument, field, "is required (MSP ID of a telco)")
	}
	if !roles.IsTelco(owner) {
		return Errorf(CodeInvalidArgument, field, "%q is not a telco of this channel", Clip(owner))
	}
	return nil
}

// Transfer is the public record of a number's current (or last) transfer request. It lives
// under the chaincode endorsement policy, apart from the number record.
type Transfer struct {
	// ID is the transaction ID of the request.
	ID string `json:"id"`
	// Number is the E.164 number.
	Number string `json:"number"`
	// From is the owner when the request was made.
	From string `json:"from"`
	// To is the requesting telco.
	To string `json:"to"`
	// Status is the current status.
	Status Status `json:"status"`
	// Collection is the private data collection holding the customer data.
	Collection string `json:"collection"`
	// CustomerDataHash is the hex SHA-256 of the private customer record (which contains a
	// secret salt); it is the hash Fabric keeps for the private write and it stays after purge.
	CustomerDataHash string `json:"customerDataHash"`
	// ContractHash is the hex SHA-256 of the customer's signed contract document.
	ContractHash string `json:"contractHash"`
	// PACPresented says the request consumed an outstanding porting authorisation code.
	PACPresented bool `json:"pacPresented"`
	// RequestedAt is the transaction time of the request.
	RequestedAt string `json:"requestedAt"`
	// Deadline is when the owner's answer is due; later touches escalate the request.
	Deadline string `json:"deadline"`
	// RejectedAt is when the owner rejected.
	RejectedAt string `json:"rejectedAt,omitempty" metadata:",optional"`
	// RejectReason is the owner's reason.
	RejectReason string `json:"rejectReason,omitempty" metadata:",optional"`
	// DisputeUntil is the last moment a rejected request can be escalated.
	DisputeUntil string `json:"disputeUntil,omitempty" metadata:",optional"`
	// EscalatedAt is when the request went to the Regulator.
	EscalatedAt string `json:"escalatedAt,omitempty" metadata:",optional"`
	// EscalatedBy is the telco that escalated (empty for a deadline escalation).
	EscalatedBy string `json:"escalatedBy,omitempty" metadata:",optional"`
	// EscalationCause is DEADLINE or DISPUTE.
	EscalationCause EscalationCause `json:"escalationCause,omitempty" metadata:",optional"`
	// EscalationReason is the escalating telco's reason.
	EscalationReason string `json:"escalationReason,omitempty" metadata:",optional"`
	// ResolvedAt is when the Regulator decided.
	ResolvedAt string `json:"resolvedAt,omitempty" metadata:",optional"`
	// Resolution is the Regulator's decision.
	Resolution Decision `json:"resolution,omitempty" metadata:",optional"`
	// ResolutionReason is the Regulator's reason.
	ResolutionReason string `json:"resolutionReason,omitempty" metadata:",optional"`
	// ClosedAt is when the transfer reached a final status.
	ClosedAt string `json:"closedAt,omitempty" metadata:",optional"`
	// CustomerDataPurgedAt is when the private customer data was purged.
	CustomerDataPurgedAt string `json:"customerDataPurgedAt,omitempty" metadata:",optional"`
	// CustomerDataErasedAt is when an erasure request was recorded.
	CustomerDataErasedAt string `json:"customerDataErasedAt,omitempty" metadata:",optional"`
	// CustomerDataErasedBy is the telco that recorded the erasure request.
	CustomerDataErasedBy string `json:"customerDataErasedBy,omitempty" metadata:",optional"`
	// LastAction is the step that wrote this version.
	LastAction Action `json:"lastAction"`
	// UpdatedBy is the MSP ID of the caller that wrote this version.
	UpdatedBy string `json:"updatedBy"`
	// UpdatedAt is the transaction time of this version.
	UpdatedAt string `json:"updatedAt"`
}

// Overdue reports whether an OPEN transfer is past its deadline at now (the next touch will
// escalate it).
func (t Transfer) Overdue(now time.Time) bool {
	if t.Status != StatusOpen {
		return false
	}
	d, err := ParseTime("deadline", t.Deadline)
	if err != nil {
		return false
	}
	return now.After(d)
}
