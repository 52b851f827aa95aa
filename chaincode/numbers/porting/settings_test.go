package porting

import (
	"strings"
	"testing"
	"time"
)

func TestAddBusinessDays(t *testing.T) {
	tests := []struct {
		name, from string
		n          int
		want       string
	}{
		{"monday +2", "2025-03-03T09:00:00Z", 2, "2025-03-05T09:00:00Z"},
		{"thursday +2 skips weekend", "2025-03-06T09:00:00Z", 2, "2025-03-10T09:00:00Z"},
		{"friday +2", "2025-03-07T15:00:00Z", 2, "2025-03-11T15:00:00Z"},
		{"saturday +2", "2025-03-08T10:00:00Z", 2, "2025-03-11T10:00:00Z"},
		{"sunday +1", "2025-03-09T23:59:59Z", 1, "2025-03-10T23:59:59Z"},
		{"zero", "2025-03-08T10:00:00Z", 0, "2025-03-08T10:00:00Z"},
		{"negative", "2025-03-08T10:00:00Z", -3, "2025-03-08T10:00:00Z"},
		{"five is a week", "2025-03-04T12:00:00Z", 5, "2025-03-11T12:00:00Z"},
		{"non-UTC input", "2025-03-07T23:30:00+02:00", 1, "2025-03-10T21:30:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := FormatTime(AddBusinessDays(at(tc.from), tc.n))
			if got != tc.want {
				t.Fatalf("AddBusinessDays(%s, %d) = %s, want %s", tc.from, tc.n, got, tc.want)
			}
		})
	}
}

func TestSettingsValidate(t *testing.T) {
	if err := DefaultSettings().Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		s     Settings
		field string
	}{
		{"answer zero", Settings{0, 5, 30}, "answerBusinessDays"},
		{"answer high", Settings{MaxAnswerBusinessDays + 1, 5, 30}, "answerBusinessDays"},
		{"dispute zero", Settings{2, 0, 30}, "disputeBusinessDays"},
		{"dispute high", Settings{2, MaxDisputeBusinessDays + 1, 30}, "disputeBusinessDays"},
		{"pac zero", Settings{2, 5, 0}, "pacValidityDays"},
		{"pac high", Settings{2, 5, MaxPACValidityDays + 1}, "pacValidityDays"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var pe *Error
			if err := tc.s.Validate(); !asError(err, &pe) || pe.Field != tc.field || pe.Code != CodeInvalidArgument {
				t.Fatalf("Validate() = %v, want INVALID_ARGUMENT on %s", err, tc.field)
			}
		})
	}
}

func TestRoles(t *testing.T) {
	r := DefaultRoles()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if !r.IsTelco("Org2MSP") || r.IsTelco("RegulatorMSP") || !r.IsRegulator("RegulatorMSP") || r.IsRegulator("") {
		t.Fatal("role predicates wrong")
	}
	for name, bad := range map[string]Roles{
		"no regulator": {Telcos: []string{"A", "B"}},
		"one telco":    {Regulator: "R", Telcos: []string{"A"}},
		"duplicate":    {Regulator: "R", Telcos: []string{"A", "A"}},
		"regulator":    {Regulator: "R", Telcos: []string{"A", "R"}},
		"underscore":   {Regulator: "R", Telcos: []string{"A", "B_C"}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%s: Validate() = nil", name)
		}
	}
	if got := CollectionFor("Org3MSP", "Org1MSP"); got != "transfer_Org1MSP_Org3MSP" {
		t.Fatalf("CollectionFor = %s", got)
	}
	if CollectionFor("Org1MSP", "Org2MSP") != CollectionFor("Org2MSP", "Org1MSP") {
		t.Fatal("CollectionFor depends on order")
	}
}

func TestErrorFormat(t *testing.T) {
	e := Errorf(CodeInvalidArgument, "number", "bad")
	if e.Error() != "INVALID_ARGUMENT: number: bad" {
		t.Fatal(e.Error())
	}
	if Errorf(CodeNotFound, "", "gone").Error() != "NOT_FOUND: gone" {
		t.Fatal("no-field form")
	}
	if CodeOf(nil) != "" || CodeOf(errTest{}) != CodeInternal || CodeOf(e) != CodeInvalidArgument {
		t.Fatal("CodeOf")
	}
}

type errTest struct{}

func (errTest) Error() string { return "x" }

func TestCheckTxTime(t *testing.T) {
	peer := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	for _, d := range []time.Duration{0, time.Minute, -time.Minute, MaxClockSkew, -MaxClockSkew} {
		if err := CheckTxTime(peer.Add(d), peer); err != nil {
			t.Errorf("skew %v: %v", d, err)
		}
	}
	for _, d := range []time.Duration{MaxClockSkew + time.Second, -MaxClockSkew - time.Second, -7 * 24 * time.Hour} {
		err := CheckTxTime(peer.Add(d), peer)
		if CodeOf(err) != CodeInvalidArgument || !strings.Contains(err.Error(), "timestamp: ") {
			t.Errorf("skew %v: %v", d, err)
		}
	}
}
