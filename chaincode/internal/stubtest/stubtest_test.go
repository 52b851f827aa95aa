package stubtest

import (
	"errors"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

var (
	_ shim.ChaincodeStubInterface             = (*Tx)(nil)
	_ contractapi.TransactionContextInterface = (*Tx)(nil)
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func keysOf(t *testing.T, it shim.StateQueryIteratorInterface) []string {
	t.Helper()
	var out []string
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, kv.Key)
	}
	_ = it.Close()
	return out
}

func TestReadsSeeCommittedStateOnly(t *testing.T) {
	l := NewLedger("market")
	tx := l.NewTx("Org1MSP", t0)
	if err := tx.PutState("a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if v, _ := tx.GetState("a"); v != nil {
		t.Fatalf("own write visible: %q", v)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if string(l.Get("a")) != "1" {
		t.Fatal("write not applied")
	}
	if err := tx.Commit(); err == nil {
		t.Fatal("second commit accepted")
	}
	if err := tx.PutState("b", nil); err == nil {
		t.Fatal("write after commit accepted")
	}
}

func TestMVCCConflict(t *testing.T) {
	l := NewLedger("market")
	l.Put("k", []byte("0"))
	a := l.NewTx("Org1MSP", t0)
	b := l.NewTx("Org2MSP", t0)
	for _, tx := range []*Tx{a, b} {
		if _, err := tx.GetState("k"); err != nil {
			t.Fatal(err)
		}
		_ = tx.PutState("k", []byte(tx.GetTxID()))
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); !errors.Is(err, MVCCReadConflict) {
		t.Fatalf("b: %v", err)
	}
	if l.Invalid() != 1 || string(l.Get("k")) != a.GetTxID() {
		t.Fatalf("invalid %d, k %q", l.Invalid(), l.Get("k"))
	}
}

func TestPhantomConflictAndOrder(t *testing.T) {
	l := NewLedger("payments")
	for _, k := range []string{"r~3", "r~1", "r~2", "s~1"} {
		l.Put(k, []byte(k))
	}
	scan := l.NewTx("Org1MSP", t0)
	it, err := scan.GetStateByRange("r~", "r~\x7f")
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(t, it); len(got) != 3 || got[0] != "r~1" || got[2] != "r~3" {
		t.Fatalf("range %v", got)
	}
	_ = scan.PutState("x", []byte("1"))
	// A write outside the range does not matter; one inside does.
	if _, err := l.Exec("Org2MSP", t0, func(tx *Tx) error { return tx.PutState("s~2", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	other := l.NewTx("Org2MSP", t0)
	_ = other.PutState("r~15", []byte("v"))
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := scan.Commit(); !errors.Is(err, PhantomReadConflict) {
		t.Fatalf("scan: %v", err)
	}
	if _, err := l.NewTx("Org1MSP", t0).GetStateByRange("\x00a", ""); err == nil {
		t.Fatal("composite start key accepted")
	}
	if got := l.Keys("r~"); len(got) != 4 {
		t.Fatalf("keys %v", got)
	}
}

func TestCompositeKeysAndEvents(t *testing.T) {
	l := NewLedger("market")
	tx := l.NewTx("Org1MSP", t0, WithTxID("tx1"))
	for _, a := range [][]string{{"b", "2"}, {"a", "1"}, {"b", "1"}} {
		k, err := tx.CreateCompositeKey("obj", a)
		if err != nil {
			t.Fatal(err)
		}
		_ = tx.PutState(k, []byte("v"))
	}
	_ = tx.SetEvent("First", []byte("1"))
	_ = tx.SetEvent("Second", []byte("2"))
	if err := tx.SetEvent("", nil); err == nil {
		t.Fatal("empty event name accepted")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	ev := l.Events()
	if len(ev) != 1 || ev[0].Name != "Second" || ev[0].TxID != "tx1" {
		t.Fatalf("events %+v", ev)
	}
	r := l.NewTx("Org1MSP", t0)
	it, err := r.GetStateByPartialCompositeKey("obj", []string{"b"})
	if err != nil {
		t.Fatal(err)
	}
	got := keysOf(t, it)
	if len(got) != 2 {
		t.Fatalf("partial %q", got)
	}
	typ, attrs, err := r.SplitCompositeKey(got[0])
	if err != nil || typ != "obj" || len(attrs) != 2 || attrs[1] != "1" {
		t.Fatalf("split %q %v %v", typ, attrs, err)
	}
	if _, _, err := r.SplitCompositeKey("plain"); err == nil {
		t.Fatal("split of a simple key")
	}
	msp, _ := r.GetClientIdentity().GetMSPID()
	ts, _ := r.GetTxTimestamp()
	if msp != "Org1MSP" || !ts.AsTime().Equal(t0) || r.GetChannelID() != "market" {
		t.Fatalf("identity %s time %v channel %s", msp, ts.AsTime(), r.GetChannelID())
	}
	if err := r.PutState("", nil); err == nil {
		t.Fatal("empty key accepted")
	}
	if _, err := r.GetState("\xff"); err == nil {
		t.Fatal("invalid UTF-8 key accepted")
	}
}

func TestIdentity(t *testing.T) {
	id := Identity{MSPID: "Org1MSP", ID: "u", Attrs: map[string]string{"role": "custodian"}}
	if v, ok, _ := id.GetAttributeValue("role"); !ok || v != "custodian" {
		t.Fatal("attribute")
	}
	if id.AssertAttributeValue("role", "x") == nil || id.AssertAttributeValue("role", "custodian") != nil {
		t.Fatal("assert")
	}
	if _, err := (Identity{}).GetMSPID(); err == nil {
		t.Fatal("empty MSP ID accepted")
	}
	l := NewLedger("market")
	tx := l.NewTx("", t0, WithIdentity(id))
	if got, _ := tx.GetClientIdentity().GetID(); got != "u" {
		t.Fatalf("id %q", got)
	}
}

func TestQueryLimitAndPagination(t *testing.T) {
	l := NewLedger("market")
	for _, k := range []string{"k1", "k2", "k3", "k4", "k5", "k6", "k7"} {
		l.Put(k, []byte("v"))
	}
	l.QueryLimit = 5

	it, err := l.NewTx("Org1MSP", t0).GetStateByRange("k", "l")
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(t, it); len(got) != 5 || got[4] != "k5" {
		t.Fatalf("range under a query limit of 5: %v", got)
	}

	tx := l.NewTx("Org1MSP", t0)
	var pages [][]string
	bookmark := ""
	for range 5 {
		it, meta, err := tx.GetStateByRangeWithPagination("k", "l", 3, bookmark)
		if err != nil {
			t.Fatal(err)
		}
		page := keysOf(t, it)
		if int(meta.GetFetchedRecordsCount()) != len(page) {
			t.Fatalf("page %v counted %d", page, meta.GetFetchedRecordsCount())
		}
		pages = append(pages, page)
		if bookmark = meta.GetBookmark(); bookmark == "" {
			break
		}
	}
	if len(pages) != 3 || len(pages[0]) != 3 || len(pages[1]) != 3 || len(pages[2]) != 1 || pages[1][0] != "k4" || pages[2][0] != "k7" {
		t.Fatalf("pages of 3 over 7 keys: %v", pages)
	}
	if err := tx.PutState("x", []byte("1")); err == nil {
		t.Fatal("a write after a paginated query was accepted")
	}

	w := l.NewTx("Org1MSP", t0)
	if err := w.PutState("x", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.GetStateByRangeWithPagination("k", "l", 3, ""); err == nil {
		t.Fatal("a paginated query after a write was accepted")
	}
}
