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
	"net/http"
	"strconv"
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
}

// Send implements Sender. A 2xx answer is success; 429 is a *RetryAfterError honouring
// Retry-After; 408 and 5xx are retried; other 4xx are permanent.
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
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
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
