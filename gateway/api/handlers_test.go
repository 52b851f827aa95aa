package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func decodeError(t *testing.T, body []byte) (code, msg string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Error.Code, e.Error.Message
}

const goodOrder = `{"clientOrderId":"c9","account":"a1","symbol":"ACME","side":"BUY","type":"LIMIT","quantity":"5","price":"20.30"}`

func order(repl ...string) string {
	s := goodOrder
	for i := 0; i+1 < len(repl); i += 2 {
		s = strings.Replace(s, repl[i], repl[i+1], 1)
	}
	return s
}

// TestErrorPaths checks status, code and that nothing was written for every rejection.
func TestErrorPaths(t *testing.T) {
	big := `{"id":"` + strings.Repeat("x", 4000) + `"}`
	tests := []struct {
		name         string
		org          string
		method, path string
		key          string
		body         string
		inject       map[string]error
		status       int
		code         string
	}{
		{"no key", "org1", "GET", "/v1/instruments", "", "", nil, 401, CodeUnauthenticated},
		{"unknown key", "org1", "GET", "/v1/instruments", "nope-nope-nope-nope", "", nil, 401, CodeUnauthenticated},
		{"key of another org", "org1", "GET", "/v1/instruments", key2, "", nil, 403, CodeForbidden},
		{"malformed JSON", "org1", "POST", "/v1/orders", key1, `{"clientOrderId":`, nil, 400, CodeInvalidArgument},
		{"not an object", "org1", "POST", "/v1/orders", key1, `[1,2]`, nil, 400, CodeInvalidArgument},
		{"empty body", "org1", "POST", "/v1/accounts", key1, ``, nil, 400, CodeInvalidArgument},
		{"trailing data", "org1", "POST", "/v1/accounts", key1, `{"id":"x1"} {}`, nil, 400, CodeInvalidArgument},
		{"unknown field", "org1", "POST", "/v1/orders", key1, order(`"side"`, `"sidee":"BUY","side"`), nil, 400, CodeInvalidArgument},
		{"wrong type", "org1", "POST", "/v1/orders", key1, order(`"quantity":"5"`, `"quantity":5`), nil, 400, CodeInvalidArgument},
		{"body too large", "org1", "POST", "/v1/accounts", key1, big, nil, 413, CodeTooLarge},
		{"negative quantity", "org1", "POST", "/v1/orders", key1, order(`"5"`, `"-5"`), nil, 400, CodeInvalidArgument},
		{"zero quantity", "org1", "POST", "/v1/orders", key1, order(`"5"`, `"0"`), nil, 400, CodeInvalidArgument},
		{"missing quantity", "org1", "POST", "/v1/orders", key1, order(`"quantity":"5",`, ``), nil, 400, CodeInvalidArgument},
		{"exponent", "org1", "POST", "/v1/orders", key1, order(`"5"`, `"5e3"`), nil, 400, CodeInvalidArgument},
		{"huge quantity", "org1", "POST", "/v1/orders", key1, order(`"5"`, `"99999999999999999999999"`), nil, 400, CodeInvalidArgument},
		{"huge JSON number", "org1", "POST", "/v1/orders", key1, order(`"5"`, `1e999`), nil, 400, CodeInvalidArgument},
		{"price off tick", "org1", "POST", "/v1/orders", key1, order(`"20.30"`, `"20.305"`), nil, 422, CodeInvalidTick},
		{"quantity off lot", "org1", "POST", "/v1/orders", key1, order(`"5"`, `"1.5"`), nil, 422, CodeInvalidLot},
		{"limit without price", "org1", "POST", "/v1/orders", key1, order(`,"price":"20.30"`, ``), nil, 400, CodeInvalidArgument},
		{"market with price", "org1", "POST", "/v1/orders", key1, order(`"LIMIT"`, `"MARKET"`, `"BUY"`, `"SELL"`), nil, 400, CodeInvalidArgument},
		{"market buy without cap", "org1", "POST", "/v1/orders", key1, order(`"LIMIT"`, `"MARKET"`, `,"price":"20.30"`, ``), nil, 400, CodeInvalidArgument},
		{"market GTC", "org1", "POST", "/v1/orders", key1, order(`"LIMIT"`, `"MARKET"`, `,"price":"20.30"`, `,"maxNotional":"100.00","timeInForce":"GTC"`), nil, 400, CodeInvalidArgument},
		{"stop without stopPrice", "org1", "POST", "/v1/orders", key1, order(`"LIMIT"`, `"STOP_LIMIT"`), nil, 400, CodeInvalidArgument},
		{"GTT without expireTime", "org1", "POST", "/v1/orders", key1, order(`"side"`, `"timeInForce":"GTT","side"`), nil, 400, CodeInvalidArgument},
		{"GTT in the past", "org1", "POST", "/v1/orders", key1, order(`"side"`, `"timeInForce":"GTT","expireTime":"2000-01-01T00:00:00Z","side"`), nil, 400, CodeInvalidArgument},
		{"expireTime not RFC 3339", "org1", "POST", "/v1/orders", key1, order(`"side"`, `"timeInForce":"GTT","expireTime":"tomorrow","side"`), nil, 400, CodeInvalidArgument},
		{"bad side", "org1", "POST", "/v1/orders", key1, order(`"BUY"`, `"HOLD"`), nil, 400, CodeInvalidArgument},
		{"bad type", "org1", "POST", "/v1/orders", key1, order(`"LIMIT"`, `"ICEBERG"`), nil, 400, CodeInvalidArgument},
		{"bad tif", "org1", "POST", "/v1/orders", key1, order(`"side"`, `"timeInForce":"DAY","side"`), nil, 400, CodeInvalidArgument},
		{"missing clientOrderId", "org1", "POST", "/v1/orders", key1, order(`"c9"`, `""`), nil, 400, CodeInvalidArgument},
		{"bad account id", "org1", "POST", "/v1/orders", key1, order(`"a1"`, `"a 1"`), nil, 400, CodeInvalidArgument},
		{"unknown symbol", "org1", "POST", "/v1/orders", key1, order(`"ACME"`, `"NOPE"`), nil, 404, CodeNotFound},
		{"lower-case symbol", "org1", "POST", "/v1/orders", key1, order(`"ACME"`, `"acme"`), nil, 400, CodeInvalidArgument},
		{"insufficient funds", "org1", "POST", "/v1/orders", key1, goodOrder, map[string]error{"PlaceOrder": NewError(CodeInsufficient, "short")}, 422, CodeInsufficient},
		{"chaincode forbidden", "org1", "POST", "/v1/orders", key1, goodOrder, map[string]error{"PlaceOrder": NewError(CodeForbidden, "not yours")}, 403, CodeForbidden},
		{"network down", "org1", "POST", "/v1/orders", key1, goodOrder, map[string]error{"PlaceOrder": NewError(CodeUnavailable, "down")}, 503, CodeUnavailable},
		{"plain error is 500", "org1", "GET", "/v1/instruments", key1, "", map[string]error{"Instruments": errPlain("boom")}, 500, CodeInternal},
		{"bad wait", "org1", "POST", "/v1/orders?wait=forever", key1, goodOrder, nil, 400, CodeInvalidArgument},
		{"instrument by a member", "org1", "POST", "/v1/instruments", key1, `{"symbol":"NEW","currency":"USD","tickSize":"0.01","lotSize":"1"}`, nil, 403, CodeForbidden},
		{"instrument bad currency", "regulator", "POST", "/v1/instruments", keyReg, `{"symbol":"NEW","currency":"XXX","tickSize":"0.01","lotSize":"1"}`, nil, 400, CodeInvalidArgument},
		{"instrument zero tick", "regulator", "POST", "/v1/instruments", keyReg, `{"symbol":"NEW","currency":"USD","tickSize":"0","lotSize":"1"}`, nil, 400, CodeInvalidArgument},
		{"instrument sub-cent", "regulator", "POST", "/v1/instruments", keyReg, `{"symbol":"NEW","currency":"USD","tickSize":"0.001","lotSize":"1"}`, nil, 400, CodeInvalidArgument},
		{"instrument bad algorithm", "regulator", "POST", "/v1/instruments", keyReg, `{"symbol":"NEW","currency":"USD","tickSize":"0.01","lotSize":"1","algorithm":"RANDOM"}`, nil, 400, CodeInvalidArgument},
		{"instrument exists", "regulator", "POST", "/v1/instruments", keyReg, `{"symbol":"ACME","currency":"USD","tickSize":"0.01","lotSize":"1"}`, map[string]error{"CreateInstrument": NewError(CodeConflict, "listed")}, 409, CodeConflict},
		{"unknown instrument", "org1", "GET", "/v1/instruments/NOPE", key1, "", nil, 404, CodeNotFound},
		{"account exists", "org1", "POST", "/v1/accounts", key1, `{"id":"a1"}`, map[string]error{"OpenAccount": NewError(CodeConflict, "exists")}, 409, CodeConflict},
		{"account bad id", "org1", "POST", "/v1/accounts", key1, `{"id":"has space"}`, nil, 400, CodeInvalidArgument},
		{"account missing id", "org1", "POST", "/v1/accounts", key1, `{}`, nil, 400, CodeInvalidArgument},
		{"account id number", "org1", "POST", "/v1/accounts", key1, `{"id":12}`, nil, 400, CodeInvalidArgument},
		{"other org's account", "org1", "GET", "/v1/accounts/b2", key1, "", nil, 403, CodeForbidden},
		{"unknown account", "org1", "GET", "/v1/accounts/zz", key1, "", nil, 404, CodeNotFound},
		{"deposit to other org", "org1", "POST", "/v1/accounts/b2/deposits", key1, `{"asset":"USD","amount":"10"}`, nil, 403, CodeForbidden},
		{"deposit unknown account", "org1", "POST", "/v1/accounts/zz/deposits", key1, `{"asset":"USD","amount":"10"}`, nil, 404, CodeNotFound},
		{"deposit cents", "org1", "POST", "/v1/accounts/a1/deposits", key1, `{"asset":"USD","amount":"10.001"}`, nil, 400, CodeInvalidArgument},
		{"deposit zero", "org1", "POST", "/v1/accounts/a1/deposits", key1, `{"asset":"USD","amount":"0"}`, nil, 400, CodeInvalidArgument},
		{"deposit unknown symbol", "org1", "POST", "/v1/accounts/a1/deposits", key1, `{"asset":"NOPE","amount":"1"}`, nil, 404, CodeNotFound},
		{"deposit shares off lot", "org1", "POST", "/v1/accounts/a1/deposits", key1, `{"asset":"BOND","amount":"15"}`, nil, 422, CodeInvalidLot},
		{"deposit bad asset", "org1", "POST", "/v1/accounts/a1/deposits", key1, `{"asset":"us dollars","amount":"1"}`, nil, 400, CodeInvalidArgument},
		{"withdraw too much", "org1", "POST", "/v1/accounts/a1/withdrawals", key1, `{"asset":"USD","amount":"1"}`, map[string]error{"Withdraw": NewError(CodeInsufficient, "short")}, 422, CodeInsufficient},
		{"other org's order", "org1", "GET", "/v1/orders/o2", key1, "", nil, 403, CodeForbidden},
		{"unknown order", "org1", "GET", "/v1/orders/nope", key1, "", nil, 404, CodeNotFound},
		{"cancel other org's order", "org1", "DELETE", "/v1/orders/o2", key1, "", nil, 403, CodeForbidden},
		{"cancel unknown order", "org1", "DELETE", "/v1/orders/nope", key1, "", nil, 404, CodeNotFound},
		{"replace nothing", "org1", "PATCH", "/v1/orders/o1", key1, `{}`, nil, 400, CodeInvalidArgument},
		{"replace off tick", "org1", "PATCH", "/v1/orders/o1", key1, `{"price":"1.001"}`, nil, 422, CodeInvalidTick},
		{"replace unknown field", "org1", "PATCH", "/v1/orders/o1", key1, `{"qty":"1"}`, nil, 400, CodeInvalidArgument},
		{"orders without account", "org1", "GET", "/v1/orders", key1, "", nil, 400, CodeInvalidArgument},
		{"orders of other org", "org1", "GET", "/v1/orders?account=b2", key1, "", nil, 403, CodeForbidden},
		{"orders bad status", "org1", "GET", "/v1/orders?account=a1&status=OPEN", key1, "", nil, 400, CodeInvalidArgument},
		{"orders unknown symbol", "org1", "GET", "/v1/orders?account=a1&symbol=NOPE", key1, "", nil, 404, CodeNotFound},
		{"book unknown symbol", "org1", "GET", "/v1/orderbook/NOPE", key1, "", nil, 404, CodeNotFound},
		{"book bad depth", "org1", "GET", "/v1/orderbook/ACME?depth=0", key1, "", nil, 400, CodeInvalidArgument},
		{"book depth not a number", "org1", "GET", "/v1/orderbook/ACME?depth=x", key1, "", nil, 400, CodeInvalidArgument},
		{"trades without symbol", "org1", "GET", "/v1/trades", key1, "", nil, 400, CodeInvalidArgument},
		{"trades bad limit", "org1", "GET", "/v1/trades?symbol=ACME&limit=5000", key1, "", nil, 400, CodeInvalidArgument},
		{"trades unknown symbol", "org1", "GET", "/v1/trades?symbol=NOPE", key1, "", nil, 404, CodeNotFound},
		{"bad tx id", "org1", "GET", "/v1/transactions/xyz", key1, "", nil, 400, CodeInvalidArgument},
		{"match unknown symbol", "org1", "POST", "/v1/admin/match/NOPE", key1, "", nil, 404, CodeNotFound},
		{"match unavailable", "org1", "POST", "/v1/admin/match/ACME", key1, "", map[string]error{"Match": NewError(CodeUnavailable, "down")}, 503, CodeUnavailable},
		{"no route", "org1", "GET", "/v1/nothing", key1, "", nil, 404, CodeNotFound},
		{"wrong method", "org1", "PUT", "/v1/orders", key1, "", nil, 405, CodeMethodNotAllowed},
		{"not ready", "org1", "GET", "/readyz", "", "", map[string]error{"Ready": errPlain("refused")}, 503, CodeUnavailable},
		{"stream not configured", "org1", "GET", "/v1/stream", key1, "", nil, 503, CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.org)
			for m, err := range tt.inject {
				h.ledger.errs[m] = err
			}
			w := h.do(tt.method, tt.path, tt.key, tt.body)
			code, msg := decodeError(t, w.Body.Bytes())
			if w.Code != tt.status || code != tt.code {
				t.Fatalf("%s %s = %d %s (%s); want %d %s", tt.method, tt.path, w.Code, code, msg, tt.status, tt.code)
			}
			if msg == "" {
				t.Fatal("empty message")
			}
			if tt.inject == nil && h.ledger.writeCount() != 0 {
				t.Fatalf("a rejected request wrote %v", h.ledger.writes)
			}
			if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
				t.Fatalf("Content-Type %q", got)
			}
		})
	}
}

type errPlain string

func (e errPlain) Error() string { return string(e) }

func TestPanicIsA500(t *testing.T) {
	h := newHarness(t, "org1")
	h.ledger.panicOn = "Instruments"
	w := h.do("GET", "/v1/instruments", key1, "")
	if code, _ := decodeError(t, w.Body.Bytes()); w.Code != 500 || code != CodeInternal {
		t.Fatalf("= %d %s", w.Code, code)
	}
}

func TestWrites(t *testing.T) {
	tests := []struct {
		name         string
		org, key     string
		method, path string
		body         string
		status       int
		want         map[string]any // top-level fields of the answer
	}{
		{"order pending", "org1", key1, "POST", "/v1/orders", goodOrder, 202, map[string]any{"status": "NEW", "txId": testTx, "orderId": testTx, "clientOrderId": "c9", "price": "20.30", "quantity": "5"}},
		{"order committed", "org1", key1, "POST", "/v1/orders?wait=commit", goodOrder, 201, map[string]any{"status": "NEW", "txId": testTx}},
		{"market buy", "org1", key1, "POST", "/v1/orders", order(`"LIMIT"`, `"MARKET"`, `,"price":"20.30"`, `,"maxNotional":"1000.00"`), 202, map[string]any{"timeInForce": "IOC", "maxNotional": "1000.00"}},
		{"stop limit GTT", "org1", key1, "POST", "/v1/orders", order(`"LIMIT"`, `"STOP_LIMIT"`, `"side"`, `"stopPrice":"20.00","timeInForce":"GTT","expireTime":"2999-01-01T00:00:00Z","side"`), 202, map[string]any{"stopPrice": "20.00", "expireTime": "2999-01-01T00:00:00Z"}},
		{"instrument", "regulator", keyReg, "POST", "/v1/instruments?wait=commit", `{"symbol":"NEW","currency":"USD","tickSize":"0.01","lotSize":"1"}`, 201, map[string]any{"symbol": "NEW", "algorithm": "FIFO", "txId": testTx}},
		{"account", "org1", key1, "POST", "/v1/accounts?wait=commit", `{"id":"a9"}`, 201, map[string]any{"id": "a9", "org": "Org1MSP"}},
		{"account pending", "org1", key1, "POST", "/v1/accounts", `{"id":"a9"}`, 202, map[string]any{"id": "a9"}},
		{"deposit", "org1", key1, "POST", "/v1/accounts/a1/deposits?wait=commit", `{"asset":"USD","amount":"10.5"}`, 200, map[string]any{"status": "VALID", "amount": "10.5"}},
		{"deposit shares", "org1", key1, "POST", "/v1/accounts/a1/deposits", `{"asset":"BOND","amount":"20"}`, 202, map[string]any{"status": "PENDING"}},
		{"withdraw", "org1", key1, "POST", "/v1/accounts/a1/withdrawals", `{"asset":"USD","amount":"1"}`, 202, map[string]any{"status": "PENDING"}},
		{"cancel", "org1", key1, "DELETE", "/v1/orders/o1", "", 202, map[string]any{"orderId": "o1", "request": "CANCEL"}},
		{"replace", "org1", key1, "PATCH", "/v1/orders/o1?wait=commit", `{"quantity":"8","price":"20.40"}`, 200, map[string]any{"orderId": "o1", "status": "VALID"}},
		{"match", "org2", key2, "POST", "/v1/admin/match/ACME?wait=commit", "", 200, map[string]any{"symbol": "ACME", "trades": float64(2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.org)
			w := h.do(tt.method, tt.path, tt.key, tt.body)
			if w.Code != tt.status {
				t.Fatalf("= %d %s; want %d", w.Code, w.Body, tt.status)
			}
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v; want %v (%s)", k, got[k], v, w.Body)
				}
			}
			if h.ledger.writeCount() != 1 {
				t.Fatalf("writes = %v", h.ledger.writes)
			}
		})
	}
}

func TestIdempotency(t *testing.T) {
	h := newHarness(t, "org1")
	w := h.do("POST", "/v1/accounts", key1, `{"id":"k1"}`, IdempotencyKeyHeader, "key-1")
	if w.Code != http.StatusAccepted {
		t.Fatalf("first = %d", w.Code)
	}
	// The same body again is accepted (the ledger answers from the binding).
	if w := h.do("POST", "/v1/accounts", key1, `{ "id" : "k1" }`, IdempotencyKeyHeader, "key-1"); w.Code != http.StatusAccepted {
		t.Fatalf("same body = %d %s", w.Code, w.Body)
	}
	w = h.do("POST", "/v1/accounts", key1, `{"id":"k2"}`, IdempotencyKeyHeader, "key-1")
	if code, _ := decodeError(t, w.Body.Bytes()); w.Code != http.StatusConflict || code != CodeIdempotencyReuse {
		t.Fatalf("other body = %d %s", w.Code, code)
	}
	// An order's clientOrderId is its implicit key: other terms → 409 CONFLICT.
	if w := h.do("POST", "/v1/orders", key1, goodOrder); w.Code != http.StatusAccepted {
		t.Fatalf("order = %d", w.Code)
	}
	w = h.do("POST", "/v1/orders", key1, order(`"5"`, `"6"`))
	if code, _ := decodeError(t, w.Body.Bytes()); w.Code != http.StatusConflict || code != CodeConflict {
		t.Fatalf("order other terms = %d %s", w.Code, code)
	}
	if w := h.do("POST", "/v1/accounts", key1, `{"id":"k3"}`, IdempotencyKeyHeader, strings.Repeat("k", 200)); w.Code != http.StatusBadRequest {
		t.Fatalf("long key = %d", w.Code)
	}
}

func TestReads(t *testing.T) {
	tests := []struct {
		name, org, key, path string
		want                 string // a substring of the JSON answer
	}{
		{"instruments", "org1", key1, "/v1/instruments", `"symbol":"BOND","currency":"EUR","tickSize":"0.05","lotSize":"10"`},
		{"instrument", "org1", key1, "/v1/instruments/ACME", `"tickSize":"0.01"`},
		{"account balances", "org1", key1, "/v1/accounts/a1", `"balances":{"ACME":{"available":"7","reserved":"3"},"USD":{"available":"1234.56","reserved":"1.00"}}`},
		{"regulator reads any account", "regulator", keyReg, "/v1/accounts/b2", `"org":"Org2MSP"`},
		{"order with average price", "org1", key1, "/v1/orders/o1", `"status":"PARTIALLY_FILLED","filledQuantity":"3","averagePrice":"20.28333333"`},
		{"orders", "org1", key1, "/v1/orders?account=a1&status=NEW&symbol=ACME", `"orderId":"o1"`},
		{"book", "org1", key1, "/v1/orderbook/ACME?depth=1", `{"symbol":"ACME","bids":[{"price":"20.30","quantity":"5","orders":2}],"asks":[{"price":"20.35","quantity":"4","orders":1}]}`},
		{"trades", "org1", key1, "/v1/trades?symbol=ACME&limit=10&after=ACME-0", `"tradeId":"ACME-1","symbol":"ACME","price":"20.30","quantity":"3","buyOrderId":"o1","sellOrderId":"o9","time":"2025-01-02T03:04:05Z"`},
		{"tx valid", "org1", key1, "/v1/transactions/" + testTx, `"status":"VALID","validationCode":"VALID","blockNumber":7`},
		{"tx pending", "org1", key1, "/v1/transactions/" + strings.Repeat("b", 64), `"status":"PENDING"}`},
		{"healthz", "org1", "", "/healthz", `"status":"ok"`},
		{"readyz", "org1", "", "/readyz", `"status":"ready"`},
		{"openapi", "org1", "", "/openapi.json", `"openapi": "3.0.3"`},
		{"docs", "org1", "", "/docs", `/openapi.json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.org)
			w := h.do("GET", tt.path, tt.key, "")
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), tt.want) {
				t.Fatalf("= %d %s; want 200 with %s", w.Code, w.Body, tt.want)
			}
		})
	}
}

func TestRequestIDAndMetrics(t *testing.T) {
	h := newHarness(t, "org1")
	w := h.do("GET", "/v1/instruments", key1, "", RequestIDHeader, "req-123")
	if got := w.Header().Get(RequestIDHeader); got != "req-123" {
		t.Fatalf("request id = %q", got)
	}
	if w := h.do("GET", "/healthz", "", ""); len(w.Header().Get(RequestIDHeader)) != 24 {
		t.Fatalf("generated request id = %q", w.Header().Get(RequestIDHeader))
	}
	m := h.do("GET", "/metrics", "", "").Body.String()
	for _, want := range []string{`gateway_http_requests_total{method="GET",route="/v1/instruments",status="200"} 1`,
		"gateway_http_request_duration_seconds_bucket", "go_goroutines"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestNewChecksConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no ledger", Config{Keys: testKeys, Org: "org1"}},
		{"no keys", Config{Ledger: newFake(), Org: "org1"}},
		{"bad org", Config{Ledger: newFake(), Keys: testKeys, Org: "org9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestAveragePrice(t *testing.T) {
	tests := []struct {
		notional, qty int64
		tick, want    string
	}{
		{6090, 3, "0.01", "20.30"},
		{6085, 3, "0.01", "20.28333333"},
		{5, 2, "1", "2.5"},
		{4, 2, "1", "2"},
		{0, 0, "0.01", ""},
		{30, 3, "0.05", "0.50"},
	}
	for _, tt := range tests {
		if got := averagePrice(tt.notional, tt.qty, tt.tick); got != tt.want {
			t.Errorf("averagePrice(%d, %d, %s) = %q; want %q", tt.notional, tt.qty, tt.tick, got, tt.want)
		}
	}
}

func TestParseCoded(t *testing.T) {
	tests := []struct {
		msg    string
		ok     bool
		status int
	}{
		{"INSUFFICIENT_FUNDS: x", true, 422},
		{"NOT_FOUND: x", true, 404},
		{"BRAND_NEW: x", true, 422},
		{"INTERNAL: x", true, 500},
		{"lower: x", false, 0},
		{"no code here", false, 0},
	}
	for _, tt := range tests {
		e, ok := ParseCoded(tt.msg)
		if ok != tt.ok || (ok && e.Status != tt.status) {
			t.Errorf("ParseCoded(%q) = %v, %v", tt.msg, e, ok)
		}
	}
}
