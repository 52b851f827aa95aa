package porting

import (
	"sort"
	"strings"
	"time"
)

// Settings are the timers of the porting process. The Regulator can change them; a change
// applies to requests, rejections and codes made afterwards (deadlines already on chain stay).
type Settings struct {
	// AnswerBusinessDays is the owner's time to confirm or reject a request, in business days
	// (Monday to Friday, UTC) from the request. Default 2.
	AnswerBusinessDays int `json:"answerBusinessDays"`
	// DisputeBusinessDays is how long a rejected request can still be escalated, in business
	// days from the rejection. Default 5.
	DisputeBusinessDays int `json:"disputeBusinessDays"`
	// PACValidityDays is how long a porting authorisation code stays valid, in calendar days
	// from issue. Default 30 (as the UK PAC).
	PACValidityDays int `json:"pacValidityDays"`
}

// Bounds of the settings.
const (
	MaxAnswerBusinessDays  = 20
	MaxDisputeBusinessDays = 30
	MaxPACValidityDays     = 90
)

// DefaultSettings returns the settings used until the Regulator configures others.
func DefaultSettings() Settings {
	return Settings{AnswerBusinessDays: 2, DisputeBusinessDays: 5, PACValidityDays: 30}
}

// Validate checks every setting is within its bounds.
func (s Settings) Validate() error {
	if s.AnswerBusinessDays < 1 || s.AnswerBusinessDays > MaxAnswerBusinessDays {
		return Errorf(CodeInvalidArgument, "answerBusinessDays", "%d is outside 1..%d", s.AnswerBusinessDays, MaxAnswerBusinessDays)
	}
	if s.DisputeBusinessDays < 1 || s.DisputeBusinessDays > MaxDisputeBusinessDays {
		return Errorf(CodeInvalidArgument, "disputeBusinessDays", "%d is outside 1..%d", s.DisputeBusinessDays, MaxDisputeBusinessDays)
	}
	if s.PACValidityDays < 1 || s.PACValidityDays > MaxPACValidityDays {
		return Errorf(CodeInvalidArgument, "pacValidityDays", "%d is outside 1..%d", s.PACValidityDays, MaxPACValidityDays)
	}
	return nil
}

// AddBusinessDays returns t (in UTC) moved forward by n business days: each step adds 24 hours
// and skips Saturdays and Sundays, keeping the time of day. A request on Friday 15:00 with
// n = 2 is due Tuesday 15:00; one on Saturday 10:00 is due Tuesday 10:00. Public holidays are
// not modelled. n <= 0 returns t unchanged.
func AddBusinessDays(t time.Time, n int) time.Time {
	t = t.UTC()
	for i := 0; i < n; i++ {
		t = t.AddDate(0, 0, 1)
		for t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
			t = t.AddDate(0, 0, 1)
		}
	}
	return t
}

// Roles names the organisations of the numbers channel: the Regulator and the telcos.
type Roles struct {
	// Regulator is the MSP ID of the Regulator.
	Regulator string
	// Telcos are the MSP IDs of the telecom operators.
	Telcos []string
}

// DefaultRoles are the organisations of ARCHITECTURE.md §1.
func DefaultRoles() Roles {
	return Roles{Regulator: "RegulatorMSP", Telcos: []string{"Org1MSP", "Org2MSP", "Org3MSP"}}
}

// Validate checks the roles are usable: a Regulator, at least two distinct telcos, no overlap.
func (r Roles) Validate() error {
	if r.Regulator == "" {
		return Errorf(CodeInvalidArgument, "regulator", "MSP ID is required")
	}
	if len(r.Telcos) < 2 {
		return Errorf(CodeInvalidArgument, "telcos", "at least two telcos are required")
	}
	seen := make(map[string]bool, len(r.Telcos))
	for _, t := range r.Telcos {
		if t == "" || t == r.Regulator || seen[t] || strings.Contains(t, "_") {
			return Errorf(CodeInvalidArgument, "telcos", "%q is empty, duplicated, the Regulator, or contains \"_\"", t)
		}
		seen[t] = true
	}
	return nil
}

// IsTelco reports whether msp is one of the telcos.
func (r Roles) IsTelco(msp string) bool {
	for _, t := range r.Telcos {
		if t == msp {
			return true
		}
	}
	return false
}

// IsRegulator reports whether msp is the Regulator.
func (r Roles) IsRegulator(msp string) bool { return msp != "" && msp == r.Regulator }

// CollectionFor names the private data collection shared by two telcos:
// "transfer_<A>_<B>" with the two MSP IDs in ascending order (collections_config.json).
func CollectionFor(a, b string) string {
	pair := []string{a, b}
	sort.Strings(pair)
	return "transfer_" + pair[0] + "_" + pair[1]
}

// FormatTime renders a timestamp the way the chaincode stores it: RFC 3339 in UTC with
// nanoseconds (trailing zeros trimmed).
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ParseTime parses a stored timestamp; field names it in the error.
func ParseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, Wrap(CodeInternal, err, "stored %s %q is not RFC 3339", field, Clip(s))
	}
	return t, nil
}

// MaxClockSkew is how far a writing transaction's timestamp may be from the endorsing peer's
// clock. The timestamp is chosen by the client and Fabric does not check it, yet every timer
// (answer deadline, dispute window, code expiry) is computed from it: without a bound, a
// requester could backdate its request past the owner's deadline and escalate it at once,
// or present an expired code. Five minutes tolerates ordinary clock drift; endorsers could
// only disagree for a client exactly at the bound, and then the endorsement simply fails.
const MaxClockSkew = 5 * time.Minute

// CheckTxTime checks a writing transaction's timestamp tx against the endorsing peer's clock
// peerNow: INVALID_ARGUMENT (field "timestamp") when they differ by more than [MaxClockSkew].
func CheckTxTime(tx, peerNow time.Time) error {
	d := tx.Sub(peerNow)
	if d > MaxClockSkew || d < -MaxClockSkew {
		return Errorf(CodeInvalidArgument, "timestamp", "transaction time %s is %s from the endorsing peer's clock %s; at most %s is tolerated (check the client's clock)",
			FormatTime(tx), d.Round(time.Second), FormatTime(peerNow.Truncate(time.Second)), MaxClockSkew)
	}
	return nil
}
