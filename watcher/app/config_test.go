package app

import (
	"os"
	"path/filepath"
	"testing"
)

func TestValidate(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "network.conf")
	os.WriteFile(conf, []byte("WATCHER_HOST=127.0.0.1\nWATCHER_PORT=8091\n"), 0o644)
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
		{"bad smtp", Config{SMTPAddr: "mail"}, false, nil},
		{"apns without topic", Config{APNsEndpoint: "https://apns.test"}, false, nil},
		{"fcm without project", Config{FCMEndpoint: "https://fcm.test"}, false, nil},
		{"bad symbol", Config{Symbols: []string{"A B"}}, false, nil},
		{"bad tick size", Config{DefaultTickSize: "0"}, false, nil},
		{"negative rate", Config{PushRate: -1}, false, nil},
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
