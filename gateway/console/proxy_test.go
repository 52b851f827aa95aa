package console_test

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/gateway/console"
)

func TestWatcherProxyForwards(t *testing.T) {
	type seen struct{ method, uri, auth, body, fwd string }
	got := make(chan seen, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), string(b), r.Header.Get("X-Forwarded-Host")}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"s1"}`)
	}))
	defer backend.Close()
	p, err := console.NewWatcherProxy(backend.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/watcher/v1/subscriptions?x=%2B1", strings.NewReader(`{"user":"u"}`))
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("Cookie", "session=secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s := <-got
	if resp.StatusCode != 201 || string(body) != `{"id":"s1"}` {
		t.Fatalf("answer %d %s", resp.StatusCode, body)
	}
	if s.method != "POST" || s.uri != "/v1/subscriptions?x=%2B1" || s.auth != "Bearer k" || s.body != `{"user":"u"}` || s.fwd == "" {
		t.Fatalf("backend saw %+v", s)
	}
}

func TestWatcherProxyRefusesOtherPaths(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("forwarded %s", r.URL.Path)
	}))
	defer backend.Close()
	p, _ := console.NewWatcherProxy(backend.URL, nil)
	for _, path := range []string{"/watcher/metrics", "/watcher/openapi.json", "/watcher/", "/watcher/v1/../metrics", "/watcher/v1/./x", "/watcherx/v1/a", "/v1/alerts"} {
		w := httptest.NewRecorder()
		p.ServeHTTP(w, httptest.NewRequest("GET", "http://gw"+path, nil))
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		if w.Code != 404 || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error.Code != "NOT_FOUND" {
			t.Errorf("GET %s = %d %s", path, w.Code, w.Body)
		}
	}
}

func TestWatcherProxyDown(t *testing.T) {
	backend := httptest.NewServer(http.NotFoundHandler())
	url := backend.URL
	backend.Close() // nothing listens there now
	p, _ := console.NewWatcherProxy(url, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w := httptest.NewRecorder()
	p.ServeHTTP(w, httptest.NewRequest("GET", "http://gw/watcher/v1/alerts", nil))
	if w.Code != http.StatusBadGateway || !strings.Contains(w.Body.String(), `"UNAVAILABLE"`) {
		t.Fatalf("watcher down = %d %s", w.Code, w.Body)
	}
}

func TestWatcherProxyBadURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8090", "ftp://h", "http://", "http://h/?q=1", "::"} {
		if _, err := console.NewWatcherProxy(u, nil); err == nil {
			t.Errorf("NewWatcherProxy(%q) accepted", u)
		}
	}
	p, err := console.NewWatcherProxy(console.DefaultWatcherURL, nil)
	if err != nil || p.Target().Host != "127.0.0.1:8090" {
		t.Fatalf("default: %v %v", p, err)
	}
}

// TestWatcherProxyStreams: an SSE event reaches the client while the stream stays open (no
// buffering), and a client that leaves ends the upstream request.
func TestWatcherProxyStreams(t *testing.T) {
	upstreamDone := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(upstreamDone)
		if r.URL.Query().Get("access_token") != "k" {
			http.Error(w, "no key", 401)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "id: 1\nevent: notification\ndata: {\"seq\":1}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // open until the client goes
	}))
	defer backend.Close()
	p, _ := console.NewWatcherProxy(backend.URL, nil)
	srv := httptest.NewServer(p)
	defer srv.Close()

	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(srv.URL + "/watcher/v1/alerts/stream?user=u&access_token=k")
	if err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(resp.Body)
	var lines []string
	for len(lines) < 3 {
		l, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", lines, err)
		}
		lines = append(lines, strings.TrimSpace(l))
	}
	if resp.Header.Get("Content-Type") != "text/event-stream" || lines[1] != "event: notification" {
		t.Fatalf("stream %q %q", resp.Header.Get("Content-Type"), lines)
	}
	resp.Body.Close()
	select {
	case <-upstreamDone:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream stream outlived its client")
	}
}
