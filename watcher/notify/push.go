package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// NewHTTP2Client returns a client that speaks HTTP/2 only, as APNs requires: over TLS (ALPN
// h2) for https endpoints and with prior knowledge (h2c) for plain http test endpoints.
func NewHTTP2Client(timeout time.Duration) *http.Client {
	p := new(http.Protocols)
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Timeout: timeout, Transport: &http.Transport{Protocols: p, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 4}}
}

// APNs sends notifications the way Apple's provider API takes them: HTTP/2 POST
// {Endpoint}/3/device/{token} with apns-topic, apns-push-type, apns-priority, apns-id and a
// bearer provider token, and the JSON payload {"aps":{"alert":{"title","body"}},...}. The
// provider token comes from Auth (an *APNsTokenSource signing ES256 JWTs with the team's .p8
// key) or, for tests, the fixed Token.
type APNs struct {
	// Endpoint is the base URL, for example https://api.push.apple.com or a local test server.
	Endpoint string
	// Topic is the app's bundle id (apns-topic).
	Topic string
	// Auth makes the provider tokens; when nil, Token is sent as it is.
	Auth TokenSource
	// Token is a fixed provider authentication token sent as "bearer" authorization.
	Token string
	// Client must speak HTTP/2; nil means NewHTTP2Client(10s).
	Client *http.Client
}

// Validate checks the configuration; the error names the field.
func (a *APNs) Validate() error {
	if u, err := url.Parse(a.Endpoint); err != nil || u.Host == "" {
		return fmt.Errorf("notify: apns endpoint %q: want an absolute URL", a.Endpoint)
	}
	if a.Topic == "" {
		return fmt.Errorf("notify: apns topic: must be set")
	}
	return nil
}

// apnsID turns a notification id into the UUID form apns-id wants, deterministically, so a
// redelivery carries the same apns-id.
func apnsID(id string) string {
	h := sha256.Sum256([]byte(id))
	x := hex.EncodeToString(h[:16])
	return strings.ToUpper(x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32])
}

// Send implements Sender. 410 (Unregistered) and other 4xx answers are permanent, 429 slows
// the pacer down, 5xx retries.
func (a *APNs) Send(ctx context.Context, to Target, m Message) error {
	title, body := m.Summary()
	payload := map[string]any{
		"aps":    map[string]any{"alert": map[string]string{"title": title, "body": body}, "sound": "default"},
		"id":     m.ID,
		"type":   m.Type,
		"symbol": m.Symbol,
	}
	b, _ := json.Marshal(payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(a.Endpoint, "/")+"/3/device/"+url.PathEscape(to.Address), bytes.NewReader(b))
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("apns: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("apns-topic", a.Topic)
	req.Header.Set("apns-push-type", "alert")
	req.Header.Set("apns-priority", "10")
	req.Header.Set("apns-expiration", "0")
	req.Header.Set("apns-id", apnsID(m.ID))
	tok := a.Token
	if a.Auth != nil {
		if tok, err = a.Auth.Token(ctx); err != nil {
			return fmt.Errorf("apns: %w", err)
		}
	}
	if tok != "" {
		req.Header.Set("Authorization", "bearer "+tok)
	}
	client := a.Client
	if client == nil {
		client = NewHTTP2Client(10 * time.Second)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("apns: %w", err)
	}
	defer resp.Body.Close()
	var reason struct {
		Reason string `json:"reason"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	json.Unmarshal(raw, &reason)
	if resp.StatusCode == http.StatusForbidden && (reason.Reason == "ExpiredProviderToken" || reason.Reason == "InvalidProviderToken") && a.Auth != nil {
		// The token, not the notification, was refused: renew it and retry.
		a.Auth.Invalidate(tok)
		return fmt.Errorf("apns: HTTP 403 (%s)", reason.Reason)
	}
	err = classifyHTTP("apns", resp)
	if err != nil && reason.Reason != "" {
		switch e := err.(type) {
		case *PermanentError:
			e.Err = fmt.Errorf("%w (%s)", e.Err, reason.Reason)
		case *RetryAfterError:
			e.Err = fmt.Errorf("%w (%s)", e.Err, reason.Reason)
		default:
			err = fmt.Errorf("%w (%s)", err, reason.Reason)
		}
	}
	return err
}

// FCM sends notifications the way Firebase Cloud Messaging's HTTP v1 API takes them: POST
// {Endpoint}/v1/projects/{Project}/messages:send with an OAuth 2 bearer token and
// {"message":{"token","notification":{"title","body"},"data":{...}}}. The access token comes
// from Auth (an *FCMTokenSource exchanging a service account's RS256 JWT assertion at its
// token_uri) or, for tests, the fixed Token.
type FCM struct {
	// Endpoint is the base URL, for example https://fcm.googleapis.com or a local test server.
	Endpoint string
	// Project is the Firebase project id.
	Project string
	// Auth gets the access tokens; when nil, Token is sent as it is.
	Auth TokenSource
	// Token is a fixed OAuth 2 access token.
	Token string
	// Client sends the requests; nil means NewHTTP2Client(10s).
	Client *http.Client
}

// Validate checks the configuration; the error names the field.
func (f *FCM) Validate() error {
	if u, err := url.Parse(f.Endpoint); err != nil || u.Host == "" {
		return fmt.Errorf("notify: fcm endpoint %q: want an absolute URL", f.Endpoint)
	}
	if f.Project == "" {
		return fmt.Errorf("notify: fcm project: must be set")
	}
	return nil
}

// Send implements Sender. 429 and 503 honour Retry-After; 404 (UNREGISTERED) and other 4xx are
// permanent; 5xx retries.
func (f *FCM) Send(ctx context.Context, to Target, m Message) error {
	title, body := m.Summary()
	data := map[string]string{"id": m.ID, "type": m.Type, "symbol": m.Symbol, "time": m.Time.UTC().Format(time.RFC3339Nano)}
	for k, v := range map[string]string{"window": m.Window, "threshold": m.Threshold, "changePercent": m.ChangePercent, "price": m.Price, "referencePrice": m.ReferencePrice} {
		if v != "" {
			data[k] = v
		}
	}
	msg := map[string]any{"message": map[string]any{
		"token":        to.Address,
		"notification": map[string]string{"title": title, "body": body},
		"data":         data,
		"android":      map[string]string{"priority": "high"},
	}}
	b, _ := json.Marshal(msg)
	u := strings.TrimSuffix(f.Endpoint, "/") + "/v1/projects/" + url.PathEscape(f.Project) + "/messages:send"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("fcm: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	tok := f.Token
	if f.Auth != nil {
		if tok, err = f.Auth.Token(ctx); err != nil {
			return fmt.Errorf("fcm: %w", err)
		}
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	client := f.Client
	if client == nil {
		client = NewHTTP2Client(10 * time.Second)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("fcm: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 16<<10))
	if resp.StatusCode == http.StatusUnauthorized && f.Auth != nil {
		// The access token was refused (expired or revoked early): fetch a new one and retry.
		f.Auth.Invalidate(tok)
		return fmt.Errorf("fcm: HTTP 401")
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		return &RetryAfterError{After: retryAfter(resp.Header.Get("Retry-After")), Err: fmt.Errorf("fcm: HTTP 503")}
	}
	return classifyHTTP("fcm", resp)
}
