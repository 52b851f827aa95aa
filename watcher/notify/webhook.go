package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// Webhook headers. SignatureHeader carries "sha256=" and the lower-case hex HMAC-SHA256 of the
// exact request body under the channel's secret; GitHubSignatureHeader carries the same value
// so receivers written for GitHub webhooks verify it unchanged.
const (
	SignatureHeader       = "X-Watcher-Signature"
	GitHubSignatureHeader = "X-Hub-Signature-256"
	IDHeader              = "X-Watcher-Id"
	EventHeader           = "X-Watcher-Event"
	UserHeader            = "X-Watcher-User"
	TimestampHeader       = "X-Watcher-Timestamp"
)

// Sign returns the signature header value of body under secret: "sha256=" + hex HMAC-SHA256.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is the signature of body under secret, in constant time.
func Verify(secret, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(sig))
}

// Webhook posts the Message as JSON to the target URL, signed with HMAC-SHA256.
type Webhook struct {
	// Secret signs requests whose Target has no Secret of its own.
	Secret []byte
	// Client sends the requests; nil means a client with Timeout.
	Client *http.Client
	// Timeout bounds one attempt; 0 means 10 seconds.
	Timeout time.Duration
	// Now stamps X-Watcher-Timestamp; nil means time.Now.
	Now func() time.Time
	// AllowPrivate lets the default client connect to loopback, private, link-local and other
	// non-public addresses (development and tests: --webhook-allow-private). Without it every
	// connection is checked when it is dialled, after DNS resolution, so a host name that
	// resolves (or is rebound) to such an address is refused as well. Either way redirects are
	// not followed. Ignored when Client is set.
	AllowPrivate bool
}

// BlockedAddressError is the refusal of a webhook connection to a non-public address. It is a
// permanent delivery failure.
type BlockedAddressError struct {
	Addr   netip.Addr
	Reason string // "loopback", "private", "link-local", ...
}

func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("webhook: refused %s address %s (non-public; --webhook-allow-private allows it)", e.Reason, e.Addr)
}

var (
	cgnat       = netip.MustParsePrefix("100.64.0.0/10") // RFC 6598 shared address space
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")     // RFC 1122 "this network"
	broadcast   = netip.MustParseAddr("255.255.255.255")
)

// NonPublic reports why a webhook must not connect to ip ("" when it may): loopback, private
// (RFC 1918, ULA fc00::/7), link-local (169.254/16 with the cloud metadata address, fe80::/10),
// unspecified (and 0/8), multicast (and the IPv4 broadcast) or CGNAT 100.64/10. IPv4-mapped
// IPv6 addresses are judged as the IPv4 address they carry.
func NonPublic(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsUnspecified() || thisNetwork.Contains(ip):
		return "unspecified"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast() || ip == broadcast:
		return "multicast"
	case cgnat.Contains(ip):
		return "CGNAT"
	}
	return ""
}

// guardDial is a net.Dialer ControlContext: it runs for every connection attempt on the
// resolved address and refuses non-public ones.
func guardDial(_ context.Context, _, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("webhook: dial address %q: %w", address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("webhook: dial address %q: %w", address, err)
	}
	if why := NonPublic(ip); why != "" {
		return &BlockedAddressError{Addr: ip.Unmap().WithZone(""), Reason: why}
	}
	return nil
}

// noRedirect makes a 3xx the answer: the delivery fails, the Location is not visited.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// newWebhookClient is the default client: no redirects, and unless allowPrivate, no
// connections to non-public addresses and no proxy from the environment (a proxy would hide
// the target from the check).
func newWebhookClient(allowPrivate bool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.ControlContext = guardDial
		t.Proxy = nil
	}
	t.DialContext = d.DialContext
	return &http.Client{Transport: t, CheckRedirect: noRedirect}
}

var (
	publicClient = newWebhookClient(false)
	anyClient    = newWebhookClient(true)
)

// Send implements Sender. A 2xx answer is success; 429 is a *RetryAfterError honouring
// Retry-After; 408 and 5xx are retried; other 4xx and 3xx (redirects are not followed) are
// permanent, and so is a connection refused by the address check (*BlockedAddressError).
func (w *Webhook) Send(ctx context.Context, to Target, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("webhook: encode: %w", err)}
	}
	secret := w.Secret
	if to.Secret != "" {
		secret = []byte(to.Secret)
	}
	if len(secret) == 0 {
		return &PermanentError{Err: errors.New("webhook: no signing secret configured")}
	}
	timeout := w.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to.Address, bytes.NewReader(body))
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("webhook: %w", err)}
	}
	sig := Sign(secret, body)
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "fabmarket-watcher/1")
	req.Header.Set(SignatureHeader, sig)
	req.Header.Set(GitHubSignatureHeader, sig)
	req.Header.Set(IDHeader, m.ID)
	req.Header.Set(EventHeader, m.Type)
	req.Header.Set(TimestampHeader, strconv.FormatInt(now().Unix(), 10))
	if to.User != "" {
		req.Header.Set(UserHeader, to.User)
	}
	client := w.Client
	if client == nil {
		client = publicClient
		if w.AllowPrivate {
			client = anyClient
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		var blocked *BlockedAddressError
		if errors.As(err, &blocked) {
			return &PermanentError{Err: blocked}
		}
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return &PermanentError{Err: fmt.Errorf("webhook: HTTP %d (redirects are not followed)", resp.StatusCode)}
	}
	return classifyHTTP("webhook", resp)
}

// classifyHTTP maps an HTTP answer to the Sender error contract.
func classifyHTTP(who string, resp *http.Response) error {
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests:
		return &RetryAfterError{After: retryAfter(resp.Header.Get("Retry-After")), Err: fmt.Errorf("%s: HTTP %d", who, code)}
	case code == http.StatusRequestTimeout || code >= 500:
		return fmt.Errorf("%s: HTTP %d", who, code)
	default:
		return &PermanentError{Err: fmt.Errorf("%s: HTTP %d", who, code)}
	}
}

// retryAfter parses a Retry-After header (seconds or an HTTP date); 0 when absent or bad.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
