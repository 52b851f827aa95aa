package contract

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/fabmarket/fabmarket/chaincode/numbers/porting"
)

// num2 is the number with an open transfer (Org1MSP → Org2MSP) in the fuzz state.
const num2 = "+4915112345679"

var fuzzMSPs = []string{org1, org2, org3, reg, "EvilMSP", ""}

// numbersCall is one contract function of external input: number, a, b and c are its string
// arguments or transient values as the function takes them.
type numbersCall struct {
	name  string
	write bool
	fn    func(c *Contract, ctx contractapi.TransactionContextInterface, number, a, b string) (any, error)
	// transient builds the transient map of the call from the fuzzed values (nil: none).
	transient func(cust []byte, a, b string) map[string][]byte
}

var numbersCalls = []numbersCall{
	{"AllocateNumber", true, func(c *Contract, ctx contractapi.TransactionContextInterface, n, a, _ string) (any, error) {
		return c.AllocateNumber(ctx, n, a)
	}, nil},
	{"AllocateRange", true, func(c *Contract, ctx contractapi.TransactionContextInterface, n, a, b string) (any, error) {
		return c.AllocateRange(ctx, n, a, b)
	}, nil},
	{"RequestTransfer", true, func(c *Contract, ctx contractapi.TransactionContextInterface, n, _, _ string) (any, error) {
		return c.RequestTransfer(ctx, n)
	}, func(cust []byte, a, b string) map[string][]byte {
		tm := map[string][]byte{TransientCustomer: cust, TransientContractHash: []byte(a), TransientSalt: []byte(b)}
		if strings.HasPrefix(b, "PAC") && len(b) >= 10 { // a porting code, then the salt
			tm[TransientPAC] = []byte(b[:10])
		}
		return tm
	}},
	{"IssuePAC", true, func(c *Contract, ctx contractapi.TransactionContextInterface, n, _, _ string) (any, error) {
		return c.IssuePAC(ctx, n)
	}, func(cust []byte, a, _ string) map[string][]byte {
		if a == "" {
			return nil
		}
		return map[string][]byte{TransientPAC: []byte(a)}
	}},
	{"RejectTransfer", true, func(c *Contract, ctx contractapi.TransactionContextInterface, n, a, _ string) (any, error) {
		return c.RejectTransfer(ctx, n, a)
	}, nil},
	{"EscalateTransfer", true, func(c *Contract, ctx contractapi.TransactionContextInterface, n, a, _ string) (any, error) {
		return c.EscalateTransfer(ctx, n, a)
	}, nil},
	{"ResolveTransfer", true, func(c *Contract, ctx contractapi.TransactionContextInterface, n, a, b string) (any, error) {
		return c.ResolveTransfer(ctx, n, a, b)
	}, nil},
	{"Configure", true, func(c *Contract, ctx contractapi.TransactionContextInterface, n, a, b string) (any, error) {
		return c.Configure(ctx, n, a, b)
	}, nil},
	{"ListTransfers", false, func(c *Contract, ctx contractapi.TransactionContextInterface, n, a, b string) (any, error) {
		return c.ListTransfers(ctx, n, a, b)
	}, nil},
	{"History", false, func(c *Contract, ctx contractapi.TransactionContextInterface, n, _, _ string) (any, error) {
		return c.History(ctx, n)
	}, nil},
}

// FuzzNumbersArgs calls the numbers contract's functions of external input (E.164 numbers
// and ranges, owners, the transient customer data JSON, contract hash, salt and porting code,
// reasons, decisions, settings, list filters) with fuzzed values as any org. Properties: no
// panic; a refusal is a *porting.Error with a client code (never INTERNAL) and writes nothing
// (state, key-level policies, private data, purges, events); an accepted write emits exactly
// one event; a query writes nothing.
func FuzzNumbersArgs(f *testing.F) {
	cust := []byte(`{"name":"Jane Doe","dateOfBirth":"1960-01-01","address":{"city":"Berlin"}}`)
	hash := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	salt := "0123456789abcdef0123456789abcdef"
	seeds := []struct {
		call, org    uint8
		number, a, b string
		customer     []byte
	}{
		{0, 3, "+4915100000009", org2, "", nil},
		{0, 3, "+04915100000009", org2, "", nil},
		{0, 3, "+4915100000009", reg, "", nil},
		{1, 3, "+4915100000010", "+4915100000019", org3, nil},
		{1, 3, "+4915100000010", "+4915100005010", org3, nil},
		{1, 3, "+999999999999999", "+999999999999999", org3, nil},
		{2, 1, num1, hash, salt, cust},
		{2, 2, num1, hash, "PAC7K2Q9ZX0123456789abcdef", cust},
		{2, 1, num1, hash, salt, []byte(`{"name":1}`)},
		{2, 1, num1, strings.ToUpper(hash), salt, []byte(strings.Repeat(`{"a":`, 5000))},
		{2, 1, num1, hash, "", []byte(`null`)},
		{3, 0, num1, "PAC7K2Q9ZX", "", nil},
		{3, 0, num1, "pac 1", "", nil},
		{4, 0, num2, "contract still running", "", nil},
		{4, 0, num2, strings.Repeat("é", 600), "", nil},
		{5, 1, num2, "no answer", "", nil},
		{6, 3, num2, "GRANT", "customer proved identity", nil},
		{6, 3, num2, "grant", "", nil},
		{7, 3, "5", "10", "30", nil},
		{7, 3, "-1", "99999999999999999999", "0x10", nil},
		{8, 3, "OPEN", "10", "", nil},
		{8, 3, "", "-5", "\x00", nil},
		{9, 0, num1, "", "", nil},
		{9, 0, "+4915112345678\x00", "", "", nil},
	}
	for _, s := range seeds {
		f.Add(s.call, s.org, s.number, s.a, s.b, s.customer)
	}
	f.Fuzz(func(t *testing.T, ci, oi uint8, number, a, b string, customer []byte) {
		call := numbersCalls[int(ci)%len(numbersCalls)]
		msp := fuzzMSPs[int(oi)%len(fuzzMSPs)]
		h := newHarness(t)
		h.allocate(num1, org1)
		h.allocate(num2, org1)
		if _, err := h.request(num2, org2, nil); err != nil {
			t.Fatal(err)
		}
		var tm map[string][]byte
		if call.transient != nil {
			tm = call.transient(customer, a, b)
		}
		ctx := h.newCtx(msp, tm)
		what := fmt.Sprintf("%s as %q (%q, %q, %q, customer %q)", call.name, msp, number, a, b, customer)
		_, err := call.fn(h.c, ctx, number, a, b)
		s := ctx.stub
		wrote := len(s.writes) + len(s.sbeWrites) + len(s.privWrites) + len(s.purges) + s.eventCount
		if err != nil {
			var pe *porting.Error
			if !errors.As(err, &pe) || pe.Code == porting.CodeInternal || pe.Code == "" {
				t.Fatalf("%s: error %v (%T) is not a client error", what, err, err)
			}
			if wrote != 0 {
				t.Fatalf("%s: refused (%v) but wrote %d items", what, err, wrote)
			}
			if len(err.Error()) > 2000 {
				t.Fatalf("%s: error message of %d bytes", what, len(err.Error()))
			}
			return
		}
		switch {
		case !call.write && wrote != 0:
			t.Fatalf("%s: a query wrote %d items", what, wrote)
		case call.write && s.eventCount != 1:
			t.Fatalf("%s: %d events", what, s.eventCount)
		case call.write && s.privateReads != 0:
			t.Fatalf("%s: a write read private data", what)
		}
	})
}
