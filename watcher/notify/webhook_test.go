package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/watcher/store"
)

// TestNonPublic: the address classifier behind the webhook dial guard, on IPv4, IPv6 and
// IPv4-mapped IPv6 addresses.
func TestNonPublic(t *testing.T) {
	tests := []struct {
		ip, want string
	}{
		// IPv4
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"10.0.0.1", "private"},
		{"10.255.255.255", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"169.254.169.254", "link-local"}, // cloud metadata
		{"169.254.0.1", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"255.255.255.255", "multicast"},
		{"100.64.0.1", "CGNAT"},
		{"100.127.255.255", "CGNAT"},
		{"8.8.8.8", ""},
		{"93.184.216.34", ""},
		{"172.32.0.1", ""},
		{"172.15.255.255", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"192.169.0.1", ""},
		{"11.0.0.1", ""},
		// IPv6
		{"::1", "loopback"},
		{"::", "unspecified"},
		{"fc00::1", "private"},
		{"fd00:ec2::254", "private"}, // AWS IPv6 metadata
		{"fdff:ffff::1", "private"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"febf::1", "link-local"},
		{"ff02::1", "multicast"},
		{"ff05::1:3", "multicast"},
		{"2001:4860:4860::8888", ""},
		{"2606:4700:4700::1111", ""},
		{"fec0::1", ""}, // deprecated site-local: not in the brief's list, routed like global
		// IPv4-mapped IPv6: judged as the IPv4 address inside
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:10.1.2.3", "private"},
		{"::ffff:192.168.0.1", "private"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"::ffff:224.0.0.1", "multicast"},
		{"::ffff:100.64.0.1", "CGNAT"},
		{"::ffff:8.8.8.8", ""},
	}
	for _, tc := range tests {
		t.Run(tc.ip, func(t *testing.T) {
			if got := NonPublic(netip.MustParseAddr(tc.ip)); got != tc.want {
				t.Fatalf("NonPublic(%s) = %q, want %q", tc.ip, got, tc.want)
			}
		})
	}
	if got := NonPublic(netip.Addr{}); got == "" {
		t.Fatal("the zero Addr is public")
	}
}

// TestGuardDial: the Dialer hook sees "ip:port" after resolution and refuses non-public ones
// with a *BlockedAddressError.
func TestGuardDial(t *testing.T) {
	for addr, blocked := range map[string]bool{
		"127.0.0.1:80": true, "[::1]:443": true, "[::ffff:127.0.0.1]:80": true, "[fe80::1%lo]:80": true,
		"169.254.169.254:80": true, "100.100.100.200:80": true, "8.8.8.8:443": false, "[2001:4860:4860::8888]:443": false,
	} {
		err := guardDial(context.Background(), "tcp", addr, nil)
		var b *BlockedAddressError
		if errors.As(err, &b) != blocked || (!blocked && err != nil) {
			t.Fatalf("guardDial(%s) = %v, want blocked %v", addr, err, blocked)
		}
	}
	if err := guardDial(context.Background(), "tcp", "nonsense", nil); err == nil {
		t.Fatal("an unparsable address passed")
	}
}

// countingServer is a loopback receiver counting the requests it gets.
func countingServer(t *testing.T, status int, hdr map[string]string) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestWebhookRefusesLoopback: a webhook to a loopback receiver is refused at connection time
// without the opt-out (permanent, nothing reaches the receiver, the reason is recorded as the
// delivery's last error like any other failure) and delivered with it. A host name that
// resolves to loopback is refused too: the check runs on the dialled address.
func TestWebhookRefusesLoopback(t *testing.T) {
	srv, hits := countingServer(t, 200, nil)
	secret := []byte("s")

	err := (&Webhook{Secret: secret}).Send(context.Background(), Target{Address: srv.URL}, msg)
	var b *BlockedAddressError
	if !IsPermanent(err) || !errors.As(err, &b) || b.Reason != "loopback" || hits.Load() != 0 {
		t.Fatalf("loopback without opt-out: err %v, hits %d: want a permanent refusal and no request", err, hits.Load())
	}
	if !strings.Contains(err.Error(), "refused loopback address 127.0.0.1") {
		t.Fatalf("reason %q does not say what was refused", err)
	}
	if addrs, lerr := net.LookupHost("localhost"); lerr == nil && len(addrs) > 0 {
		_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		err := (&Webhook{Secret: secret}).Send(context.Background(), Target{Address: "http://localhost:" + port + "/"}, msg)
		if !errors.As(err, &b) || !IsPermanent(err) || hits.Load() != 0 {
			t.Fatalf("localhost by name: err %v, hits %d: want a refusal", err, hits.Load())
		}
	} else {
		t.Logf("localhost does not resolve here (%v): the by-name case is skipped", lerr)
	}

	if err := (&Webhook{Secret: secret, AllowPrivate: true}).Send(context.Background(), Target{Address: srv.URL}, msg); err != nil || hits.Load() != 1 {
		t.Fatalf("loopback with opt-out: err %v, hits %d: want delivered once", err, hits.Load())
	}

	// Through the dispatcher: the refusal is a dead letter after one attempt, reason recorded.
	for _, allow := range []bool{false, true} {
		st := store.NewMemory()
		d, err := NewDispatcher(DispatcherConfig{Store: st, Senders: map[string]Sender{"webhook": &Webhook{Secret: secret, AllowPrivate: allow}},
			Backoff: Backoff{Base: time.Second, Max: time.Minute, MaxAttempts: 3}})
		if err != nil {
			t.Fatal(err)
		}
		payload, _ := json.Marshal(msg)
		rows := row(payload, time.Now())
		rows[0].Deliveries[0].Target = srv.URL
		st.InsertNotifications(context.Background(), rows)
		due, err := d.Claim(context.Background(), 10)
		if err != nil || len(due) != 1 {
			t.Fatalf("claim: %v %d", err, len(due))
		}
		d.Attempt(context.Background(), due[0])
		n, _ := st.GetNotification(context.Background(), "n_1")
		dl := n.Deliveries[0]
		if allow && dl.State != store.StateDelivered {
			t.Fatalf("allowed: state %s (%s), want delivered", dl.State, dl.LastError)
		}
		if !allow && (dl.State != store.StateDead || dl.Attempts != 1 || !strings.Contains(dl.LastError, "refused loopback address 127.0.0.1")) {
			t.Fatalf("refused: state %s attempts %d error %q, want dead after 1 with the reason", dl.State, dl.Attempts, dl.LastError)
		}
	}
	if hits.Load() != 2 {
		t.Fatalf("receiver hits %d, want 2 (the two allowed sends)", hits.Load())
	}
}

// TestWebhookDoesNotFollowRedirects: a 3xx is a permanent failure and its Location is never
// requested, whatever the opt-out.
func TestWebhookDoesNotFollowRedirects(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		inner, innerHits := countingServer(t, 200, nil)
		outer, outerHits := countingServer(t, code, map[string]string{"Location": inner.URL + "/metadata"})
		err := (&Webhook{Secret: []byte("s"), AllowPrivate: true}).Send(context.Background(), Target{Address: outer.URL}, msg)
		if !IsPermanent(err) || !strings.Contains(err.Error(), "redirects are not followed") {
			t.Fatalf("%d: err %v, want a permanent failure naming the redirect", code, err)
		}
		if outerHits.Load() != 1 || innerHits.Load() != 0 {
			t.Fatalf("%d: outer %d inner %d requests, want 1 and 0", code, outerHits.Load(), innerHits.Load())
		}
	}
}
