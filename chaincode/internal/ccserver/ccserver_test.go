package ccserver

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/internal/stubtest"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

type sample struct{ contractapi.Contract }

func (s *sample) Ping(ctx contractapi.TransactionContextInterface) (string, error) {
	return "pong", nil
}

func TestNewListsContractsAndVersion(t *testing.T) {
	s := &sample{}
	s.Name = "sample"
	cc, err := New("demo", s)
	if err != nil {
		t.Fatal(err)
	}
	if cc.DefaultContract != "sample" {
		t.Fatalf("default contract = %q, want sample", cc.DefaultContract)
	}
	l := stubtest.NewLedger("market")
	vc := newVersionContract("demo", []contractapi.ContractInterface{s})
	got, err := vc.Version(l.NewTx("Org1MSP", time.Unix(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	want := &VersionInfo{Chaincode: "demo", Version: BuildVersion, Contracts: []string{"baseline", "sample", "version"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Version = %+v, want %+v", got, want)
	}
	if _, err := New(""); err == nil {
		t.Fatal("New with an empty name: want an error")
	}
}

func TestBaselinePutGet(t *testing.T) {
	b := &BaselineContract{}
	l := stubtest.NewLedger("market")
	ts := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name, key, value, wantErr string
	}{
		{"ok", "k1", "v1", ""},
		{"empty key", "", "v", "key: must not be empty"},
		{"long key", strings.Repeat("k", MaxBaselineKey+1), "v", "key: longer than"},
		{"long value", "k2", strings.Repeat("v", MaxBaselineValue+1), "value: longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.Exec("Org1MSP", ts, func(tx *stubtest.Tx) error { return b.Put(tx, tt.key, tt.value) })
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Put: %v", err)
				}
				if got := string(l.Get(baselinePrefix + tt.key)); got != tt.value {
					t.Fatalf("state = %q, want %q", got, tt.value)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Put error = %v, want %q", err, tt.wantErr)
			}
		})
	}
	got, err := b.Get(l.NewTx("Org2MSP", ts), "k1")
	if err != nil || got != "v1" {
		t.Fatalf("Get(k1) = %q, %v", got, err)
	}
	if _, err := b.Get(l.NewTx("Org2MSP", ts), "missing"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("Get(missing) error = %v", err)
	}
}
