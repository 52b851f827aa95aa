package stream

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/gateway/api"
	"github.com/gorilla/websocket"
)

const matchPayload = `{"symbol":"ACME","trades":[{"tradeId":"ACME-1","symbol":"ACME","price":2030,"quantity":3,"buyOrderId":"b","sellOrderId":"s","takerSide":"BUY","time":"2025-01-02T03:04:05Z","txId":"t1"}],
"orderUpdates":[{"orderId":"s","account":"a","symbol":"ACME","side":"SELL","status":"PARTIALLY_FILLED","price":2030,"quantity":10,"filledQuantity":3,"remainingQuantity":7},
{"orderId":"b","account":"c","symbol":"ACME","side":"BUY","status":"FILLED","price":2035,"quantity":3,"filledQuantity":3,"remainingQuantity":0}],
"book":{"bids":[],"asks":[{"price":2030,"quantity":7,"orders":1}],"lastPrice":2030}}`

func instrument(_ context.Context, sym string) (api.Instrument, error) {
	if sym != "ACME" && sym != "BOND" {
		return api.Instrument{}, api.NewError(api.CodeNotFound, "no")
	}
	return api.Instrument{Symbol: sym, Currency: "USD", TickSize: "0.01", LotSize: "1"}, nil
}

func TestTranslate(t *testing.T) {
	b := Block{Number: 12, Events: []Event{
		{TxID: "t1", Name: "Match", Payload: []byte(matchPayload)},
		{TxID: "t2", Name: "OrderAccepted", Payload: []byte(`{"orderId":"n","clientOrderId":"c9","account":"a","symbol":"BOND","side":"BUY","status":"PENDING","price":100,"quantity":5,"remainingQuantity":5}`)},
		{TxID: "t3", Name: "Deposit", Payload: []byte(`{}`)},
		{TxID: "t4", Name: "Match", Payload: []byte(`not json`)},
	}}
	msgs := Translate(context.Background(), b, instrument, "")
	var types []string
	for _, m := range msgs {
		types = append(types, m.Type)
		if m.Block != 12 {
			t.Fatalf("block = %d", m.Block)
		}
	}
	if got := strings.Join(types, ","); got != "trade,orderUpdate,orderUpdate,book,orderUpdate" {
		t.Fatalf("types = %s", got)
	}
	tr := msgs[0].Data.(TradeData)
	if tr.Price != "20.30" || tr.Quantity != "3" || tr.TxID != "t1" || tr.Time != "2025-01-02T03:04:05Z" {
		t.Fatalf("trade = %+v", tr)
	}
	if u := msgs[1].Data.(OrderUpdateData); u.Status != "PARTIALLY_FILLED" || u.RemainingQuantity != "7" {
		t.Fatalf("update = %+v", u)
	}
	if bk := msgs[3].Data.(BookData); len(bk.Asks) != 1 || bk.Asks[0].Price != "20.30" || bk.LastPrice != "20.30" {
		t.Fatalf("book = %+v", bk)
	}
	if u := msgs[4].Data.(OrderUpdateData); u.Status != "NEW" || u.Price != "1.00" {
		t.Fatalf("accepted = %+v", u)
	}
	if only := Translate(context.Background(), b, instrument, "BOND"); len(only) != 1 {
		t.Fatalf("symbol filter kept %d", len(only))
	}
}

// fakeSource serves numbered blocks from a fixed ledger, starting where asked.
type fakeSource struct {
	mu     sync.Mutex
	blocks []Block
	from   []*uint64
}

func (f *fakeSource) Blocks(ctx context.Context, from *uint64) (<-chan Block, error) {
	f.mu.Lock()
	f.from = append(f.from, from)
	f.mu.Unlock()
	start := uint64(0)
	if from != nil {
		start = *from
	}
	out := make(chan Block)
	go func() {
		defer close(out)
		for _, b := range f.blocks {
			if b.Number < start {
				continue
			}
			select {
			case out <- b:
			case <-ctx.Done():
				return
			}
		}
		<-ctx.Done()
	}()
	return out, nil
}

func ledgerBlocks() []Block {
	return []Block{
		{Number: 5, Events: []Event{{TxID: "t1", Name: "Match", Payload: []byte(matchPayload)}}},
		{Number: 6},
		{Number: 7, Events: []Event{{TxID: "t2", Name: "Match", Payload: []byte(strings.ReplaceAll(matchPayload, "ACME-1", "ACME-2"))}}},
	}
}

// orgHeader names the test header that plays the API layer's authentication: its value is
// put in the request context with api.WithCaller.
const orgHeader = "X-Test-Org"

// asCaller wraps h like the API router does: the caller's org goes into the context. Without
// orgHeader the request has no caller; with defaultOrg set, that org is the default.
func asCaller(h http.Handler, defaultOrg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org := r.Header.Get(orgHeader)
		if org == "" {
			org = defaultOrg
		}
		if org != "" {
			r = r.WithContext(api.WithCaller(r.Context(), org))
		}
		h.ServeHTTP(w, r)
	})
}

// newServer serves the ledger's blocks with the Regulator as the default caller (it sees
// every message).
func newServer(t *testing.T) (*httptest.Server, *fakeSource) {
	t.Helper()
	src := &fakeSource{blocks: ledgerBlocks()}
	h, err := New(Config{Source: src, Instrument: instrument, IdleCheckpoint: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(asCaller(h, "regulator"))
	t.Cleanup(srv.Close)
	return srv, src
}

// readSSE reads n data messages.
func readSSE(t *testing.T, url string, header http.Header, n int) []Message {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	var out []Message
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && len(out) < n {
		line := sc.Text()
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var m Message
			if err := json.Unmarshal([]byte(data), &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
	}
	return out
}

func summary(ms []Message) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Type+"@"+itoa(m.Block))
	}
	return strings.Join(s, " ")
}

func itoa(n uint64) string { b, _ := json.Marshal(n); return string(b) }

func TestSSEResume(t *testing.T) {
	srv, src := newServer(t)
	all := readSSE(t, srv.URL+"?fromBlock=5", nil, 10)
	want := "trade@5 orderUpdate@5 orderUpdate@5 book@5 checkpoint@5 trade@7 orderUpdate@7 orderUpdate@7 book@7 checkpoint@7"
	if got := summary(all); got != want {
		t.Fatalf("stream = %s", got)
	}
	// Resume after the checkpoint of block 5: block 7 exactly once, nothing of block 5.
	// (A fresh connection checkpoints its first block even without events.)
	rest := readSSE(t, srv.URL+"?fromBlock=6", nil, 6)
	if got := summary(rest); got != "checkpoint@6 trade@7 orderUpdate@7 orderUpdate@7 book@7 checkpoint@7" {
		t.Fatalf("resumed stream = %s", got)
	}
	// EventSource resume: Last-Event-ID 5 continues with block 6.
	h := http.Header{}
	h.Set("Last-Event-ID", "5")
	if got := summary(readSSE(t, srv.URL, h, 2)); got != "checkpoint@6 trade@7" {
		t.Fatalf("Last-Event-ID resume = %s", got)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(src.from) != 3 || *src.from[1] != 6 || *src.from[2] != 6 {
		t.Fatalf("from = %v", src.from)
	}
}

func TestWebSocket(t *testing.T) {
	srv, _ := newServer(t)
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "?fromBlock=7&symbol=ACME"
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got []Message
	for len(got) < 5 {
		var m Message
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := c.ReadJSON(&m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if s := summary(got); s != "trade@7 orderUpdate@7 orderUpdate@7 book@7 checkpoint@7" {
		t.Fatalf("ws stream = %s", s)
	}
}

func TestBadFromBlock(t *testing.T) {
	srv, _ := newServer(t)
	resp, err := http.Get(srv.URL + "?fromBlock=-1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without source: no error")
	}
}
