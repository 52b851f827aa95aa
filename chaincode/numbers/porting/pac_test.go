package porting

import (
	"strings"
	"testing"
)

var testRoles = DefaultRoles()

func testNumber() Number {
	n, err := Allocate("+4915112345678", "Org1MSP", "RegulatorMSP", testRoles, at("2025-03-03T09:00:00Z"))
	if err != nil {
		panic(err)
	}
	return n
}

func TestAllocate(t *testing.T) {
	now := at("2025-03-03T09:00:00Z")
	tests := []struct {
		name, number, owner, actor string
		code                       Code
		field                      string
	}{
		{"ok", "+4915112345678", "Org1MSP", "RegulatorMSP", "", ""},
		{"telco caller", "+4915112345678", "Org1MSP", "Org1MSP", CodeForbidden, ""},
		{"bad number", "0151", "Org1MSP", "RegulatorMSP", CodeInvalidArgument, "number"},
		{"owner missing", "+4915112345678", "", "RegulatorMSP", CodeInvalidArgument, "owner"},
		{"owner regulator", "+4915112345678", "RegulatorMSP", "RegulatorMSP", CodeInvalidArgument, "owner"},
		{"owner unknown", "+4915112345678", "Org9MSP", "RegulatorMSP", CodeInvalidArgument, "owner"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Allocate(tc.number, tc.owner, tc.actor, testRoles, now)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if n.Owner != tc.owner || n.LastAction != ActionAllocate || n.AllocatedAt != "2025-03-03T09:00:00Z" || n.UpdatedBy != tc.actor {
					t.Fatalf("record %+v", n)
				}
				return
			}
			var pe *Error
			if !asError(err, &pe) || pe.Code != tc.code || pe.Field != tc.field {
				t.Fatalf("err = %v, want %s on %q", err, tc.code, tc.field)
			}
		})
	}
}

func TestValidatePACCode(t *testing.T) {
	for code, ok := range map[string]bool{
		"ABC123456": true, "ABCDEFGH": true, strings.Repeat("Z", 32): true,
		"": false, "ABC1234": false, strings.Repeat("Z", 33): false, "abc123456": false, "ABC 23456": false, "ABC-23456": false,
	} {
		if err := ValidatePACCode("pac", code); (err == nil) != ok {
			t.Errorf("ValidatePACCode(%q) = %v, want ok=%v", code, err, ok)
		}
	}
}

func TestPACLifecycle(t *testing.T) {
	n := testNumber()
	now := at("2025-03-03T10:00:00Z")
	s := DefaultSettings()

	if _, err := IssuePAC(n, "Org2MSP", "ABC123456", "tx1", s, now); CodeOf(err) != CodeForbidden {
		t.Fatalf("non-owner issue: %v", err)
	}
	if _, err := IssuePAC(n, "Org1MSP", "abc", "tx1", s, now); CodeOf(err) != CodeInvalidArgument {
		t.Fatalf("bad code: %v", err)
	}
	if _, err := IssuePAC(n, "Org1MSP", "ABC123456", "", s, now); CodeOf(err) != CodeInternal {
		t.Fatalf("empty tx id: %v", err)
	}
	p, err := IssuePAC(n, "Org1MSP", "ABC123456", "tx1", s, now)
	if err != nil {
		t.Fatal(err)
	}
	if p.ExpiresAt != "2025-04-02T10:00:00Z" || p.Status != PACOutstanding || strings.Contains(p.Hash, "ABC") || len(p.Hash) != 64 || len(p.Salt) != 32 {
		t.Fatalf("record %+v", p)
	}
	again, _ := IssuePAC(n, "Org1MSP", "ABC123456", "tx2", s, now)
	if again.Hash == p.Hash {
		t.Fatal("same code, different issue: hashes must differ (salt per issue)")
	}
	same, _ := IssuePAC(n, "Org1MSP", "ABC123456", "tx1", s, now)
	if same != p {
		t.Fatal("issue is not deterministic")
	}
	if ok, err := p.Matches("ABC123456"); err != nil || !ok {
		t.Fatalf("Matches(right) = %v, %v", ok, err)
	}
	if ok, _ := p.Matches("ABC123457"); ok {
		t.Fatal("Matches(wrong) = true")
	}
	if !p.OutstandingFor("Org1MSP", now) || p.OutstandingFor("Org2MSP", now) || p.OutstandingFor("Org1MSP", at("2025-04-02T10:00:00Z")) {
		t.Fatal("OutstandingFor wrong")
	}
	corrupt := p
	corrupt.Salt = "zz"
	if _, err := corrupt.Matches("ABC123456"); CodeOf(err) != CodeInternal {
		t.Fatalf("corrupt salt: %v", err)
	}

	if _, err := RevokePAC(n, &p, "Org3MSP", now); CodeOf(err) != CodeForbidden {
		t.Fatalf("non-owner revoke: %v", err)
	}
	if _, err := RevokePAC(n, nil, "Org1MSP", now); CodeOf(err) != CodeFailedPrecondition {
		t.Fatalf("revoke none: %v", err)
	}
	r, err := RevokePAC(n, &p, "Org1MSP", now)
	if err != nil || r.Status != PACRevoked || r.LastAction != ActionRevokePAC {
		t.Fatalf("revoke: %+v %v", r, err)
	}
	if _, err := RevokePAC(n, &r, "Org1MSP", now); CodeOf(err) != CodeFailedPrecondition {
		t.Fatalf("revoke twice: %v", err)
	}
}

func TestBuildCustomerRecord(t *testing.T) {
	salt := []byte("0123456789abcdef")
	hash := strings.Repeat("ab", 32)
	tests := []struct {
		name     string
		customer string
		contract string
		salt     []byte
		field    string
	}{
		{"ok", `{"name": "Jane Doe", "dateOfBirth": "1960-01-01"}`, hash, salt, ""},
		{"upper hash", `{"name":"x"}`, strings.ToUpper(hash), salt, ""},
		{"missing customer", ``, hash, salt, "customer"},
		{"not json", `{name}`, hash, salt, "customer"},
		{"array", `["x"]`, hash, salt, "customer"},
		{"empty object", ` { } `, hash, salt, "customer"},
		{"string", `"x"`, hash, salt, "customer"},
		{"too big", `{"a":"` + strings.Repeat("x", MaxCustomerBytes) + `"}`, hash, salt, "customer"},
		{"missing hash", `{"name":"x"}`, "", salt, "contractHash"},
		{"short hash", `{"name":"x"}`, "abcd", salt, "contractHash"},
		{"non-hex hash", `{"name":"x"}`, strings.Repeat("zz", 32), salt, "contractHash"},
		{"no salt", `{"name":"x"}`, hash, nil, "salt"},
		{"short salt", `{"name":"x"}`, hash, salt[:15], "salt"},
		{"long salt", `{"name":"x"}`, hash, make([]byte, 65), "salt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			value, sum, err := BuildCustomerRecord("+4915112345678", "tx1", []byte(tc.customer), tc.contract, tc.salt)
			if tc.field != "" {
				var pe *Error
				if !asError(err, &pe) || pe.Field != tc.field || pe.Code != CodeInvalidArgument {
					t.Fatalf("err = %v, want INVALID_ARGUMENT on %s", err, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sum != HashPrivate(value) || strings.Contains(string(value), `": "`) || !strings.Contains(string(value), `"contractHash":"`+hash+`"`) {
				t.Fatalf("value %s hash %s", value, sum)
			}
		})
	}
	a, ha, _ := BuildCustomerRecord("+4915112345678", "tx1", []byte(`{"name":"x"}`), hash, salt)
	b, hb, _ := BuildCustomerRecord("+4915112345678", "tx1", []byte(`{"name":"x"}`), hash, []byte("fedcba9876543210"))
	if string(a) == string(b) || ha == hb {
		t.Fatal("the salt must change the hash")
	}
}
