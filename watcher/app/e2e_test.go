package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/fabmarket/fabmarket/watcher/notify"
	"github.com/fabmarket/fabmarket/watcher/service"
	"github.com/fabmarket/fabmarket/watcher/smtptest"
)

const secret = "test-webhook-secret"

// receiver is a webhook endpoint that verifies signatures and counts deliveries by id.
type receiver struct {
	mu    sync.Mutex
	byID  map[string]int
	bad   int
	block chan struct{} // when set, requests wait on it (a stuck receiver)
	srv   *httptest.Server
	got   chan map[string]any
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{byID: map[string]int{}, got: make(chan map[string]any, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		block := r.block
		r.mu.Unlock()
		if block != nil {
			select {
			case <-block:
			case <-req.Context().Done():
				return
			}
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if !notify.Verify([]byte(secret), body, req.Header.Get(notify.SignatureHeader)) {
			r.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		r.byID[m["id"].(string)]++
		r.got <- m
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.byID {
		n += c
	}
	return n
}

type env struct {
	t    *testing.T
	dir  string
	smtp *smtptest.Server
	hook *receiver
	key  string
}

func newEnv(t *testing.T) *env {
	s, err := smtptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &env{t: t, dir: t.TempDir(), smtp: s, hook: newReceiver(t)}
}

func (e *env) config() Config {
	return Config{RunDir: e.dir, Listen: "127.0.0.1:0", NATSListen: "none", SMTPAddr: e.smtp.Addr(), WebhookSecret: secret, WebhookAllowPrivate: true,
		Backoff: notify.Backoff{Base: 50 * time.Millisecond, Max: time.Second, MaxAttempts: 5},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// start runs an app on the env's directory until the returned stop is called.
func (e *env) start() (*App, func()) {
	e.t.Helper()
	cfg := e.config()
	if err := cfg.Validate(); err != nil {
		e.t.Fatal(err)
	}
	a, err := New(context.Background(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(e.dir, "apikeys.json"))
	var keys map[string]string
	json.Unmarshal(raw, &keys)
	e.key = keys["org2"]
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	var once sync.Once
	return a, func() {
		once.Do(func() {
			cancel()
			<-done
			a.Close()
		})
	}
}

func (e *env) do(a *App, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, "http://"+a.Addr()+path, rd)
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func subscribe(e *env, a *App, user, sym string) string {
	code, body := e.do(a, "POST", "/v1/subscriptions", map[string]any{"user": user, "symbol": sym,
		"channels": []map[string]string{{"type": "webhook", "url": e.hook.srv.URL}, {"type": "email", "to": user + "@example.com"}}})
	if code != http.StatusCreated {
		e.t.Fatalf("subscribe: %d %s", code, body)
	}
	var v map[string]any
	json.Unmarshal(body, &v)
	if v["id"] == "" || len(v["thresholds"].([]any)) != 2 || v["windows"].([]any)[1] != "1w" {
		e.t.Fatalf("subscription defaults: %s", body)
	}
	return v["id"].(string)
}

// TestEndToEnd: a subscription, prices that move 6% within a day, exactly one signed webhook,
// one e-mail, one event on the SSE stream and one on the WebSocket, and the delivery states.
func TestEndToEnd(t *testing.T) {
	e := newEnv(t)
	a, stop := e.start()
	defer stop()
	subscribe(e, a, "u1", "ACME")

	// Live stream clients, connected before the move.
	req, _ := http.NewRequest("GET", "http://"+a.Addr()+"/v1/alerts/stream?user=u1", nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("sse: %v %v", err, resp)
	}
	defer resp.Body.Close()
	sse := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				sse <- d
			}
		}
	}()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+a.Addr()+"/v1/alerts/stream?symbol=ACME&access_token="+e.key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	now := time.Now().UTC()
	code, body := e.do(a, "POST", "/v1/prices", []map[string]any{
		{"symbol": "ACME", "price": "100.00", "time": ts(now.Add(-25 * time.Hour))},
		{"symbol": "ACME", "price": 106, "time": ts(now)},
	})
	if code != http.StatusAccepted {
		t.Fatalf("prices: %d %s", code, body)
	}
	var hook map[string]any
	select {
	case hook = <-e.hook.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook")
	}
	for k, want := range map[string]string{"type": "PRICE_CHANGE", "symbol": "ACME", "window": "1d", "threshold": "5", "changePercent": "6.00", "price": "106.00", "referencePrice": "100.00"} {
		if hook[k] != want {
			t.Fatalf("webhook %s = %v, want %s (%v)", k, hook[k], want, hook)
		}
	}
	id := hook["id"].(string)
	select {
	case m := <-e.smtp.Received():
		if m.To[0] != "u1@example.com" || !strings.Contains(m.Data, id) {
			t.Fatalf("mail %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no e-mail")
	}
	select {
	case d := <-sse:
		if !strings.Contains(d, id) || !strings.Contains(d, `"user":"u1"`) {
			t.Fatalf("sse data %s", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing on the SSE stream")
	}
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := ws.ReadMessage(); err != nil || !strings.Contains(string(msg), id) {
		t.Fatalf("websocket: %s %v", msg, err)
	}
	// The notification's delivery states settle to delivered.
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body = e.do(a, "GET", "/v1/notifications/"+id, nil)
		if code == 200 && strings.Contains(string(body), `"state":"delivered"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notification: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, body = e.do(a, "GET", "/v1/alerts?user=u1&symbol=ACME", nil)
	var list struct{ Alerts []map[string]any }
	json.Unmarshal(body, &list)
	if code != 200 || len(list.Alerts) != 1 {
		t.Fatalf("alerts: %d %s", code, body)
	}
	// Nothing more arrives: exactly one webhook and one e-mail.
	time.Sleep(300 * time.Millisecond)
	if e.hook.total() != 1 || len(e.smtp.Mails()) != 1 || e.hook.bad != 0 {
		t.Fatalf("webhooks %d (bad %d), mails %d: want exactly one each", e.hook.total(), e.hook.bad, len(e.smtp.Mails()))
	}
	// An EARNINGS_CALL event reaches the same user.
	code, body = e.do(a, "POST", "/v1/events", map[string]any{"type": "EARNINGS_CALL", "symbol": "ACME", "title": "Q3 call", "message": "Tomorrow 14:00 UTC"})
	if code != http.StatusAccepted || !strings.Contains(string(body), `"recipients":1`) {
		t.Fatalf("event: %d %s", code, body)
	}
	select {
	case m := <-e.hook.got:
		if m["type"] != "EARNINGS_CALL" || m["title"] != "Q3 call" {
			t.Fatalf("event webhook %v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event webhook")
	}
	// Metrics and health.
	if code, body := e.do(a, "GET", "/metrics", nil); code != 200 || !strings.Contains(string(body), "watcher_delivery_latency_seconds") {
		t.Fatalf("metrics %d", code)
	}
}

// TestCrashBetweenQueueAndDelivery queues an alert with a watcher that never consumes it
// (stopped before its notifier ran), restarts on the same data directory, and checks that
// the alert is delivered exactly once, also across a further restart. A second alert is
// recorded but its webhook is stuck when the watcher stops: after the restart it is delivered
// with the same notification id.
func TestCrashBetweenQueueAndDelivery(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.Validate()
	a, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc := a.Service()
	ctx := context.Background()
	if _, err := svc.Subscribe(ctx, service.SubscriptionRequest{User: "u1", Symbol: "ACME", Windows: []string{"1d"},
		Channels: []service.ChannelSpec{{Type: "webhook", URL: e.hook.srv.URL}}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ticks := []service.Tick{{Symbol: "ACME", Price: 100_000000, Time: now.Add(-25 * time.Hour)}, {Symbol: "ACME", Price: 107_000000, Time: now}}
	res, err := svc.Ingest(ctx, "rest", ticks, nil)
	if err != nil || res.Messages != 1 {
		t.Fatalf("ingest %+v %v", res, err)
	}
	a.Close() // "crash": the fan-out message is queued, nothing consumed or delivered

	a, stop := e.start()
	select {
	case <-e.hook.got:
	case <-time.After(15 * time.Second):
		t.Fatal("queued alert not delivered after restart")
	}
	// Second alert: the receiver hangs, the watcher stops mid-delivery.
	e.hook.mu.Lock()
	e.hook.block = make(chan struct{})
	e.hook.mu.Unlock()
	code, body := e.do(a, "POST", "/v1/prices", []map[string]any{{"symbol": "ACME", "price": "95", "time": ts(now.Add(time.Second))}})
	if code != http.StatusAccepted {
		t.Fatalf("prices %d %s", code, body)
	}
	time.Sleep(500 * time.Millisecond) // the attempt is in flight, blocked
	stop()
	e.hook.mu.Lock()
	close(e.hook.block)
	e.hook.block = nil
	e.hook.mu.Unlock()

	_, stop = e.start()
	defer stop()
	select {
	case m := <-e.hook.got:
		if m["changePercent"] != "-5.00" && m["changePercent"] != "-11.21" {
			t.Fatalf("second alert %v", m)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("in-flight alert not delivered after restart")
	}
	time.Sleep(time.Second)
	stop()
	_, stop = e.start()
	time.Sleep(time.Second)
	e.hook.mu.Lock()
	defer e.hook.mu.Unlock()
	if len(e.hook.byID) != 2 {
		t.Fatalf("distinct notifications %d, want 2: %v", len(e.hook.byID), e.hook.byID)
	}
	for id, n := range e.hook.byID {
		if n != 1 {
			t.Fatalf("notification %s acknowledged %d times", id, n)
		}
	}
}

// TestBadInputsChangeNothing: each bad request gets its 4xx and the state is unchanged (a
// following valid move still fires exactly once, from the same reference).
func TestBadInputsChangeNothing(t *testing.T) {
	e := newEnv(t)
	a, stop := e.start()
	defer stop()
	subscribe(e, a, "u1", "ACME")
	now := time.Now().UTC()
	base := []map[string]any{{"symbol": "ACME", "price": "100", "time": ts(now.Add(-25 * time.Hour))}}
	if code, body := e.do(a, "POST", "/v1/prices", base); code != 202 {
		t.Fatalf("base %d %s", code, body)
	}
	big := make([]map[string]any, 1001)
	for i := range big {
		big[i] = map[string]any{"symbol": "ACME", "price": "200", "time": ts(now)}
	}
	bad := []struct {
		name string
		body any
		code int
	}{
		{"unknown symbol", []map[string]any{{"symbol": "ACME", "price": "200", "time": ts(now)}, {"symbol": "NOPE", "price": "1", "time": ts(now)}}, 422},
		{"negative price", []map[string]any{{"symbol": "ACME", "price": "200", "time": ts(now)}, {"symbol": "ACME", "price": "-5", "time": ts(now)}}, 400},
		{"zero price", []map[string]any{{"symbol": "ACME", "price": "0", "time": ts(now)}}, 400},
		{"price not a number", []map[string]any{{"symbol": "ACME", "price": "1e3", "time": ts(now)}}, 400},
		{"malformed time", []map[string]any{{"symbol": "ACME", "price": "200", "time": "yesterday"}}, 400},
		{"time in the future", []map[string]any{{"symbol": "ACME", "price": "200", "time": ts(now.Add(time.Hour))}}, 422},
		{"older than the newest tick", []map[string]any{{"symbol": "ACME", "price": "200", "time": ts(now.Add(-48 * time.Hour))}}, 409},
		{"oversized batch", big, 413},
		{"empty batch", []map[string]any{}, 400},
		{"not an array", `{"symbol":"ACME"}`, 400},
		{"malformed JSON", `[{"symbol":`, 400},
		{"bad symbol", []map[string]any{{"symbol": "AC ME", "price": "1", "time": ts(now)}}, 400},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.do(a, "POST", "/v1/prices", tc.body)
			var eb struct {
				Error struct{ Code, Message string }
			}
			if code != tc.code || json.Unmarshal(body, &eb) != nil || eb.Error.Code == "" || eb.Error.Message == "" {
				t.Fatalf("got %d %s, want %d with an error body", code, body, tc.code)
			}
		})
	}
	other := []struct {
		name, method, path string
		body               any
		code               int
		key                string
	}{
		{"no key", "GET", "/v1/alerts", nil, 401, "-"},
		{"wrong key", "GET", "/v1/alerts", nil, 401, "wrong-key-wrong-key"},
		{"missing subscription", "GET", "/v1/subscriptions/sub_nope", nil, 404, ""},
		{"delete missing", "DELETE", "/v1/subscriptions/sub_nope", nil, 404, ""},
		{"missing notification", "GET", "/v1/notifications/n_nope", nil, 404, ""},
		{"bad threshold", "POST", "/v1/subscriptions", map[string]any{"user": "u2", "symbol": "ACME", "thresholds": []string{"-5"}}, 400, ""},
		{"bad window", "POST", "/v1/subscriptions", map[string]any{"user": "u2", "symbol": "ACME", "windows": []string{"1h"}}, 400, ""},
		{"bad webhook url", "POST", "/v1/subscriptions", map[string]any{"user": "u2", "symbol": "ACME", "channels": []map[string]string{{"type": "webhook", "url": "ftp://x"}}}, 400, ""},
		{"bad email", "POST", "/v1/subscriptions", map[string]any{"user": "u2", "symbol": "ACME", "channels": []map[string]string{{"type": "email", "to": "nope"}}}, 400, ""},
		{"duplicate subscription", "POST", "/v1/subscriptions", map[string]any{"user": "u1", "symbol": "ACME",
			"channels": []map[string]string{{"type": "webhook", "url": e.hook.srv.URL}, {"type": "email", "to": "u1@example.com"}}}, 409, ""},
		{"list without user", "GET", "/v1/subscriptions", nil, 400, ""},
		{"bad settings", "PUT", "/v1/users/u1/settings", map[string]any{"quietHours": map[string]string{"start": "25:00", "end": "07:00"}}, 400, ""},
		{"bad zone", "PUT", "/v1/users/u1/settings", map[string]any{"quietHours": map[string]string{"start": "22:00", "end": "07:00", "timeZone": "Mars/Olympus"}}, 400, ""},
		{"event unknown symbol", "POST", "/v1/events", map[string]any{"type": "BREAKING_NEWS", "symbol": "NOPE", "title": "x"}, 422, ""},
		{"event bad type", "POST", "/v1/events", map[string]any{"type": "PRICE_CHANGE", "symbol": "ACME", "title": "x"}, 400, ""},
		{"no route", "GET", "/v1/nope", nil, 404, ""},
	}
	for _, tc := range other {
		t.Run(tc.name, func(t *testing.T) {
			saved := e.key
			if tc.key == "-" {
				e.key = ""
			} else if tc.key != "" {
				e.key = tc.key
			}
			code, body := e.do(a, tc.method, tc.path, tc.body)
			e.key = saved
			if code != tc.code || !strings.Contains(string(body), `"error":{"code":`) {
				t.Fatalf("got %d %s, want %d", code, body, tc.code)
			}
		})
	}
	// Nothing changed: the valid move fires exactly once against the 100 reference.
	if code, body := e.do(a, "POST", "/v1/prices", []map[string]any{{"symbol": "ACME", "price": "106", "time": ts(now)}}); code != 202 {
		t.Fatalf("valid %d %s", code, body)
	}
	select {
	case m := <-e.hook.got:
		if m["referencePrice"] != "100.00" || m["changePercent"] != "6.00" {
			t.Fatalf("alert %v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no alert after the bad inputs")
	}
	time.Sleep(200 * time.Millisecond)
	if n := e.hook.total(); n != 1 {
		t.Fatalf("webhooks %d, want 1", n)
	}

}
