package benchkit

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestStatTicks(t *testing.T) {
	tests := []struct {
		stat string
		want int64
		ok   bool
	}{
		{"42 (peer) S 1 42 42 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 30 0 100 0", 1290, true},
		{"7 (a) b) c) R 1 7 7 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 1 0", 15, true}, // ')' inside the name
		{"garbage", 0, false},
		{"9 (x) S 1 2", 0, false},
		{"9 (x) S 1 9 9 0 -1 0 0 0 0 0 u s 0 0 20 0 1 0 1 0", 0, false},
	}
	for _, tt := range tests {
		got, ok := statTicks(tt.stat)
		if got != tt.want || ok != tt.ok {
			t.Errorf("statTicks(%q) = %d, %v; want %d, %v", tt.stat, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPerTx(t *testing.T) {
	got := PerTx(CPUSample{"peers": 100, "orderers": 10}, CPUSample{"peers": 300, "orderers": 60, "gateways": 40}, 100)
	want := map[string]float64{"peers": 20, "orderers": 5, "gateways": 4, "total": 29}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("PerTx[%s] = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	if s := FormatPerTx(got); s != "total 29.0 ms (peers 20.0, orderers 5.0, gateways 4.0)" {
		t.Errorf("FormatPerTx = %q", s)
	}
	if len(PerTx(nil, nil, 0)) != 0 {
		t.Error("PerTx with no transactions is not empty")
	}
}

// TestSampleCPU reads this test's own process through a pids directory like network.sh's.
func TestSampleCPU(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "pids"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, pid string) {
		if err := os.WriteFile(filepath.Join(dir, "pids", name+".pid"), []byte(pid+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("peer0.org1", strconv.Itoa(os.Getpid()))
	write("orderer0", "999999999") // not running
	for i := 0; i < 3e7; i++ {     // burn a little CPU so that the sample is not zero
		_ = i * i
	}
	s := SampleCPU(dir)
	if _, ok := s["orderers"]; ok || len(s) != 1 {
		t.Fatalf("SampleCPU = %v, want only peers", s)
	}
	if s["peers"] < 0 {
		t.Fatalf("peers = %d", s["peers"])
	}
}

func TestComponent(t *testing.T) {
	for node, want := range map[string]string{"peer0.org1": "peers", "orderer2": "orderers", "cc.exchange": "chaincode",
		"gateway.regulator": "gateways", "watcher": "watcher", "watchdog": "watchdog"} {
		if got := Component(node); got != want {
			t.Errorf("Component(%s) = %s, want %s", node, got, want)
		}
	}
}
