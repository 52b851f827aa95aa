//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// rest is a client of one org's REST gateway.
type rest struct {
	t      testing.TB
	base   string
	key    string
	client *http.Client // nil: restClient
}

// gatewayOf returns a client of org's gateway with that org's API key, or fails the test.
func gatewayOf(t testing.TB, org string) *rest {
	t.Helper()
	e := network(t)
	addr, err := e.cfg.Addr(strings.ToUpper(org) + "_GATEWAY")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(e.cfg.RunDir(), "apikeys.json"))
	if err != nil {
		t.Fatalf("API keys: %v", err)
	}
	var keys map[string]string
	if err := json.Unmarshal(raw, &keys); err != nil {
		t.Fatal(err)
	}
	r := &rest{t: t, base: "http://" + addr, key: keys[org]}
	waitFor(t, 30*time.Second, "gateway "+org+" ready", func() bool {
		resp, err := http.Get(r.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return r
}

var restClient = &http.Client{Timeout: 45 * time.Second}

// call sends a request with the key (unless key is "-") and returns status and body.
func (r *rest) call(method, path, body string, headers ...string) (int, []byte) {
	r.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, r.base+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.key != "-" {
		req.Header.Set("Authorization", "Bearer "+r.key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	hc := r.client
	if hc == nil {
		hc = restClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// must sends a request, checks the status and decodes the answer into v (if not nil).
func (r *rest) must(status int, v any, method, path, body string, headers ...string) {
	r.t.Helper()
	got, out := r.call(method, path, body, headers...)
	if got != status {
		r.t.Fatalf("%s %s = %d %s; want %d", method, path, got, out, status)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			r.t.Fatalf("%s %s: %v in %s", method, path, err, out)
		}
	}
}

type restOrder struct {
	OrderID        string `json:"orderId"`
	ClientOrderID  string `json:"clientOrderId"`
	Status         string `json:"status"`
	FilledQuantity string `json:"filledQuantity"`
	AveragePrice   string `json:"averagePrice"`
	TxID           string `json:"txId"`
}

type restLevel struct {
	Price    string `json:"price"`
	Quantity string `json:"quantity"`
	Orders   int    `json:"orders"`
}

type restBook struct {
	Symbol string      `json:"symbol"`
	Bids   []restLevel `json:"bids"`
	Asks   []restLevel `json:"asks"`
}

type restTrade struct {
	TradeID     string `json:"tradeId"`
	Price       string `json:"price"`
	Quantity    string `json:"quantity"`
	BuyOrderID  string `json:"buyOrderId"`
	SellOrderID string `json:"sellOrderId"`
	Time        string `json:"time"`
	TxID        string `json:"txId"`
}

type restBalance struct {
	Available string `json:"available"`
	Reserved  string `json:"reserved"`
}

type restAccount struct {
	ID       string                 `json:"id"`
	Org      string                 `json:"org"`
	Balances map[string]restBalance `json:"balances"`
}

type streamMsg struct {
	Type  string          `json:"type"`
	Block uint64          `json:"block"`
	TxID  string          `json:"txId"`
	Data  json.RawMessage `json:"data"`
}

// newSymbol lists a fresh instrument through the Regulator's gateway.
func newSymbol(t *testing.T, reg *rest) string {
	sym := fmt.Sprintf("G%X", time.Now().UnixNano()%0xFFFFFFFFFF)
	var in map[string]string
	reg.must(201, &in, "POST", "/v1/instruments?wait=commit", fmt.Sprintf(`{"symbol":%q,"currency":"USD","tickSize":"0.01","lotSize":"1"}`, sym))
	if in["symbol"] != sym || in["tickSize"] != "0.01" || len(in["txId"]) != 64 {
		t.Fatalf("instrument = %v", in)
	}
	return sym
}

// openFunded opens an account on g and deposits cash and shares.
func openFunded(t *testing.T, g *rest, sym, cash, shares string) string {
	id := uniqueKey("acct")
	var a restAccount
	g.must(201, &a, "POST", "/v1/accounts?wait=commit", fmt.Sprintf(`{"id":%q}`, id))
	if a.ID != id || a.Org == "" {
		t.Fatalf("account = %+v", a)
	}
	if cash != "" {
		g.must(200, nil, "POST", "/v1/accounts/"+id+"/deposits?wait=commit", fmt.Sprintf(`{"asset":"USD","amount":%q}`, cash))
	}
	if shares != "" {
		g.must(200, nil, "POST", "/v1/accounts/"+id+"/deposits?wait=commit", fmt.Sprintf(`{"asset":%q,"amount":%q}`, sym, shares))
	}
	return id
}

func limitOrder(cid, acct, sym, side, qty, price string) string {
	return fmt.Sprintf(`{"clientOrderId":%q,"account":%q,"symbol":%q,"side":%q,"type":"LIMIT","timeInForce":"GTC","quantity":%q,"price":%q}`,
		cid, acct, sym, side, qty, price)
}

// TestGatewaySeedBookCrossingAndStream is the seed's example book through REST: orders #1-#6
// rest in price-time order, a crossing buy fills against them at the makers' prices, balances
// settle, the stream delivers the trades, and a resumed stream neither loses nor repeats.
func TestGatewaySeedBookCrossingAndStream(t *testing.T) {
	org1, org2, reg := gatewayOf(t, "org1"), gatewayOf(t, "org2"), gatewayOf(t, "regulator")
	sym := newSymbol(t, reg)

	// Listed through the Regulator's peer; org1's peer may commit that block a moment later.
	waitFor(t, 10*time.Second, sym+" in org1's GET /v1/instruments", func() bool {
		var ins []map[string]string
		org1.must(200, &ins, "GET", "/v1/instruments", "")
		for _, in := range ins {
			if in["symbol"] == sym {
				return true
			}
		}
		return false
	})
	org2.must(200, nil, "GET", "/v1/instruments/"+sym, "")

	s1 := openFunded(t, org1, sym, "", "300")
	s2 := openFunded(t, org1, sym, "", "100")
	b1 := openFunded(t, org1, sym, "10000.00", "")
	b2 := openFunded(t, org1, sym, "10000.00", "")
	b3 := openFunded(t, org2, sym, "10000.00", "") // the crossing buyer trades across orgs

	seed := []struct{ cid, acct, side, qty, price string }{
		{"#1", s1, "SELL", "100", "20.30"},
		{"#2", s2, "SELL", "100", "20.25"},
		{"#3", s1, "SELL", "200", "20.30"},
		{"#4", b1, "BUY", "100", "20.15"},
		{"#5", b2, "BUY", "200", "20.20"},
		{"#6", b1, "BUY", "200", "20.15"},
	}
	ids := map[string]string{}
	for _, o := range seed {
		var ro restOrder
		org1.must(201, &ro, "POST", "/v1/orders?wait=commit", limitOrder("seed"+strings.TrimPrefix(o.cid, "#"), o.acct, sym, o.side, o.qty, o.price))
		if ro.Status != "NEW" || ro.OrderID == "" || ro.TxID == "" {
			t.Fatalf("order %s = %+v", o.cid, ro)
		}
		ids[o.cid] = ro.OrderID
	}
	// The scheduler may take the six orders in more than one Match: wait for all of them.
	var bk restBook
	wantBook := restBook{Symbol: sym,
		Bids: []restLevel{{"20.20", "200", 1}, {"20.15", "300", 2}},
		Asks: []restLevel{{"20.25", "100", 1}, {"20.30", "300", 2}}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		org1.must(200, &bk, "GET", "/v1/orderbook/"+sym+"?depth=5", "")
		if fmt.Sprint(bk) == fmt.Sprint(wantBook) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("book = %+v; want %+v", bk, wantBook)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var b1acct restAccount
	org1.must(200, &b1acct, "GET", "/v1/accounts/"+b1, "")
	if b := b1acct.Balances["USD"]; b.Available != "3955.00" || b.Reserved != "6045.00" {
		t.Fatalf("b1 USD = %+v (300 × 20.15 reserved)", b)
	}

	// The live stream (WebSocket) from now on.
	ws := dialStream(t, org1, "?symbol="+sym)
	defer ws.Close()

	var cross restOrder
	org2.must(202, &cross, "POST", "/v1/orders", limitOrder("cross-7", b3, sym, "BUY", "250", "20.30"))
	waitFor(t, 30*time.Second, "the crossing order to fill", func() bool {
		// 404 until the submit (answered 202 at once) has committed.
		status, body := org2.call("GET", "/v1/orders/"+cross.OrderID, "")
		return status == 200 && json.Unmarshal(body, &cross) == nil && cross.Status == "FILLED"
	})
	if cross.FilledQuantity != "250" || cross.AveragePrice != "20.28" {
		t.Fatalf("crossing order = %+v (100 @ 20.25 + 150 @ 20.30)", cross)
	}
	var trades []restTrade
	org1.must(200, &trades, "GET", "/v1/trades?symbol="+sym+"&limit=10", "")
	got := []string{}
	for _, tr := range trades {
		got = append(got, tr.Quantity+"@"+tr.Price+" "+tr.SellOrderID[:8])
		if tr.BuyOrderID != cross.OrderID || len(tr.TxID) != 64 || tr.Time == "" {
			t.Fatalf("trade = %+v", tr)
		}
	}
	want := []string{"100@20.25 " + ids["#2"][:8], "100@20.30 " + ids["#1"][:8], "50@20.30 " + ids["#3"][:8]}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("trades = %v; want %v", got, want)
	}
	var after []restTrade
	org1.must(200, &after, "GET", "/v1/trades?symbol="+sym+"&after="+trades[0].TradeID, "")
	if len(after) != 2 {
		t.Fatalf("trades after %s: %d", trades[0].TradeID, len(after))
	}
	var b3acct restAccount
	org2.must(200, &b3acct, "GET", "/v1/accounts/"+b3, "")
	if b3acct.Balances[sym].Available != "250" || b3acct.Balances["USD"].Available != "4930.00" || b3acct.Balances["USD"].Reserved != "0.00" {
		t.Fatalf("buyer balances = %+v (10000 - 5070)", b3acct.Balances)
	}
	var s1acct restAccount
	org1.must(200, &s1acct, "GET", "/v1/accounts/"+s1, "")
	if s1acct.Balances["USD"].Available != "3045.00" || s1acct.Balances[sym].Reserved != "150" {
		t.Fatalf("seller balances = %+v", s1acct.Balances)
	}
	var o3 restOrder
	org1.must(200, &o3, "GET", "/v1/orders/"+ids["#3"], "")
	if o3.Status != "PARTIALLY_FILLED" || o3.FilledQuantity != "50" {
		t.Fatalf("#3 = %+v", o3)
	}

	// The stream delivered the three trades, the order updates and a book update, then a
	// checkpoint of the block.
	msgs := readUntil(t, func() (streamMsg, error) {
		var m streamMsg
		_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
		err := ws.ReadJSON(&m)
		return m, err
	}, func(ms []streamMsg) bool { return countType(ms, "trade") >= 3 && ms[len(ms)-1].Type == "checkpoint" })
	tradeBlock := uint64(0)
	for _, m := range msgs {
		if m.Type == "trade" {
			tradeBlock = m.Block
		}
	}
	// Order updates go only to the org that owns the account: org1 sees its sellers' three,
	// never org2's buyer (b3).
	if countType(msgs, "book") < 1 || countType(msgs, "orderUpdate") < 3 || updatesOf(msgs, b3) != 0 {
		t.Fatalf("stream = %s", summarize(msgs))
	}

	// Resume (SSE) from the block of the trades: exactly that block again, trades once each.
	replay := readSSE(t, org1, fmt.Sprintf("?symbol=%s&fromBlock=%d", sym, tradeBlock), func(ms []streamMsg) bool {
		return len(ms) > 0 && ms[len(ms)-1].Type == "checkpoint" && ms[len(ms)-1].Block == tradeBlock
	})
	if countType(replay, "trade") != 3 {
		t.Fatalf("replay of block %d = %s", tradeBlock, summarize(replay))
	}
	// Org2 sees the same block's trades and only its own buyer's update.
	replay2 := readSSE(t, org2, fmt.Sprintf("?symbol=%s&fromBlock=%d", sym, tradeBlock), func(ms []streamMsg) bool {
		return len(ms) > 0 && ms[len(ms)-1].Type == "checkpoint" && ms[len(ms)-1].Block == tradeBlock
	})
	if countType(replay2, "trade") != 3 || countType(replay2, "orderUpdate") != 1 || updatesOf(replay2, b3) != 1 {
		t.Fatalf("org2's replay of block %d = %s", tradeBlock, summarize(replay2))
	}
	// From the block after its checkpoint: nothing of that block comes again.
	var next []streamMsg
	func() {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
		defer cancel()
		next = readSSECtx(ctx, t, org1, fmt.Sprintf("?symbol=%s&fromBlock=%d", sym, tradeBlock+1), func([]streamMsg) bool { return false })
	}()
	for _, m := range next {
		if m.Block <= tradeBlock {
			t.Fatalf("resumed stream repeats block %d: %s", m.Block, summarize(next))
		}
	}

	// Transaction status of the crossing order's submit.
	var tx map[string]any
	org2.must(200, &tx, "GET", "/v1/transactions/"+cross.TxID, "")
	if tx["status"] != "VALID" || tx["validationCode"] != "VALID" || tx["blockNumber"] == nil {
		t.Fatalf("transaction = %v", tx)
	}
	org2.must(200, &tx, "GET", "/v1/transactions/"+strings.Repeat("0", 64), "")
	if tx["status"] != "PENDING" {
		t.Fatalf("unknown transaction = %v", tx)
	}

	// Cancel/replace and cancel of resting orders, applied by the next match.
	org1.must(200, nil, "PATCH", "/v1/orders/"+ids["#6"]+"?wait=commit", `{"quantity":"150"}`)
	org1.must(202, nil, "DELETE", "/v1/orders/"+ids["#4"], "")
	waitFor(t, 30*time.Second, "the cancel and the replace", func() bool {
		var o4, o6 restOrder
		org1.must(200, &o4, "GET", "/v1/orders/"+ids["#4"], "")
		org1.must(200, &o6, "GET", "/v1/orders/"+ids["#6"], "")
		org1.must(200, &bk, "GET", "/v1/orderbook/"+sym, "")
		return o4.Status == "CANCELED" && len(bk.Bids) == 2 && bk.Bids[1].Quantity == "150"
	})
	var list []restOrder
	org1.must(200, &list, "GET", "/v1/orders?account="+b1+"&symbol="+sym+"&status=CANCELED", "")
	if len(list) != 1 || list[0].OrderID != ids["#4"] {
		t.Fatalf("canceled orders of b1 = %+v", list)
	}
	// Withdraw what is free; the admin match route answers for any org.
	org1.must(200, nil, "POST", "/v1/accounts/"+b2+"/withdrawals?wait=commit", `{"asset":"USD","amount":"100.00"}`)
	var m map[string]any
	org2.must(200, &m, "POST", "/v1/admin/match/"+sym+"?wait=commit", "")
	if m["symbol"] != sym || m["status"] != "VALID" {
		t.Fatalf("match = %v", m)
	}
}

// streamClient is the HTTP client of g's streams: g's own (an HTTPS gateway's trust), else one
// without a timeout (the caller's context bounds the stream).
func (r *rest) streamClient() *http.Client {
	if r.client != nil {
		return r.client
	}
	return http.DefaultClient
}

func dialStream(t *testing.T, g *rest, query string) *websocket.Conn {
	t.Helper()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+g.key)
	d := websocket.DefaultDialer
	if tr, ok := g.streamClient().Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
		// A copy without the "h2" the HTTP/2 transport adds: WebSocket upgrades over HTTP/1.1.
		cfg := tr.TLSClientConfig.Clone()
		cfg.NextProtos = nil
		d = &websocket.Dialer{TLSClientConfig: cfg, HandshakeTimeout: 10 * time.Second}
	}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(g.base, "http")+"/v1/stream"+query, h)
	if err != nil {
		t.Fatalf("dial stream: %v (%v)", err, resp)
	}
	return c
}

func readUntil(t *testing.T, next func() (streamMsg, error), done func([]streamMsg) bool) []streamMsg {
	t.Helper()
	var ms []streamMsg
	for !done(ms) {
		m, err := next()
		if err != nil {
			t.Fatalf("stream after %s: %v", summarize(ms), err)
		}
		ms = append(ms, m)
	}
	return ms
}

func readSSE(t *testing.T, g *rest, query string, done func([]streamMsg) bool) []streamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ms := readSSECtx(ctx, t, g, query, done)
	if !done(ms) {
		t.Fatalf("SSE %s: incomplete: %s", query, summarize(ms))
	}
	return ms
}

// readSSECtx reads SSE messages until done or ctx ends.
func readSSECtx(ctx context.Context, t *testing.T, g *rest, query string, done func([]streamMsg) bool) []streamMsg {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", g.base+"/v1/stream"+query, nil)
	req.Header.Set("Authorization", "Bearer "+g.key)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := g.streamClient().Do(req)
	if err != nil {
		t.Fatalf("SSE: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("SSE answer %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var ms []streamMsg
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var m streamMsg
			if err := json.Unmarshal([]byte(data), &m); err != nil {
				t.Fatalf("SSE data %q: %v", data, err)
			}
			ms = append(ms, m)
			if done(ms) {
				break
			}
		}
	}
	return ms
}

// updatesOf counts the order updates of account in ms.
func updatesOf(ms []streamMsg, account string) int {
	n := 0
	for _, m := range ms {
		var u struct {
			Account string `json:"account"`
		}
		if m.Type == "orderUpdate" && json.Unmarshal(m.Data, &u) == nil && u.Account == account {
			n++
		}
	}
	return n
}

func countType(ms []streamMsg, typ string) int {
	n := 0
	for _, m := range ms {
		if m.Type == typ {
			n++
		}
	}
	return n
}

func summarize(ms []streamMsg) string {
	var b bytes.Buffer
	for _, m := range ms {
		fmt.Fprintf(&b, "%s@%d ", m.Type, m.Block)
	}
	return b.String()
}

// TestGatewayBadInput sends malformed and forbidden requests: each gets its status and code,
// and the ledger is unchanged (balances and orders of the account).
func TestGatewayBadInput(t *testing.T) {
	org1, org2, reg := gatewayOf(t, "org1"), gatewayOf(t, "org2"), gatewayOf(t, "regulator")
	sym := newSymbol(t, reg)
	acct := openFunded(t, org1, sym, "100.00", "10")
	other := openFunded(t, org2, sym, "100.00", "")
	snapshot := func() string {
		var a restAccount
		var os []restOrder
		org1.must(200, &a, "GET", "/v1/accounts/"+acct, "")
		org1.must(200, &os, "GET", "/v1/orders?account="+acct, "")
		return fmt.Sprint(a.Balances, len(os))
	}
	before := snapshot()
	good := limitOrder("bad-x", acct, sym, "BUY", "1", "20.30")
	noKey := &rest{t: t, base: org1.base, key: "-"}
	badKey := &rest{t: t, base: org1.base, key: "not-a-key-not-a-key"}
	tests := []struct {
		name         string
		g            *rest
		method, path string
		body         string
		status       int
		code         string
	}{
		{"malformed JSON", org1, "POST", "/v1/orders", `{"clientOrderId":"x",`, 400, "INVALID_ARGUMENT"},
		{"unknown field", org1, "POST", "/v1/orders", strings.Replace(good, `"side"`, `"leverage":"10","side"`, 1), 400, "INVALID_ARGUMENT"},
		{"negative quantity", org1, "POST", "/v1/orders", strings.Replace(good, `"quantity":"1"`, `"quantity":"-1"`, 1), 400, "INVALID_ARGUMENT"},
		{"zero quantity", org1, "POST", "/v1/orders", strings.Replace(good, `"quantity":"1"`, `"quantity":"0"`, 1), 400, "INVALID_ARGUMENT"},
		{"price off tick", org1, "POST", "/v1/orders", strings.Replace(good, `"20.30"`, `"20.301"`, 1), 422, "INVALID_TICK"},
		{"quantity off lot", org1, "POST", "/v1/orders", strings.Replace(good, `"quantity":"1"`, `"quantity":"1.5"`, 1), 422, "INVALID_LOT"},
		{"huge number", org1, "POST", "/v1/orders", strings.Replace(good, `"quantity":"1"`, `"quantity":"123456789012345678901234567890"`, 1), 400, "INVALID_ARGUMENT"},
		{"wrong type", org1, "POST", "/v1/orders", strings.Replace(good, `"quantity":"1"`, `"quantity":1`, 1), 400, "INVALID_ARGUMENT"},
		{"insufficient funds", org1, "POST", "/v1/orders", strings.Replace(good, `"quantity":"1"`, `"quantity":"1000"`, 1), 422, "INSUFFICIENT_FUNDS"},
		{"withdraw too much", org1, "POST", "/v1/accounts/" + acct + "/withdrawals", `{"asset":"USD","amount":"100.01"}`, 422, "INSUFFICIENT_FUNDS"},
		{"missing key", noKey, "GET", "/v1/accounts/" + acct, "", 401, "UNAUTHENTICATED"},
		{"bad key", badKey, "POST", "/v1/orders", good, 401, "UNAUTHENTICATED"},
		{"another org's account", org1, "GET", "/v1/accounts/" + other, "", 403, "FORBIDDEN"},
		{"order on another org's account", org1, "POST", "/v1/orders", limitOrder("bad-y", other, sym, "BUY", "1", "20.30"), 403, "FORBIDDEN"},
		{"deposit to another org's account", org1, "POST", "/v1/accounts/" + other + "/deposits", `{"asset":"USD","amount":"1"}`, 403, "FORBIDDEN"},
		{"regulator-only call", org1, "POST", "/v1/instruments", `{"symbol":"NOPE1","currency":"USD","tickSize":"0.01","lotSize":"1"}`, 403, "FORBIDDEN"},
		{"unknown symbol", org1, "POST", "/v1/orders", strings.Replace(good, sym, "NOSUCHSYM", 1), 404, "NOT_FOUND"},
		{"unknown book", org1, "GET", "/v1/orderbook/NOSUCHSYM", "", 404, "NOT_FOUND"},
		{"unknown account", org1, "GET", "/v1/accounts/no-such-account", "", 404, "NOT_FOUND"},
		{"unknown order", org1, "GET", "/v1/orders/no-such-order", "", 404, "NOT_FOUND"},
		{"duplicate account", org1, "POST", "/v1/accounts", fmt.Sprintf(`{"id":%q}`, acct), 409, "CONFLICT"},
		{"duplicate instrument", reg, "POST", "/v1/instruments", fmt.Sprintf(`{"symbol":%q,"currency":"USD","tickSize":"0.01","lotSize":"1"}`, sym), 409, "CONFLICT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.g.t = t
			status, body := tt.g.call(tt.method, tt.path, tt.body)
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			_ = json.Unmarshal(body, &e)
			if status != tt.status || e.Error.Code != tt.code || e.Error.Message == "" {
				t.Fatalf("= %d %s; want %d %s", status, body, tt.status, tt.code)
			}
		})
	}
	org1.t = t
	if after := snapshot(); after != before {
		t.Fatalf("the ledger changed: %s → %s", before, after)
	}
}

// TestGatewayIdempotency replays writes with the same Idempotency-Key (the same transaction,
// applied once) and with another body (409), and repeats a clientOrderId.
func TestGatewayIdempotency(t *testing.T) {
	org1, reg := gatewayOf(t, "org1"), gatewayOf(t, "regulator")
	sym := newSymbol(t, reg)
	acct := openFunded(t, org1, sym, "", "")
	key := uniqueKey("idem")
	var first, again map[string]string
	org1.must(202, &first, "POST", "/v1/accounts/"+acct+"/deposits", `{"asset":"USD","amount":"10.00"}`, "Idempotency-Key", key)
	org1.must(200, &again, "POST", "/v1/accounts/"+acct+"/deposits?wait=commit", `{"asset":"USD","amount":"10.00"}`, "Idempotency-Key", key)
	if first["txId"] == "" || again["txId"] != first["txId"] {
		t.Fatalf("replay produced another transaction: %v then %v", first, again)
	}
	status, body := org1.call("POST", "/v1/accounts/"+acct+"/deposits", `{"asset":"USD","amount":"99.00"}`, "Idempotency-Key", key)
	if status != 409 || !strings.Contains(string(body), "IDEMPOTENCY_KEY_REUSED") {
		t.Fatalf("other body = %d %s", status, body)
	}
	var a restAccount
	org1.must(200, &a, "GET", "/v1/accounts/"+acct, "")
	if a.Balances["USD"].Available != "10.00" {
		t.Fatalf("balance after replays = %+v (one deposit of 10.00)", a.Balances)
	}
	org1.must(200, nil, "POST", "/v1/accounts/"+acct+"/deposits?wait=commit", `{"asset":"USD","amount":"100.00"}`)
	var o1, o2 restOrder
	order := limitOrder("same-cid", acct, sym, "BUY", "1", "10.00")
	org1.must(201, &o1, "POST", "/v1/orders?wait=commit", order)
	org1.must(201, &o2, "POST", "/v1/orders?wait=commit", order)
	if o1.OrderID == "" || o2.OrderID != o1.OrderID || o2.TxID != o1.TxID {
		t.Fatalf("repeated clientOrderId: order %s tx %s, then order %s tx %s", o1.OrderID, o1.TxID, o2.OrderID, o2.TxID)
	}
	status, _ = org1.call("POST", "/v1/orders", strings.Replace(order, `"10.00"`, `"11.00"`, 1))
	if status != 409 {
		t.Fatalf("clientOrderId with other terms = %d", status)
	}
}

// TestGatewayOpsEndpoints checks the public endpoints and the metrics of the writes above.
func TestGatewayOpsEndpoints(t *testing.T) {
	g := gatewayOf(t, "org3")
	pub := &rest{t: t, base: g.base, key: "-"}
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json", "/docs", "/metrics"} {
		if status, body := pub.call("GET", p, ""); status != 200 || len(body) == 0 {
			t.Fatalf("GET %s = %d", p, status)
		}
	}
	_, spec := pub.call("GET", "/openapi.json", "")
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(spec, &doc); err != nil || doc.Paths["/v1/orders/{orderId}"] == nil {
		t.Fatalf("openapi.json: %v", err)
	}
	g.must(200, nil, "GET", "/v1/instruments", "")
	_, m := pub.call("GET", "/metrics", "")
	if !strings.Contains(string(m), `gateway_http_requests_total{method="GET",route="/v1/instruments",status="200"}`) {
		t.Fatal("metrics lack the request counter")
	}
}
