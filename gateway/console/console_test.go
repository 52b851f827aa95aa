package console_test

import (
	"bufio"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/gateway/api"
	"github.com/fabmarket/fabmarket/gateway/console"
)

func newHandler(t *testing.T) *console.Handler {
	t.Helper()
	h, err := console.New(console.Config{Org: "org2", MSPID: "Org2MSP"})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(t *testing.T, h http.Handler, method, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestPageAndAssets(t *testing.T) {
	h := newHandler(t)
	w := get(t, h, "GET", "/")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	body := w.Body.String()
	for _, want := range []string{`<meta name="fabmarket-org" content="org2">`, `<meta name="fabmarket-msp" content="Org2MSP">`, `/console/js/main.js`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(body, "{{") {
		t.Error("page has an unfilled placeholder")
	}
	csp := w.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP = %q", csp)
	}
	for path, ctype := range map[string]string{
		"/console/console.css":  "text/css",
		"/console/js/main.js":   "text/javascript",
		"/console/favicon.svg":  "image/svg+xml",
		"/console/js/charts.js": "text/javascript",
	} {
		w := get(t, h, "GET", path)
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), ctype) || w.Body.Len() == 0 {
			t.Errorf("GET %s = %d %q (%d bytes)", path, w.Code, w.Header().Get("Content-Type"), w.Body.Len())
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s headers = %v", path, w.Header())
		}
	}
	for _, path := range []string{"/console/", "/console/nope.js", "/console/../index.html", "/static/index.html", "/v1/orders"} {
		if w := get(t, h, "GET", path); w.Code != 404 {
			t.Errorf("GET %s = %d; want 404", path, w.Code)
		}
	}
	if w := get(t, h, "POST", "/"); w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST / = %d", w.Code)
	}
	if w := get(t, h, "HEAD", "/console/console.css"); w.Code != 200 || w.Body.Len() != 0 {
		t.Errorf("HEAD = %d with %d bytes", w.Code, w.Body.Len())
	}
}

func TestETagRevalidation(t *testing.T) {
	h := newHandler(t)
	w := get(t, h, "GET", "/console/js/api.js")
	tag := w.Header().Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{24}"$`).MatchString(tag) {
		t.Fatalf("ETag = %q", tag)
	}
	if w := get(t, h, "GET", "/console/js/api.js", "If-None-Match", tag); w.Code != http.StatusNotModified {
		t.Fatalf("revalidation = %d; want 304", w.Code)
	}
	if w := get(t, h, "GET", "/console/js/api.js", "If-None-Match", `"other"`); w.Code != 200 {
		t.Fatalf("stale tag = %d; want 200", w.Code)
	}
	// Two orgs' pages differ, so their tags differ.
	other, _ := console.New(console.Config{Org: "org1", MSPID: "Org1MSP"})
	if get(t, other, "GET", "/").Header().Get("ETag") == get(t, h, "GET", "/").Header().Get("ETag") {
		t.Error("pages of two orgs share an ETag")
	}
}

func TestPlaceholdersEscaped(t *testing.T) {
	h, err := console.New(console.Config{Org: `x"><script>`, MSPID: "M"})
	if err != nil {
		t.Fatal(err)
	}
	if body := get(t, h, "GET", "/").Body.String(); strings.Contains(body, `x"><script>`) {
		t.Fatal("org name not escaped")
	}
}

// TestEveryReferenceResolves follows the page's links and every module's imports: a typo in a
// file name would otherwise only show in a browser.
func TestEveryReferenceResolves(t *testing.T) {
	h := newHandler(t)
	page := get(t, h, "GET", "/").Body.String()
	refs := regexp.MustCompile(`(?:href|src)="(/console/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("page references %d assets", len(refs))
	}
	seen := map[string]bool{}
	var queue []string
	for _, m := range refs {
		queue = append(queue, m[1])
	}
	imp := regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^'"]*?from\s+'(\./[^']+)'`)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		w := get(t, h, "GET", p)
		if w.Code != 200 {
			t.Errorf("%s: %d", p, w.Code)
			continue
		}
		if strings.HasSuffix(p, ".js") {
			dir := p[:strings.LastIndex(p, "/")+1]
			for _, m := range imp.FindAllStringSubmatch(w.Body.String(), -1) {
				queue = append(queue, dir+strings.TrimPrefix(m[1], "./"))
			}
		}
	}
	for _, want := range []string{"/console/js/market.js", "/console/js/numbers.js", "/console/js/settlements.js", "/console/js/alerts.js", "/console/js/accounts.js"} {
		if !seen[want] {
			t.Errorf("%s is not reached from the page", want)
		}
	}
}

// TestNoExternalOrInlineCode: everything is embedded and same-origin (the machine may have no
// internet, and the CSP forbids inline scripts and styles).
func TestNoExternalOrInlineCode(t *testing.T) {
	h := newHandler(t)
	page := get(t, h, "GET", "/").Body.String()
	if regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).MatchString(page) {
		t.Error("page loads something from another origin")
	}
	if regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(page) || strings.Contains(page, "style=") || strings.Contains(page, "<style") {
		t.Error("page has inline script or style (blocked by the CSP)")
	}
	for _, f := range assets(t) {
		body := get(t, h, "GET", "/console/"+f).Body.String()
		if strings.HasSuffix(f, ".js") && (strings.Contains(body, "innerHTML") || strings.Contains(body, "eval(") || strings.Contains(body, "setAttribute('style'")) {
			t.Errorf("%s uses innerHTML, eval or style attributes", f)
		}
		if regexp.MustCompile(`(?:fetch|EventSource|WebSocket)\(\s*['"\x60]https?:`).MatchString(body) {
			t.Errorf("%s connects to an absolute URL", f)
		}
	}
}

func assets(t *testing.T) []string {
	var out []string
	err := fs.WalkDir(console.Static(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && p != "index.html" {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeKeys is the gateway's key lookup for the mounting test.
type fakeKeys map[string]string

func (k fakeKeys) Org(key string) (string, bool) { o, ok := k[key]; return o, ok }

// noLedger satisfies api.Ledger; the mounting test never reaches the ledger.
type noLedger struct{ api.Ledger }

// TestMountedInGateway: the gateway's router serves the console at / and /console/, forwards
// /watcher/ with the caller's Authorization, and leaves /v1 as it was (keys required).
func TestMountedInGateway(t *testing.T) {
	var gotAuth, gotPath string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotPath = r.Header.Get("Authorization"), r.URL.RequestURI()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"subscriptions":[]}`)
	}))
	defer backend.Close()
	proxy, err := console.NewWatcherProxy(backend.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := api.New(api.Config{Ledger: noLedger{}, Keys: fakeKeys{"k-org2-0123456789": "org2"}, Org: "org2",
		Console: newHandler(t), WatcherProxy: proxy, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()

	for path, ctype := range map[string]string{"/": "text/html", "/console/js/main.js": "text/javascript"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) || resp.Header.Get(api.RequestIDHeader) == "" {
			t.Errorf("GET %s = %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/watcher/v1/subscriptions?user=org2", nil)
	req.Header.Set("Authorization", "Bearer watcher-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"subscriptions":[]}` || gotAuth != "Bearer watcher-key" || gotPath != "/v1/subscriptions?user=org2" {
		t.Fatalf("proxied = %d %s; backend saw %q %q", resp.StatusCode, body, gotAuth, gotPath)
	}
	// The REST API still wants its key; unknown paths keep the JSON 404.
	for path, status := range map[string]int{"/v1/instruments": 401, "/nope": 404, "/console": 404} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Errorf("GET %s = %d; want %d", path, resp.StatusCode, status)
		}
	}
}

// TestStreamAuthByQuery: EventSource cannot send headers; the gateway accepts ?access_token=
// on /v1/stream (and nowhere else).
func TestStreamAuthByQuery(t *testing.T) {
	stream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: checkpoint\ndata: {}\n\n")
	})
	gw, err := api.New(api.Config{Ledger: noLedger{}, Keys: fakeKeys{"k-org2-0123456789": "org2", "k-org1-0123456789": "org1"}, Org: "org2", Stream: stream, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	for path, status := range map[string]int{
		"/v1/stream?access_token=k-org2-0123456789": 200,
		"/v1/stream?access_token=wrong":             401,
		"/v1/stream?access_token=k-org1-0123456789": 403,
		"/v1/stream": 401,
		"/v1/instruments?access_token=k-org2-0123456789": 401,
	} {
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		if status == 200 {
			line, _ := bufio.NewReader(resp.Body).ReadString('\n')
			if line != "event: checkpoint\n" {
				t.Errorf("%s: first line %q", path, line)
			}
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Errorf("GET %s = %d; want %d", path, resp.StatusCode, status)
		}
	}
}
