package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fabmarket/fabmarket/watcher/notify"
	"github.com/fabmarket/fabmarket/watcher/service"
	"github.com/fabmarket/fabmarket/watcher/store"
)

// countingWatcher is the fake watcher that also counts the calls that would change state.
type countingWatcher struct {
	fakeWatcher
	writes int
}

func (c *countingWatcher) Subscribe(ctx context.Context, r service.SubscriptionRequest) (store.Subscription, error) {
	c.writes++
	return c.fakeWatcher.Subscribe(ctx, r)
}
func (c *countingWatcher) PutSettings(ctx context.Context, u string, s service.SettingsSpec) (service.Settings, error) {
	c.writes++
	return c.fakeWatcher.PutSettings(ctx, u, s)
}
func (c *countingWatcher) Ingest(ctx context.Context, src string, t []service.Tick, cp map[string][]byte) (service.IngestResult, error) {
	c.writes++
	return c.fakeWatcher.Ingest(ctx, src, t, cp)
}
func (c *countingWatcher) PostEvent(ctx context.Context, r service.EventRequest) (service.EventResult, error) {
	c.writes++
	return c.fakeWatcher.PostEvent(ctx, r)
}

// watcherRoutes are the routes of the watcher that read a body.
var watcherRoutes = []struct{ method, path, seed string }{
	{"POST", "/v1/subscriptions", `{"user":"alice","symbol":"ACME","thresholds":["5",7.5],"windows":["1d","1w"],"directions":["up","down"],"channels":[{"type":"webhook","url":"http://127.0.0.1:9/hook","secret":"s3cr3t"},{"type":"email","to":"a@example.com"},{"type":"stream"}]}`},
	{"POST", "/v1/prices", `[{"symbol":"ACME","price":"20.30","time":"2025-01-02T15:04:05Z"},{"symbol":"ACME","price":20.31}]`},
	{"POST", "/v1/events", `{"id":"ev-1","type":"EARNINGS_CALL","symbol":"ACME","title":"Q3","message":"call at 5pm","time":"2025-01-02T15:04:05Z"}`},
	{"PUT", "/v1/users/alice/settings", `{"channels":[{"type":"email","to":"a@example.com"}],"quietHours":{"start":"22:00","end":"07:00","timeZone":"Europe/Berlin"},"maxPerHour":5}`},
}

// FuzzWatcherBodies sends arbitrary bodies to the watcher's body routes (the service's own
// validation is fuzzed in watcher/service). Properties: never a 500 (a panic is recovered as
// one); the contract's statuses with the error shape and a code whose status is the answer's;
// a body the API refuses (malformed, too large, an empty or oversized batch) reaches no
// state-changing call of the service; an accepted one exactly one.
func FuzzWatcherBodies(f *testing.F) {
	for i, r := range watcherRoutes {
		f.Add(uint8(i), []byte(r.seed))
		f.Add(uint8(i), []byte(r.seed+"x"))
		f.Add(uint8(i), []byte(strings.Replace(r.seed, `":"`, `":`, 1)))
	}
	for i, s := range []string{``, `{}`, `[]`, `null`, `[{}]`, `[` + strings.Repeat(`{"symbol":"A","price":"1"},`, 60) + `{}]`, `{"user":1}`,
		`{"user":"bob","symbol":"ACME","user":"eve"}`, `{"user":"bob","admin":true}`, strings.Repeat(`[`, 5000), "\xef\xbb\xbf{}", `{"a":"` + strings.Repeat("x", 9000) + `"}`} {
		f.Add(uint8(i), []byte(s))
	}
	keys, err := NewKeys(map[string]string{"org1": key})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ri uint8, body []byte) {
		r := watcherRoutes[int(ri)%len(watcherRoutes)]
		w := &countingWatcher{fakeWatcher: fakeWatcher{hub: notify.NewHub(), ready: true}}
		srv, err := New(Config{Watcher: w, Keys: keys, MaxBatch: 50, MaxBody: 8192, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(r.method, r.path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		what := fmt.Sprintf("%s %s %q", r.method, r.path, body)
		switch rec.Code {
		case 200, 201, 202:
			if !json.Valid(rec.Body.Bytes()) || w.writes != 1 {
				t.Fatalf("%s: %d %q after %d writes", what, rec.Code, rec.Body, w.writes)
			}
			return
		case 400, 413:
		default:
			t.Fatalf("%s: %d %s", what, rec.Code, rec.Body)
		}
		var e errBody
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%s: %d with %q", what, rec.Code, rec.Body)
		}
		if st, ok := codeStatus[e.Error.Code]; !ok || st != rec.Code {
			t.Fatalf("%s: %d with code %s", what, rec.Code, e.Error.Code)
		}
		if w.writes != 0 {
			t.Fatalf("%s: refused (%s) after %d state-changing calls", what, e.Error.Code, w.writes)
		}
	})
}
