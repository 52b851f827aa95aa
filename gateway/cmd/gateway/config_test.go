package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "network.conf")
	if err := os.WriteFile(conf, []byte("ORG2_GATEWAY_HOST=127.0.0.1\nORG2_GATEWAY_PORT=8082\nORG2_PEER_HOST=127.0.0.1\nORG2_PEER_PORT=8051\nORG2_PEER_OPS_PORT=9447\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "gw.json")
	if err := os.WriteFile(file, []byte(`{"listen":"127.0.0.1:1","matchInterval":"3s","channel":"fromfile"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		listen  string
		channel string
		match   time.Duration
		wantErr bool
	}{
		{"defaults from network.conf", []string{"--org", "org2", "--network-conf", conf}, nil, "127.0.0.1:8082", "market", time.Second, false},
		{"file", []string{"--org", "org2", "--network-conf", conf, "--config", file}, nil, "127.0.0.1:1", "fromfile", 3 * time.Second, false},
		{"env over file", []string{"--org", "org2", "--network-conf", conf}, map[string]string{"GATEWAY_CONFIG": file, "GATEWAY_LISTEN": "127.0.0.1:2"}, "127.0.0.1:2", "fromfile", 3 * time.Second, false},
		{"flag over env", []string{"--org", "org2", "--network-conf", conf, "--listen", "127.0.0.1:3", "--match-interval", "-1s"}, map[string]string{"GATEWAY_LISTEN": "127.0.0.1:2"}, "127.0.0.1:3", "market", -time.Second, false},
		{"org from env", []string{"--network-conf", conf}, map[string]string{"GATEWAY_ORG": "org2"}, "127.0.0.1:8082", "market", time.Second, false},
		{"no org", []string{"--network-conf", conf}, nil, "", "", 0, true},
		{"bad duration", []string{"--org", "org2", "--network-conf", conf}, map[string]string{"GATEWAY_MATCH_INTERVAL": "soon"}, "", "", 0, true},
		{"bad level", []string{"--org", "org2", "--network-conf", conf, "--log-level", "loud"}, nil, "", "", 0, true},
		{"stray argument", []string{"--org", "org2", "x"}, nil, "", "", 0, true},
		{"https cert without key", []string{"--org", "org2", "--network-conf", conf, "--https-cert", "c.pem"}, nil, "", "", 0, true},
		{"https key without cert", []string{"--org", "org2", "--network-conf", conf}, map[string]string{"GATEWAY_HTTPS_KEY": "k.pem"}, "", "", 0, true},
		{"https pair", []string{"--org", "org2", "--network-conf", conf, "--https-cert", "c.pem"}, map[string]string{"GATEWAY_HTTPS_KEY": "k.pem"}, "127.0.0.1:8082", "market", time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadConfig(tt.args, env(tt.env))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error: %+v", c)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Listen != tt.listen || c.Channel != tt.channel || c.MatchInterval != tt.match {
				t.Fatalf("listen %s channel %s match %v", c.Listen, c.Channel, c.MatchInterval)
			}
			if c.PeerEndpoint != "127.0.0.1:8051" || c.PeerServerName != "peer0.org2.example.com" || c.MSPID != "Org2MSP" ||
				c.APIKeys != filepath.Join(dir, "run", "apikeys.json") {
				t.Fatalf("derived defaults: %+v", c)
			}
		})
	}
}
