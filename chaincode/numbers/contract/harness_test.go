package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/statebased"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/fabmarket/fabmarket/chaincode/numbers/porting"
)

const (
	org1 = "Org1MSP"
	org2 = "Org2MSP"
	org3 = "Org3MSP"
	reg  = "RegulatorMSP"

	num1 = "+4915112345678"
)

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// harness drives the contract against a fake ledger, one transaction at a time.
type harness struct {
	t      *testing.T
	ledger *fakeLedger
	c      *Contract
	now    time.Time
	seq    int
	last   *fakeStub // the last transaction's stub
	inject map[string]error
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, ledger: newFakeLedger(), c: New(), now: time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)} // a Monday
	h.c.clock = func() time.Time { return h.now }                                                            // the peer's clock agrees with the client's
	return h
}

func (h *harness) advance(d time.Duration) { h.now = h.now.Add(d) }

func (h *harness) newCtx(msp string, transient map[string][]byte) *fakeCtx {
	h.seq++
	h.now = h.now.Add(time.Second) // distinct timestamps, in order
	stub := h.ledger.newStub(fmt.Sprintf("tx%03d", h.seq), msp, h.now, transient)
	for k, v := range h.inject {
		stub.failOn[k] = v
	}
	h.last = stub
	return &fakeCtx{stub: stub, id: fakeIdentity{msp: msp}}
}

type txFunc[T any] func(*Contract, contractapi.TransactionContextInterface) (T, error)

// submit runs fn as a submitted transaction and commits its writes if it succeeds. It checks
// the rules every write function keeps: no private data read, exactly one event on success.
func submit[T any](h *harness, msp string, transient map[string][]byte, fn txFunc[T]) (T, error) {
	h.t.Helper()
	ctx := h.newCtx(msp, transient)
	out, err := fn(h.c, ctx)
	if ctx.stub.privateReads != 0 {
		h.t.Fatalf("a write function read private data (%d reads): the Regulator's peer could not endorse it", ctx.stub.privateReads)
	}
	if err != nil {
		var pe *porting.Error
		if !errors.As(err, &pe) {
			h.t.Fatalf("error %v is not a *porting.Error", err)
		}
		return out, err
	}
	if ctx.stub.eventCount != 1 {
		h.t.Fatalf("%d events in one transaction, want exactly 1", ctx.stub.eventCount)
	}
	ctx.stub.commit()
	return out, nil
}

// evaluate runs fn as a query: it must not write or emit.
func evaluate[T any](h *harness, msp string, fn txFunc[T]) (T, error) {
	h.t.Helper()
	ctx := h.newCtx(msp, nil)
	out, err := fn(h.c, ctx)
	s := ctx.stub
	if len(s.writes)+len(s.sbeWrites)+len(s.privWrites)+len(s.purges)+s.eventCount != 0 {
		h.t.Fatal("a read function wrote to the ledger")
	}
	return out, err
}

// must returns v, or stops the test by panicking with err (Go does not allow must(t, f())
// for a multi-value f, and a panic in a test fails it with the stack of the caller).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// wantCode checks err has the code and (if field != "") names the field.
func wantCode(t *testing.T, err error, code porting.Code, field string) {
	t.Helper()
	var pe *porting.Error
	if !errors.As(err, &pe) || pe.Code != code || (field != "" && pe.Field != field) {
		t.Fatalf("err = %v, want %s on %q", err, code, field)
	}
}

func (h *harness) event() (string, Event) {
	h.t.Helper()
	var e Event
	if err := json.Unmarshal(h.last.eventPayload, &e); err != nil {
		h.t.Fatal(err)
	}
	if e.Name != h.last.eventName || e.TxID != h.last.txID || e.Time != porting.FormatTime(h.last.ts) {
		h.t.Fatalf("event %s payload %+v", h.last.eventName, e)
	}
	return h.last.eventName, e
}

func (h *harness) allocate(number, owner string) {
	h.t.Helper()
	must(submit(h, reg, nil, func(c *Contract, ctx contractapi.TransactionContextInterface) (*NumberView, error) {
		return c.AllocateNumber(ctx, number, owner)
	}))
}

func customerTransient(extra map[string]string) map[string][]byte {
	tm := map[string][]byte{
		TransientCustomer:     []byte(`{"name":"Jane Doe","dateOfBirth":"1960-01-01","address":{"city":"Berlin"}}`),
		TransientContractHash: []byte("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
		TransientSalt:         []byte("0123456789abcdef0123456789abcdef"),
	}
	for k, v := range extra {
		if v == "" {
			delete(tm, k)
		} else {
			tm[k] = []byte(v)
		}
	}
	return tm
}

func (h *harness) request(number, msp string, extra map[string]string) (*TransferView, error) {
	return submit(h, msp, customerTransient(extra), func(c *Contract, ctx contractapi.TransactionContextInterface) (*TransferView, error) {
		return c.RequestTransfer(ctx, number)
	})
}

func (h *harness) confirm(number, msp string) (*StepResult, error) {
	return submit(h, msp, nil, func(c *Contract, ctx contractapi.TransactionContextInterface) (*StepResult, error) {
		return c.ConfirmTransfer(ctx, number)
	})
}

func (h *harness) reject(number, msp, reason string) (*StepResult, error) {
	return submit(h, msp, nil, func(c *Contract, ctx contractapi.TransactionContextInterface) (*StepResult, error) {
		return c.RejectTransfer(ctx, number, reason)
	})
}

func (h *harness) cancel(number, msp string) (*StepResult, error) {
	return submit(h, msp, nil, func(c *Contract, ctx contractapi.TransactionContextInterface) (*StepResult, error) {
		return c.CancelTransfer(ctx, number)
	})
}

func (h *harness) escalate(number, msp, reason string) (*StepResult, error) {
	return submit(h, msp, nil, func(c *Contract, ctx contractapi.TransactionContextInterface) (*StepResult, error) {
		return c.EscalateTransfer(ctx, number, reason)
	})
}

func (h *harness) resolve(number, msp, decision, reason string) (*StepResult, error) {
	return submit(h, msp, nil, func(c *Contract, ctx contractapi.TransactionContextInterface) (*StepResult, error) {
		return c.ResolveTransfer(ctx, number, decision, reason)
	})
}

func (h *harness) erase(number, msp string) (*StepResult, error) {
	return submit(h, msp, nil, func(c *Contract, ctx contractapi.TransactionContextInterface) (*StepResult, error) {
		return c.EraseCustomerData(ctx, number)
	})
}

func (h *harness) getNumber(number string) *NumberView {
	h.t.Helper()
	return must(evaluate(h, org3, func(c *Contract, ctx contractapi.TransactionContextInterface) (*NumberView, error) {
		return c.GetNumber(ctx, number)
	}))
}

func (h *harness) readCustomer(number, msp string) (*CustomerData, error) {
	return evaluate(h, msp, func(c *Contract, ctx contractapi.TransactionContextInterface) (*CustomerData, error) {
		return c.ReadCustomerData(ctx, number)
	})
}

func (h *harness) customerHash(number, msp string) (*CustomerDataHashView, error) {
	return evaluate(h, msp, func(c *Contract, ctx contractapi.TransactionContextInterface) (*CustomerDataHashView, error) {
		return c.GetCustomerDataHash(ctx, number)
	})
}

func (h *harness) list(status, size, bookmark, msp string) (*TransferPage, error) {
	return evaluate(h, msp, func(c *Contract, ctx contractapi.TransactionContextInterface) (*TransferPage, error) {
		return c.ListTransfers(ctx, status, size, bookmark)
	})
}

func (h *harness) history(number string) []*HistoryEntry {
	h.t.Helper()
	return must(evaluate(h, org3, func(c *Contract, ctx contractapi.TransactionContextInterface) ([]*HistoryEntry, error) {
		return c.History(ctx, number)
	}))
}

// policyOrgs decodes the key-level policy of the number's key.
func (h *harness) policyOrgs(number string) []string {
	h.t.Helper()
	key, _ := numberKey(h.last, number)
	ep, err := statebased.NewStateEP(h.ledger.sbe[key])
	if err != nil {
		h.t.Fatal(err)
	}
	orgs := ep.ListOrgs()
	sort.Strings(orgs)
	return orgs
}

// privateValue returns the committed customer record of a transfer, nil if none.
func (h *harness) privateValue(collection, number, transferID string) []byte {
	key, _ := customerKey(h.last, number, transferID)
	return h.ledger.private[collection][key]
}

// stateKeys returns the committed keys with the given composite prefix.
func (h *harness) indexed(status porting.Status) []string {
	var out []string
	for k, v := range h.ledger.state {
		obj, attrs, err := h.last.SplitCompositeKey(k)
		if err == nil && obj == objIndex && attrs[0] == string(status) {
			out = append(out, attrs[1]+"="+string(v))
		}
	}
	sort.Strings(out)
	return out
}
