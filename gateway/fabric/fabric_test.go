package fabric

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/gateway/api"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
)

func TestStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := OpenStore(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.Get("k"); r != nil || err != nil {
		t.Fatalf("Get of nothing = %v, %v", r, err)
	}
	old := &Record{Fingerprint: "f", TxID: "t0", State: statePending, Created: time.Now().Add(-48 * time.Hour)}
	fresh := &Record{Fingerprint: "g", TxID: "t1", Result: []byte(`{"a":1}`), State: stateCommitted, Block: 9, Created: time.Now()}
	if err := s.Put("old", old); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("fresh", fresh); err != nil {
		t.Fatal(err)
	}
	if err := s.Supersede("t0", "t1"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Reopened with a maximum age of one day: the old record is gone, the rest persisted.
	s, err = OpenStore(path, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r, _ := s.Get("old"); r != nil {
		t.Fatalf("old record kept: %+v", r)
	}
	r, err := s.Get("fresh")
	if err != nil || r == nil || r.TxID != "t1" || string(r.Result) != `{"a":1}` || r.Block != 9 || r.State != stateCommitted {
		t.Fatalf("fresh = %+v, %v", r, err)
	}
	if got := s.SupersededBy("t0"); got != "t1" {
		t.Fatalf("SupersededBy = %q", got)
	}
	if err := s.Delete("fresh"); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Get("fresh"); r != nil {
		t.Fatal("deleted record still there")
	}
}

func TestKeyedLocksSerialize(t *testing.T) {
	l := newKeyedLocks()
	var inside, max atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := l.lock(context.Background(), "account/a")
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			if n > max.Load() {
				max.Store(n)
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			unlock()
			unlock() // releasing twice is harmless
		}()
	}
	wg.Wait()
	if max.Load() != 1 {
		t.Fatalf("%d holders at once", max.Load())
	}
	if l.size() != 0 {
		t.Fatalf("%d keys left", l.size())
	}
	// Other keys do not wait; a waiter gives up with its context.
	unlock, _ := l.lock(context.Background(), "k")
	other, err := l.lock(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	other()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.lock(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiter: %v", err)
	}
	unlock()
	if l.size() != 0 {
		t.Fatalf("%d keys left", l.size())
	}
}

func TestFollow(t *testing.T) {
	newFlight := func() *flight {
		return &flight{firstTxID: "t1", result: []byte("r"), accepted: make(chan struct{}), done: make(chan struct{})}
	}
	t.Run("async answers at acceptance", func(t *testing.T) {
		f := newFlight()
		f.accept()
		res, r, err := follow(context.Background(), f, false)
		if err != nil || r.TxID != "t1" || r.Committed || string(res) != "r" {
			t.Fatalf("= %s %+v %v", res, r, err)
		}
	})
	t.Run("wait answers at the commit", func(t *testing.T) {
		f := newFlight()
		go func() {
			time.Sleep(5 * time.Millisecond)
			f.finish([]byte("r2"), api.Receipt{TxID: "t2", Committed: true, Block: 3}, nil)
		}()
		res, r, err := follow(context.Background(), f, true)
		if err != nil || r.TxID != "t2" || !r.Committed || string(res) != "r2" {
			t.Fatalf("= %s %+v %v", res, r, err)
		}
	})
	t.Run("wait times out pending", func(t *testing.T) {
		f := newFlight()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()
		_, r, err := follow(ctx, f, true)
		if err != nil || r.TxID != "t1" || r.Committed {
			t.Fatalf("= %+v %v", r, err)
		}
	})
	t.Run("error", func(t *testing.T) {
		f := newFlight()
		f.finish(nil, api.Receipt{TxID: "t1"}, api.NewError(api.CodeConflict, "x"))
		if _, _, err := follow(context.Background(), f, false); err == nil {
			t.Fatal("no error")
		}
	})
}

// envelope builds an endorser transaction envelope carrying a chaincode event.
func envelope(t *testing.T, txID, cc, name, payload string) []byte {
	t.Helper()
	m := func(v proto.Message) []byte {
		b, err := proto.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ev := m(&peer.ChaincodeEvent{ChaincodeId: cc, TxId: txID, EventName: name, Payload: []byte(payload)})
	ca := m(&peer.ChaincodeAction{Events: ev})
	prp := m(&peer.ProposalResponsePayload{Extension: ca})
	cap := m(&peer.ChaincodeActionPayload{Action: &peer.ChaincodeEndorsedAction{ProposalResponsePayload: prp}})
	tx := m(&peer.Transaction{Actions: []*peer.TransactionAction{{Payload: cap}}})
	ch := m(&common.ChannelHeader{Type: int32(common.HeaderType_ENDORSER_TRANSACTION), TxId: txID})
	pl := m(&common.Payload{Header: &common.Header{ChannelHeader: ch}, Data: tx})
	return m(&common.Envelope{Payload: pl})
}

func TestParseBlock(t *testing.T) {
	b := &common.Block{
		Header: &common.BlockHeader{Number: 42},
		Data: &common.BlockData{Data: [][]byte{
			envelope(t, "t1", "exchange", "Match", `{"symbol":"ACME"}`),
			envelope(t, "t2", "exchange", "OrderAccepted", `{}`), // invalidated below
			envelope(t, "t3", "numbers", "Transfer", `{}`),       // another chaincode
			[]byte("garbage"),
			envelope(t, "t5", "exchange", "Deposit", `{"x":1}`),
		}},
		Metadata: &common.BlockMetadata{Metadata: [][]byte{{}, {}, {
			byte(peer.TxValidationCode_VALID), byte(peer.TxValidationCode_MVCC_READ_CONFLICT),
			byte(peer.TxValidationCode_VALID), byte(peer.TxValidationCode_VALID), byte(peer.TxValidationCode_VALID)}}},
	}
	got := ParseBlock(b, "exchange")
	if got.Number != 42 || len(got.Events) != 2 {
		t.Fatalf("ParseBlock = %+v", got)
	}
	if e := got.Events[0]; e.TxID != "t1" || e.Name != "Match" || string(e.Payload) != `{"symbol":"ACME"}` {
		t.Fatalf("event 0 = %+v", e)
	}
	if e := got.Events[1]; e.TxID != "t5" || e.Name != "Deposit" {
		t.Fatalf("event 1 = %+v", e)
	}
}

func TestRestStatusAndPrimary(t *testing.T) {
	if restStatus("PENDING") != "NEW" || restStatus("FILLED") != "FILLED" {
		t.Fatal("restStatus")
	}
	seen := map[string]bool{}
	for _, s := range []string{"A", "B", "C", "D", "E", "F", "G", "H", "ACME", "SEED"} {
		seen[primaryOrg(s)] = true
		if primaryOrg(s) != primaryOrg(s) {
			t.Fatal("primaryOrg not stable")
		}
	}
	if len(seen) < 2 {
		t.Fatalf("primaryOrg spreads over %d orgs", len(seen))
	}
	for i := 0; i < 100; i++ {
		if d := jitter(100 * time.Millisecond); d < 50*time.Millisecond || d >= 150*time.Millisecond {
			t.Fatalf("jitter = %v", d)
		}
	}
}
