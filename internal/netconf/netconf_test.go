package netconf

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "network.conf")
	body := "# comment\n\nORG1_PEER_HOST=127.0.0.1\nORG1_PEER_PORT=7051\nORG1_PEER_OPS_PORT=9446\nORG2_PEER_PORT=8051\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORG2_PEER_PORT", "18051")
	c, err := Load(p, "/run")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, key, want string
		wantErr         bool
	}{
		{"from file", "ORG1_PEER_PORT", "7051", false},
		{"env overrides", "ORG2_PEER_PORT", "18051", false},
		{"missing", "ORG3_PEER_PORT", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Get(tt.key)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("Get(%s) = %q, %v; want %q (err %v)", tt.key, got, err, tt.want, tt.wantErr)
			}
		})
	}
	peer, err := c.Peer("org1")
	if err != nil {
		t.Fatal(err)
	}
	if peer.Endpoint != "127.0.0.1:7051" || peer.ServerName != "peer0.org1.example.com" || peer.OpsAddr != "127.0.0.1:9446" {
		t.Fatalf("Peer(org1) = %+v", peer)
	}
	if _, err := c.Peer("org9"); err == nil {
		t.Fatal("Peer(org9): want an error")
	}
	id, err := c.User("regulator", "User1")
	if err != nil || id.MSPID != "RegulatorMSP" || filepath.Base(id.CertPath) != "User1@regulator.example.com-cert.pem" {
		t.Fatalf("User(regulator) = %+v, %v", id, err)
	}
}

func TestLoadRejectsGarbage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "network.conf")
	if err := os.WriteFile(p, []byte("not a key value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p, ""); err == nil {
		t.Fatal("want an error for a malformed line")
	}
}

func TestLoadRepoFindsTheRealFile(t *testing.T) {
	c, err := LoadRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Addr("ORG1_GATEWAY"); err != nil {
		t.Fatal(err)
	}
}
