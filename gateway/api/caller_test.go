package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestStreamGetsTheCaller: the stream handler receives the authenticated caller's org in the
// request context (it filters order updates by it); an unauthenticated request never reaches it.
func TestStreamGetsTheCaller(t *testing.T) {
	if _, ok := Caller(context.Background()); ok {
		t.Fatal("caller in an empty context")
	}
	for _, org := range []string{"org1", "regulator"} {
		got, reached := "", false
		stream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, reached = Caller(r.Context())
			w.WriteHeader(http.StatusOK)
		})
		h, err := New(Config{Ledger: newFake(), Keys: testKeys, Org: org, Stream: stream,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		key := map[string]string{"org1": key1, "regulator": keyReg}[org]
		for _, req := range []*http.Request{
			httptest.NewRequest("GET", "/v1/stream", nil),
			httptest.NewRequest("GET", "/v1/stream?access_token="+key, nil),
		} {
			if req.URL.RawQuery == "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			got, reached = "", false
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK || !reached || got != org {
				t.Fatalf("%s: status %d, caller %q (reached %v)", org, w.Code, got, reached)
			}
		}
		reached = false
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/stream", nil))
		if w.Code != http.StatusUnauthorized || reached {
			t.Fatalf("%s without key: status %d, reached %v", org, w.Code, reached)
		}
	}
}
