package porting

import (
	"strings"
	"testing"
)

func TestValidateNumber(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"germany mobile", "+4915112345678", true},
		{"shortest", "+12345678", true},
		{"longest", "+123456789012345", true},
		{"empty", "", false},
		{"no plus", "4915112345678", false},
		{"double plus", "++4915112345678", false},
		{"too short", "+1234567", false},
		{"too long", "+1234567890123456", false},
		{"leading zero", "+0151123456789", false},
		{"space", "+49 15112345678", false},
		{"dash", "+49-15112345678", false},
		{"letter", "+49151123x5678", false},
		{"unicode digit", "+49151123４5678", false},
		{"plus only", "+", false},
		{"trailing newline", "+4915112345678\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateNumber("number", tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateNumber(%q) = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err != nil {
				if CodeOf(err) != CodeInvalidArgument || !strings.Contains(err.Error(), "number") {
					t.Fatalf("error %q: want INVALID_ARGUMENT naming the field", err)
				}
			}
		})
	}
}

func TestNumberRange(t *testing.T) {
	tests := []struct {
		name, first, last string
		count             int
		wantField         string
	}{
		{"single", "+4915100000000", "+4915100000000", 1, ""},
		{"ten", "+4915100000000", "+4915100000009", 10, ""},
		{"carry", "+4915100000099", "+4915100000101", 3, ""},
		{"max", "+4915100000000", "+4915100004999", MaxRangeSize, ""},
		{"too big", "+4915100000000", "+4915100005000", 0, "last"},
		{"reversed", "+4915100000009", "+4915100000000", 0, "last"},
		{"length differs", "+491510000000", "+4915100000000", 0, "last"},
		{"bad first", "4915100000000", "+4915100000000", 0, "first"},
		{"bad last", "+4915100000000", "+49151000000x0", 0, "last"},
		{"fifteen digits", "+999999999999990", "+999999999999999", 10, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NumberRange(tc.first, tc.last)
			if tc.wantField != "" {
				var pe *Error
				if err == nil || !asError(err, &pe) || pe.Field != tc.wantField {
					t.Fatalf("NumberRange error = %v, want one naming %q", err, tc.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.count || got[0] != tc.first || got[len(got)-1] != tc.last {
				t.Fatalf("got %d numbers %s..%s", len(got), got[0], got[len(got)-1])
			}
			for i, n := range got {
				if err := ValidateNumber("n", n); err != nil {
					t.Fatalf("element %d: %v", i, err)
				}
				if i > 0 && got[i-1] >= n {
					t.Fatalf("not ascending at %d", i)
				}
			}
		})
	}
}

// FuzzValidateNumber checks that validation never panics, that accepted input has the
// canonical shape, and that a range of one accepted number is that number.
func FuzzValidateNumber(f *testing.F) {
	for _, s := range []string{"+4915112345678", "+12345678", "", "+", "+0123456789", "+49 151", "+123456789012345", "+1234567890123456"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateNumber("number", s)
		if err != nil {
			if CodeOf(err) != CodeInvalidArgument {
				t.Fatalf("code %s for %q", CodeOf(err), s)
			}
			if len(err.Error()) > 400 { // bounded whatever the input length (clip)
				t.Fatalf("error message too long (%d) for input of %d bytes", len(err.Error()), len(s))
			}
			return
		}
		if s[0] != '+' || len(s) < MinDigits+1 || len(s) > MaxDigits+1 || s[1] == '0' {
			t.Fatalf("accepted non-canonical %q", s)
		}
		for i := 1; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				t.Fatalf("accepted non-digit in %q", s)
			}
		}
		got, err := NumberRange(s, s)
		if err != nil || len(got) != 1 || got[0] != s {
			t.Fatalf("NumberRange(%q, %q) = %v, %v", s, s, got, err)
		}
	})
}
