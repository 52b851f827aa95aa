package stream

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// In matchPayload, account "a" (the seller) is Org1's and "c" (the buyer) is Org2's. Block 9
// opens account "d" for Org3 and accepts its order (both events name the org).
var owners = map[string]string{"a": "Org1MSP", "c": "Org2MSP", "d": "Org3MSP"}

func visibilityBlocks() []Block {
	return append(ledgerBlocks(), Block{Number: 9, Events: []Event{
		{TxID: "t8", Name: "AccountOpened", Payload: []byte(`{"accountId":"d","org":"Org3MSP"}`)},
		{TxID: "t9", Name: "OrderAccepted", Payload: []byte(`{"orderId":"n","clientOrderId":"c9","account":"d","org":"Org3MSP","symbol":"BOND","side":"BUY","status":"PENDING","price":100,"quantity":5,"remainingQuantity":5}`)},
	}})
}

// resolver is a fake OwnerFunc that counts lookups and fails while failures > 0.
type resolver struct {
	mu       sync.Mutex
	calls    map[string]int
	failures int
}

func (r *resolver) owner(_ context.Context, account string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[account]++
	if r.failures > 0 {
		r.failures--
		return "", errors.New("peer unavailable")
	}
	return owners[account], nil
}

func (r *resolver) count(account string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[account]
}

func newVisibilityServer(t *testing.T, res *resolver) *httptest.Server {
	t.Helper()
	h, err := New(Config{Source: &fakeSource{blocks: visibilityBlocks()}, Instrument: instrument,
		Owner: res.owner, IdleCheckpoint: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(asCaller(h, ""))
	t.Cleanup(srv.Close)
	return srv
}

// detail summarizes messages with the account of each order update.
func detail(ms []Message) string {
	var s []string
	for _, m := range ms {
		d := m.Type + "@" + itoa(m.Block)
		if m.Type == TypeOrderUpdate {
			raw, _ := json.Marshal(m.Data)
			var u OrderUpdateData
			_ = json.Unmarshal(raw, &u)
			d += "/" + u.Account
		}
		s = append(s, d)
	}
	return strings.Join(s, " ")
}

// TestOrderUpdatesOnlyToTheirOrg: trades, books and checkpoints go to everyone; an order update
// only to the org that owns the account and to the Regulator; a caller without an org gets
// public messages only. Same over SSE and WebSocket.
func TestOrderUpdatesOnlyToTheirOrg(t *testing.T) {
	res := &resolver{}
	srv := newVisibilityServer(t, res)
	block5 := "trade@5 %s book@5 checkpoint@5"
	block9 := "checkpoint@9"
	cases := []struct {
		org  string
		want string
	}{
		{"org1", strings.Replace(block5, "%s", "orderUpdate@5/a", 1) + " " + block9},
		{"org2", strings.Replace(block5, "%s", "orderUpdate@5/c", 1) + " " + block9},
		{"org3", "trade@5 book@5 checkpoint@5 orderUpdate@9/d checkpoint@9"},
		{"regulator", strings.Replace(block5, "%s", "orderUpdate@5/a orderUpdate@5/c", 1) + " orderUpdate@9/d checkpoint@9"},
		{"", "trade@5 book@5 checkpoint@5 checkpoint@9"},
		{"nobody", "trade@5 book@5 checkpoint@5 checkpoint@9"},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.org != "" {
			h.Set(orgHeader, tc.org)
		}
		// Block 7 repeats block 5 (same accounts): left out of the comparison.
		got := dropBlock(readSSEUntil9(t, srv.URL+"?fromBlock=5", h), 7)
		if s := detail(got); s != tc.want {
			t.Errorf("SSE as %q: %s\n want %s", tc.org, s, tc.want)
		}
		ws := dropBlock(readWS(t, srv.URL+"?fromBlock=5", h), 7)
		if s := detail(ws); s != tc.want {
			t.Errorf("WebSocket as %q: %s\n want %s", tc.org, s, tc.want)
		}
	}
	// Owners are immutable: one lookup per account for every connection; "d" was named by
	// its events and never looked up.
	if res.count("a") != 1 || res.count("c") != 1 || res.count("d") != 0 {
		t.Fatalf("lookups = %v", res.calls)
	}
}

// TestOwnerUnknownEndsBeforeCheckpoint: when an owner cannot be resolved, the connection ends
// before the block's checkpoint, so the client resumes with that block in full: no gap.
func TestOwnerUnknownEndsBeforeCheckpoint(t *testing.T) {
	res := &resolver{failures: 1}
	srv := newVisibilityServer(t, res)
	h := http.Header{}
	h.Set(orgHeader, "org1")
	first := readSSEUntil9(t, srv.URL+"?fromBlock=5", h) // ends when the server closes
	if len(first) != 0 {
		t.Fatalf("first connection = %s; want nothing of block 5 (no checkpoint)", detail(first))
	}
	again := readSSE(t, srv.URL+"?fromBlock=5", h, 4)
	if s := detail(again); s != "trade@5 orderUpdate@5/a book@5 checkpoint@5" {
		t.Fatalf("resumed = %s", s)
	}
}

// TestNoOwnerFuncFailsClosed: without Config.Owner, order updates whose event does not name
// the org (Match) go to the Regulator only; OrderAccepted updates still reach their org.
func TestNoOwnerFuncFailsClosed(t *testing.T) {
	h, err := New(Config{Source: &fakeSource{blocks: visibilityBlocks()}, Instrument: instrument, IdleCheckpoint: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(asCaller(h, ""))
	defer srv.Close()
	hd := http.Header{}
	hd.Set(orgHeader, "org3")
	if s := detail(dropBlock(readSSEUntil9(t, srv.URL+"?fromBlock=5", hd), 7)); s != "trade@5 book@5 checkpoint@5 orderUpdate@9/d checkpoint@9" {
		t.Fatalf("org3 = %s", s)
	}
	hd.Set(orgHeader, "org1")
	if s := detail(dropBlock(readSSEUntil9(t, srv.URL+"?fromBlock=5", hd), 7)); s != "trade@5 book@5 checkpoint@5 checkpoint@9" {
		t.Fatalf("org1 = %s", s)
	}
}

func dropBlock(ms []Message, n uint64) []Message {
	var out []Message
	for _, m := range ms {
		if m.Block != n {
			out = append(out, m)
		}
	}
	return out
}

// readSSEUntil9 reads SSE messages until the checkpoint of block 9 or the end of the stream.
func readSSEUntil9(t *testing.T, url string, header http.Header) []Message {
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
	var out []Message
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var m Message
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
		if m.Type == TypeCheckpoint && m.Block == 9 {
			break
		}
	}
	return out
}

// readWS reads messages over WebSocket until the checkpoint of block 9.
func readWS(t *testing.T, url string, header http.Header) []Message {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http"), header)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []Message
	for {
		var m Message
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := c.ReadJSON(&m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
		if m.Type == TypeCheckpoint && m.Block == 9 {
			break
		}
	}
	return out
}
