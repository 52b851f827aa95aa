package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/watcher/queue"
	"github.com/fabmarket/fabmarket/watcher/service"
	"github.com/fabmarket/fabmarket/watcher/store"
)

// fuzzWatcher is one real service (memory store, embedded JetStream queue) behind the API,
// shared by the inputs of a fuzz worker: starting JetStream per input would be too slow.
var fuzzWatcher struct {
	once sync.Once
	svc  *service.Service
	srv  *Server
	err  error
}

func realServer(t *testing.T) (*service.Service, *Server) {
	fuzzWatcher.once.Do(func() {
		dir, err := os.MkdirTemp("", "watcher-fuzz-")
		if err != nil {
			fuzzWatcher.err = err
			return
		}
		ctx := context.Background()
		q, err := queue.Open(ctx, queue.Config{StoreDir: dir})
		if err != nil {
			fuzzWatcher.err = err
			return
		}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		svc, err := service.New(ctx, service.Config{Store: store.NewMemory(), Queue: q, Log: log, DispatchPoll: time.Hour})
		if err != nil {
			fuzzWatcher.err = err
			return
		}
		go svc.Run(ctx)
		keys, err := NewKeys(map[string]string{"org1": key, "org2": "fedcba9876543210fedc"})
		if err != nil {
			fuzzWatcher.err = err
			return
		}
		srv, err := New(Config{Watcher: svc, Keys: keys, MaxBatch: 50, MaxBody: 8192, Log: log})
		if err != nil {
			fuzzWatcher.err = err
			return
		}
		if _, err := svc.Subscribe(ctx, service.SubscriptionRequest{User: "fuzz-user", Symbol: "ACME"}); err != nil {
			fuzzWatcher.err = err
			return
		}
		fuzzWatcher.svc, fuzzWatcher.srv = svc, srv
	})
	if fuzzWatcher.err != nil {
		t.Fatal(fuzzWatcher.err)
	}
	return fuzzWatcher.svc, fuzzWatcher.srv
}

// watcherRoutes are the routes of the watcher that read a body.
var watcherRoutes = []struct{ method, path, seed string }{
	{"POST", "/v1/subscriptions", `{"user":"alice","symbol":"ACME","thresholds":["5",7.5],"windows":["1d","1w"],"directions":["up","down"],"channels":[{"type":"webhook","url":"http://127.0.0.1:9/hook","secret":"s3cr3t"},{"type":"email","to":"a@example.com"},{"type":"stream"}]}`},
	{"POST", "/v1/prices", `[{"symbol":"ACME","price":"20.30","time":"2025-01-02T15:04:05Z"},{"symbol":"ACME","price":20.31}]`},
	{"POST", "/v1/events", `{"id":"ev-1","type":"EARNINGS_CALL","symbol":"ACME","title":"Q3","message":"call at 5pm","time":"2025-01-02T15:04:05Z"}`},
	{"PUT", "/v1/users/alice/settings", `{"channels":[{"type":"email","to":"a@example.com"}],"quietHours":{"start":"22:00","end":"07:00","timezone":"Europe/Berlin"},"maxPerHour":5}`},
}

// FuzzWatcherBodies sends arbitrary bodies to the watcher's body routes backed by a real
// service. Properties: never a 500 (a panic is recovered as one); statuses of the contract
// with the error shape; a refused subscription changes no subscription of its user; a refused
// price batch adds no symbol and no alert (the batch is validated whole before any tick).
func FuzzWatcherBodies(f *testing.F) {
	for i, r := range watcherRoutes {
		f.Add(uint8(i), []byte(r.seed))
		f.Add(uint8(i), []byte(strings.Replace(r.seed, `"ACME"`, `"AC/ME"`, 1)))
		f.Add(uint8(i), []byte(r.seed+"x"))
	}
	for i, s := range []string{``, `{}`, `[]`, `null`, `[{}]`, `[{"symbol":"ACME","price":"-1"}]`, `[{"symbol":"ACME","price":"1e400"}]`,
		`[{"symbol":"ACME","price":"0.0000001"}]`, `[{"symbol":"NEWSYM","price":"1"}]`, `[{"symbol":"ACME","price":"1","time":"3000-01-01T00:00:00Z"}]`,
		`{"user":"` + strings.Repeat("u", 300) + `","symbol":"ACME"}`, `{"user":"bob","symbol":"ACME","thresholds":[0.001]}`,
		`{"user":"bob","symbol":"ACME","user":"eve"}`, `{"user":"bob","symbol":"ACME","admin":true}`, `{"user":1}`,
		`{"channels":[{"type":"webhook","url":"file:///etc/passwd"}]}`, `{"channels":[{"type":"webhook","url":"http://169.254.169.254/latest"}]}`,
		`{"quietHours":{"start":"25:00","end":"x","timezone":"../../etc/localtime"}}`, `{"maxPerHour":-1}`, strings.Repeat(`[`, 5000)} {
		f.Add(uint8(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, ri uint8, body []byte) {
		svc, srv := realServer(t)
		r := watcherRoutes[int(ri)%len(watcherRoutes)]
		var probe struct {
			User string `json:"user"`
		}
		_ = json.Unmarshal(body, &probe)
		var before []store.Subscription
		if r.path == "/v1/subscriptions" && probe.User != "" {
			before, _ = svc.ListSubscriptions(context.Background(), probe.User)
		}
		symbols := len(svc.Symbols())
		alerts, _ := svc.Alerts(context.Background(), "fuzz-user", "", 0, 1000)
		req := httptest.NewRequest(r.method, r.path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		what := fmt.Sprintf("%s %s %q", r.method, r.path, body)
		switch w.Code {
		case 200, 201, 202:
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("%s: %d %q", what, w.Code, w.Body)
			}
			return
		case 400, 404, 409, 413, 422:
		default:
			t.Fatalf("%s: %d %s", what, w.Code, w.Body)
		}
		var e errBody
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%s: %d with %q", what, w.Code, w.Body)
		}
		if st, ok := codeStatus[e.Error.Code]; !ok || st != w.Code {
			t.Fatalf("%s: %d with code %s", what, w.Code, e.Error.Code)
		}
		if r.path == "/v1/subscriptions" && probe.User != "" {
			after, _ := svc.ListSubscriptions(context.Background(), probe.User)
			if len(after) != len(before) {
				t.Fatalf("%s: refused (%s) but %d → %d subscriptions", what, e.Error.Code, len(before), len(after))
			}
		}
		if r.path == "/v1/prices" {
			if n := len(svc.Symbols()); n != symbols {
				t.Fatalf("%s: refused (%s) but symbols %d → %d", what, e.Error.Code, symbols, n)
			}
			if a, _ := svc.Alerts(context.Background(), "fuzz-user", "", 0, 1000); len(a) != len(alerts) {
				t.Fatalf("%s: refused (%s) but alerts %d → %d", what, e.Error.Code, len(alerts), len(a))
			}
		}
	})
}

// FuzzPriceBatch feeds arbitrary batches to the service's price parser directly (the decoder
// of POST /v1/prices and of the NATS tick subject): never a panic; an accepted tick has a
// valid symbol and a positive price that formats back to the number sent.
func FuzzPriceBatch(f *testing.F) {
	for _, s := range []string{`[{"symbol":"ACME","price":"20.30"}]`, `[{"symbol":"ACME","price":20.3,"time":"2025-01-02T15:04:05.123+01:00"}]`,
		`[{"symbol":"ACME","price":"0.000001"}]`, `[{"symbol":"ACME","price":"0.0000001"}]`, `[{"symbol":"ACME","price":"9223372036854.775807"}]`,
		`[{"symbol":"ACME","price":"9223372036854.775808"}]`, `[{"symbol":"ACME","price":"-0"}]`, `[{"symbol":"ACME","price":"1e3"}]`,
		`[{"symbol":"","price":"1"}]`, `[{"symbol":"ACME","price":null}]`, `[{"symbol":"ACME","price":true}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		svc, _ := realServer(t)
		var reqs []service.PriceRequest
		if json.Unmarshal(raw, &reqs) != nil {
			return
		}
		ticks, err := svc.ParsePrices(reqs)
		if err != nil {
			if service.CodeOf(err) != service.CodeInvalidArgument {
				t.Fatalf("ParsePrices(%s): %v", raw, err)
			}
			return
		}
		if len(ticks) != len(reqs) {
			t.Fatalf("ParsePrices(%s): %d ticks", raw, len(ticks))
		}
		for i, tk := range ticks {
			if !service.ValidSymbol(tk.Symbol) || tk.Price <= 0 {
				t.Fatalf("ParsePrices(%s)[%d] = %+v", raw, i, tk)
			}
			if back := service.FormatPrice(tk.Price, service.DefaultScale); !sameNumber(back, string(reqs[i].Price)) {
				t.Fatalf("price %q → %d → %q", reqs[i].Price, tk.Price, back)
			}
		}
	})
}

// sameNumber compares two plain decimals ignoring leading and trailing zeros.
func sameNumber(a, b string) bool {
	norm := func(s string) string {
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		s = strings.TrimLeft(s, "0")
		if s == "" || s[0] == '.' {
			s = "0" + s
		}
		return s
	}
	return norm(a) == norm(b)
}

var _ http.Handler = (*Server)(nil)
