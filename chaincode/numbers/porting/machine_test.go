package porting

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	owner     = "Org1MSP"
	requester = "Org2MSP"
	third     = "Org3MSP"
	regulator = "RegulatorMSP"
)

// fixture is a transfer in a given state together with the time of the next step.
type fixture struct {
	t   Transfer
	now time.Time
}

func openTransfer() Transfer {
	n := testNumber()
	res, err := Request(RequestInput{
		Number: n, Requester: requester, TxID: "tx-req", CustomerDataHash: strings.Repeat("1", 64),
		ContractHash: strings.Repeat("2", 64), Settings: DefaultSettings(), Now: at("2025-03-03T09:00:00Z"),
	}, testRoles)
	if err != nil {
		panic(err)
	}
	return res.Transfer
}

// fixtures returns every state a transfer can be in when a step arrives.
func fixtures() map[string]fixture {
	tue := at("2025-03-04T09:00:00Z")
	open := openTransfer()
	closed := func(s Status) Transfer {
		t := open
		t.Status = s
		t.ClosedAt = "2025-03-03T12:00:00Z"
		t.CustomerDataPurgedAt = t.ClosedAt
		return t
	}
	escalated := open
	escalated.Status = StatusEscalated
	escalated.EscalatedAt = "2025-03-03T12:00:00Z"
	escalated.EscalatedBy = requester
	escalated.EscalationCause = CauseDispute
	rejected := closed(StatusRejected)
	rejected.RejectedAt = rejected.ClosedAt
	rejected.RejectReason = "customer unknown"
	rejected.DisputeUntil = "2025-03-10T12:00:00Z"
	return map[string]fixture{
		"OPEN":            {open, tue},
		"OPEN overdue":    {open, at("2025-03-05T09:00:01Z")},
		"ESCALATED":       {escalated, tue},
		"REJECTED":        {rejected, tue},
		"REJECTED closed": {rejected, at("2025-03-10T12:00:01Z")},
		"CANCELLED":       {closed(StatusCancelled), tue},
		"COMPLETED":       {closed(StatusCompleted), tue},
		"DENIED":          {closed(StatusDenied), tue},
	}
}

// step is one kind of step with an authorised caller.
type step struct {
	name     string
	action   Action
	actor    string
	decision Decision
}

var steps = []step{
	{"confirm", ActionConfirm, owner, ""},
	{"reject", ActionReject, owner, ""},
	{"cancel", ActionCancel, requester, ""},
	{"escalate by requester", ActionEscalate, requester, ""},
	{"escalate by owner", ActionEscalate, owner, ""},
	{"grant", ActionResolve, regulator, DecisionGrant},
	{"deny", ActionResolve, regulator, DecisionDeny},
	{"erase by requester", ActionErase, requester, ""},
	{"erase by owner", ActionErase, owner, ""},
}

// want is the expected outcome: an error code, or the resulting status and side effects.
type want struct {
	code    Code
	status  Status
	applied bool
	move    bool
	purge   bool
	event   string
}

func fail() want { return want{code: CodeFailedPrecondition} }
func to(s Status, event string, move, purge bool) want {
	return want{status: s, applied: true, move: move, purge: purge, event: event}
}

// expected is the full matrix: state × step. Keep it explicit: it is the specification.
var expected = map[string]map[string]want{
	"OPEN": {
		"confirm":               to(StatusCompleted, EventTransferConfirmed, true, true),
		"reject":                to(StatusRejected, EventTransferRejected, false, true),
		"cancel":                to(StatusCancelled, EventTransferCancelled, false, true),
		"escalate by requester": to(StatusEscalated, EventTransferEscalated, false, false),
		"escalate by owner":     to(StatusEscalated, EventTransferEscalated, false, false),
		"grant":                 fail(),
		"deny":                  fail(),
		"erase by requester":    to(StatusOpen, EventCustomerDataErased, false, true),
		"erase by owner":        to(StatusOpen, EventCustomerDataErased, false, true),
	},
	"OPEN overdue": {
		"confirm":               {status: StatusEscalated, applied: false, event: EventTransferEscalated},
		"reject":                {status: StatusEscalated, applied: false, event: EventTransferEscalated},
		"cancel":                to(StatusCancelled, EventTransferCancelled, false, true),
		"escalate by requester": to(StatusEscalated, EventTransferEscalated, false, false),
		"escalate by owner":     to(StatusEscalated, EventTransferEscalated, false, false),
		"grant":                 to(StatusCompleted, EventTransferResolved, true, true),
		"deny":                  to(StatusDenied, EventTransferResolved, false, true),
		"erase by requester":    to(StatusEscalated, EventCustomerDataErased, false, true),
		"erase by owner":        to(StatusEscalated, EventCustomerDataErased, false, true),
	},
	"ESCALATED": {
		"confirm":               fail(),
		"reject":                fail(),
		"cancel":                to(StatusCancelled, EventTransferCancelled, false, true),
		"escalate by requester": fail(),
		"escalate by owner":     fail(),
		"grant":                 to(StatusCompleted, EventTransferResolved, true, true),
		"deny":                  to(StatusDenied, EventTransferResolved, false, true),
		"erase by requester":    to(StatusEscalated, EventCustomerDataErased, false, true),
		"erase by owner":        to(StatusEscalated, EventCustomerDataErased, false, true),
	},
	"REJECTED": {
		"confirm":               fail(),
		"reject":                fail(),
		"cancel":                fail(),
		"escalate by requester": to(StatusEscalated, EventTransferEscalated, false, false),
		"escalate by owner":     to(StatusEscalated, EventTransferEscalated, false, false),
		"grant":                 fail(),
		"deny":                  fail(),
		"erase by requester":    to(StatusRejected, EventCustomerDataErased, false, true),
		"erase by owner":        to(StatusRejected, EventCustomerDataErased, false, true),
	},
}

func init() {
	closedOnly := func(s Status) map[string]want {
		m := map[string]want{}
		for _, st := range steps {
			m[st.name] = fail()
		}
		m["erase by requester"] = to(s, EventCustomerDataErased, false, true)
		m["erase by owner"] = to(s, EventCustomerDataErased, false, true)
		return m
	}
	expected["REJECTED closed"] = closedOnly(StatusRejected)
	expected["CANCELLED"] = closedOnly(StatusCancelled)
	expected["COMPLETED"] = closedOnly(StatusCompleted)
	expected["DENIED"] = closedOnly(StatusDenied)
}

func TestApplyMatrix(t *testing.T) {
	fx := fixtures()
	if len(expected) != len(fx) {
		t.Fatalf("matrix has %d states, fixtures %d", len(expected), len(fx))
	}
	for state, f := range fx {
		for _, s := range steps {
			w, ok := expected[state][s.name]
			if !ok {
				t.Fatalf("matrix misses %s × %s", state, s.name)
			}
			t.Run(state+"/"+s.name, func(t *testing.T) {
				got, err := Apply(StepInput{Transfer: f.t, Action: s.action, Actor: s.actor, Reason: "because", Decision: s.decision, Settings: DefaultSettings(), Now: f.now}, testRoles)
				if w.code != "" {
					if CodeOf(err) != w.code {
						t.Fatalf("err = %v, want %s", err, w.code)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				tr := got.Transfer
				if tr.Status != w.status || got.Applied != w.applied || got.MoveOwnership != w.move || got.Purge != w.purge || got.Event != w.event {
					t.Fatalf("got status=%s applied=%v move=%v purge=%v event=%s; want %+v", tr.Status, got.Applied, got.MoveOwnership, got.Purge, got.Event, w)
				}
				if tr.UpdatedBy != s.actor || tr.UpdatedAt != FormatTime(f.now) {
					t.Fatalf("updatedBy/At = %s/%s", tr.UpdatedBy, tr.UpdatedAt)
				}
				if w.applied && tr.LastAction != s.action || !w.applied && tr.LastAction != ActionEscalate {
					t.Fatalf("lastAction = %s", tr.LastAction)
				}
				if tr.Status.Closed() && tr.CustomerDataPurgedAt == "" {
					t.Fatal("closed without purge time")
				}
				if tr.Status.Closed() != (tr.ClosedAt != "") {
					t.Fatalf("closedAt %q for status %s", tr.ClosedAt, tr.Status)
				}
				if got.EscalatedByDeadline != (state == "OPEN overdue") {
					t.Fatalf("EscalatedByDeadline = %v", got.EscalatedByDeadline)
				}
				if !got.Applied && got.Message == "" {
					t.Fatal("not applied without message")
				}
			})
		}
	}
}

// TestApplyForbidden checks every caller that is not allowed a step gets FORBIDDEN, in every
// state (permissions do not depend on the status).
func TestApplyForbidden(t *testing.T) {
	allowed := map[Action][]string{
		ActionConfirm:  {owner},
		ActionReject:   {owner},
		ActionCancel:   {requester},
		ActionEscalate: {owner, requester},
		ActionResolve:  {regulator},
		ActionErase:    {owner, requester},
	}
	for state, f := range fixtures() {
		for action, ok := range allowed {
			for _, actor := range []string{owner, requester, third, regulator, "UnknownMSP"} {
				if contains(ok, actor) {
					continue
				}
				t.Run(fmt.Sprintf("%s/%s/%s", state, action, actor), func(t *testing.T) {
					_, err := Apply(StepInput{Transfer: f.t, Action: action, Actor: actor, Reason: "r", Decision: DecisionGrant, Settings: DefaultSettings(), Now: f.now}, testRoles)
					if CodeOf(err) != CodeForbidden || !strings.Contains(err.Error(), actor) {
						t.Fatalf("err = %v, want FORBIDDEN naming the caller", err)
					}
				})
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestApplyArguments(t *testing.T) {
	f := fixtures()["OPEN"]
	tests := []struct {
		name     string
		action   Action
		actor    string
		reason   string
		decision Decision
		code     Code
		field    string
	}{
		{"reject without reason", ActionReject, owner, "", "", CodeInvalidArgument, "reason"},
		{"reject reason too long", ActionReject, owner, strings.Repeat("x", MaxReasonBytes+1), "", CodeInvalidArgument, "reason"},
		{"reject reason control char", ActionReject, owner, "a\x00b", "", CodeInvalidArgument, "reason"},
		{"reject reason bad utf8", ActionReject, owner, "a\xffb", "", CodeInvalidArgument, "reason"},
		{"escalate without reason", ActionEscalate, requester, "", "", CodeInvalidArgument, "reason"},
		{"resolve without decision", ActionResolve, regulator, "r", "", CodeInvalidArgument, "decision"},
		{"resolve bad decision", ActionResolve, regulator, "r", "grant", CodeInvalidArgument, "decision"},
		{"resolve without reason", ActionResolve, regulator, "", DecisionDeny, CodeInvalidArgument, "reason"},
		{"args before permission", ActionReject, third, "", "", CodeInvalidArgument, "reason"},
		{"unknown action", Action("FLY"), owner, "", "", CodeInternal, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Apply(StepInput{Transfer: f.t, Action: tc.action, Actor: tc.actor, Reason: tc.reason, Decision: tc.decision, Settings: DefaultSettings(), Now: f.now}, testRoles)
			var pe *Error
			if !asError(err, &pe) || pe.Code != tc.code || pe.Field != tc.field {
				t.Fatalf("err = %v, want %s on %q", err, tc.code, tc.field)
			}
		})
	}
}

func TestApplyDetails(t *testing.T) {
	fx := fixtures()
	t.Run("reject opens dispute window", func(t *testing.T) {
		f := fx["OPEN"]
		st, err := Apply(StepInput{Transfer: f.t, Action: ActionReject, Actor: owner, Reason: "no contract", Settings: DefaultSettings(), Now: f.now}, testRoles)
		if err != nil {
			t.Fatal(err)
		}
		if st.Transfer.DisputeUntil != "2025-03-11T09:00:00Z" || st.Transfer.RejectReason != "no contract" {
			t.Fatalf("%+v", st.Transfer)
		}
	})
	t.Run("deadline is inclusive", func(t *testing.T) {
		f := fx["OPEN"]
		st, err := Apply(StepInput{Transfer: f.t, Action: ActionConfirm, Actor: owner, Settings: DefaultSettings(), Now: at("2025-03-05T09:00:00Z")}, testRoles)
		if err != nil || !st.Applied || st.Transfer.Status != StatusCompleted {
			t.Fatalf("confirm at the deadline: %+v %v", st, err)
		}
	})
	t.Run("deadline escalation records cause", func(t *testing.T) {
		f := fx["OPEN overdue"]
		st, _ := Apply(StepInput{Transfer: f.t, Action: ActionConfirm, Actor: owner, Settings: DefaultSettings(), Now: f.now}, testRoles)
		tr := st.Transfer
		if tr.EscalationCause != CauseDeadline || tr.EscalatedBy != "" || tr.EscalatedAt != FormatTime(f.now) || st.MoveOwnership || st.Purge {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("escalate after deadline keeps telco reason", func(t *testing.T) {
		f := fx["OPEN overdue"]
		st, _ := Apply(StepInput{Transfer: f.t, Action: ActionEscalate, Actor: requester, Reason: "owner silent", Settings: DefaultSettings(), Now: f.now}, testRoles)
		tr := st.Transfer
		if tr.EscalationCause != CauseDeadline || tr.EscalatedBy != requester || tr.EscalationReason != "owner silent" {
			t.Fatalf("%+v", tr)
		}
	})
	t.Run("escalating a rejection reopens it", func(t *testing.T) {
		f := fx["REJECTED"]
		st, _ := Apply(StepInput{Transfer: f.t, Action: ActionEscalate, Actor: requester, Reason: "wrong rejection", Settings: DefaultSettings(), Now: f.now}, testRoles)
		tr := st.Transfer
		if tr.ClosedAt != "" || tr.RejectReason == "" || tr.EscalationCause != CauseDispute || tr.CustomerDataPurgedAt == "" {
			t.Fatalf("%+v", tr)
		}
	})
	t.Run("erase twice", func(t *testing.T) {
		f := fx["OPEN"]
		st, _ := Apply(StepInput{Transfer: f.t, Action: ActionErase, Actor: requester, Settings: DefaultSettings(), Now: f.now}, testRoles)
		if st.Transfer.CustomerDataErasedBy != requester || st.Transfer.CustomerDataPurgedAt == "" {
			t.Fatalf("%+v", st.Transfer)
		}
		if _, err := Apply(StepInput{Transfer: st.Transfer, Action: ActionErase, Actor: owner, Settings: DefaultSettings(), Now: f.now}, testRoles); CodeOf(err) != CodeFailedPrecondition {
			t.Fatalf("second erase: %v", err)
		}
	})
	t.Run("resolution recorded", func(t *testing.T) {
		f := fx["ESCALATED"]
		st, _ := Apply(StepInput{Transfer: f.t, Action: ActionResolve, Actor: regulator, Decision: DecisionDeny, Reason: "fraud", Settings: DefaultSettings(), Now: f.now}, testRoles)
		if st.Transfer.Resolution != DecisionDeny || st.Transfer.ResolutionReason != "fraud" || st.Transfer.ResolvedAt == "" {
			t.Fatalf("%+v", st.Transfer)
		}
	})
}

func TestRequest(t *testing.T) {
	n := testNumber()
	now := at("2025-03-06T09:00:00Z") // Thursday
	s := DefaultSettings()
	pac, err := IssuePAC(n, owner, "ABC123456", "tx-pac", s, at("2025-03-03T09:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	usedPAC := pac
	usedPAC.Status = PACUsed
	fx := fixtures()
	rejected := fx["REJECTED"].t // dispute window until 2025-03-10T12:00:00Z
	base := func() RequestInput {
		return RequestInput{Number: n, Requester: requester, TxID: "tx-new", CustomerDataHash: "h", ContractHash: "c", Settings: s, Now: now}
	}
	tests := []struct {
		name   string
		mutate func(*RequestInput)
		code   Code
		pac    bool
	}{
		{"plain", func(*RequestInput) {}, "", false},
		{"regulator", func(in *RequestInput) { in.Requester = regulator }, CodeForbidden, false},
		{"unknown org", func(in *RequestInput) { in.Requester = "Org9MSP" }, CodeForbidden, false},
		{"owner", func(in *RequestInput) { in.Requester = owner }, CodeFailedPrecondition, false},
		{"no tx id", func(in *RequestInput) { in.TxID = "" }, CodeInternal, false},
		{"open exists", func(in *RequestInput) { c := fx["OPEN"].t; in.Current = &c }, CodeConflict, false},
		{"open exists for same requester", func(in *RequestInput) { c := fx["OPEN"].t; in.Current = &c; in.Requester = requester }, CodeConflict, false},
		{"escalated exists", func(in *RequestInput) { c := fx["ESCALATED"].t; in.Current = &c }, CodeConflict, false},
		{"completed before", func(in *RequestInput) { c := fx["COMPLETED"].t; in.Current = &c }, "", false},
		{"cancelled before", func(in *RequestInput) { c := fx["CANCELLED"].t; in.Current = &c; in.Requester = third }, "", false},
		{"rejected in window, other telco", func(in *RequestInput) { c := rejected; in.Current = &c; in.Requester = third }, CodeConflict, false},
		{"rejected in window, same telco", func(in *RequestInput) { c := rejected; in.Current = &c }, "", false},
		{"rejected after window, other telco", func(in *RequestInput) {
			c := rejected
			in.Current = &c
			in.Requester = third
			in.Now = at("2025-03-10T12:00:01Z")
		}, "", false},
		{"pac required", func(in *RequestInput) { in.PAC = &pac }, CodePACRequired, false},
		{"pac wrong", func(in *RequestInput) { in.PAC = &pac; in.PresentedPAC = "ABC123457" }, CodePACInvalid, false},
		{"pac malformed", func(in *RequestInput) { in.PAC = &pac; in.PresentedPAC = "abc" }, CodePACInvalid, false},
		{"pac right", func(in *RequestInput) { in.PAC = &pac; in.PresentedPAC = "ABC123456" }, "", true},
		{"pac used", func(in *RequestInput) { in.PAC = &usedPAC; in.PresentedPAC = "ABC123456" }, CodePACInvalid, false},
		{"pac used, none presented", func(in *RequestInput) { in.PAC = &usedPAC }, "", false},
		{"pac expired, none presented", func(in *RequestInput) { in.PAC = &pac; in.Now = at("2025-04-02T09:00:00Z") }, "", false},
		{"pac expired, presented", func(in *RequestInput) {
			in.PAC = &pac
			in.PresentedPAC = "ABC123456"
			in.Now = at("2025-04-02T09:00:00Z")
		}, CodePACInvalid, false},
		{"pac of previous owner", func(in *RequestInput) { in.PAC = &pac; in.Number.Owner = third }, "", false},
		{"no pac, presented", func(in *RequestInput) { in.PresentedPAC = "ABC123456" }, CodePACInvalid, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			tc.mutate(&in)
			res, err := Request(in, testRoles)
			if tc.code != "" {
				if CodeOf(err) != tc.code {
					t.Fatalf("err = %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tr := res.Transfer
			if tr.Status != StatusOpen || tr.From != in.Number.Owner || tr.To != in.Requester || tr.ID != "tx-new" || tr.Collection != CollectionFor(in.Number.Owner, in.Requester) {
				t.Fatalf("%+v", tr)
			}
			if want := FormatTime(AddBusinessDays(in.Now, s.AnswerBusinessDays)); tr.Deadline != want {
				t.Fatalf("deadline %s, want %s", tr.Deadline, want)
			}
			if (res.PAC != nil) != tc.pac || tr.PACPresented != tc.pac {
				t.Fatalf("pac used = %v", res.PAC)
			}
			if tc.pac && (res.PAC.Status != PACUsed || res.PAC.UsedByTransfer != "tx-new") {
				t.Fatalf("pac %+v", res.PAC)
			}
		})
	}
}

func TestMoveOwnership(t *testing.T) {
	n := testNumber()
	tr := openTransfer()
	now := at("2025-03-04T09:00:00Z")
	got, err := MoveOwnership(n, tr, owner, ActionConfirm, now)
	if err != nil || got.Owner != requester || got.PreviousOwner != owner || got.LastTransferID != tr.ID || got.AllocatedAt != n.AllocatedAt {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := MoveOwnership(got, tr, owner, ActionConfirm, now); CodeOf(err) != CodeInternal {
		t.Fatalf("stale transfer: %v", err)
	}
}

func TestStatusHelpers(t *testing.T) {
	for _, s := range []Status{StatusOpen, StatusEscalated} {
		if !s.Active() || s.Closed() {
			t.Errorf("%s", s)
		}
		if got, err := ParseListStatus("status", string(s)); err != nil || got != s {
			t.Errorf("ParseListStatus(%s) = %v", s, err)
		}
	}
	for _, s := range []Status{StatusRejected, StatusCancelled, StatusCompleted, StatusDenied} {
		if s.Active() || !s.Closed() {
			t.Errorf("%s", s)
		}
		if _, err := ParseListStatus("status", string(s)); CodeOf(err) != CodeInvalidArgument {
			t.Errorf("ParseListStatus(%s) accepted", s)
		}
	}
	if _, err := ParseListStatus("status", ""); CodeOf(err) != CodeInvalidArgument {
		t.Error("empty status accepted")
	}
	if tr := openTransfer(); tr.Overdue(at("2025-03-05T09:00:00Z")) || !tr.Overdue(at("2025-03-05T09:00:00.000000001Z")) {
		t.Error("Overdue boundary")
	}
}
