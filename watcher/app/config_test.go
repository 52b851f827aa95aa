package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pushKeys writes an APNs .p8 key and a service-account file; it returns their paths.
func pushKeys(t *testing.T) (p8, sa string) {
	dir := t.TempDir()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	p8 = filepath.Join(dir, "AuthKey.p8")
	os.WriteFile(p8, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ = x509.MarshalPKCS8PrivateKey(rk)
	raw, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "fab-proj", "private_key_id": "k1",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), "client_email": "a@b.iam.gserviceaccount.com",
		"token_uri": "https://oauth2.googleapis.com/token"})
	sa = filepath.Join(dir, "sa.json")
	os.WriteFile(sa, raw, 0o600)
	return p8, sa
}

func TestValidate(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "network.conf")
	os.WriteFile(conf, []byte("WATCHER_HOST=127.0.0.1\nWATCHER_PORT=8091\n"), 0o644)
	p8, sa := pushKeys(t)
	host, _ := os.Hostname()
	tests := []struct {
		name  string
		cfg   Config
		ok    bool
		check func(c Config) bool
	}{
		{"defaults", Config{}, true, func(c Config) bool {
			return c.Listen == "127.0.0.1:8090" && c.DataDir == filepath.Join("network", "run", "watcher") && c.Feed == "off" && c.NATSListen == "127.0.0.1:4222"
		}},
		{"network.conf gives the address and turns the feed on", Config{NetworkConf: conf, RunDir: "r"}, true, func(c Config) bool {
			return c.Listen == "127.0.0.1:8091" && c.Feed == "on" && c.DBURL == filepath.Join("r", "watcher", "watcher.db") && c.KeysFile == filepath.Join("r", "apikeys.json")
		}},
		{"external NATS: no embedded listener", Config{NATSURL: "nats://x:4222"}, true, func(c Config) bool { return c.NATSListen == "" }},
		{"in-process only", Config{NATSListen: "none"}, true, func(c Config) bool { return c.NATSListen == "" }},
		{"missing network.conf", Config{NetworkConf: "/nonexistent"}, false, nil},
		{"feed on without network.conf", Config{Feed: "on"}, false, nil},
		{"bad feed", Config{Feed: "maybe"}, false, nil},
		{"bad listen", Config{Listen: "8090"}, false, nil},
		{"https cert without key", Config{HTTPSCert: "c.pem"}, false, nil},
		{"https key without cert", Config{HTTPSKey: "k.pem"}, false, nil},
		{"https pair", Config{HTTPSCert: "c.pem", HTTPSKey: "k.pem"}, true, nil},
		{"bad smtp", Config{SMTPAddr: "mail"}, false, nil},
		{"apns without topic", Config{APNsEndpoint: "https://apns.test"}, false, nil},
		{"fcm without project", Config{FCMEndpoint: "https://fcm.test"}, false, nil},
		{"bad symbol", Config{Symbols: []string{"A B"}}, false, nil},
		{"bad tick size", Config{DefaultTickSize: "0"}, false, nil},
		{"negative rate", Config{PushRate: -1}, false, nil},
		{"instance id from host and data dir", Config{DataDir: "/srv/w"}, true, func(c Config) bool { return c.InstanceID == host+":/srv/w" }},
		{"instance id given", Config{InstanceID: "w-2"}, true, func(c Config) bool { return c.InstanceID == "w-2" }},
		{"lease too short", Config{DeliveryLease: time.Second}, false, nil},
		{"apns with a .p8 key", Config{APNsEndpoint: "https://apns.test", APNsTopic: "t", APNsKeyFile: p8, APNsKeyID: "K", APNsTeamID: "T"}, true, nil},
		{"apns key without team", Config{APNsEndpoint: "https://apns.test", APNsTopic: "t", APNsKeyFile: p8, APNsKeyID: "K"}, false, nil},
		{"apns key that is not one", Config{APNsEndpoint: "https://apns.test", APNsTopic: "t", APNsKeyFile: sa, APNsKeyID: "K", APNsTeamID: "T"}, false, nil},
		{"apns key and token", Config{APNsEndpoint: "https://apns.test", APNsTopic: "t", APNsKeyFile: p8, APNsKeyID: "K", APNsTeamID: "T", APNsToken: "x"}, false, nil},
		{"apns without credentials", Config{APNsEndpoint: "https://apns.test", APNsTopic: "t"}, false, nil},
		{"fcm project from the service account", Config{FCMEndpoint: "https://fcm.test", FCMCredentials: sa}, true, func(c Config) bool { return c.FCMProject == "fab-proj" }},
		{"fcm bad service account", Config{FCMEndpoint: "https://fcm.test", FCMCredentials: p8}, false, nil},
		{"fcm token needs a project", Config{FCMEndpoint: "https://fcm.test", FCMToken: "x"}, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			err := c.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate: %v, want ok=%v", err, tc.ok)
			}
			if tc.check != nil && !tc.check(c) {
				t.Fatalf("config after defaults: %+v", c)
			}
		})
	}
}

// TestDataDirLock: a second watcher on the same data directory refuses to start, naming the
// lock; once the first is closed it starts.
func TestDataDirLock(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{RunDir: dir, Listen: "127.0.0.1:0", NATSListen: "none", WebhookSecret: "s", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := New(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "in use by another watcher") {
		if b != nil {
			b.Close()
		}
		t.Fatalf("second instance on the same data dir: %v", err)
	}
	a.Close()
	b, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	b.Close()
}
