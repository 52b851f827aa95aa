package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenSource gives the bearer token a push provider wants on each request.
type TokenSource interface {
	// Token returns a valid token, making or fetching a new one when the cached one is due.
	Token(ctx context.Context) (string, error)
	// Invalidate tells the source the provider rejected tok as expired or invalid; the next
	// Token makes a new one (within the provider's limits).
	Invalidate(tok string)
}

// StaticToken is a fixed token (tests, or a token made by another tool).
type StaticToken string

// Token implements TokenSource.
func (s StaticToken) Token(context.Context) (string, error) { return string(s), nil }

// Invalidate implements TokenSource; a static token cannot be renewed.
func (s StaticToken) Invalidate(string) {}

// APNs provider token limits: Apple rejects a token older than one hour (ExpiredProviderToken)
// and a provider that changes its token more often than every 20 minutes
// (TooManyProviderTokenUpdates).
const (
	APNsTokenMaxAge     = 60 * time.Minute
	APNsTokenMinRefresh = 20 * time.Minute
	// APNsTokenRefresh is the default age at which a new token is made.
	APNsTokenRefresh = 50 * time.Minute
)

// APNsTokenSource makes APNs provider authentication tokens: JWTs signed with ES256 by the
// team's .p8 key, header {"alg":"ES256","kid":KeyID}, claims {"iss":TeamID,"iat":now}. A token
// is reused until it is Refresh old (between 20 and 60 minutes, as Apple requires), so the
// provider never sees more than one new token per Refresh.
type APNsTokenSource struct {
	// KeyID is the 10-character id of the signing key (the .p8 file's AuthKey_<KeyID>).
	KeyID string
	// TeamID is the developer team id (the token's issuer).
	TeamID string
	// Key is the P-256 private key of the .p8 file (LoadAPNsKey).
	Key *ecdsa.PrivateKey
	// Refresh is the age at which a new token is made; 0 means APNsTokenRefresh.
	Refresh time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu  sync.Mutex
	tok string
	iat time.Time
}

// Validate checks the configuration; the error names the field.
func (s *APNsTokenSource) Validate() error {
	switch {
	case s.KeyID == "":
		return errors.New("notify: apns key id: must be set")
	case s.TeamID == "":
		return errors.New("notify: apns team id: must be set")
	case s.Key == nil || s.Key.Curve != elliptic.P256():
		return errors.New("notify: apns key: want a P-256 (ES256) private key")
	case s.Refresh != 0 && (s.Refresh < APNsTokenMinRefresh || s.Refresh >= APNsTokenMaxAge):
		return fmt.Errorf("notify: apns token refresh %v: want at least %v and under %v", s.Refresh, APNsTokenMinRefresh, APNsTokenMaxAge)
	}
	return nil
}

func (s *APNsTokenSource) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Token implements TokenSource.
func (s *APNsTokenSource) Token(context.Context) (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	refresh := s.Refresh
	if refresh == 0 {
		refresh = APNsTokenRefresh
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != "" && now.Sub(s.iat) < refresh && !now.Before(s.iat) {
		return s.tok, nil
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": s.TeamID, "iat": now.Unix()})
	t.Header["kid"] = s.KeyID
	tok, err := t.SignedString(s.Key)
	if err != nil {
		return "", fmt.Errorf("notify: apns provider token: %w", err)
	}
	s.tok, s.iat = tok, now
	return tok, nil
}

// Invalidate implements TokenSource. A token younger than 20 minutes is kept (a new one would
// be refused as TooManyProviderTokenUpdates); an older one is replaced on the next Token.
func (s *APNsTokenSource) Invalidate(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok == s.tok && s.now().Sub(s.iat) >= APNsTokenMinRefresh {
		s.tok = ""
	}
}

// ParseAPNsKey reads the PEM "PRIVATE KEY" (PKCS #8) of an APNs .p8 file.
func ParseAPNsKey(pemBytes []byte) (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode(pemBytes)
	if b == nil {
		return nil, errors.New("notify: apns key: no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		if ek, err2 := x509.ParseECPrivateKey(b.Bytes); err2 == nil {
			k = ek
		} else {
			return nil, fmt.Errorf("notify: apns key: %w", err)
		}
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, errors.New("notify: apns key: want a P-256 (ES256) EC private key")
	}
	return ek, nil
}

// LoadAPNsKey reads an APNs .p8 key file.
func LoadAPNsKey(path string) (*ecdsa.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("notify: apns key: %w", err)
	}
	return ParseAPNsKey(raw)
}

// FCMScope is the OAuth 2 scope FCM HTTP v1 requires.
const FCMScope = "https://www.googleapis.com/auth/firebase.messaging"

// ServiceAccount is the part of a Google service-account key file (JSON) that the OAuth 2
// JWT-bearer flow needs.
type ServiceAccount struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`
}

// ParseServiceAccount reads a service-account key file's JSON; the error names what is
// missing.
func ParseServiceAccount(raw []byte) (ServiceAccount, *rsa.PrivateKey, error) {
	var sa ServiceAccount
	if err := json.Unmarshal(raw, &sa); err != nil {
		return sa, nil, fmt.Errorf("notify: fcm service account: %w", err)
	}
	switch {
	case sa.Type != "service_account":
		return sa, nil, fmt.Errorf("notify: fcm service account: type %q, want service_account", sa.Type)
	case sa.ClientEmail == "":
		return sa, nil, errors.New("notify: fcm service account: client_email missing")
	case sa.TokenURI == "":
		return sa, nil, errors.New("notify: fcm service account: token_uri missing")
	}
	if u, err := url.Parse(sa.TokenURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return sa, nil, fmt.Errorf("notify: fcm service account: token_uri %q: want an http(s) URL", sa.TokenURI)
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(sa.PrivateKey))
	if err != nil {
		return sa, nil, fmt.Errorf("notify: fcm service account: private_key: %w", err)
	}
	return sa, key, nil
}

// FCMTokenSource gets OAuth 2 access tokens for FCM HTTP v1 with a service account: it signs
// a JWT assertion with RS256 (header kid = private_key_id; claims iss = client_email, scope,
// aud = token_uri, iat, exp = iat + 1h), exchanges it at the token_uri
// (grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer) and caches the access token until
// a minute before it expires.
type FCMTokenSource struct {
	// Account names the service account, its key id and its token endpoint.
	Account ServiceAccount
	// Key is the service account's private key (ParseServiceAccount).
	Key *rsa.PrivateKey
	// Scope; "" means FCMScope.
	Scope string
	// Client posts to the token endpoint; nil means a client with a 10 s timeout.
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu  sync.Mutex
	tok string
	exp time.Time
}

// NewFCMTokenSource reads a service-account key file.
func NewFCMTokenSource(path string) (*FCMTokenSource, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("notify: fcm service account: %w", err)
	}
	sa, key, err := ParseServiceAccount(raw)
	if err != nil {
		return nil, err
	}
	return &FCMTokenSource{Account: sa, Key: key}, nil
}

func (s *FCMTokenSource) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// tokenSkew is how long before its expiry an access token is replaced.
const tokenSkew = time.Minute

// Token implements TokenSource. Concurrent callers share one exchange.
func (s *FCMTokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.tok != "" && now.Before(s.exp.Add(-tokenSkew)) {
		return s.tok, nil
	}
	if s.Key == nil {
		return "", errors.New("notify: fcm token: no service-account key")
	}
	scope := s.Scope
	if scope == "" {
		scope = FCMScope
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": s.Account.ClientEmail, "scope": scope, "aud": s.Account.TokenURI,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	if s.Account.PrivateKeyID != "" {
		t.Header["kid"] = s.Account.PrivateKeyID
	}
	assertion, err := t.SignedString(s.Key)
	if err != nil {
		return "", fmt.Errorf("notify: fcm token: sign assertion: %w", err)
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Account.TokenURI, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("notify: fcm token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("notify: fcm token: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		TokenType   string `json:"token_type"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	json.Unmarshal(raw, &out)
	if resp.StatusCode != http.StatusOK || out.AccessToken == "" {
		msg := out.Error
		if out.Description != "" {
			msg += ": " + out.Description
		}
		// Retried with backoff like any send failure, also on 4xx (a revoked key, a wrong
		// token_uri): the fault is the service's configuration, not the notification's.
		return "", fmt.Errorf("notify: fcm token: %s answered HTTP %d %s", s.Account.TokenURI, resp.StatusCode, msg)
	}
	if out.TokenType != "" && !strings.EqualFold(out.TokenType, "Bearer") {
		return "", fmt.Errorf("notify: fcm token: token_type %q, want Bearer", out.TokenType)
	}
	if out.ExpiresIn <= 0 {
		out.ExpiresIn = 3600
	}
	s.tok, s.exp = out.AccessToken, now.Add(time.Duration(out.ExpiresIn)*time.Second)
	return s.tok, nil
}

// Invalidate implements TokenSource: a rejected access token is fetched again.
func (s *FCMTokenSource) Invalidate(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok == s.tok {
		s.tok = ""
	}
}
