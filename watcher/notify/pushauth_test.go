package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// p8 writes key as an APNs .p8 file (PEM PKCS #8) and returns its path.
func p8(t *testing.T, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "AuthKey_ABC123DEFG.p8")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseAPNsKey(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name string
		path string
		ok   bool
	}{
		{"P-256 .p8", p8(t, ec), true},
		{"P-384 refused", p8(t, ec384), false},
		{"RSA refused", p8(t, rk), false},
		{"missing file", filepath.Join(t.TempDir(), "nope.p8"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := LoadAPNsKey(tc.path)
			if (err == nil) != tc.ok || (tc.ok && !k.Equal(ec)) {
				t.Fatalf("key %v err %v, want ok=%v", k != nil, err, tc.ok)
			}
		})
	}
	if _, err := ParseAPNsKey([]byte("not pem")); err == nil {
		t.Fatal("accepted garbage")
	}
}

// TestAPNsProviderToken: the APNs endpoint verifies every request's bearer token with the
// public key (ES256, kid, iss, iat); the token is reused until its refresh age, renewed after
// it, and an ExpiredProviderToken answer renews it only when it is at least 20 minutes old.
func TestAPNsProviderToken(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	loaded, err := LoadAPNsKey(p8(t, key))
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	var mu sync.Mutex
	var tokens []string
	expire := ""
	srv := h2cServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		expire := expire
		mu.Unlock()
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "bearer ")
		if !ok {
			w.WriteHeader(403)
			json.NewEncoder(w).Encode(map[string]string{"reason": "MissingProviderToken"})
			return
		}
		tok, err := jwt.Parse(raw, func(tok *jwt.Token) (any, error) { return &key.PublicKey, nil },
			jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuedAt(), jwt.WithTimeFunc(clk.Now))
		claims, _ := tok.Claims.(jwt.MapClaims)
		if err != nil || tok.Header["kid"] != "ABC123DEFG" || claims["iss"] != "TEAM123456" || claims["iat"] != float64(clk.Now().Unix()) && !strings.Contains(expire, "any-iat") {
			t.Errorf("token %v: err %v header %v claims %v", raw, err, tok.Header, claims)
			w.WriteHeader(403)
			json.NewEncoder(w).Encode(map[string]string{"reason": "InvalidProviderToken"})
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if len(tokens) == 0 || tokens[len(tokens)-1] != raw {
			tokens = append(tokens, raw)
		}
		if expire != "" && strings.HasPrefix(expire, "yes") {
			w.WriteHeader(403)
			json.NewEncoder(w).Encode(map[string]string{"reason": "ExpiredProviderToken"})
			return
		}
	})
	auth := &APNsTokenSource{KeyID: "ABC123DEFG", TeamID: "TEAM123456", Key: loaded, Now: clk.Now}
	a := &APNs{Endpoint: srv.URL, Topic: "com.fabmarket.app", Auth: auth}
	send := func() error { return a.Send(context.Background(), Target{Address: "devtok"}, msg) }
	distinct := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(tokens)
	}
	steps := []struct {
		name    string
		advance time.Duration
		expire  string
		ok      bool
		tokens  int
	}{
		{"first send signs a token", 0, "", true, 1},
		{"reused a minute later", time.Minute, "any-iat", true, 1},
		{"reused at 49 minutes", 48 * time.Minute, "any-iat", true, 1},
		{"renewed at 50 minutes", time.Minute, "", true, 2},
		{"expired answer at 10 minutes: kept (Apple refuses updates within 20)", 10 * time.Minute, "yes any-iat", false, 2},
		{"still the same token", 0, "any-iat", true, 2},
		{"expired answer at 25 minutes: renewed on the next send", 15 * time.Minute, "yes any-iat", false, 2},
		{"next send carries a new token", 0, "", true, 3},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clk.Advance(st.advance)
			mu.Lock()
			expire = st.expire
			mu.Unlock()
			err := send()
			if (err == nil) != st.ok || IsPermanent(err) || distinct() != st.tokens {
				t.Fatalf("err %v, distinct tokens %d; want ok=%v and %d", err, distinct(), st.ok, st.tokens)
			}
		})
	}
}

func TestAPNsTokenSourceValidate(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := []struct {
		name string
		s    *APNsTokenSource
		ok   bool
	}{
		{"ok", &APNsTokenSource{KeyID: "K", TeamID: "T", Key: key}, true},
		{"refresh 30m", &APNsTokenSource{KeyID: "K", TeamID: "T", Key: key, Refresh: 30 * time.Minute}, true},
		{"refresh under 20m", &APNsTokenSource{KeyID: "K", TeamID: "T", Key: key, Refresh: 10 * time.Minute}, false},
		{"refresh of an hour", &APNsTokenSource{KeyID: "K", TeamID: "T", Key: key, Refresh: time.Hour}, false},
		{"no key id", &APNsTokenSource{TeamID: "T", Key: key}, false},
		{"no team", &APNsTokenSource{KeyID: "K", Key: key}, false},
		{"no key", &APNsTokenSource{KeyID: "K", TeamID: "T"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.s.Token(context.Background())
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// serviceAccount writes a service-account key file whose token_uri is tokenURI.
func serviceAccount(t *testing.T, key *rsa.PrivateKey, tokenURI string) string {
	t.Helper()
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	sa := map[string]string{"type": "service_account", "project_id": "proj", "private_key_id": "kid-1",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), "client_email": "push@proj.iam.gserviceaccount.com",
		"token_uri": tokenURI}
	raw, _ := json.Marshal(sa)
	path := filepath.Join(t.TempDir(), "sa.json")
	os.WriteFile(path, raw, 0o600)
	return path
}

// TestFCMOAuth: a token endpoint verifies the RS256 assertion with the service account's
// public key and issues access tokens; the FCM endpoint accepts only the current one. The
// token is cached until a minute before it expires, and a 401 fetches a new one.
func TestFCMOAuth(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	var mu sync.Mutex
	issued, current := 0, ""
	var tokenURL string
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Method != http.MethodPost || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(map[string]string{"error": "unsupported_grant_type"})
			return
		}
		tok, err := jwt.Parse(r.Form.Get("assertion"), func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(tokenURL), jwt.WithIssuer("push@proj.iam.gserviceaccount.com"),
			jwt.WithExpirationRequired(), jwt.WithTimeFunc(clk.Now))
		if err != nil {
			t.Errorf("assertion: %v", err)
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": err.Error()})
			return
		}
		claims := tok.Claims.(jwt.MapClaims)
		if tok.Header["kid"] != "kid-1" || claims["scope"] != FCMScope || claims["exp"].(float64)-claims["iat"].(float64) != 3600 {
			t.Errorf("assertion header %v claims %v", tok.Header, claims)
		}
		mu.Lock()
		issued++
		current = "access-" + string(rune('0'+issued))
		json.NewEncoder(w).Encode(map[string]any{"access_token": current, "expires_in": 3599, "token_type": "Bearer"})
		mu.Unlock()
	}))
	defer tokenSrv.Close()
	tokenURL = tokenSrv.URL + "/token"
	src, err := NewFCMTokenSource(serviceAccount(t, key, tokenURL))
	if err != nil {
		t.Fatal(err)
	}
	src.Now = clk.Now
	var paths []string
	fcm := h2cServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		paths = append(paths, r.URL.Path)
		if r.Header.Get("Authorization") != "Bearer "+current {
			w.WriteHeader(401)
			return
		}
	})
	f := &FCM{Endpoint: fcm.URL, Project: src.Account.ProjectID, Auth: src}
	send := func() error { return f.Send(context.Background(), Target{Address: "regtok"}, msg) }
	steps := []struct {
		name    string
		advance time.Duration
		revoke  bool
		ok      bool
		issued  int
	}{
		{"first send exchanges an assertion", 0, false, true, 1},
		{"cached", 30 * time.Minute, false, true, 1},
		{"still cached 58 minutes in", 28 * time.Minute, false, true, 1},
		{"within a minute of expiry: renewed", time.Minute, false, true, 2},
		{"revoked early: 401, retried", time.Minute, true, false, 2},
		{"next send fetches a new token", 0, false, true, 3},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clk.Advance(st.advance)
			if st.revoke {
				mu.Lock()
				current = "revoked"
				mu.Unlock()
			}
			err := send()
			mu.Lock()
			n := issued
			mu.Unlock()
			if (err == nil) != st.ok || IsPermanent(err) || n != st.issued {
				t.Fatalf("err %v, tokens issued %d; want ok=%v and %d", err, n, st.ok, st.issued)
			}
		})
	}
	for _, p := range paths {
		if p != "/v1/projects/proj/messages:send" {
			t.Fatalf("path %s", p)
		}
	}
}

func TestParseServiceAccount(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	good, _ := os.ReadFile(serviceAccount(t, key, "https://oauth2.googleapis.com/token"))
	var base map[string]string
	json.Unmarshal(good, &base)
	with := func(k, v string) []byte {
		m := map[string]string{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		raw, _ := json.Marshal(m)
		return raw
	}
	tests := []struct {
		name string
		raw  []byte
		ok   bool
	}{
		{"good", good, true},
		{"not JSON", []byte("{"), false},
		{"wrong type", with("type", "authorized_user"), false},
		{"no email", with("client_email", ""), false},
		{"no token uri", with("token_uri", ""), false},
		{"bad token uri", with("token_uri", "ftp://x"), false},
		{"bad key", with("private_key", "nope"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseServiceAccount(tc.raw)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestFCMTokenEndpointErrors(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"invalid grant", 400, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`},
		{"server error", 500, `oops`},
		{"no token", 200, `{"expires_in":3600}`},
		{"wrong type", 200, `{"access_token":"x","token_type":"MAC"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			src, err := NewFCMTokenSource(serviceAccount(t, key, srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			f := &FCM{Endpoint: "http://127.0.0.1:1", Project: "proj", Auth: src}
			err = f.Send(context.Background(), Target{Address: "x"}, msg)
			if err == nil || IsPermanent(err) {
				t.Fatalf("err %v: want a retryable error", err)
			}
		})
	}
}
