package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"strings"
	"time"
)

// WatcherPrefix is the path under which the gateway forwards requests to the price watcher.
const WatcherPrefix = "/watcher/"

// WatcherProxy forwards WatcherPrefix+"v1/..." (and WatcherPrefix+"healthz") to the price
// watcher, so that the console reaches the watcher's REST API and alert stream from its own
// origin, without CORS. The request goes on unchanged apart from the prefix: the Authorization
// header (or the stream's ?access_token=) is the watcher's to check; the gateway adds no
// credentials of its own. Streams (SSE, WebSocket upgrades) are passed through as they come.
// Other paths under the prefix (the watcher's /metrics, /openapi.json) are not forwarded: 404.
type WatcherProxy struct {
	target *url.URL
	rp     *httputil.ReverseProxy
}

// DefaultWatcherURL is where network.sh starts the watcher.
const DefaultWatcherURL = "http://127.0.0.1:8090"

// NewWatcherProxy returns a proxy to the watcher at base (scheme and host, optionally a path
// prefix). log receives proxy errors; nil means slog.Default().
func NewWatcherProxy(base string, log *slog.Logger) (*WatcherProxy, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("console: watcher URL %q: %w", base, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("console: watcher URL %q: want http(s)://host:port", base)
	}
	if log == nil {
		log = slog.Default()
	}
	p := &WatcherProxy{target: u}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.SetXForwarded()
			// The gateway's own cookies (none today) are not the watcher's business.
			r.Out.Header.Del("Cookie")
		},
		FlushInterval: -1, // streams: every write goes through at once
		Transport: &http.Transport{
			Proxy:                 nil, // the watcher is a neighbour, never behind an HTTP proxy
			ResponseHeaderTimeout: 30 * time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   16,
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return // the client left
			}
			log.Warn("watcher proxy", "path", r.URL.Path, "error", err)
			writeError(w, http.StatusBadGateway, "UNAVAILABLE", "the price watcher is not reachable")
		},
	}
	return p, nil
}

// Target is the watcher's base URL.
func (p *WatcherProxy) Target() *url.URL { return p.target }

// ServeHTTP implements http.Handler.
func (p *WatcherProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, strings.TrimSuffix(WatcherPrefix, "/"))
	if !ok || path.Clean(rest) != rest || !(strings.HasPrefix(rest, "/v1/") || rest == "/healthz") {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no route "+r.Method+" "+r.URL.Path)
		return
	}
	out := r.Clone(r.Context())
	out.URL.Path = rest
	out.URL.RawPath = ""
	if rp, ok := strings.CutPrefix(r.URL.RawPath, strings.TrimSuffix(WatcherPrefix, "/")); ok {
		out.URL.RawPath = rp
	}
	out.RequestURI = ""
	// A stream that ends because its client left makes ReverseProxy abort the handler with
	// http.ErrAbortHandler; that is no error worth a stack trace. Anything else still panics.
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler && r.Context().Err() != nil {
				return
			}
			panic(v)
		}
	}()
	p.rp.ServeHTTP(w, out)
}

// writeError answers in the gateway's error shape.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
