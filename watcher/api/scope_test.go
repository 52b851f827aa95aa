package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/watcher/queue"
	"github.com/fabmarket/fabmarket/watcher/service"
	"github.com/fabmarket/fabmarket/watcher/store"
)

const key2 = "fedcba9876543210fedc" // org2's key of newServer

// scopeEnv is the API on a real service (memory store, embedded queue) over HTTP.
type scopeEnv struct {
	t   *testing.T
	svc *service.Service
	url string
}

func newScopeEnv(t *testing.T) *scopeEnv {
	t.Helper()
	q, err := queue.Open(context.Background(), queue.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := service.New(context.Background(), service.Config{Store: store.NewMemory(), Queue: q, DispatchPoll: 10 * time.Millisecond, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	keys, err := NewKeys(map[string]string{"org1": key, "org2": key2})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Watcher: svc, Keys: keys, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); srv.Close(); cancel(); <-done })
	return &scopeEnv{t: t, svc: svc, url: srv.URL}
}

// do sends a request with an org's key and returns the status and the body.
func (e *scopeEnv) do(k, method, path, body string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+k)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// must is do expecting code, decoding the answer into v (when not nil).
func (e *scopeEnv) must(code int, v any, k, method, path, body string) {
	e.t.Helper()
	st, out := e.do(k, method, path, body)
	if st != code {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, st, out, code)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(out), v); err != nil {
			e.t.Fatal(err)
		}
	}
}

// stream opens the SSE stream with an org's key and returns its data lines.
func (e *scopeEnv) stream(k, query string) <-chan string {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.url+"/v1/alerts/stream?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+k)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		e.t.Fatalf("stream %s: %v %v", query, err, resp)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	out := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				out <- d
			}
		}
		close(out)
	}()
	return out
}

// until reads a stream until a line contains want and returns the lines read.
func until(t *testing.T, lines <-chan string, want string) []string {
	t.Helper()
	var got []string
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stream ended before %q: %v", want, got)
			}
			got = append(got, l)
			if strings.Contains(l, want) {
				return got
			}
		case <-deadline:
			t.Fatalf("no %q on the stream: %v", want, got)
		}
	}
}

type alertList struct {
	Alerts []service.AlertView `json:"alerts"`
}

// TestOrgScoping: org1 creates user u1's subscription and settings and u1 is notified; org2,
// whose own u1 is another user, cannot list, read, delete or change any of it, read the
// notification or see it on the stream (404 where an id is named, exactly as for an id that
// does not exist); org1 can, and sees "u1", never its scope. A subscription stored without a
// scope (before scoping) is reached by no org.
func TestOrgScoping(t *testing.T) {
	e := newScopeEnv(t)
	var sub1, sub2 service.SubscriptionView
	e.must(201, &sub1, key, "POST", "/v1/subscriptions", `{"user":"u1","symbol":"ACME","channels":[{"type":"webhook","url":"http://127.0.0.1:9/one","secret":"sekrit-value"}]}`)
	e.must(201, &sub2, key2, "POST", "/v1/subscriptions", `{"user":"u1","symbol":"ACME","thresholds":["7"]}`)
	e.must(200, nil, key, "PUT", "/v1/users/u1/settings", `{"channels":[{"type":"email","to":"one@example.com"}],"maxPerHour":5}`)
	legacy, err := e.svc.Subscribe(context.Background(), service.SubscriptionRequest{User: "u1", Symbol: "ACME"})
	if err != nil {
		t.Fatal(err)
	}
	if sub1.User != "u1" || sub2.User != "u1" || sub1.ID == sub2.ID {
		t.Fatalf("created %+v and %+v", sub1, sub2)
	}

	// Streams open before the notifications: org1's and org2's, all users and u1 only.
	org1All, org2All, org2U1 := e.stream(key, ""), e.stream(key2, ""), e.stream(key2, "user=u1")
	for e.svc.Hub().Subscribers() < 3 {
		time.Sleep(time.Millisecond)
	}
	e.must(202, nil, key2, "POST", "/v1/events", `{"id":"q3","type":"EARNINGS_CALL","symbol":"ACME","title":"Q3"}`)
	var n1, n2 string // org1's and org2's u1's notification
	for deadline := time.Now().Add(10 * time.Second); n1 == "" || n2 == ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no notifications")
		}
		for k, n := range map[string]*string{key: &n1, key2: &n2} {
			var l alertList
			e.must(200, &l, k, "GET", "/v1/alerts?user=u1", "")
			if len(l.Alerts) > 0 {
				*n = l.Alerts[0].ID
			}
		}
	}
	// Notifications are published in user order, org1's first: had org2's streams got it,
	// it would come before org2's own.
	for _, lines := range [][]string{until(t, org2All, n2), until(t, org2U1, n2)} {
		for _, l := range lines {
			if strings.Contains(l, n1) || strings.Contains(l, "org2/") {
				t.Errorf("org2's stream: %s", l)
			}
		}
	}
	if l := until(t, org1All, n1); strings.Contains(l[len(l)-1], "org1/") || !strings.Contains(l[len(l)-1], `"user":"u1"`) {
		t.Errorf("org1's stream: %v", l)
	}

	missing := func(what, id string) string {
		return `{"error":{"code":"NOT_FOUND","message":"` + what + ` \"` + id + `\" not found"}}`
	}
	tests := []struct {
		name, key, method, path, body string
		code                          int
		has, hasNot                   []string // substrings of the answer
	}{
		{"org1 lists u1", key, "GET", "/v1/subscriptions?user=u1", "", 200, []string{sub1.ID, `"user":"u1"`}, []string{sub2.ID, legacy.ID, "org1/", "sekrit"}},
		{"org2 lists its own u1", key2, "GET", "/v1/subscriptions?user=u1", "", 200, []string{sub2.ID}, []string{sub1.ID, legacy.ID, "org2/"}},
		{"org1 reads", key, "GET", "/v1/subscriptions/" + sub1.ID, "", 200, []string{`"user":"u1"`, "127.0.0.1:9/one"}, []string{"org1/", "sekrit"}},
		{"org2 reads", key2, "GET", "/v1/subscriptions/" + sub1.ID, "", 404, []string{missing("subscription", sub1.ID)}, nil},
		{"org2 deletes", key2, "DELETE", "/v1/subscriptions/" + sub1.ID, "", 404, []string{missing("subscription", sub1.ID)}, nil},
		{"no such subscription", key2, "GET", "/v1/subscriptions/sub_nope", "", 404, []string{missing("subscription", "sub_nope")}, nil},
		{"org1 reads a legacy one", key, "GET", "/v1/subscriptions/" + legacy.ID, "", 404, []string{missing("subscription", legacy.ID)}, nil},
		{"org2 changes its own u1", key2, "PUT", "/v1/users/u1/settings", `{"channels":[{"type":"email","to":"evil@example.com"}]}`, 200, []string{`"user":"u1"`, "evil@"}, []string{"org2/"}},
		{"org1's settings unchanged", key, "GET", "/v1/users/u1/settings", "", 200, []string{`"user":"u1"`, "one@example.com", `"maxPerHour":5`}, []string{"evil@", "org1/"}},
		{"org2 reads its own settings", key2, "GET", "/v1/users/u1/settings", "", 200, []string{"evil@"}, []string{"one@"}},
		{"org1 lists u1's alerts", key, "GET", "/v1/alerts?user=u1", "", 200, []string{n1, `"user":"u1"`}, []string{n2, "org1/"}},
		{"org1 lists all its alerts", key, "GET", "/v1/alerts", "", 200, []string{n1}, []string{n2}},
		{"org2 lists u1's alerts", key2, "GET", "/v1/alerts?user=u1&symbol=ACME", "", 200, []string{n2}, []string{n1}},
		{"org2 lists all its alerts", key2, "GET", "/v1/alerts?after=0", "", 200, []string{n2}, []string{n1}},
		{"org1 reads the notification", key, "GET", "/v1/notifications/" + n1, "", 200, []string{`"user":"u1"`, "127.0.0.1:9/one"}, []string{"org1/"}},
		{"org2 reads the notification", key2, "GET", "/v1/notifications/" + n1, "", 404, []string{missing("notification", n1)}, nil},
		{"no such notification", key2, "GET", "/v1/notifications/n_nope", "", 404, []string{missing("notification", "n_nope")}, nil},
		{"a user id with a scope", key2, "POST", "/v1/subscriptions", `{"user":"org1/u1","symbol":"ACME"}`, 400, []string{"INVALID_ARGUMENT", `\"org1/u1\"`}, []string{"org2/"}},
		{"org1 deletes", key, "DELETE", "/v1/subscriptions/" + sub1.ID, "", 204, nil, nil},
		{"org2's subscription stays", key2, "GET", "/v1/subscriptions/" + sub2.ID, "", 200, []string{sub2.ID}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			st, out := e.do(tc.key, tc.method, tc.path, tc.body)
			if st != tc.code {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, st, out, tc.code)
			}
			for _, s := range tc.has {
				if !strings.Contains(out, s) {
					t.Errorf("answer %s: no %s", out, s)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(out, s) {
					t.Errorf("answer %s: holds %s", out, s)
				}
			}
		})
	}
	e.t = t
	// Replays (?after=) are scoped too.
	for _, l := range until(t, e.stream(key2, "after=0"), n2) {
		if strings.Contains(l, n1) {
			t.Errorf("org2's replay: %s", l)
		}
	}
}
