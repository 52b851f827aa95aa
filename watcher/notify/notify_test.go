package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/watcher/smtptest"
	"github.com/fabmarket/fabmarket/watcher/store"
)

var msg = Message{ID: "n_1", Type: "PRICE_CHANGE", Symbol: "ACME", Window: "1d", Threshold: "5", ChangePercent: "6.00",
	Price: "106.00", ReferencePrice: "100.00", Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}

func TestWebhookSignsAndClassifies(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		retryHdr  string
		permanent bool
		retryAft  time.Duration
		ok        bool
	}{
		{"ok", 200, "", false, 0, true},
		{"accepted", 202, "", false, 0, true},
		{"server error retries", 503, "", false, 0, false},
		{"timeout retries", 408, "", false, 0, false},
		{"bad request is permanent", 400, "", true, 0, false},
		{"gone is permanent", 410, "", true, 0, false},
		{"429 with retry-after", 429, "7", false, 7 * time.Second, false},
	}
	secret := []byte("s3cret")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			var sig, ghSig string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ = io.ReadAll(r.Body)
				sig, ghSig = r.Header.Get(SignatureHeader), r.Header.Get(GitHubSignatureHeader)
				if tc.retryHdr != "" {
					w.Header().Set("Retry-After", tc.retryHdr)
				}
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			err := (&Webhook{Secret: secret, AllowPrivate: true}).Send(context.Background(), Target{Address: srv.URL}, msg)
			if !Verify(secret, body, sig) || sig != ghSig {
				t.Fatalf("signature %q does not verify body %s", sig, body)
			}
			var got map[string]any
			json.Unmarshal(body, &got)
			for _, k := range []string{"id", "type", "symbol", "window", "threshold", "changePercent", "price", "referencePrice", "time"} {
				if _, ok := got[k]; !ok {
					t.Fatalf("body lacks %q: %s", k, body)
				}
			}
			if len(got) != 9 {
				t.Fatalf("body has %d fields, want the 9 of the contract: %s", len(got), body)
			}
			if (err == nil) != tc.ok || IsPermanent(err) != tc.permanent {
				t.Fatalf("err %v: want ok=%v permanent=%v", err, tc.ok, tc.permanent)
			}
			var ra *RetryAfterError
			if tc.retryAft != 0 && (!errors.As(err, &ra) || ra.After != tc.retryAft) {
				t.Fatalf("err %v: want retry after %v", err, tc.retryAft)
			}
		})
	}
}

func TestWebhookPerTargetSecret(t *testing.T) {
	var ok atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ok.Store(Verify([]byte("mine"), b, r.Header.Get(SignatureHeader)))
	}))
	defer srv.Close()
	if err := (&Webhook{Secret: []byte("global"), AllowPrivate: true}).Send(context.Background(), Target{Address: srv.URL, Secret: "mine"}, msg); err != nil || !ok.Load() {
		t.Fatalf("err %v verified %v", err, ok.Load())
	}
}

func TestEmail(t *testing.T) {
	srv, err := smtptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	e := &Email{Addr: srv.Addr(), From: "alerts@fabmarket.test"}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := e.Send(context.Background(), Target{Address: "a@b.c"}, msg); err != nil {
		t.Fatal(err)
	}
	m := srv.Mails()
	if len(m) != 1 || m[0].To[0] != "a@b.c" || !strings.Contains(m[0].Data, "Message-ID: <n_1@") || !strings.Contains(m[0].Data, "ACME up 6.00% over 1d") {
		t.Fatalf("mail %+v", m)
	}
	srv.RejectRcpt = "550 no such user"
	if err := e.Send(context.Background(), Target{Address: "x@b.c"}, msg); !IsPermanent(err) {
		t.Fatalf("550: %v, want permanent", err)
	}
	if err := (&Email{Addr: "127.0.0.1:1", From: "a@b"}).Send(context.Background(), Target{Address: "a@b.c"}, msg); err == nil || IsPermanent(err) {
		t.Fatalf("refused connection: %v, want a retryable error", err)
	}
	if err := e.Send(context.Background(), Target{Address: "a@b.c\r\nBcc: x"}, msg); !IsPermanent(err) {
		t.Fatalf("header injection: %v", err)
	}
}

// h2cServer starts a plain-text HTTP/2 test server.
func h2cServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	p.SetHTTP1(true)
	srv.Config.Protocols = p
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestAPNs(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		reason    string
		ok, perm  bool
		rateLimit bool
	}{
		{"ok", 200, "", true, false, false},
		{"unregistered", 410, "Unregistered", false, true, false},
		{"bad token", 400, "BadDeviceToken", false, true, false},
		{"too many", 429, "TooManyRequests", false, false, true},
		{"server", 500, "InternalServerError", false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var proto int
			var hdr http.Header
			var path string
			var body map[string]any
			srv := h2cServer(t, func(w http.ResponseWriter, r *http.Request) {
				proto, hdr, path = r.ProtoMajor, r.Header.Clone(), r.URL.Path
				json.NewDecoder(r.Body).Decode(&body)
				w.WriteHeader(tc.status)
				if tc.reason != "" {
					json.NewEncoder(w).Encode(map[string]string{"reason": tc.reason})
				}
			})
			a := &APNs{Endpoint: srv.URL, Topic: "com.fabmarket.app", Token: "jwt"}
			err := a.Send(context.Background(), Target{Address: "devtok"}, msg)
			if proto != 2 || path != "/3/device/devtok" || hdr.Get("apns-topic") != "com.fabmarket.app" || hdr.Get("apns-push-type") != "alert" ||
				hdr.Get("authorization") != "bearer jwt" || len(hdr.Get("apns-id")) != 36 {
				t.Fatalf("request proto %d path %s headers %v", proto, path, hdr)
			}
			if aps, _ := body["aps"].(map[string]any); aps["alert"] == nil {
				t.Fatalf("payload %v", body)
			}
			var ra *RetryAfterError
			if (err == nil) != tc.ok || IsPermanent(err) != tc.perm || errors.As(err, &ra) != tc.rateLimit {
				t.Fatalf("err %v", err)
			}
		})
	}
}

func TestFCM(t *testing.T) {
	var proto int
	var got struct {
		Message struct {
			Token string            `json:"token"`
			Data  map[string]string `json:"data"`
		} `json:"message"`
	}
	status := 200
	srv := h2cServer(t, func(w http.ResponseWriter, r *http.Request) {
		proto = r.ProtoMajor
		if r.URL.Path != "/v1/projects/proj/messages:send" || r.Header.Get("Authorization") != "Bearer oauth" {
			w.WriteHeader(404)
			return
		}
		json.NewDecoder(r.Body).Decode(&got)
		if status == 429 {
			w.Header().Set("Retry-After", "3")
		}
		w.WriteHeader(status)
	})
	f := &FCM{Endpoint: srv.URL, Project: "proj", Token: "oauth"}
	if err := f.Send(context.Background(), Target{Address: "regtok"}, msg); err != nil || proto != 2 || got.Message.Token != "regtok" || got.Message.Data["changePercent"] != "6.00" {
		t.Fatalf("err %v proto %d got %+v", err, proto, got)
	}
	status = 429
	var ra *RetryAfterError
	if err := f.Send(context.Background(), Target{Address: "regtok"}, msg); !errors.As(err, &ra) || ra.After != 3*time.Second {
		t.Fatalf("429: %v", err)
	}
	status = 404
	if err := f.Send(context.Background(), Target{Address: "regtok"}, msg); !IsPermanent(err) {
		t.Fatalf("404: %v", err)
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestPacer(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	p := NewPacer(10, 2, clk.Now) // 10/s, burst 2
	steps := []struct {
		advance time.Duration
		pause   time.Duration
		want    time.Duration
	}{
		{0, 0, 0},                             // burst token 1
		{0, 0, 0},                             // burst token 2
		{0, 0, 100 * time.Millisecond},        // must wait one refill
		{0, 0, 200 * time.Millisecond},        // queues behind
		{time.Second, 0, 0},                   // refilled to the burst
		{0, 5 * time.Second, 5 * time.Second}, // 429: paused
		{5 * time.Second, 0, 0},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		if s.pause > 0 {
			p.Pause(s.pause)
		}
		if got := p.Reserve(); got != s.want {
			t.Fatalf("step %d: wait %v, want %v", i, got, s.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 10 * time.Second, MaxAttempts: 5}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 60: 10 * time.Second} {
		if got := b.Delay(n); got != want {
			t.Fatalf("Delay(%d) = %v, want %v", n, got, want)
		}
	}
	for _, bad := range []Backoff{{}, {Base: time.Second, Max: time.Millisecond, MaxAttempts: 1}, {Base: 1, Max: 1}} {
		if bad.Validate() == nil {
			t.Fatalf("%+v validated", bad)
		}
	}
}

func TestHub(t *testing.T) {
	h := NewHub()
	all := h.Subscribe("", "", 4)
	u1 := h.Subscribe("u1", "", 1)
	acme := h.Subscribe("", "ACME", 4)
	h.Publish(StreamEvent{Seq: 1, User: "u1", Symbol: "ACME"})
	h.Publish(StreamEvent{Seq: 2, User: "u1", Symbol: "BETA"}) // u1's buffer is full: dropped
	h.Publish(StreamEvent{Seq: 3, User: "u2", Symbol: "ACME"})
	if len(all.C) != 3 || len(u1.C) != 1 || len(acme.C) != 2 || h.Dropped() != 1 {
		t.Fatalf("all %d u1 %d acme %d dropped %d", len(all.C), len(u1.C), len(acme.C), h.Dropped())
	}
	h.Unsubscribe(u1)
	h.Unsubscribe(u1)
	if h.Subscribers() != 2 {
		t.Fatal(h.Subscribers())
	}
}

// TestHubPrefix: a prefix subscriber gets its org's users' events only ("org1/" is not
// "org10/"), optionally of one symbol.
func TestHubPrefix(t *testing.T) {
	h := NewHub()
	org1 := h.SubscribePrefix("org1/", "", 8)
	org1Acme := h.SubscribePrefix("org1/", "ACME", 8)
	for i, u := range []string{"org1/u1", "org10/u1", "org2/u1", "u1", "org1/u2"} {
		h.Publish(StreamEvent{Seq: int64(i), User: u, Symbol: []string{"ACME", "BETA"}[i%2]})
	}
	var got []string
	for len(org1.C) > 0 {
		got = append(got, (<-org1.C).User)
	}
	if !slices.Equal(got, []string{"org1/u1", "org1/u2"}) || len(org1Acme.C) != 2 {
		t.Fatalf("org1 got %v, org1 ACME %d", got, len(org1Acme.C))
	}
}

type scriptSender struct {
	mu    sync.Mutex
	errs  []error
	calls int
}

func (s *scriptSender) Send(context.Context, Target, Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if len(s.errs) == 0 {
		return nil
	}
	e := s.errs[0]
	s.errs = s.errs[1:]
	return e
}

func TestDispatcherRetriesThenDeadLetters(t *testing.T) {
	transient := errors.New("connection reset")
	tests := []struct {
		name     string
		errs     []error
		state    string
		attempts int
	}{
		{"first try", nil, store.StateDelivered, 1},
		{"after two failures", []error{transient, transient}, store.StateDelivered, 3},
		{"dead after max attempts", []error{transient, transient, transient, transient}, store.StateDead, 3},
		{"permanent at once", []error{&PermanentError{Err: transient}}, store.StateDead, 1},
		{"429 then ok", []error{&RetryAfterError{After: 2 * time.Second, Err: transient}}, store.StateDelivered, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := store.NewMemory()
			clk := &fakeClock{t: time.Unix(5000, 0)}
			snd := &scriptSender{errs: tc.errs}
			pacer := NewPacer(0, 1, clk.Now)
			d, err := NewDispatcher(DispatcherConfig{Store: st, Senders: map[string]Sender{"webhook": snd}, Pacers: map[string]*Pacer{"webhook": pacer},
				Backoff: Backoff{Base: time.Second, Max: time.Minute, MaxAttempts: 3}, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			payload, _ := json.Marshal(msg)
			st.InsertNotifications(context.Background(), row(payload, clk.Now()))
			for i := 0; i < 10; i++ {
				due, err := d.Claim(context.Background(), 10)
				if err != nil {
					t.Fatal(err)
				}
				for _, dl := range due {
					d.Attempt(context.Background(), dl)
				}
				clk.Advance(time.Minute)
			}
			n, _ := st.GetNotification(context.Background(), "n_1")
			if dl := n.Deliveries[0]; dl.State != tc.state || dl.Attempts != tc.attempts {
				t.Fatalf("state %s attempts %d (%s), want %s %d", dl.State, dl.Attempts, dl.LastError, tc.state, tc.attempts)
			}
		})
	}
}

// row is one stored notification with a pending webhook delivery.
func row(payload []byte, at time.Time) []store.Notification {
	return []store.Notification{{ID: "n_1", EventID: "e", Type: "PRICE_CHANGE", User: "u1", Symbol: "ACME", Payload: payload, CreatedAt: at,
		Deliveries: []store.Delivery{{Channel: "webhook", Target: "http://x", State: store.StatePending, NextAt: at}}}}
}

func TestDispatcherRunDelivers(t *testing.T) {
	st := store.NewMemory()
	snd := &scriptSender{}
	d, _ := NewDispatcher(DispatcherConfig{Store: st, Senders: map[string]Sender{"webhook": snd}, Poll: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	payload, _ := json.Marshal(msg)
	st.InsertNotifications(ctx, row(payload, time.Now()))
	d.Kick()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if n, _ := st.GetNotification(ctx, "n_1"); n.Deliveries[0].State == store.StateDelivered {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if snd.calls != 1 {
		t.Fatalf("sends %d, want exactly 1", snd.calls)
	}
}
