package porting

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNumberRange checks range allocation input: never a panic; a refusal is INVALID_ARGUMENT;
// an accepted range holds first..last, at most MaxRangeSize canonical numbers of the same
// length in ascending order, each of which ValidateNumber accepts.
func FuzzNumberRange(f *testing.F) {
	for _, p := range [][2]string{{"+4915100000010", "+4915100000019"}, {"+12345678", "+12345678"}, {"+99999999", "+100000000"},
		{"+4915100000010", "+4915100005009"}, {"+4915100000010", "+4915100005010"}, {"+999999999999999", "+999999999999999"},
		{"+4915100000019", "+4915100000010"}, {"+49 15100000010", "+4915100000019"}, {"+0915100000010", "+0915100000019"}, {"", ""},
		{"+١٢٣٤٥٦٧٨٩", "+١٢٣٤٥٦٧٨٩"}, {"+4915100000010\x00", "+4915100000019"}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, first, last string) {
		got, err := NumberRange(first, last)
		if err != nil {
			if CodeOf(err) != CodeInvalidArgument || got != nil {
				t.Fatalf("NumberRange(%q, %q) = %d numbers, %v", first, last, len(got), err)
			}
			return
		}
		if len(got) == 0 || len(got) > MaxRangeSize || got[0] != first || got[len(got)-1] != last {
			t.Fatalf("NumberRange(%q, %q) = %d numbers from %q to %q", first, last, len(got), got[0], got[len(got)-1])
		}
		lo, _ := strconv.ParseUint(first[1:], 10, 64)
		hi, _ := strconv.ParseUint(last[1:], 10, 64)
		if uint64(len(got)) != hi-lo+1 {
			t.Fatalf("NumberRange(%q, %q): %d numbers", first, last, len(got))
		}
		for i, n := range got {
			if ValidateNumber("n", n) != nil || len(n) != len(first) || (i > 0 && got[i-1] >= n) {
				t.Fatalf("NumberRange(%q, %q)[%d] = %q", first, last, i, n)
			}
		}
	})
}

// FuzzTextInputs checks the other validators of client text (porting codes, reasons,
// decisions, list filters, contract hashes, stored times): never a panic, refusals are
// INVALID_ARGUMENT with a bounded message, and what is accepted is canonical (a contract hash
// normalises to lower case idempotently; a time formats and parses back to the same instant).
func FuzzTextInputs(f *testing.F) {
	for _, s := range []string{"PAC7K2Q9ZX", "pac7k2q9zx", "ABC123456", "GRANT", "DENY", "grant", "OPEN", "ESCALATED", "COMPLETED",
		"contract still running", strings.Repeat("é", 300), "a\x00b", "\xff", "line\nbreak",
		"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
		"2025-03-03T09:00:00Z", "2025-03-03T09:00:00.123456789+01:00", "2025-13-03T09:00:00Z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		bounded := func(name string, err error) {
			if err == nil {
				return
			}
			if CodeOf(err) != CodeInvalidArgument {
				t.Fatalf("%s(%q): code %s", name, s, CodeOf(err))
			}
			if len(err.Error()) > 400 {
				t.Fatalf("%s: message of %d bytes for input of %d", name, len(err.Error()), len(s))
			}
		}
		err := ValidatePACCode("pac", s)
		bounded("ValidatePACCode", err)
		if err == nil && (len(s) < MinPACLength || len(s) > MaxPACLength || strings.ToUpper(s) != s || strings.ContainsFunc(s, func(r rune) bool { return r > 'Z' })) {
			t.Fatalf("ValidatePACCode accepted %q", s)
		}
		err = ValidateReason("reason", s)
		bounded("ValidateReason", err)
		if err == nil && (len(s) > MaxReasonBytes || !utf8.ValidString(s)) {
			t.Fatalf("ValidateReason accepted %q", s)
		}
		d, err := ParseDecision("decision", s)
		bounded("ParseDecision", err)
		if err == nil && d != DecisionGrant && d != DecisionDeny {
			t.Fatalf("ParseDecision(%q) = %q", s, d)
		}
		st, err := ParseListStatus("status", s)
		bounded("ParseListStatus", err)
		if err == nil && st != StatusOpen && st != StatusEscalated {
			t.Fatalf("ParseListStatus(%q) = %q", s, st)
		}
		h, err := ValidateContractHash("contractHash", s)
		bounded("ValidateContractHash", err)
		if err == nil {
			if h != strings.ToLower(s) || len(h) != 64 {
				t.Fatalf("ValidateContractHash(%q) = %q", s, h)
			}
			if again, err := ValidateContractHash("contractHash", h); err != nil || again != h {
				t.Fatalf("not idempotent on %q", h)
			}
		}
		if tm, err := ParseTime("at", s); err == nil {
			back, err := ParseTime("at", FormatTime(tm))
			if err != nil || !back.Equal(tm) {
				t.Fatalf("ParseTime(FormatTime(ParseTime(%q))) = %v, %v", s, back, err)
			}
			if FormatTime(back) != FormatTime(tm) {
				t.Fatalf("FormatTime not canonical for %q", s)
			}
		}
	})
}

// FuzzCustomerRecord checks the decoder of the transient customer data of a transfer request:
// never a panic; a refusal is INVALID_ARGUMENT; an accepted record is JSON whose customer is
// the non-empty object sent (the same JSON value), whose contract hash is lower case, whose salt is the hex
// of the bytes sent, and whose hash is the SHA-256 of the stored value.
func FuzzCustomerRecord(f *testing.F) {
	hash := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	salt := []byte("0123456789abcdef")
	for _, c := range []string{`{"name":"Jane Doe","dateOfBirth":"1960-01-01","address":{"city":"Berlin"}}`, `{}`, `[]`, `null`, `"x"`, `{"a":1} {}`,
		`{ "a" : [ 1 , 2 ] }`, `{"a":"\u0000"}`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}", strings.Repeat(`{"a":`, 3000) + `1` + strings.Repeat(`}`, 3000),
		`{"a":` + strings.Repeat("9", 5000) + `}`, `{"a":1,"a":2}`} {
		f.Add([]byte(c), hash, salt)
	}
	f.Add([]byte(`{"a":1}`), strings.ToUpper(hash), []byte("short"))
	f.Add([]byte(`{"a":1}`), hash[:63], bytes.Repeat([]byte{0}, 65))
	f.Fuzz(func(t *testing.T, customer []byte, contractHash string, salt []byte) {
		value, digest, err := BuildCustomerRecord("+4915112345678", "tx1", customer, contractHash, salt)
		if err != nil {
			if CodeOf(err) != CodeInvalidArgument || value != nil || digest != "" {
				t.Fatalf("BuildCustomerRecord(%q): %v", customer, err)
			}
			return
		}
		var rec CustomerRecord
		if err := json.Unmarshal(value, &rec); err != nil {
			t.Fatalf("stored value %q: %v", value, err)
		}
		// The customer is stored compacted (encoding/json also escapes <, > and & as \u003c...):
		// the same JSON value as sent, a non-empty object.
		sent, err1 := decodeAny(customer)
		stored, err2 := decodeAny(rec.Customer)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(sent, stored) ||
			rec.Customer[0] != '{' || string(rec.Customer) == "{}" {
			t.Fatalf("customer %q stored as %q", customer, rec.Customer)
		}
		if again, d2, err := BuildCustomerRecord("+4915112345678", "tx1", customer, contractHash, salt); err != nil || !bytes.Equal(again, value) || d2 != digest {
			t.Fatalf("not deterministic on %q", customer)
		}
		if rec.ContractHash != strings.ToLower(contractHash) || len(salt) < MinSaltBytes || len(salt) > MaxSaltBytes || digest != HashPrivate(value) {
			t.Fatalf("record %+v digest %s", rec, digest)
		}
	})
}

// decodeAny decodes one JSON value keeping numbers as written.
func decodeAny(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}
