//go:build integration

package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// The REST surface tried as an attacker would (issue 8): every request below must be refused
// with the right status and error code, and change nothing (balances and orders are compared
// before and after). go test -tags integration -count=1 -run Security ./integration/

// apiError decodes {"error":{"code","message"}}.
func apiError(body []byte) (code, msg string) {
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Error.Code, e.Error.Message
}

// expect sends a request and checks the status and error code ("" = any code, but the error
// shape is still required for a 4xx).
func expect(t *testing.T, g *rest, status int, code, method, path, body string, headers ...string) {
	t.Helper()
	g.t = t
	got, out := g.call(method, path, body, headers...)
	c, msg := apiError(out)
	if got != status || (status >= 400 && (c == "" || msg == "")) || (code != "" && c != code) {
		t.Errorf("%s %.120s = %d %.300s; want %d %s", method, path, got, out, status, code)
	}
}

// secState is what an attack must leave unchanged: the accounts' balances and orders as
// their owners see them.
type secState struct {
	owners map[string]*rest // account → its org's gateway
}

func (s secState) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	accts := make([]string, 0, len(s.owners))
	for acct := range s.owners {
		accts = append(accts, acct)
	}
	sort.Strings(accts) // map order is random
	for _, acct := range accts {
		g := s.owners[acct]
		g.t = t
		var a restAccount
		var os []restOrder
		g.must(200, &a, "GET", "/v1/accounts/"+acct, "")
		g.must(200, &os, "GET", "/v1/orders?account="+acct, "")
		fmt.Fprintf(&b, "%s %v", acct, a.Balances)
		for _, o := range os {
			fmt.Fprintf(&b, " %s:%s:%s", o.OrderID, o.Status, o.FilledQuantity)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// secFixture lists a symbol and opens a funded account with a resting order at org1 and one
// at org2.
type secFixture struct {
	org1, org2, org3, reg *rest
	sym                   string
	a1, a2                string // accounts of org1 and org2
	b1                    string // a second, empty account of org1
	o1                    string // a resting order of a1
	state                 secState
}

func newSecFixture(t *testing.T) *secFixture {
	f := &secFixture{org1: gatewayOf(t, "org1"), org2: gatewayOf(t, "org2"), org3: gatewayOf(t, "org3"), reg: gatewayOf(t, "regulator")}
	f.sym = newSymbol(t, f.reg)
	f.a1 = openFunded(t, f.org1, f.sym, "1000.00", "")
	f.a2 = openFunded(t, f.org2, f.sym, "1000.00", "50")
	f.b1 = openFunded(t, f.org1, f.sym, "", "")
	var o restOrder
	f.org1.must(201, &o, "POST", "/v1/orders?wait=commit", limitOrder(uniqueKey("sec"), f.a1, f.sym, "BUY", "2", "1.00"))
	f.o1 = o.OrderID
	f.state = secState{owners: map[string]*rest{f.a1: f.org1, f.a2: f.org2}}
	return f
}

func (f *secFixture) unchanged(t *testing.T, before string) {
	t.Helper()
	// A refused write must not be pending either: give a commit time to show.
	time.Sleep(2 * time.Second)
	if after := f.state.snapshot(t); after != before {
		t.Fatalf("the ledger changed:\n%s→\n%s", before, after)
	}
}

// TestSecurityAuthentication: no key, a wrong key, a malformed header, a key in the query
// where only the stream accepts one, another org's key on this gateway, and the stream's
// ?access_token= with a wrong key and with another org's key.
func TestSecurityAuthentication(t *testing.T) {
	f := newSecFixture(t)
	before := f.state.snapshot(t)
	noKey := &rest{t: t, base: f.org1.base, key: "-"}
	wrong := &rest{t: t, base: f.org1.base, key: "sk-" + strings.Repeat("0", 40)}
	other := &rest{t: t, base: f.org1.base, key: f.org2.key}
	deposit := `{"asset":"USD","amount":"1.00"}`
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/v1/accounts/" + f.a1, ""},
		{"POST", "/v1/accounts/" + f.a1 + "/deposits", deposit},
		{"POST", "/v1/orders", limitOrder("x", f.a1, f.sym, "BUY", "1", "1.00")},
		{"DELETE", "/v1/orders/" + f.o1, ""},
		{"PATCH", "/v1/orders/" + f.o1, `{"quantity":"1"}`},
		{"GET", "/v1/instruments", ""},
		{"POST", "/v1/admin/match/" + f.sym, ""},
		{"GET", "/v1/stream", ""},
	} {
		expect(t, noKey, 401, "UNAUTHENTICATED", r.method, r.path, r.body)
		expect(t, wrong, 401, "UNAUTHENTICATED", r.method, r.path, r.body)
		expect(t, other, 403, "FORBIDDEN", r.method, r.path, r.body)
		expect(t, noKey, 401, "UNAUTHENTICATED", r.method, r.path, r.body, "Authorization", "Basic "+f.org1.key)
		expect(t, noKey, 401, "UNAUTHENTICATED", r.method, r.path, r.body, "Authorization", "Bearer")
	}
	// The query parameter is accepted on the stream only.
	expect(t, noKey, 401, "UNAUTHENTICATED", "GET", "/v1/accounts/"+f.a1+"?access_token="+f.org1.key, "")
	expect(t, noKey, 401, "UNAUTHENTICATED", "POST", "/v1/accounts/"+f.a1+"/deposits?access_token="+f.org1.key, deposit)
	expect(t, noKey, 401, "UNAUTHENTICATED", "GET", "/v1/stream?access_token=wrong-wrong-wrong-wrong", "")
	expect(t, noKey, 401, "UNAUTHENTICATED", "GET", "/v1/stream?access_token=", "")
	expect(t, noKey, 403, "FORBIDDEN", "GET", "/v1/stream?access_token="+f.org2.key, "")
	// A wrong header wins over a right query token (no downgrade to the query).
	expect(t, noKey, 401, "UNAUTHENTICATED", "GET", "/v1/stream?access_token="+f.org1.key, "", "Authorization", "Bearer wrong-wrong-wrong")
	// Public endpoints leak no account data.
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json"} {
		noKey.t = t
		if st, body := noKey.call("GET", p, ""); st != 200 || strings.Contains(string(body), f.a1) {
			t.Errorf("GET %s = %d", p, st)
		}
	}
	f.unchanged(t, before)
}

// TestSecurityObjectLevel: org2's key on org2's gateway, against org1's account and order
// (read and write), and against agreements and locks naming org1's account.
func TestSecurityObjectLevel(t *testing.T) {
	f := newSecFixture(t)
	before := f.state.snapshot(t)
	g := f.org2
	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	hash := strings.Repeat("ab", 32)
	tests := []struct {
		name, method, path, body string
	}{
		{"read account", "GET", "/v1/accounts/" + f.a1, ""},
		{"deposit", "POST", "/v1/accounts/" + f.a1 + "/deposits", `{"asset":"USD","amount":"1.00"}`},
		{"withdraw", "POST", "/v1/accounts/" + f.a1 + "/withdrawals", `{"asset":"USD","amount":"1.00"}`},
		{"list orders", "GET", "/v1/orders?account=" + f.a1, ""},
		{"read order", "GET", "/v1/orders/" + f.o1, ""},
		{"cancel order", "DELETE", "/v1/orders/" + f.o1, ""},
		{"replace order", "PATCH", "/v1/orders/" + f.o1, `{"quantity":"1","price":"1.50"}`},
		{"order on account", "POST", "/v1/orders", limitOrder(uniqueKey("bola"), f.a1, f.sym, "SELL", "1", "1.00")},
		{"order, account in upper-case key", "POST", "/v1/orders", strings.Replace(limitOrder(uniqueKey("bola"), f.a2, f.sym, "SELL", "1", "1.00"), `"account":"`+f.a2+`"`, `"ACCOUNT":"`+f.a1+`"`, 1)},
		{"order, duplicate account key (last wins)", "POST", "/v1/orders", strings.Replace(limitOrder(uniqueKey("bola"), f.a2, f.sym, "SELL", "1", "1.00"), `"account":"`+f.a2+`"`, `"account":"`+f.a2+`","account":"`+f.a1+`"`, 1)},
		{"settlement between org1's accounts", "POST", "/v1/settlements", fmt.Sprintf(`{"seller":%q,"buyer":%q,"symbol":%q,"quantity":"1","price":"1.00","currency":"USD","deadline":%q}`, f.b1, f.a1, f.sym, soon)},
		{"htlc from another org's account", "POST", "/v1/htlcs", fmt.Sprintf(`{"asset":%q,"amount":"1","sender":%q,"receiver":%q,"hashlock":%q,"timelock":%q}`, f.sym, f.a1, f.a2, hash, soon)},
		{"swap from another org's account", "POST", "/v1/swaps", fmt.Sprintf(`{"initiator":%q,"counterparty":%q,"symbol":%q,"quantity":"1","currency":"USD","amount":"1.00"}`, f.a1, f.a2, f.sym)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expect(t, g, 403, "FORBIDDEN", tt.method, tt.path, tt.body) })
	}
	// The same through org3's gateway with org3's key, and with ?wait=commit.
	expect(t, f.org3, 403, "FORBIDDEN", "DELETE", "/v1/orders/"+f.o1+"?wait=commit", "")
	expect(t, f.org3, 403, "FORBIDDEN", "POST", "/v1/accounts/"+f.a2+"/withdrawals?wait=commit", `{"asset":"USD","amount":"1000.00"}`)
	f.unchanged(t, before)
}

// TestSecurityFunctionLevel: telcos on the Regulator's routes.
func TestSecurityFunctionLevel(t *testing.T) {
	f := newSecFixture(t)
	before := f.state.snapshot(t)
	for _, g := range []*rest{f.org1, f.org2, f.org3} {
		expect(t, g, 403, "FORBIDDEN", "POST", "/v1/instruments", `{"symbol":"EVIL1","currency":"USD","tickSize":"0.01","lotSize":"1"}`)
		expect(t, g, 403, "FORBIDDEN", "POST", "/v1/numbers", `{"number":"+4915199990001","owner":"Org1MSP"}`)
		expect(t, g, 403, "FORBIDDEN", "POST", "/v1/numbers", `{"first":"+4915199990001","last":"+4915199990009","owner":"Org1MSP"}`)
		expect(t, g, 403, "FORBIDDEN", "GET", "/v1/numbers/transfers?status=OPEN", "")
	}
	var in []map[string]any
	f.reg.must(200, &in, "GET", "/v1/instruments", "")
	for _, x := range in {
		if x["symbol"] == "EVIL1" {
			t.Fatal("a telco listed an instrument")
		}
	}
	f.unchanged(t, before)
}

// TestSecurityIdempotencyReplay: a key bound to one request replayed with another body, on
// another account and on another route is 409 IDEMPOTENCY_KEY_REUSED; the first applies once.
func TestSecurityIdempotencyReplay(t *testing.T) {
	f := newSecFixture(t)
	key := uniqueKey("sec-idem")
	var first restAccount
	f.org1.must(200, nil, "POST", "/v1/accounts/"+f.a1+"/deposits?wait=commit", `{"asset":"USD","amount":"5.00"}`, "Idempotency-Key", key)
	before := f.state.snapshot(t)
	f.org1.must(200, &first, "GET", "/v1/accounts/"+f.a1, "")
	expect(t, f.org1, 409, "IDEMPOTENCY_KEY_REUSED", "POST", "/v1/accounts/"+f.a1+"/deposits", `{"asset":"USD","amount":"500.00"}`, "Idempotency-Key", key)
	expect(t, f.org1, 409, "IDEMPOTENCY_KEY_REUSED", "POST", "/v1/accounts/"+f.a1+"/withdrawals", `{"asset":"USD","amount":"5.00"}`, "Idempotency-Key", key)
	expect(t, f.org1, 409, "IDEMPOTENCY_KEY_REUSED", "POST", "/v1/orders", limitOrder(uniqueKey("c"), f.a1, f.sym, "BUY", "1", "1.00"), "Idempotency-Key", key)
	// The exact replay is answered with the same transaction and applies nothing new.
	f.org1.must(200, nil, "POST", "/v1/accounts/"+f.a1+"/deposits?wait=commit", `{"asset":"USD","amount":"5.00"}`, "Idempotency-Key", key)
	f.unchanged(t, before)
}

// TestSecurityOversizedBodies: 413 with a Content-Length over the limit, and with a chunked
// body that grows past it; on the gateway (64 KiB) and the watcher (1 MiB).
func TestSecurityOversizedBodies(t *testing.T) {
	f := newSecFixture(t)
	before := f.state.snapshot(t)
	big := `{"asset":"USD","amount":"1.00","pad":"` + strings.Repeat("x", 70<<10) + `"}`
	expect(t, f.org1, 413, "PAYLOAD_TOO_LARGE", "POST", "/v1/accounts/"+f.a1+"/deposits", big)
	expect(t, f.org1, 413, "PAYLOAD_TOO_LARGE", "POST", "/v1/orders", `{"clientOrderId":"`+strings.Repeat("x", 70<<10)+`"}`)
	// Chunked: no Content-Length, the limit is enforced while reading.
	for _, u := range []string{f.org1.base + "/v1/accounts/" + f.a1 + "/deposits", watcherBase(t) + "/v1/prices"} {
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte(`[{"symbol":"ACME","price":"1","pad":"`))
			chunk := strings.Repeat("y", 64<<10)
			for i := 0; i < 40; i++ { // 2.5 MiB
				if _, err := pw.Write([]byte(chunk)); err != nil {
					return
				}
			}
			pw.Write([]byte(`"}]`))
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", u, pr)
		req.Header.Set("Authorization", "Bearer "+f.org1.key)
		resp, err := restClient.Do(req)
		if err != nil {
			t.Errorf("chunked %s: %v", u, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		pr.Close()
		if c, _ := apiError(body); resp.StatusCode != 413 || c != "PAYLOAD_TOO_LARGE" {
			t.Errorf("chunked %s = %d %.200s; want 413", u, resp.StatusCode, body)
		}
	}
	w := &rest{t: t, base: watcherBase(t), key: f.org1.key}
	expect(t, w, 413, "PAYLOAD_TOO_LARGE", "POST", "/v1/subscriptions", `{"user":"`+strings.Repeat("u", 2<<20)+`"}`)
	f.unchanged(t, before)
}

// TestSecurityOddIDs: ids in paths with "../", "%2e%2e", NUL, very long and unicode ones are
// refused (400 or 404, never 200 or 500) on reads and writes; nothing changes.
func TestSecurityOddIDs(t *testing.T) {
	f := newSecFixture(t)
	before := f.state.snapshot(t)
	odd := []string{"..", "%2e%2e", "%2e%2e%2f" + f.a1, "..%2f..%2f" + f.a1, "a%00b", "%00", strings.Repeat("x", 4000), "%C3%A9t%C3%A9",
		"%E2%80%AE" + f.a1, "a%20b", "%22%3E%3Cscript%3E", "a;b", "a%0d%0aX-Injected:1", "%ff%fe"}
	for _, id := range odd {
		for _, r := range []struct{ method, path, body string }{
			{"GET", "/v1/accounts/" + id, ""},
			{"POST", "/v1/accounts/" + id + "/deposits", `{"asset":"USD","amount":"1.00"}`},
			{"GET", "/v1/orders/" + id, ""},
			{"DELETE", "/v1/orders/" + id, ""},
			{"PATCH", "/v1/orders/" + id, `{"quantity":"1"}`},
			{"GET", "/v1/orderbook/" + id, ""},
			{"GET", "/v1/settlements/" + id, ""},
			{"POST", "/v1/settlements/" + id + "/cancel", ""},
			{"GET", "/v1/htlcs/" + id, ""},
			{"POST", "/v1/htlcs/" + id + "/refund", ""},
			{"GET", "/v1/numbers/" + id, ""},
			{"GET", "/v1/transactions/" + id, ""},
		} {
			f.org1.t = t
			st, out := f.org1.call(r.method, r.path, r.body)
			c, _ := apiError(out)
			if (st != 400 && st != 404) || c == "" {
				t.Errorf("%s %.80s = %d %.200s; want 400 or 404", r.method, r.path, st, out)
			}
		}
	}
	// Raw path traversal that an HTTP client would normalise: sent as written.
	for _, p := range []string{"/v1/accounts/../accounts/" + f.a2, "/v1/orders/../accounts/" + f.a2, "/v1/accounts/" + f.a1 + "/../../accounts/" + f.a2,
		"/v1/./accounts/" + f.a2, "//v1/accounts/" + f.a2, "/v1/accounts/" + f.a2 + "%2f..%2f" + f.a1} {
		st, out := rawRequest(t, f.org1.base, "GET "+p+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+f.org1.key+"\r\nConnection: close\r\n\r\n")
		if st == 200 || st >= 500 || strings.Contains(out, `"balances"`) {
			t.Errorf("GET %s = %d %.200s", p, st, out)
		}
	}
	f.unchanged(t, before)
}

// TestSecurityOddJSON: duplicate keys, unknown fields, trailing data, deep nesting, numbers
// and other types where strings are expected: 400 INVALID_ARGUMENT (a duplicate key is
// decoded last-wins, the value every check sees; see TestSecurityObjectLevel), nothing changes.
func TestSecurityOddJSON(t *testing.T) {
	f := newSecFixture(t)
	before := f.state.snapshot(t)
	good := limitOrder(uniqueKey("json"), f.a1, f.sym, "BUY", "1", "1.00")
	dep := "/v1/accounts/" + f.a1 + "/deposits"
	for _, r := range []struct{ name, path, body string }{
		{"unknown field", "/v1/orders", strings.Replace(good, `"side"`, `"leverage":"100","side"`, 1)},
		{"unknown nested field", dep, `{"asset":"USD","amount":"1.00","meta":{"admin":true}}`},
		{"trailing object", dep, `{"asset":"USD","amount":"1.00"}{"asset":"USD","amount":"999.00"}`},
		{"trailing garbage", dep, `{"asset":"USD","amount":"1.00"} x`},
		{"deep nesting", dep, `{"asset":"USD","amount":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`},
		{"deep nesting in an unknown field", dep, `{"x":` + strings.Repeat(`{"a":`, 10001) + `1` + strings.Repeat("}", 10001) + `,"asset":"USD","amount":"1.00"}`},
		{"number for a string", dep, `{"asset":"USD","amount":1.00}`},
		{"huge number for a string", dep, `{"asset":"USD","amount":1e999999}`},
		{"bool for a string", dep, `{"asset":"USD","amount":true}`},
		{"array for a string", dep, `{"asset":["USD"],"amount":"1.00"}`},
		{"null amount", dep, `{"asset":"USD","amount":null}`},
		{"duplicate amount, last invalid", dep, `{"asset":"USD","amount":"1.00","amount":"-5"}`},
		{"negative", dep, `{"asset":"USD","amount":"-1.00"}`},
		{"exponent", dep, `{"asset":"USD","amount":"1e3"}`},
		{"too many decimals", dep, `{"asset":"USD","amount":"1.001"}`},
		{"overflow", dep, `{"asset":"USD","amount":"92233720368547758.08"}`},
		{"unicode digits", dep, `{"asset":"USD","amount":"١٠٠"}`},
		{"NUL in a string", dep, `{"asset":"USD\u0000","amount":"1.00"}`},
		{"invalid UTF-8", dep, "{\"asset\":\"US\xffD\",\"amount\":\"1.00\"}"},
		{"array body", dep, `[{"asset":"USD","amount":"1.00"}]`},
		{"empty body", dep, ``},
		{"not JSON", dep, `asset=USD&amount=1.00`},
		{"BOM", dep, "\ufeff" + `{"asset":"USD","amount":"1.00"}`},
		{"order quantity as number", "/v1/orders", strings.Replace(good, `"quantity":"1"`, `"quantity":1`, 1)},
		{"order with a huge clientOrderId", "/v1/orders", strings.Replace(good, `"clientOrderId":"`, `"clientOrderId":"`+strings.Repeat("z", 5000), 1)},
	} {
		t.Run(r.name, func(t *testing.T) { expect(t, f.org1, 400, "INVALID_ARGUMENT", "POST", r.path, r.body) })
	}
	f.unchanged(t, before)
}

// TestSecurityWatcherProxy: the console's same-origin proxy forwards /v1/ and /healthz only.
func TestSecurityWatcherProxy(t *testing.T) {
	g := gatewayOf(t, "org1")
	for _, p := range []string{"/watcher/metrics", "/watcher/openapi.json", "/watcher/", "/watcher/v1/../metrics",
		"/watcher/v1/%2e%2e/metrics", "/watcher/v1%2f..%2fmetrics", "/watcher/healthz/../metrics", "/watcher//metrics", "/watcher/%2fmetrics"} {
		st, out := rawRequest(t, g.base, "GET "+p+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+g.key+"\r\nConnection: close\r\n\r\n")
		if st != 404 && st != 400 || strings.Contains(out, "# HELP") || strings.Contains(out, `"openapi"`) {
			t.Errorf("GET %s = %d %.200s; want 404", p, st, out)
		}
	}
	// Forwarded routes keep the watcher's own authentication.
	noKey := &rest{t: t, base: g.base, key: "-"}
	expect(t, noKey, 401, "UNAUTHENTICATED", "GET", "/watcher/v1/subscriptions?user=x", "")
	expect(t, &rest{t: t, base: g.base, key: "wrong-wrong-wrong-wrong"}, 401, "UNAUTHENTICATED", "GET", "/watcher/v1/subscriptions?user=x", "")
	g.must(200, nil, "GET", "/watcher/v1/subscriptions?user="+uniqueKey("proxy"), "")
	if st, _ := noKey.call("GET", "/watcher/healthz", ""); st != 200 {
		t.Errorf("GET /watcher/healthz = %d", st)
	}
}

// watcherBase is the watcher's address from network.conf.
func watcherBase(t testing.TB) string {
	addr, err := network(t).cfg.Addr("WATCHER")
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

// TestSecurityWatcherAPI: the watcher's own API on port 8090.
func TestSecurityWatcherAPI(t *testing.T) {
	keys := map[string]string{}
	raw, err := os.ReadFile(filepath.Join(network(t).cfg.RunDir(), "apikeys.json"))
	if err != nil || json.Unmarshal(raw, &keys) != nil {
		t.Fatalf("keys: %v", err)
	}
	base := watcherBase(t)
	w1 := &rest{t: t, base: base, key: keys["org1"]}
	noKey := &rest{t: t, base: base, key: "-"}
	wrong := &rest{t: t, base: base, key: "wrong-wrong-wrong-wrong"}
	user := uniqueKey("secuser")
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/v1/subscriptions?user=" + user, ""},
		{"POST", "/v1/subscriptions", `{"user":"` + user + `","symbol":"ACME"}`},
		{"POST", "/v1/prices", `[{"symbol":"ACME","price":"1"}]`},
		{"POST", "/v1/events", `{"type":"BREAKING_NEWS","symbol":"ACME","title":"x","message":"y"}`},
		{"PUT", "/v1/users/" + user + "/settings", `{"maxPerHour":1}`},
		{"GET", "/v1/alerts/stream?user=" + user, ""},
	} {
		expect(t, noKey, 401, "UNAUTHENTICATED", r.method, r.path, r.body)
		expect(t, wrong, 401, "UNAUTHENTICATED", r.method, r.path, r.body)
	}
	expect(t, noKey, 401, "UNAUTHENTICATED", "GET", "/v1/subscriptions?user="+user+"&access_token="+keys["org1"], "")
	expect(t, noKey, 401, "UNAUTHENTICATED", "GET", "/v1/alerts/stream?user="+user+"&access_token=wrong-wrong-wrong", "")
	// Malformed and hostile bodies: 400, and no subscription appears.
	for _, b := range []string{`{"user":`, `{"user":"` + user + `","symbol":"ACME"} {}`, `{"user":1,"symbol":"ACME"}`, `[]`,
		`{"user":"` + user + `","symbol":"../../ACME"}`, `{"user":"` + user + `/x","symbol":"ACME"}`, `{"user":"` + user + `","symbol":"ACME","thresholds":["-5"]}`,
		`{"user":"` + user + `","symbol":"ACME","channels":[{"type":"webhook","url":"file:///etc/passwd"}]}`,
		`{"user":"` + user + `","symbol":"ACME","channels":[{"type":"webhook","url":"gopher://x"}]}`,
		`{"user":"` + user + `","symbol":"ACME","thresholds":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`} {
		w1.t = t
		st, out := w1.call("POST", "/v1/subscriptions", b)
		if c, _ := apiError(out); st != 400 || c == "" {
			t.Errorf("POST /v1/subscriptions %.100s = %d %.200s; want 400", b, st, out)
		}
	}
	for _, b := range []string{`[{"symbol":"ACME","price":"-1"}]`, `[{"symbol":"ACME","price":"1e3"}]`, `[{"symbol":"../x","price":"1"}]`, `{"symbol":"ACME","price":"1"}`} {
		w1.t = t
		if st, out := w1.call("POST", "/v1/prices", b); st != 400 {
			t.Errorf("POST /v1/prices %s = %d %.200s; want 400", b, st, out)
		}
	}
	var subs struct {
		Subscriptions []map[string]any `json:"subscriptions"`
	}
	w1.must(200, &subs, "GET", "/v1/subscriptions?user="+user, "")
	if len(subs.Subscriptions) != 0 {
		t.Fatalf("refused requests created %v", subs.Subscriptions)
	}
	// Webhook secrets are never answered, to any key.
	var sub map[string]any
	w1.must(201, &sub, "POST", "/v1/subscriptions", `{"user":"`+user+`","symbol":"ACME","channels":[{"type":"webhook","url":"https://example.com/hook","secret":"top-secret-value"}]}`)
	w2 := &rest{t: t, base: base, key: keys["org2"]}
	for _, g := range []*rest{w1, w2} {
		g.t = t
		_, out := g.call("GET", "/v1/subscriptions?user="+user, "")
		if strings.Contains(string(out), "top-secret-value") {
			t.Errorf("a subscription answer holds the webhook secret: %s", out)
		}
	}
	w1.t = t
	w1.must(204, nil, "DELETE", fmt.Sprintf("/v1/subscriptions/%v", sub["id"]), "")
	watcherObjectLevel(t, w1, w2, user)
}

// watcherObjectLevel (docs/security.md, API1): a watcher user belongs to the org whose key
// names it. With org2's key the same user id is another user: org2 cannot list, read, delete
// or change org1's user's subscription and settings, read its notification or see it on the
// stream (replayed), and org1's objects answer 404 as ids that do not exist do.
func watcherObjectLevel(t *testing.T, w1, w2 *rest, user string) {
	sym := runSymbol("SEC") // this test's own symbol: the event below reaches no one else
	var sub1, sub2 struct{ ID, User string }
	w1.t, w2.t = t, t
	w1.must(201, &sub1, "POST", "/v1/subscriptions", `{"user":"`+user+`","symbol":"`+sym+`"}`)
	w2.must(201, &sub2, "POST", "/v1/subscriptions", `{"user":"`+user+`","symbol":"`+sym+`"}`) // not a conflict: another user
	if sub1.User != user || sub2.User != user || sub1.ID == sub2.ID {
		t.Fatalf("subscriptions %+v and %+v", sub1, sub2)
	}
	w1.must(200, nil, "PUT", "/v1/users/"+user+"/settings", `{"maxPerHour":7}`)
	w2.must(200, nil, "PUT", "/v1/users/"+user+"/settings", `{"maxPerHour":1}`) // org2's own user
	w1.must(202, nil, "POST", "/v1/events", `{"id":"`+user+`","type":"BREAKING_NEWS","symbol":"`+sym+`","title":"scoped"}`)
	var n1, n2 string // org1's and org2's user's notification
	for deadline := time.Now().Add(30 * time.Second); n1 == "" || n2 == ""; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no notifications for %s: %q %q", user, n1, n2)
		}
		for _, x := range []struct {
			g *rest
			n *string
		}{{w1, &n1}, {w2, &n2}} {
			var l struct{ Alerts []struct{ ID, User string } }
			x.g.must(200, &l, "GET", "/v1/alerts?user="+user, "")
			if len(l.Alerts) > 0 {
				*x.n = l.Alerts[0].ID
			}
		}
	}

	notFound := func(what, id string) string { return what + ` "` + id + `" not found` }
	for _, r := range []struct {
		name         string
		g            *rest
		method, path string
		status       int
		has, hasNot  []string
	}{
		{"org2 lists the user", w2, "GET", "/v1/subscriptions?user=" + user, 200, []string{sub2.ID, `"user":"` + user + `"`}, []string{sub1.ID, "org2/"}},
		{"org2 reads the subscription", w2, "GET", "/v1/subscriptions/" + sub1.ID, 404, []string{notFound("subscription", sub1.ID)}, nil},
		{"org2 deletes the subscription", w2, "DELETE", "/v1/subscriptions/" + sub1.ID, 404, []string{notFound("subscription", sub1.ID)}, nil},
		{"org2 reads a missing subscription", w2, "GET", "/v1/subscriptions/sub_nope", 404, []string{notFound("subscription", "sub_nope")}, nil},
		{"org1's settings unchanged", w1, "GET", "/v1/users/" + user + "/settings", 200, []string{`"maxPerHour":7`}, nil},
		{"org2's settings its own", w2, "GET", "/v1/users/" + user + "/settings", 200, []string{`"maxPerHour":1`}, nil},
		{"org2 lists the user's alerts", w2, "GET", "/v1/alerts?user=" + user, 200, []string{n2}, []string{n1}},
		{"org2 lists the symbol's alerts", w2, "GET", "/v1/alerts?symbol=" + sym, 200, []string{n2}, []string{n1}},
		{"org2 reads the notification", w2, "GET", "/v1/notifications/" + n1, 404, []string{notFound("notification", n1)}, nil},
		{"org2 reads a missing notification", w2, "GET", "/v1/notifications/n_nope", 404, []string{notFound("notification", "n_nope")}, nil},
		{"org1 reads the notification", w1, "GET", "/v1/notifications/" + n1, 200, []string{`"user":"` + user + `"`}, []string{"org1/"}},
		{"org1 reads the subscription", w1, "GET", "/v1/subscriptions/" + sub1.ID, 200, []string{`"user":"` + user + `"`}, []string{"org1/"}},
		{"org1 lists the symbol's alerts", w1, "GET", "/v1/alerts?symbol=" + sym, 200, []string{n1}, []string{n2}},
	} {
		r.g.t = t
		st, out := r.g.call(r.method, r.path, "")
		if st != r.status {
			t.Errorf("%s: %s %s = %d %.300s; want %d", r.name, r.method, r.path, st, out, r.status)
			continue
		}
		text := string(out)
		if st >= 400 { // the error shape; has and hasNot apply to its message
			c, msg := apiError(out)
			if c != "NOT_FOUND" {
				t.Errorf("%s: %s, want the error shape with NOT_FOUND", r.name, out)
			}
			text = msg
		}
		for _, s := range r.has {
			if !strings.Contains(text, s) {
				t.Errorf("%s: %.300s has no %s", r.name, text, s)
			}
		}
		for _, s := range r.hasNot {
			if strings.Contains(text, s) {
				t.Errorf("%s: %.300s holds %s", r.name, text, s)
			}
		}
	}
	// The stream replays in sequence order, org1's notification first (users in order): had
	// org2's streams carried it, it would come before org2's own.
	for _, q := range []string{"user=" + user + "&after=0", "symbol=" + sym + "&after=0"} {
		for _, l := range watcherSSE(t, w2, q, n2) {
			if strings.Contains(l, n1) {
				t.Errorf("org2's stream ?%s carries org1's notification: %s", q, l)
			}
		}
	}
	if l := watcherSSE(t, w1, "symbol="+sym+"&after=0", n1); !strings.Contains(l[len(l)-1], `"user":"`+user+`"`) {
		t.Errorf("org1's stream: %v", l)
	}
	w1.must(204, nil, "DELETE", "/v1/subscriptions/"+sub1.ID, "")
	w2.must(204, nil, "DELETE", "/v1/subscriptions/"+sub2.ID, "")
}

// watcherSSE reads the watcher's alert stream (SSE) with g's key until a data line contains
// until, and returns the data lines read.
func watcherSSE(t *testing.T, g *rest, query, until string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", g.base+"/v1/alerts/stream?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+g.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("stream ?%s: %v", query, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("stream ?%s: %d", query, resp.StatusCode)
	}
	var lines []string
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			lines = append(lines, d)
			if strings.Contains(d, until) {
				return lines
			}
		}
	}
	t.Fatalf("stream ?%s: no %s in %v", query, until, lines)
	return nil
}

// rawRequest writes a request verbatim (no client-side path cleaning) and returns the status
// and the body.
func rawRequest(t *testing.T, base, req string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// closedWithin trickles what send writes and reports how long the server took to close the
// connection (or to answer), up to limit.
func closedWithin(t *testing.T, addr string, limit time.Duration, send func(conn net.Conn) error) (time.Duration, bool) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		conn.SetReadDeadline(start.Add(limit))
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
		}
	}()
	go func() { _ = send(conn) }()
	<-done
	d := time.Since(start)
	return d, d < limit
}

// trickle writes s one byte per interval until it is written or the connection fails.
func trickle(conn net.Conn, s string, interval time.Duration) error {
	for i := 0; i < len(s); i++ {
		if _, err := conn.Write([]byte{s[i]}); err != nil {
			return err
		}
		time.Sleep(interval)
	}
	return nil
}

// TestSecuritySlowClients: a client that trickles its headers, or sends headers and then
// trickles the body, is cut off by the server (gateway: ReadHeaderTimeout 5 s, ReadTimeout
// 30 s; watcher: ReadHeaderTimeout 10 s and a ReadTimeout), freeing the connection; the
// half-sent write never reaches the ledger.
func TestSecuritySlowClients(t *testing.T) {
	g := gatewayOf(t, "org1")
	gw := strings.TrimPrefix(g.base, "http://")
	wa := strings.TrimPrefix(watcherBase(t), "http://")
	acct := openFunded(t, g, newSymbol(t, gatewayOf(t, "regulator")), "", "")
	body := `{"asset":"USD","amount":"1.00"}`
	cases := []struct {
		name, addr, req string
		limit           time.Duration
	}{
		{"gateway slow headers", gw, "GET /v1/instruments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + g.key + "\r\nX-Slow: " + strings.Repeat("a", 200) + "\r\n\r\n", 15 * time.Second},
		{"gateway slow body", gw, "POST /v1/accounts/" + acct + "/deposits?wait=commit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + g.key + "\r\nContent-Length: " + fmt.Sprint(len(body)+5000) + "\r\n\r\n" + body + strings.Repeat(" ", 5000), 45 * time.Second},
		{"watcher slow headers", wa, "GET /v1/subscriptions?user=x HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 200) + "\r\n\r\n", 20 * time.Second},
		{"watcher slow body", wa, "POST /v1/prices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + g.key + "\r\nContent-Length: 5000\r\n\r\n[" + strings.Repeat(" ", 4999), 45 * time.Second},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			head, rest, _ := strings.Cut(c.req, "\r\n\r\n")
			d, ok := closedWithin(t, c.addr, c.limit, func(conn net.Conn) error {
				if strings.Contains(c.name, "headers") {
					return trickle(conn, c.req, 200*time.Millisecond)
				}
				if _, err := io.WriteString(conn, head+"\r\n\r\n"); err != nil {
					return err
				}
				return trickle(conn, rest, 200*time.Millisecond)
			})
			if !ok {
				t.Errorf("the server kept a trickling client for %s (limit %s): set http.Server ReadHeaderTimeout/ReadTimeout", d.Round(time.Second), c.limit)
			} else {
				t.Logf("connection ended after %s", d.Round(100*time.Millisecond))
			}
		})
	}
	t.Cleanup(func() {
		var a restAccount
		g.t = t
		g.must(200, &a, "GET", "/v1/accounts/"+acct, "")
		if len(a.Balances) != 0 {
			t.Errorf("a body that never finished moved money: %v", a.Balances)
		}
	})
}
