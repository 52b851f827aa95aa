package porting

import "time"

// RequestInput is everything [Request] needs; the contract loads it from the ledger.
type RequestInput struct {
	// Number is the current record of the number.
	Number Number
	// Current is the number's current (or last) transfer, nil if it never had one.
	Current *Transfer
	// PAC is the number's code record, nil if none was ever issued.
	PAC *PAC
	// PresentedPAC is the code the requester presented ("" for none).
	PresentedPAC string
	// Requester is the caller's MSP ID.
	Requester string
	// TxID is the request's transaction ID (it becomes the transfer ID).
	TxID string
	// CustomerDataHash is the hash from [BuildCustomerRecord].
	CustomerDataHash string
	// ContractHash is the validated contract document hash.
	ContractHash string
	// Settings are the current timers.
	Settings Settings
	// Now is the transaction time.
	Now time.Time
}

// RequestResult is the outcome of [Request].
type RequestResult struct {
	// Transfer is the new OPEN transfer.
	Transfer Transfer
	// PAC is the consumed code (status USED), nil when no code was involved.
	PAC *PAC
}

// Request opens a transfer of in.Number to in.Requester. Rules, in order: the requester is a
// telco other than the owner; no transfer is active for the number; a REJECTED transfer
// still in its dispute window blocks requests by other telcos (its requester may request
// again, which supersedes it); an outstanding code must be presented and match, and is then
// used up; a presented code with none outstanding is refused.
func Request(in RequestInput, roles Roles) (RequestResult, error) {
	n := in.Number
	if !roles.IsTelco(in.Requester) {
		return RequestResult{}, Errorf(CodeForbidden, "", "only a telco may request a transfer; caller is %s", in.Requester)
	}
	if in.Requester == n.Owner {
		return RequestResult{}, Errorf(CodeFailedPrecondition, "", "%s already owns %s", in.Requester, n.Number)
	}
	if in.TxID == "" {
		return RequestResult{}, Errorf(CodeInternal, "", "empty transaction ID")
	}
	if c := in.Current; c != nil {
		if c.Status.Active() {
			note := ""
			if c.Overdue(in.Now) {
				note = " (past its deadline; it escalates to the Regulator at its next step)"
			}
			return RequestResult{}, Errorf(CodeConflict, "", "transfer %s of %s to %s is %s%s; one open request per number", c.ID, n.Number, c.To, c.Status, note)
		}
		if c.Status == StatusRejected && c.To != in.Requester && c.DisputeUntil != "" {
			until, err := ParseTime("disputeUntil", c.DisputeUntil)
			if err != nil {
				return RequestResult{}, err
			}
			if !in.Now.After(until) {
				return RequestResult{}, Errorf(CodeConflict, "", "the rejected transfer %s of %s to %s can be escalated until %s; other requests wait until then", c.ID, n.Number, c.To, c.DisputeUntil)
			}
		}
	}
	var used *PAC
	outstanding := in.PAC != nil && in.PAC.OutstandingFor(n.Owner, in.Now)
	switch {
	case outstanding && in.PresentedPAC == "":
		return RequestResult{}, Errorf(CodePACRequired, "pac", "a porting authorisation code is outstanding for %s; present it in the transient map", n.Number)
	case !outstanding && in.PresentedPAC != "":
		return RequestResult{}, Errorf(CodePACInvalid, "pac", "no porting authorisation code is outstanding for %s (expired, used, revoked or never issued)", n.Number)
	case outstanding:
		if err := ValidatePACCode("pac", in.PresentedPAC); err != nil {
			return RequestResult{}, Errorf(CodePACInvalid, "pac", "does not match the outstanding code")
		}
		ok, err := in.PAC.Matches(in.PresentedPAC)
		if err != nil {
			return RequestResult{}, err
		}
		if !ok {
			return RequestResult{}, Errorf(CodePACInvalid, "pac", "does not match the outstanding code for %s", n.Number)
		}
		p := *in.PAC
		p.Status = PACUsed
		p.UsedAt = FormatTime(in.Now)
		p.UsedByTransfer = in.TxID
		p.LastAction = ActionRequest
		p.UpdatedBy = in.Requester
		p.UpdatedAt = p.UsedAt
		used = &p
	}
	ts := FormatTime(in.Now)
	t := Transfer{
		ID:               in.TxID,
		Number:           n.Number,
		From:             n.Owner,
		To:               in.Requester,
		Status:           StatusOpen,
		Collection:       CollectionFor(n.Owner, in.Requester),
		CustomerDataHash: in.CustomerDataHash,
		ContractHash:     in.ContractHash,
		PACPresented:     used != nil,
		RequestedAt:      ts,
		Deadline:         FormatTime(AddBusinessDays(in.Now, in.Settings.AnswerBusinessDays)),
		LastAction:       ActionRequest,
		UpdatedBy:        in.Requester,
		UpdatedAt:        ts,
	}
	return RequestResult{Transfer: t, PAC: used}, nil
}

// StepInput is everything [Apply] needs.
type StepInput struct {
	// Transfer is the current transfer record.
	Transfer Transfer
	// Action is CONFIRM, REJECT, CANCEL, ESCALATE, RESOLVE or ERASE.
	Action Action
	// Actor is the caller's MSP ID.
	Actor string
	// Reason is required for REJECT, ESCALATE and RESOLVE.
	Reason string
	// Decision is required for RESOLVE.
	Decision Decision
	// Settings are the current timers.
	Settings Settings
	// Now is the transaction time.
	Now time.Time
}

// Step is the outcome of [Apply]: the record to store and what else the contract must do.
type Step struct {
	// Transfer is the new transfer record.
	Transfer Transfer
	// Applied is false when the clock escalated the transfer and the requested step (a late
	// confirm or reject) was therefore not carried out. The step still succeeds so that the
	// escalation is committed.
	Applied bool
	// EscalatedByDeadline says this step found the request past its deadline and escalated it.
	EscalatedByDeadline bool
	// Event is the name of the event to emit.
	Event string
	// Message explains a step that was not applied.
	Message string
	// Purge asks the contract to purge the private customer data.
	Purge bool
	// MoveOwnership asks the contract to give the number to Transfer.To.
	MoveOwnership bool
}

// Tick applies the clock: an OPEN transfer past its deadline becomes ESCALATED with cause
// DEADLINE. It reports whether it escalated.
func Tick(t Transfer, now time.Time) (Transfer, bool) {
	if !t.Overdue(now) {
		return t, false
	}
	t.Status = StatusEscalated
	t.EscalatedAt = FormatTime(now)
	t.EscalatedBy = ""
	t.EscalationCause = CauseDeadline
	t.EscalationReason = "owner did not answer by " + t.Deadline
	return t, true
}

// Apply carries out one step on a transfer. It checks the arguments, then who may act, then
// applies the clock ([Tick]), then the status rules:
//
//	step      who                 allowed from (after the clock)          to
//	CONFIRM   owner (From)        OPEN                                    COMPLETED (ownership moves)
//	REJECT    owner (From)        OPEN                                    REJECTED (dispute window starts)
//	CANCEL    requester (To)      OPEN, ESCALATED                         CANCELLED
//	ESCALATE  From or To          OPEN, REJECTED within dispute window    ESCALATED (cause DISPUTE)
//	RESOLVE   Regulator           ESCALATED                               COMPLETED (GRANT) or DENIED (DENY)
//	ERASE     From or To          any (once)                              unchanged; data purged
//
// A CONFIRM or REJECT that finds the request past its deadline is not applied: the result is
// the escalation (Applied false). An ESCALATE that finds it past its deadline is satisfied by
// that escalation. Reaching COMPLETED, REJECTED, CANCELLED or DENIED purges the customer data.
func Apply(in StepInput, roles Roles) (Step, error) {
	t := in.Transfer
	if err := checkStepArgs(in); err != nil {
		return Step{}, err
	}
	if err := checkStepActor(in, roles); err != nil {
		return Step{}, err
	}
	prev := t.Status
	t, escalated := Tick(t, in.Now)
	ts := FormatTime(in.Now)
	st := Step{Applied: true, EscalatedByDeadline: escalated}
	wrong := func() (Step, error) {
		return Step{}, Errorf(CodeFailedPrecondition, "", "cannot %s transfer %s of %s: it is %s", lower(in.Action), t.ID, t.Number, prev)
	}
	switch in.Action {
	case ActionConfirm, ActionReject:
		if escalated {
			st.Applied = false
			st.Event = EventTransferEscalated
			st.Message = "the owner's deadline " + t.Deadline + " has passed; the request was escalated to the Regulator instead"
			break
		}
		if t.Status != StatusOpen {
			if t.Status == StatusEscalated {
				return Step{}, Errorf(CodeFailedPrecondition, "", "transfer %s of %s is escalated; only the Regulator can resolve it", t.ID, t.Number)
			}
			return wrong()
		}
		if in.Action == ActionConfirm {
			t.Status = StatusCompleted
			t.ClosedAt = ts
			st.Event = EventTransferConfirmed
			st.MoveOwnership = true
		} else {
			t.Status = StatusRejected
			t.RejectedAt = ts
			t.RejectReason = in.Reason
			t.DisputeUntil = FormatTime(AddBusinessDays(in.Now, in.Settings.DisputeBusinessDays))
			t.ClosedAt = ts
			st.Event = EventTransferRejected
		}
	case ActionCancel:
		if !t.Status.Active() {
			return wrong()
		}
		t.Status = StatusCancelled
		t.ClosedAt = ts
		st.Event = EventTransferCancelled
	case ActionEscalate:
		switch {
		case escalated:
			// The deadline escalation satisfies the request; keep the telco's reason too.
			t.EscalatedBy = in.Actor
			t.EscalationReason = in.Reason
		case t.Status == StatusOpen:
			t.Status = StatusEscalated
			t.EscalatedAt = ts
			t.EscalatedBy = in.Actor
			t.EscalationCause = CauseDispute
			t.EscalationReason = in.Reason
		case t.Status == StatusRejected:
			until, err := ParseTime("disputeUntil", t.DisputeUntil)
			if err != nil {
				return Step{}, err
			}
			if in.Now.After(until) {
				return Step{}, Errorf(CodeFailedPrecondition, "", "the dispute window of transfer %s of %s closed at %s", t.ID, t.Number, t.DisputeUntil)
			}
			t.Status = StatusEscalated
			t.EscalatedAt = ts
			t.EscalatedBy = in.Actor
			t.EscalationCause = CauseDispute
			t.EscalationReason = in.Reason
			t.ClosedAt = ""
		case t.Status == StatusEscalated:
			return Step{}, Errorf(CodeFailedPrecondition, "", "transfer %s of %s is already escalated", t.ID, t.Number)
		default:
			return wrong()
		}
		st.Event = EventTransferEscalated
	case ActionResolve:
		if t.Status != StatusEscalated {
			return wrong()
		}
		t.ResolvedAt = ts
		t.Resolution = in.Decision
		t.ResolutionReason = in.Reason
		t.ClosedAt = ts
		if in.Decision == DecisionGrant {
			t.Status = StatusCompleted
			st.MoveOwnership = true
		} else {
			t.Status = StatusDenied
		}
		st.Event = EventTransferResolved
	case ActionErase:
		if t.CustomerDataErasedAt != "" {
			return Step{}, Errorf(CodeFailedPrecondition, "", "customer data of transfer %s of %s was already erased at %s", t.ID, t.Number, t.CustomerDataErasedAt)
		}
		t.CustomerDataErasedAt = ts
		t.CustomerDataErasedBy = in.Actor
		st.Purge = true
		st.Event = EventCustomerDataErased
	}
	if st.Applied {
		t.LastAction = in.Action
	} else {
		t.LastAction = ActionEscalate
	}
	t.UpdatedBy = in.Actor
	t.UpdatedAt = ts
	if t.Status.Closed() && t.CustomerDataPurgedAt == "" {
		st.Purge = true
	}
	if st.Purge && t.CustomerDataPurgedAt == "" {
		t.CustomerDataPurgedAt = ts
	}
	st.Transfer = t
	return st, nil
}

func checkStepArgs(in StepInput) error {
	switch in.Action {
	case ActionReject, ActionEscalate:
		return ValidateReason("reason", in.Reason)
	case ActionResolve:
		if _, err := ParseDecision("decision", string(in.Decision)); err != nil {
			return err
		}
		return ValidateReason("reason", in.Reason)
	case ActionConfirm, ActionCancel, ActionErase:
		return nil
	default:
		return Errorf(CodeInternal, "", "unknown step %q", in.Action)
	}
}

func checkStepActor(in StepInput, roles Roles) error {
	t := in.Transfer
	switch in.Action {
	case ActionConfirm, ActionReject:
		if in.Actor != t.From {
			return Errorf(CodeForbidden, "", "only the owner %s may %s the transfer of %s; caller is %s", t.From, lower(in.Action), t.Number, in.Actor)
		}
	case ActionCancel:
		if in.Actor != t.To {
			return Errorf(CodeForbidden, "", "only the requester %s may cancel the transfer of %s; caller is %s", t.To, t.Number, in.Actor)
		}
	case ActionEscalate, ActionErase:
		if in.Actor != t.From && in.Actor != t.To {
			return Errorf(CodeForbidden, "", "only %s or %s may %s the transfer of %s; caller is %s", t.From, t.To, lower(in.Action), t.Number, in.Actor)
		}
	case ActionResolve:
		if !roles.IsRegulator(in.Actor) {
			return Errorf(CodeForbidden, "", "only the Regulator (%s) may resolve the transfer of %s; caller is %s", roles.Regulator, t.Number, in.Actor)
		}
	}
	return nil
}

func lower(a Action) string {
	b := []byte(a)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// MoveOwnership returns the number record after transfer t completed: the owner becomes
// t.To. It refuses if t does not start from the current owner (the state would be corrupt).
func MoveOwnership(n Number, t Transfer, actor string, action Action, now time.Time) (Number, error) {
	if t.Number != n.Number || t.From != n.Owner {
		return Number{}, Errorf(CodeInternal, "", "transfer %s of %s from %s does not match the owner %s", t.ID, t.Number, t.From, n.Owner)
	}
	ts := FormatTime(now)
	n.PreviousOwner = n.Owner
	n.Owner = t.To
	n.LastTransferID = t.ID
	n.LastAction = action
	n.UpdatedBy = actor
	n.UpdatedAt = ts
	return n, nil
}
