package auth

import (
	"os"
	"path/filepath"
	"testing"
)

func TestNewAndOrg(t *testing.T) {
	k, err := New(map[string]string{"org1": "0123456789abcdef-one", "regulator": "0123456789abcdef-reg"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, key, org string
		ok             bool
	}{
		{"org1", "0123456789abcdef-one", "org1", true},
		{"regulator", "0123456789abcdef-reg", "regulator", true},
		{"unknown", "0123456789abcdef-xxx", "", false},
		{"empty", "", "", false},
		{"prefix", "0123456789abcdef", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org, ok := k.Org(tt.key)
			if org != tt.org || ok != tt.ok {
				t.Fatalf("Org(%q) = %q, %v; want %q, %v", tt.key, org, ok, tt.org, tt.ok)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name  string
		byOrg map[string]string
	}{
		{"none", nil},
		{"short", map[string]string{"org1": "short"}},
		{"duplicate", map[string]string{"org1": "0123456789abcdef", "org2": "0123456789abcdef"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.byOrg); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "keys.json")
	if err := os.WriteFile(good, []byte(`{"org2":"abcdefghijklmnopqrstuvwxyz"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if org, ok := k.Org("abcdefghijklmnopqrstuvwxyz"); !ok || org != "org2" {
		t.Fatalf("Org = %q, %v", org, ok)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[1]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil {
		t.Fatal("Load of a JSON array: no error")
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("Load of a missing file: no error")
	}
	var zero *Keys
	if _, ok := zero.Org("x"); ok {
		t.Fatal("nil Keys knows a key")
	}
}
