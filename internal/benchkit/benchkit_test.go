package benchkit

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var out []time.Duration
		for _, v := range n {
			out = append(out, time.Duration(v)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		in   []time.Duration
		q    float64
		want float64
	}{
		{nil, 0.5, 0},
		{ms(7), 0.99, 7},
		{ms(1, 2, 3, 4), 0.5, 2},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.99, 10},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.01, 1},
	}
	for _, tt := range tests {
		if got := Percentile(tt.in, tt.q); got != tt.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tt.in, tt.q, got, tt.want)
		}
	}
}

func TestCall(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k1" {
			w.WriteHeader(401)
			return
		}
		if r.URL.Path == "/bad" {
			w.WriteHeader(409)
			_, _ = w.Write([]byte(" {\"error\":{}}\n"))
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	g := &Gateways{base: map[string]string{"org1": srv.URL}, keys: map[string]string{"org1": "k1"}, client: srv.Client()}
	var out struct{ OK bool }
	if st, err := g.Call(context.Background(), "org1", "POST", "/x", map[string]int{"a": 1}, &out); err != nil || st != 200 || !out.OK {
		t.Fatalf("ok call: %d %v %+v", st, err, out)
	}
	st, err := g.Call(context.Background(), "org1", "GET", "/bad", nil, nil)
	var he *HTTPError
	if st != 409 || !errors.As(err, &he) || he.Status != 409 || he.Body != `{"error":{}}` {
		t.Fatalf("409 call: %d %v", st, err)
	}
}
