package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

var future = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)

func settlementBodyWith(repl ...string) string {
	s := `{"seller":"a1","buyer":"b2","symbol":"ACME","quantity":"10","price":"20.30","currency":"USD","deadline":"` + future + `","allowPartial":false}`
	for i := 0; i+1 < len(repl); i += 2 {
		s = strings.Replace(s, repl[i], repl[i+1], 1)
	}
	return s
}

// errorCode decodes {"error":{"code"}}.
func errorCode(body []byte) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Error.Code
}

// TestSettlementErrorPaths checks status and code of the settlement routes' rejections, and
// that a rejection the handler decides itself endorses nothing.
func TestSettlementErrorPaths(t *testing.T) {
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name         string
		method, path string
		body         string
		inject       map[string]error
		status       int
		code         string
		writes       bool // the ledger was asked to write
	}{
		{"propose missing seller", "POST", "/v1/settlements", settlementBodyWith(`"seller":"a1",`, ``), nil, 400, CodeInvalidArgument, false},
		{"propose same accounts", "POST", "/v1/settlements", settlementBodyWith(`"buyer":"b2"`, `"buyer":"a1"`), nil, 400, CodeInvalidArgument, false},
		{"propose bad symbol", "POST", "/v1/settlements", settlementBodyWith(`ACME`, `acme`), nil, 400, CodeInvalidArgument, false},
		{"propose unknown symbol", "POST", "/v1/settlements", settlementBodyWith(`ACME`, `NOPE`), nil, 404, CodeNotFound, false},
		{"propose other currency", "POST", "/v1/settlements", settlementBodyWith(`"USD"`, `"EUR"`), nil, 400, CodeInvalidArgument, false},
		{"propose quantity off lot", "POST", "/v1/settlements", settlementBodyWith(`"10"`, `"10.5"`), nil, 422, CodeInvalidLot, false},
		{"propose price off tick", "POST", "/v1/settlements", settlementBodyWith(`"20.30"`, `"20.305"`), nil, 422, CodeInvalidTick, false},
		{"propose price as number", "POST", "/v1/settlements", settlementBodyWith(`"20.30"`, `20.30`), nil, 400, CodeInvalidArgument, false},
		{"propose zero quantity", "POST", "/v1/settlements", settlementBodyWith(`"10"`, `"0"`), nil, 400, CodeInvalidArgument, false},
		{"propose deadline not RFC 3339", "POST", "/v1/settlements", settlementBodyWith(future, `tomorrow`), nil, 400, CodeInvalidArgument, false},
		{"propose deadline past", "POST", "/v1/settlements", settlementBodyWith(future, past), nil, 400, CodeInvalidArgument, false},
		{"propose unknown notary", "POST", "/v1/settlements", settlementBodyWith(`false}`, `false,"notary":"Org9MSP"}`), nil, 400, CodeInvalidArgument, false},
		{"propose unknown field", "POST", "/v1/settlements", settlementBodyWith(`false}`, `false,"fee":"1"}`), nil, 400, CodeInvalidArgument, false},
		{"propose bad id", "POST", "/v1/settlements", settlementBodyWith(`{`, `{"settlementId":"a b",`), nil, 400, CodeInvalidArgument, false},
		{"propose by a non-party org", "POST", "/v1/settlements", settlementBodyWith(), map[string]error{"ProposeSettlement": NewError(CodeForbidden, "not a party")}, 403, CodeForbidden, false},
		{"propose id taken", "POST", "/v1/settlements", settlementBodyWith(), map[string]error{"ProposeSettlement": NewError(CodeConflict, "exists")}, 409, CodeConflict, false},
		{"propose network down", "POST", "/v1/settlements", settlementBodyWith(), map[string]error{"ProposeSettlement": NewError(CodeUnavailable, "down")}, 503, CodeUnavailable, false},
		{"get unknown", "GET", "/v1/settlements/nope", "", nil, 404, CodeNotFound, false},
		{"get bad id", "GET", "/v1/settlements/-x", "", nil, 404, CodeNotFound, false},
		{"get another org's", "GET", "/v1/settlements/" + agrOpen, "", map[string]error{"Settlement": NewError(CodeForbidden, "not a party")}, 403, CodeForbidden, false},
		{"list without account", "GET", "/v1/settlements", "", nil, 400, CodeInvalidArgument, false},
		{"list bad status", "GET", "/v1/settlements?account=a1&status=DONE", "", nil, 400, CodeInvalidArgument, false},
		{"affirm unknown", "POST", "/v1/settlements/nope/affirm", "", nil, 404, CodeNotFound, false},
		{"affirm body field", "POST", "/v1/settlements/" + agrOpen + "/affirm", `{"x":1}`, nil, 400, CodeInvalidArgument, false},
		{"affirm wrong status", "POST", "/v1/settlements/" + agrOpen + "/affirm", "", map[string]error{"SettlementStep": NewError(CodeConflict, "affirm needs PROPOSED")}, 409, CodeConflict, false},
		{"fund bad leg", "POST", "/v1/settlements/" + agrOpen + "/fund", `{"leg":"both"}`, nil, 400, CodeInvalidArgument, false},
		{"fund quantity off lot", "POST", "/v1/settlements/" + agrOpen + "/fund", `{"quantity":"1.5"}`, nil, 422, CodeInvalidLot, false},
		{"fund quantity not a decimal", "POST", "/v1/settlements/" + agrOpen + "/fund", `{"quantity":"-1"}`, nil, 400, CodeInvalidArgument, false},
		{"fund ambiguous leg", "POST", "/v1/settlements/" + agrOwn + "/fund", ``, nil, 400, CodeInvalidArgument, false},
		{"fund closed", "POST", "/v1/settlements/" + agrClosed + "/fund", ``, map[string]error{"SettlementStep": NewError(CodeConflict, "already closed")}, 409, CodeConflict, false},
		{"fund insufficient", "POST", "/v1/settlements/" + agrOpen + "/fund", ``, map[string]error{"SettlementStep": NewError(CodeInsufficient, "available 0")}, 422, CodeInsufficient, false},
		{"cancel control characters", "POST", "/v1/settlements/" + agrOpen + "/cancel", `{"reason":"a\u0007"}`, nil, 400, CodeInvalidArgument, false},
		{"cancel reason as number", "POST", "/v1/settlements/" + agrOpen + "/cancel", `{"reason":7}`, nil, 400, CodeInvalidArgument, false},
		{"expire early", "POST", "/v1/settlements/" + agrOpen + "/expire", "", map[string]error{"SettlementStep": NewError(CodeConflict, "deadline not reached")}, 409, CodeConflict, false},
		{"approve bad wait", "POST", "/v1/settlements/" + agrOpen + "/approve?wait=soon", "", nil, 400, CodeInvalidArgument, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "org1")
			for k, v := range tc.inject {
				h.ledger.errs[k] = v
			}
			w := h.do(tc.method, tc.path, key1, tc.body)
			if w.Code != tc.status || errorCode(w.Body.Bytes()) != tc.code {
				t.Fatalf("%s %s = %d %s; want %d %s", tc.method, tc.path, w.Code, w.Body, tc.status, tc.code)
			}
			if n := h.ledger.writeCount(); n > 0 && !tc.writes {
				t.Fatalf("%d writes for a rejected request", n)
			}
		})
	}
}

// TestSettlementConversions checks that decimal strings reach the ledger in integer units and
// come back as decimals, with the write statuses of ?wait=commit.
func TestSettlementConversions(t *testing.T) {
	h := newHarness(t, "org1")
	w := h.do("POST", "/v1/settlements?wait=commit", key1, settlementBodyWith(`false}`, `true,"notary":"org3","settlementId":"s9"}`))
	if w.Code != 201 {
		t.Fatalf("propose = %d %s", w.Code, w.Body)
	}
	d := h.ledger.dvpState()
	p := d.proposals[0]
	if p.Quantity != 10 || p.Price != 2030 || p.Notary != "Org3MSP" || !p.AllowPartial || p.SettlementID != "s9" {
		t.Fatalf("request %+v", p)
	}
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	if out["settlementId"] != "s9" || out["status"] != "PROPOSED" || out["price"] != "20.30" || out["cashAmount"] != "203.00" ||
		out["txStatus"] != "VALID" || len(out["messages"].([]any)) != 1 {
		t.Fatalf("answer %v", out)
	}
	if w = h.do("POST", "/v1/settlements", key1, settlementBodyWith()); w.Code != 202 {
		t.Fatalf("without wait = %d", w.Code)
	}
	tests := []struct {
		body, leg string
		qty       int64
	}{{``, "", 0}, {`{"leg":"Seller","quantity":"3"}`, "seller", 3}, {`{"quantity":"0"}`, "", 0}}
	for i, tc := range tests {
		if w = h.do("POST", "/v1/settlements/"+agrOpen+"/fund?wait=commit", key1, tc.body); w.Code != 200 {
			t.Fatalf("fund %d = %d %s", i, w.Code, w.Body)
		}
		if st := d.steps[i]; st.Leg != tc.leg || st.Quantity != tc.qty || st.Action != SettleFund {
			t.Fatalf("step %d: %+v", i, st)
		}
	}
	if w = h.do("GET", "/v1/settlements?account=a1&status=AFFIRMED", key1, ""); w.Code != 200 || !strings.Contains(w.Body.String(), agrOwn) {
		t.Fatalf("list = %d %s", w.Code, w.Body)
	}
}

// TestHTLCErrorPaths checks the HTLC routes' rejections.
func TestHTLCErrorPaths(t *testing.T) {
	lock := func(repl ...string) string {
		s := `{"asset":"ACME","amount":"5","sender":"a1","receiver":"b2","hashlock":"` + goodLock + `","timelock":"` + future + `"}`
		for i := 0; i+1 < len(repl); i += 2 {
			s = strings.Replace(s, repl[i], repl[i+1], 1)
		}
		return s
	}
	pre := strings.Repeat("ab", 32)
	tests := []struct {
		name         string
		method, path string
		body         string
		inject       map[string]error
		status       int
		code         string
	}{
		{"lock short hashlock", "POST", "/v1/htlcs", lock(goodLock, goodLock[:60]), nil, 400, CodeInvalidArgument},
		{"lock non-hex hashlock", "POST", "/v1/htlcs", lock(goodLock, strings.Repeat("z", 64)), nil, 400, CodeInvalidArgument},
		{"lock timelock past", "POST", "/v1/htlcs", lock(future, "2001-01-01T00:00:00Z"), nil, 400, CodeInvalidArgument},
		{"lock timelock too far", "POST", "/v1/htlcs", lock(future, time.Now().Add(30*24*time.Hour).UTC().Format(time.RFC3339)), nil, 400, CodeInvalidArgument},
		{"lock cash on market", "POST", "/v1/htlcs", lock(`"ACME"`, `"USD"`, `"5"`, `"5.00","channel":"market"`), nil, 400, CodeInvalidArgument},
		{"lock shares on payments", "POST", "/v1/htlcs", lock(`"5"`, `"5","channel":"payments"`), nil, 400, CodeInvalidArgument},
		{"lock bad channel", "POST", "/v1/htlcs", lock(`"5"`, `"5","channel":"numbers"`), nil, 400, CodeInvalidArgument},
		{"lock cash too many decimals", "POST", "/v1/htlcs", lock(`"ACME"`, `"USD"`, `"5"`, `"5.001"`), nil, 400, CodeInvalidArgument},
		{"lock shares off lot", "POST", "/v1/htlcs", lock(`"5"`, `"5.5"`), nil, 422, CodeInvalidLot},
		{"lock unknown instrument", "POST", "/v1/htlcs", lock(`"ACME"`, `"NOPE"`), nil, 404, CodeNotFound},
		{"lock same accounts", "POST", "/v1/htlcs", lock(`"b2"`, `"a1"`), nil, 400, CodeInvalidArgument},
		{"lock another org's account", "POST", "/v1/htlcs", lock(), map[string]error{"LockHTLC": NewError(CodeForbidden, "b2 belongs to Org2MSP")}, 403, CodeForbidden},
		{"lock insufficient", "POST", "/v1/htlcs", lock(), map[string]error{"LockHTLC": NewError(CodeInsufficient, "available 0")}, 422, CodeInsufficient},
		{"lock id taken", "POST", "/v1/htlcs", lock(`{`, `{"htlcId":"h1",`), map[string]error{"LockHTLC": NewError(CodeConflict, "exists")}, 409, CodeConflict},
		{"get unknown", "GET", "/v1/htlcs/nope", "", nil, 404, CodeNotFound},
		{"get bad channel", "GET", "/v1/htlcs/" + htlcShares + "?channel=numbers", "", nil, 400, CodeInvalidArgument},
		{"get on the other channel", "GET", "/v1/htlcs/" + htlcShares + "?channel=payments", "", nil, 404, CodeNotFound},
		{"claim short preimage", "POST", "/v1/htlcs/" + htlcShares + "/claim", `{"preimage":"abcd"}`, nil, 400, CodeInvalidArgument},
		{"claim no body", "POST", "/v1/htlcs/" + htlcShares + "/claim", ``, nil, 400, CodeInvalidArgument},
		{"claim wrong preimage", "POST", "/v1/htlcs/" + htlcShares + "/claim", `{"preimage":"` + pre + `"}`, map[string]error{"ClaimHTLC": NewError(CodeInvalidArgument, "preimage does not match")}, 400, CodeInvalidArgument},
		{"claim expired", "POST", "/v1/htlcs/" + htlcCash + "/claim", `{"preimage":"` + pre + `"}`, map[string]error{"ClaimHTLC": NewError(CodeConflict, "timelock expired")}, 409, CodeConflict},
		{"claim by the sender", "POST", "/v1/htlcs/" + htlcShares + "/claim", `{"preimage":"` + pre + `"}`, map[string]error{"ClaimHTLC": NewError(CodeForbidden, "only the receiver")}, 403, CodeForbidden},
		{"refund early", "POST", "/v1/htlcs/" + htlcShares + "/refund", ``, map[string]error{"RefundHTLC": NewError(CodeConflict, "timelock not reached")}, 409, CodeConflict},
		{"refund body field", "POST", "/v1/htlcs/" + htlcShares + "/refund", `{"force":true}`, nil, 400, CodeInvalidArgument},
		{"refund unknown", "POST", "/v1/htlcs/nope/refund", ``, nil, 404, CodeNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "org1")
			for k, v := range tc.inject {
				h.ledger.errs[k] = v
			}
			w := h.do(tc.method, tc.path, key1, tc.body)
			if w.Code != tc.status || errorCode(w.Body.Bytes()) != tc.code {
				t.Fatalf("%s %s = %d %s; want %d %s", tc.method, tc.path, w.Code, w.Body, tc.status, tc.code)
			}
			if tc.inject == nil && h.ledger.writeCount() > 0 {
				t.Fatalf("a rejected request wrote")
			}
		})
	}
}

// TestHTLCChannels checks the channel chosen by asset and the lookup without ?channel=.
func TestHTLCChannels(t *testing.T) {
	h := newHarness(t, "org1")
	for i, tc := range []struct{ body, channel string }{
		{`{"asset":"ACME","amount":"5","sender":"a1","receiver":"b2","hashlock":"` + goodLock + `","timelock":"` + future + `"}`, "market"},
		{`{"asset":"USD","amount":"12.34","sender":"a1","receiver":"b2","hashlock":"` + strings.ToUpper(goodLock) + `","timelock":"` + future + `"}`, "payments"},
	} {
		w := h.do("POST", "/v1/htlcs?wait=commit", key1, tc.body)
		if w.Code != 201 {
			t.Fatalf("lock %d = %d %s", i, w.Code, w.Body)
		}
		d := h.ledger.dvpState()
		if d.lockChans[i] != tc.channel || d.locks[i].Hashlock != goodLock {
			t.Fatalf("lock %d on %s: %+v", i, d.lockChans[i], d.locks[i])
		}
	}
	if d := h.ledger.dvpState(); d.locks[1].Amount != 1234 {
		t.Fatalf("cash %d", d.locks[1].Amount)
	}
	w := h.do("GET", "/v1/htlcs/"+htlcCash, key1, "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"channel":"payments"`) || !strings.Contains(w.Body.String(), `"amount":"10.00"`) {
		t.Fatalf("get = %d %s", w.Code, w.Body)
	}
	pre := strings.Repeat("ab", 32)
	if w = h.do("POST", "/v1/htlcs/"+htlcCash+"/claim", key1, `{"preimage":"`+pre+`"}`); w.Code != 202 {
		t.Fatalf("claim = %d %s", w.Code, w.Body)
	}
	if d := h.ledger.dvpState(); d.claims[0] != "payments/"+htlcCash+"/"+pre {
		t.Fatalf("claims %v", d.claims)
	}
}

// swapHarness is a gateway of org1 with a fake Swapper.
func swapHarness(t *testing.T) (*harness, *fakeSwapper) {
	f, sw := newFake(), newFakeSwapper()
	h, err := New(Config{Ledger: f, Keys: testKeys, Org: "org1", Swaps: sw, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, h: h, ledger: f}, sw
}

// TestSwapErrorPaths checks the swap routes' validation and the Swapper's errors.
func TestSwapErrorPaths(t *testing.T) {
	soon, later := time.Now().Add(time.Minute).UTC().Format(time.RFC3339), time.Now().Add(2*time.Minute).UTC().Format(time.RFC3339)
	start := func(repl ...string) string {
		s := `{"initiator":"a1","counterparty":"b2","symbol":"ACME","quantity":"10","currency":"USD","amount":"203.00"}`
		for i := 0; i+1 < len(repl); i += 2 {
			s = strings.Replace(s, repl[i], repl[i+1], 1)
		}
		return s
	}
	accept := `{"initiator":"a1","counterparty":"b2","symbol":"ACME","quantity":"10","currency":"USD","amount":"203.00","hashlock":"` + goodLock + `","initiatorTimelock":"` + later + `","counterpartyTimelock":"` + soon + `"}`
	tests := []struct {
		name         string
		method, path string
		body         string
		inject       map[string]error
		status       int
		code         string
	}{
		{"start same accounts", "POST", "/v1/swaps", start(`"b2"`, `"a1"`), nil, 400, CodeInvalidArgument},
		{"start currency as symbol", "POST", "/v1/swaps", start(`"ACME"`, `"EUR"`), nil, 400, CodeInvalidArgument},
		{"start bad currency", "POST", "/v1/swaps", start(`"USD"`, `"XYZ"`), nil, 400, CodeInvalidArgument},
		{"start quantity off lot", "POST", "/v1/swaps", start(`"10"`, `"1.5"`), nil, 422, CodeInvalidLot},
		{"start amount too precise", "POST", "/v1/swaps", start(`"203.00"`, `"203.001"`), nil, 400, CodeInvalidArgument},
		{"start timelocks reversed", "POST", "/v1/swaps", start(`}`, `,"initiatorTimelock":"`+soon+`","counterpartyTimelock":"`+later+`"}`), nil, 400, CodeInvalidArgument},
		{"start timelock past", "POST", "/v1/swaps", start(`}`, `,"counterpartyTimelock":"2001-01-01T00:00:00Z"}`), nil, 400, CodeInvalidArgument},
		{"start bad id", "POST", "/v1/swaps", start(`{`, `{"swapId":"a/b",`), nil, 400, CodeInvalidArgument},
		{"start another org's account", "POST", "/v1/swaps", start(), map[string]error{"StartSwap": NewError(CodeForbidden, "a1 of another org")}, 403, CodeForbidden},
		{"start key reused", "POST", "/v1/swaps", start(), map[string]error{"StartSwap": NewError(CodeIdempotencyReuse, "reused")}, 409, CodeIdempotencyReuse},
		{"accept without hashlock", "POST", "/v1/swaps/sw-1/accept", strings.Replace(accept, goodLock, "", 1), nil, 400, CodeInvalidArgument},
		{"accept without timelock", "POST", "/v1/swaps/sw-1/accept", strings.Replace(accept, `"initiatorTimelock":"`+later+`",`, ``, 1), nil, 400, CodeInvalidArgument},
		{"accept terms differ", "POST", "/v1/swaps/sw-1/accept", accept, map[string]error{"AcceptSwap": NewError(CodeFailedPrecond, "does not match")}, 422, CodeFailedPrecond},
		{"accept not locked yet", "POST", "/v1/swaps/sw-1/accept", accept, map[string]error{"AcceptSwap": NewError(CodeConflict, "not locked")}, 409, CodeConflict},
		{"get unknown", "GET", "/v1/swaps/nope", "", nil, 404, CodeNotFound},
		{"get bad id", "GET", "/v1/swaps/a%20b", "", nil, 404, CodeNotFound},
		{"list bad status", "GET", "/v1/swaps?status=DONE", "", nil, 400, CodeInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, sw := swapHarness(t)
			for k, v := range tc.inject {
				sw.errs[k] = v
			}
			w := h.do(tc.method, tc.path, key1, tc.body)
			if w.Code != tc.status || errorCode(w.Body.Bytes()) != tc.code {
				t.Fatalf("%s %s = %d %s; want %d %s", tc.method, tc.path, w.Code, w.Body, tc.status, tc.code)
			}
		})
	}
	h := newHarness(t, "org1")
	if w := h.do("GET", "/v1/swaps", key1, ""); w.Code != 503 {
		t.Fatalf("without a Swapper = %d", w.Code)
	}
}

// TestSwapStatuses checks 201/202/200 and the conversions of a swap.
func TestSwapStatuses(t *testing.T) {
	h, sw := swapHarness(t)
	body := `{"swapId":"s1","initiator":"a1","counterparty":"b2","symbol":"ACME","quantity":"10","currency":"USD","amount":"203.00"}`
	w := h.do("POST", "/v1/swaps?wait=commit", key1, body)
	if w.Code != 201 || w.Header().Get("Location") != "/v1/swaps/s1" {
		t.Fatalf("start = %d %s", w.Code, w.Body)
	}
	if r := sw.starts[0]; r.Terms.Quantity != 10 || r.Terms.Amount != 20300 || !r.Terms.InitiatorTimelock.IsZero() {
		t.Fatalf("request %+v", r)
	}
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	if terms := out["terms"].(map[string]any); terms["amount"] != "203.00" || terms["hashlock"] != goodLock || out["role"] != "INITIATOR" || len(out["steps"].([]any)) != 6 {
		t.Fatalf("answer %v", out)
	}
	if w = h.do("POST", "/v1/swaps", key1, body); w.Code != 200 {
		t.Fatalf("replay = %d", w.Code)
	}
	if w = h.do("POST", "/v1/swaps", key1, strings.Replace(body, `"s1"`, `"s2"`, 1)); w.Code != 202 {
		t.Fatalf("without wait = %d", w.Code)
	}
	if w = h.do("GET", "/v1/swaps/s1", key1, ""); w.Code != 200 {
		t.Fatalf("get = %d", w.Code)
	}
	if w = h.do("GET", "/v1/swaps?status=LOCKING", key1, ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"s2"`) || strings.Contains(w.Body.String(), `"s1"`) {
		t.Fatalf("list = %d %s", w.Code, w.Body)
	}
}
