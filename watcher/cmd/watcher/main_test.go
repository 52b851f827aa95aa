package main

import (
	"testing"
	"time"
)

func TestConfigure(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, err error, symbols []string, ticks map[string]string, base time.Duration, url string)
	}{
		{"network.sh flags", []string{"--network-conf", "n.conf", "--run-dir", "run"}, nil,
			func(t *testing.T, err error, s []string, _ map[string]string, base time.Duration, _ string) {
				if err != nil || len(s) != 0 || base != time.Second {
					t.Fatalf("%v %v %v", err, s, base)
				}
			}},
		{"env gives defaults, flags win", []string{"--nats-url", "nats://flag:4222", "--symbols", "ACME, BETA"}, map[string]string{"WATCHER_NATS_URL": "nats://env:4222", "WATCHER_RETRY_BASE": "250ms"},
			func(t *testing.T, err error, s []string, _ map[string]string, base time.Duration, url string) {
				if err != nil || url != "nats://flag:4222" || len(s) != 2 || s[1] != "BETA" || base != 250*time.Millisecond {
					t.Fatalf("%v %q %v %v", err, url, s, base)
				}
			}},
		{"tick sizes", []string{"--tick-sizes", "ACME=0.05,BETA=1"}, nil,
			func(t *testing.T, err error, _ []string, ts map[string]string, _ time.Duration, _ string) {
				if err != nil || ts["ACME"] != "0.05" || ts["BETA"] != "1" {
					t.Fatalf("%v %v", err, ts)
				}
			}},
		{"bad tick sizes", []string{"--tick-sizes", "ACME"}, nil,
			func(t *testing.T, err error, _ []string, _ map[string]string, _ time.Duration, _ string) {
				if err == nil {
					t.Fatal("accepted")
				}
			}},
		{"stray argument", []string{"serve"}, nil,
			func(t *testing.T, err error, _ []string, _ map[string]string, _ time.Duration, _ string) {
				if err == nil {
					t.Fatal("accepted")
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, err := configure(tc.args)
			tc.check(t, err, c.Symbols, c.TickSizes, c.Backoff.Base, c.NATSURL)
		})
	}
}

func TestConfigureWebhookAllowPrivate(t *testing.T) {
	if c, err := configure(nil); err != nil || c.WebhookAllowPrivate {
		t.Fatalf("default: %v allow %v, want refused", err, c.WebhookAllowPrivate)
	}
	if c, err := configure([]string{"--webhook-allow-private"}); err != nil || !c.WebhookAllowPrivate {
		t.Fatalf("flag: %v allow %v", err, c.WebhookAllowPrivate)
	}
	t.Setenv("WATCHER_WEBHOOK_ALLOW_PRIVATE", "true")
	if c, err := configure(nil); err != nil || !c.WebhookAllowPrivate {
		t.Fatalf("env: %v allow %v", err, c.WebhookAllowPrivate)
	}
	if c, err := configure([]string{"--webhook-allow-private=false"}); err != nil || c.WebhookAllowPrivate {
		t.Fatalf("flag wins over env: %v allow %v", err, c.WebhookAllowPrivate)
	}
}
