package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/fabmarket/fabmarket/watcher/notify"
	"github.com/fabmarket/fabmarket/watcher/service"
	"github.com/fabmarket/fabmarket/watcher/store"
)

// fakeWatcher answers every call with canned values or a configured error.
type fakeWatcher struct {
	err    error
	ticks  []service.Tick
	hub    *notify.Hub
	ready  bool
	stored store.Subscription
}

func (f *fakeWatcher) Subscribe(_ context.Context, r service.SubscriptionRequest) (store.Subscription, error) {
	f.stored = store.Subscription{ID: "sub_1", User: r.User, Symbol: r.Symbol, Thresholds: []string{"5", "10"}, Windows: []string{"1d", "1w"}}
	return f.stored, f.err
}
func (f *fakeWatcher) GetSubscription(_ context.Context, id string) (store.Subscription, error) {
	if f.stored.ID == "" {
		return store.Subscription{ID: id, User: "org1/u1", Symbol: "ACME"}, f.err
	}
	return f.stored, f.err
}
func (f *fakeWatcher) ListSubscriptions(context.Context, string) ([]store.Subscription, error) {
	return []store.Subscription{f.stored}, f.err
}
func (f *fakeWatcher) Unsubscribe(context.Context, string) error { return f.err }
func (f *fakeWatcher) PutSettings(_ context.Context, _ string, spec service.SettingsSpec) (service.Settings, error) {
	return service.Settings{Spec: spec}, f.err
}
func (f *fakeWatcher) GetSettings(string) service.Settings { return service.Settings{} }
func (f *fakeWatcher) ParsePrices(reqs []service.PriceRequest) ([]service.Tick, error) {
	return make([]service.Tick, len(reqs)), nil
}
func (f *fakeWatcher) Ingest(_ context.Context, _ string, t []service.Tick, _ map[string][]byte) (service.IngestResult, error) {
	f.ticks = append(f.ticks, t...)
	return service.IngestResult{Accepted: len(t)}, f.err
}
func (f *fakeWatcher) PostEvent(context.Context, service.EventRequest) (service.EventResult, error) {
	return service.EventResult{ID: "ev_1"}, f.err
}
func (f *fakeWatcher) Alerts(context.Context, store.Filter) ([]service.AlertView, error) {
	return []service.AlertView{}, f.err
}
func (f *fakeWatcher) Notification(context.Context, string) (service.AlertView, error) {
	return service.AlertView{}, f.err
}
func (f *fakeWatcher) Hub() *notify.Hub { return f.hub }
func (f *fakeWatcher) Ready() bool      { return f.ready }

const key = "0123456789abcdef0123"

func newServer(t *testing.T, w *fakeWatcher) *Server {
	keys, err := NewKeys(map[string]string{"org1": key, "org2": "fedcba9876543210fedc"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Watcher: w, Keys: keys, MaxBatch: 3, MaxBody: 4096})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRoutesMatchSpec keeps the router and /openapi.json in step, both ways.
func TestRoutesMatchSpec(t *testing.T) {
	s := newServer(t, &fakeWatcher{hub: notify.NewHub()})
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &spec); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for p, ops := range spec.Paths {
		for m := range ops {
			if m != "parameters" {
				documented = append(documented, strings.ToUpper(m)+" "+p)
			}
		}
	}
	routes := s.Routes()
	slices.Sort(documented)
	slices.Sort(routes)
	if !slices.Equal(documented, routes) {
		t.Fatalf("routes and spec differ:\n routes %v\n spec   %v", routes, documented)
	}
}

func TestHandlers(t *testing.T) {
	tests := []struct {
		name, method, path, body, auth string
		err                            error
		code                           int
		contains                       string
	}{
		{"health needs no key", "GET", "/healthz", "", "", nil, 200, `"ok"`},
		{"openapi needs no key", "GET", "/openapi.json", "", "", nil, 200, `"openapi"`},
		{"missing key", "GET", "/v1/alerts", "", "", nil, 401, "UNAUTHENTICATED"},
		{"not bearer", "GET", "/v1/alerts", "", "Basic " + key, nil, 401, "UNAUTHENTICATED"},
		{"any org key", "GET", "/v1/alerts", "", "Bearer fedcba9876543210fedc", nil, 200, `"alerts"`},
		{"create", "POST", "/v1/subscriptions", `{"user":"u1","symbol":"ACME"}`, "Bearer " + key, nil, 201, `"id":"sub_1"`},
		{"create conflict", "POST", "/v1/subscriptions", `{"user":"u1","symbol":"ACME"}`, "Bearer " + key, &service.Error{Code: service.CodeConflict, Message: "x"}, 409, "ALREADY_EXISTS"},
		{"unknown symbol", "POST", "/v1/prices", `[{"symbol":"X","price":"1"}]`, "Bearer " + key, &service.Error{Code: service.CodeUnknownSymbol, Message: "x"}, 422, "UNKNOWN_SYMBOL"},
		{"batch too large", "POST", "/v1/prices", `[{},{},{},{}]`, "Bearer " + key, nil, 413, "PAYLOAD_TOO_LARGE"},
		{"body too large", "POST", "/v1/prices", "[" + strings.Repeat(" ", 5000) + "]", "Bearer " + key, nil, 413, "PAYLOAD_TOO_LARGE"},
		{"prices accepted", "POST", "/v1/prices", `[{"symbol":"A","price":"1"}]`, "Bearer " + key, nil, 202, `"accepted":1`},
		{"not found", "GET", "/v1/subscriptions/x", "", "Bearer " + key, &service.Error{Code: service.CodeNotFound, Message: "x"}, 404, "NOT_FOUND"},
		{"delete", "DELETE", "/v1/subscriptions/x", "", "Bearer " + key, nil, 204, ""},
		{"internal error hidden", "GET", "/v1/alerts", "", "Bearer " + key, context.DeadlineExceeded, 500, `"internal error"`},
		{"method not allowed", "PATCH", "/v1/prices", "", "Bearer " + key, nil, 405, "METHOD_NOT_ALLOWED"},
		{"bad after", "GET", "/v1/alerts?after=x", "", "Bearer " + key, nil, 400, "INVALID_ARGUMENT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, &fakeWatcher{err: tc.err, hub: notify.NewHub(), ready: true})
			w := httptest.NewRecorder()
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			s.ServeHTTP(w, req)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.contains) {
				t.Fatalf("got %d %s, want %d containing %q", w.Code, w.Body, tc.code, tc.contains)
			}
		})
	}
}

func TestStreamSSE(t *testing.T) {
	hub := notify.NewHub()
	s := newServer(t, &fakeWatcher{hub: hub, ready: true})
	srv := httptest.NewServer(s)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/v1/alerts/stream?user=u1&access_token="+key, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", err, resp)
	}
	defer resp.Body.Close()
	for hub.Subscribers() == 0 {
		time.Sleep(time.Millisecond)
	}
	hub.Publish(notify.StreamEvent{Seq: 6, User: "org2/u1", Data: []byte(`{"id":"other org","user":"org2/u1"}`)})
	hub.Publish(notify.StreamEvent{Seq: 7, User: "org1/u2", Data: []byte(`{"id":"other","user":"org1/u2"}`)})
	hub.Publish(notify.StreamEvent{Seq: 8, User: "org1/u1", Data: []byte(`{"id":"mine","user":"org1/u1"}`)})
	buf := make([]byte, 4096)
	got := ""
	for !strings.Contains(got, "mine") {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got += string(buf[:n])
	}
	if strings.Contains(got, "other") || strings.Contains(got, "org1/") || !strings.Contains(got, "id: 8\nevent: notification\ndata: {\"id\":\"mine\",") ||
		!strings.Contains(got, `"user":"u1"`) {
		t.Fatalf("stream %q", got)
	}
	s.Close()
}

func TestKeysReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.json")
	os.WriteFile(path, []byte(`{"org1":"aaaaaaaaaaaaaaaaaaaa"}`), 0o600)
	k, err := LoadKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k.Org("bbbbbbbbbbbbbbbbbbbb"); ok {
		t.Fatal("unknown key accepted")
	}
	os.WriteFile(path, []byte(`{"org1":"bbbbbbbbbbbbbbbbbbbb"}`), 0o600)
	os.Chtimes(path, time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	k.checked = time.Time{}
	if org, ok := k.Org("bbbbbbbbbbbbbbbbbbbb"); !ok || org != "org1" {
		t.Fatal("rewritten key file not picked up")
	}
	for _, bad := range []map[string]string{{}, {"org1": "short"}, {"a": "cccccccccccccccccccc", "b": "cccccccccccccccccccc"},
		{"org/1": "dddddddddddddddddddd"}, {"": "dddddddddddddddddddd"}, {"org 1": "dddddddddddddddddddd"}} {
		if _, err := NewKeys(bad); err == nil {
			t.Fatalf("%v accepted", bad)
		}
	}
}

func init() { gin.SetMode(gin.TestMode) }

// TestMalformedBodyEchoIsBounded: an unknown field of invalid UTF-8 bytes, which encoding/json
// quotes at six times its size, comes back clipped.
func TestMalformedBodyEchoIsBounded(t *testing.T) {
	s := newServer(t, &fakeWatcher{hub: notify.NewHub(), ready: true})
	w := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/v1/subscriptions", strings.NewReader(`{"`+strings.Repeat("\xed", 700)+`":1}`))
	req.Header.Set("Authorization", "Bearer "+key)
	s.ServeHTTP(w, req)
	var b errBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || w.Code != 400 || len(b.Error.Message) > 300 {
		t.Fatalf("got %d, message of %d bytes: %.200s", w.Code, len(b.Error.Message), w.Body)
	}
}
