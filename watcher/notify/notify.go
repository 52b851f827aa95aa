// Package notify delivers the watcher's notifications: one Sender interface with a webhook
// (HMAC-SHA256 signed), e-mail over SMTP, and APNs- and FCM-shaped push adapters speaking the
// providers' HTTP/2 JSON protocols to a configurable endpoint; a Hub that fans notifications
// out to live stream clients (SSE and WebSocket); a token-bucket Pacer per provider that also
// backs off on 429; and a Dispatcher that works through the store's pending deliveries (the
// outbox) with exponential backoff, marking a delivery dead (a dead letter) after
// Backoff.MaxAttempts attempts or a permanent error.
//
// Delivery is at least once: a delivery is marked delivered only after its channel accepted
// it, so a crash in between sends it again with the same notification id (the webhook's
// X-Watcher-Id header and body "id", the e-mail's Message-ID, the APNs apns-id), which
// receivers use to drop the rare duplicate.
package notify

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Message is the body of a notification as channels carry it. For PRICE_CHANGE every field
// but Title and Text is set; EARNINGS_CALL and BREAKING_NEWS carry Title and Text instead of
// the price fields. Its JSON encoding is the webhook body.
type Message struct {
	ID             string    `json:"id"`
	Type           string    `json:"type"`
	Symbol         string    `json:"symbol"`
	Window         string    `json:"window,omitempty"`
	Threshold      string    `json:"threshold,omitempty"`
	ChangePercent  string    `json:"changePercent,omitempty"`
	Price          string    `json:"price,omitempty"`
	ReferencePrice string    `json:"referencePrice,omitempty"`
	Time           time.Time `json:"time"`
	Title          string    `json:"title,omitempty"`
	Text           string    `json:"message,omitempty"`
}

// Summary returns a one-line human text for e-mail subjects and push alerts.
func (m Message) Summary() (title, body string) {
	if m.Type == "PRICE_CHANGE" {
		dir := "up"
		if len(m.ChangePercent) > 0 && m.ChangePercent[0] == '-' {
			dir = "down"
		}
		title = fmt.Sprintf("%s %s %s%% over %s", m.Symbol, dir, trimSign(m.ChangePercent), m.Window)
		body = fmt.Sprintf("%s moved %s%% over %s (threshold %s%%): %s, was %s.", m.Symbol, m.ChangePercent, m.Window, m.Threshold, m.Price, m.ReferencePrice)
		return title, body
	}
	title = fmt.Sprintf("%s %s", m.Symbol, m.Type)
	if m.Title != "" {
		title = m.Symbol + ": " + m.Title
	}
	return title, m.Text
}

func trimSign(s string) string {
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		return s[1:]
	}
	return s
}

// Target is where one delivery goes.
type Target struct {
	// Address is the webhook URL, the e-mail address or the device token.
	Address string
	// Secret is the webhook signing secret; empty means the sender's default.
	Secret string
	// User is the user the notification is for, as its org's clients know it (without the
	// scope the REST API adds, users.Local).
	User string
}

// Sender is one delivery channel. Send returns nil once the provider accepted the message; a
// *PermanentError when retrying cannot help; a *RetryAfterError when the provider asked to slow
// down (HTTP 429); any other error is retried with backoff.
type Sender interface {
	Send(ctx context.Context, to Target, m Message) error
}

// PermanentError is a delivery failure that retrying cannot fix (a 4xx answer, an unknown
// mailbox, an unregistered device): the delivery becomes a dead letter at once.
type PermanentError struct{ Err error }

// Error implements error.
func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *PermanentError) Unwrap() error { return e.Err }

// RetryAfterError is a provider's request to slow down (HTTP 429), with the wait it asked for
// (0 when it named none).
type RetryAfterError struct {
	After time.Duration
	Err   error
}

// Error implements error.
func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("rate limited (retry after %v): %v", e.After, e.Err)
}

// Unwrap returns the cause.
func (e *RetryAfterError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is or wraps a *PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// Backoff is the retry policy of the dispatcher: attempt n (1-based) that fails is retried
// after min(Base * 2^(n-1), Max); after MaxAttempts failed attempts the delivery is dead.
type Backoff struct {
	Base        time.Duration
	Max         time.Duration
	MaxAttempts int
}

// DefaultBackoff is 1s, 2s, 4s, ... capped at 5 minutes, dead after 8 attempts (about 4
// minutes of retries in all).
var DefaultBackoff = Backoff{Base: time.Second, Max: 5 * time.Minute, MaxAttempts: 8}

// Validate checks the policy; the error names the field.
func (b Backoff) Validate() error {
	switch {
	case b.Base <= 0:
		return fmt.Errorf("notify: backoff base %v: must be positive", b.Base)
	case b.Max < b.Base:
		return fmt.Errorf("notify: backoff max %v: must be at least base %v", b.Max, b.Base)
	case b.MaxAttempts < 1:
		return fmt.Errorf("notify: backoff max attempts %d: must be at least 1", b.MaxAttempts)
	}
	return nil
}

// Delay returns the wait after the n-th failed attempt (n >= 1).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Base
	for i := 1; i < n; i++ {
		d *= 2
		if d >= b.Max || d <= 0 {
			return b.Max
		}
	}
	return min(d, b.Max)
}
