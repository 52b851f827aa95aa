//go:build integration

package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGatewayHTTPS: a gateway process of the test's own (the binary built from
// gateway/cmd/gateway, org1's identity and peer, its own port and idempotency store) started
// with --https-cert/--https-key serves the REST API, the WebSocket and SSE stream over TLS, and
// nothing over plain HTTP; a client that does not trust its certificate cannot talk to it.
func TestGatewayHTTPS(t *testing.T) {
	e := network(t)
	dir := t.TempDir()
	bin, addr, conf := e.ownProcess(t, dir, "./gateway/cmd/gateway")
	base, trusting := httpsProcess(t, dir, bin, addr, "/readyz", "--org", "org1", "--network-conf", conf,
		"--run-dir", e.cfg.RunDir(), "--data-dir", filepath.Join(dir, "data"), "--listen", addr, "--match-interval", "-1s",
		"--log-level", "warn")

	// The REST API over TLS, on the real network, with HTTP/2.
	org1 := gatewayOf(t, "org1")
	g := &rest{t: t, base: base, key: org1.key, client: trusting}
	reg := gatewayOf(t, "regulator")
	sym := newSymbol(t, reg)
	acct := openFunded(t, g, sym, "100.00", "")
	var a restAccount
	g.must(200, &a, "GET", "/v1/accounts/"+acct, "")
	if a.Org != "Org1MSP" || a.Balances["USD"].Available != "100.00" {
		t.Fatalf("account over HTTPS = %+v", a)
	}
	resp, err := trusting.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.TLS == nil {
		t.Fatalf("healthz over %s, TLS %v; want HTTP/2 over TLS", resp.Proto, resp.TLS != nil)
	}
	g.must(401, nil, "GET", "/v1/accounts/"+acct, "", "Authorization", "Bearer wrong")

	// The live stream: WebSocket (wss) and SSE both replay from block 0 (a checkpoint first).
	first := func(ms []streamMsg) bool { return len(ms) > 0 }
	ws := dialStream(t, g, "?fromBlock=0")
	readUntil(t, func() (streamMsg, error) {
		var m streamMsg
		_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		err := ws.ReadJSON(&m)
		return m, err
	}, first)
	ws.Close()
	readSSE(t, g, "?fromBlock=0", first)

	refusesClear(t, addr, base)
}

// selfSigned writes a self-signed ECDSA P-256 server certificate for 127.0.0.1 and its key
// into dir, and returns the certificate's PEM and both paths.
func selfSigned(t *testing.T, dir string) ([]byte, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "fabmarket gateway test"},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	certFile, keyFile := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM, certFile, keyFile
}

// TestWatcherHTTPS: a watcher process of the test's own (its own port, data directory and API
// key file, the ledger feed on the real network) started with --https-cert/--https-key serves
// its REST API over TLS only.
func TestWatcherHTTPS(t *testing.T) {
	e := network(t)
	dir := t.TempDir()
	bin, addr, conf := e.ownProcess(t, dir, "./watcher/cmd/watcher")
	keysFile := filepath.Join(dir, "apikeys.json")
	base, trusting := httpsProcess(t, dir, bin, addr, "/healthz", "--network-conf", conf, "--run-dir", e.cfg.RunDir(),
		"--data-dir", filepath.Join(dir, "data"), "--api-keys", keysFile, "--listen", addr, "--nats-listen", "none",
		"--feed", "on", "--log-level", "warn")
	raw, _ := os.ReadFile(keysFile)
	var keys map[string]string
	if err := json.Unmarshal(raw, &keys); err != nil || keys["org1"] == "" {
		t.Fatalf("API keys %s: %v", raw, err)
	}
	w := &rest{t: t, base: base, key: keys["org1"], client: trusting}
	var sub struct {
		ID     string `json:"id"`
		Symbol string `json:"symbol"`
	}
	w.must(201, &sub, "POST", "/v1/subscriptions", `{"user":"tls-user","symbol":"TLSX","windows":["1d"],"channels":[{"type":"stream"}]}`)
	if sub.ID == "" || sub.Symbol != "TLSX" {
		t.Fatalf("subscription over HTTPS = %+v", sub)
	}
	w.must(200, nil, "GET", "/v1/subscriptions/"+sub.ID, "")
	w.must(401, nil, "GET", "/v1/subscriptions/"+sub.ID, "", "Authorization", "Bearer wrong")

	refusesClear(t, addr, base)
}

// httpsProcess starts bin with args and the --https-cert/--https-key of a fresh self-signed
// certificate for 127.0.0.1, waits until path answers 200 over TLS, and returns the base URL
// and a client that trusts the certificate (HTTP/2 allowed). The process is stopped when the
// test ends.
func httpsProcess(t *testing.T, dir, bin, addr, path string, args ...string) (string, *http.Client) {
	t.Helper()
	certPEM, certFile, keyFile := selfSigned(t, dir)
	logs := &syncBuffer{}
	cmd := exec.Command(bin, append(args, "--https-cert", certFile, "--https-key", keyFile)...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	trusting := &http.Client{Timeout: 45 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	base := "https://" + addr
	waitFor(t, 60*time.Second, filepath.Base(bin)+" answering over HTTPS", func() bool {
		resp, err := trusting.Get(base + path)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return base, trusting
}

// refusesClear checks that plain HTTP to the TLS port gets no API (400 from the TLS server)
// and that a client that does not trust the certificate gets no connection.
func refusesClear(t *testing.T, addr, base string) {
	t.Helper()
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP to the HTTPS port = %d; want 400", resp.StatusCode)
		}
	}
	if _, err := (&http.Client{Timeout: 10 * time.Second}).Get(base + "/healthz"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusting client: %v; want a certificate error", err)
	}
}
