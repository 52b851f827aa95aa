package contract

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"

	"github.com/fabmarket/fabmarket/chaincode/internal/ccserver"
)

// creator returns a serialized identity (MSP ID + self-signed X.509 certificate), as the peer
// hands it to the chaincode, so that contractapi's own client-identity code runs.
func creator(t *testing.T, mspID string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "user@" + mspID, OrganizationalUnit: []string{"client"}},
		NotBefore:    time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(&msp.SerializedIdentity{Mspid: mspID, IdBytes: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestChaincodeInvoke runs the contract the way the peer does: through ccserver.New (as in
// main.go), contractapi's argument parsing, client identity and return-value schema checks.
func TestChaincodeInvoke(t *testing.T) {
	now := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	c := New()
	c.clock = func() time.Time { return now }
	cc, err := ccserver.New("numbers", c)
	if err != nil {
		t.Fatal(err)
	}
	ledger := newFakeLedger()
	ids := map[string][]byte{}
	for _, m := range []string{org1, org2, org3, reg} {
		ids[m] = creator(t, m)
	}
	seq := 0
	invoke := func(mspID string, transient map[string][]byte, args ...string) (int32, string) {
		t.Helper()
		seq++
		now = now.Add(time.Minute)
		stub := ledger.newStub(fmt.Sprintf("cc%03d", seq), mspID, now, transient)
		stub.creator = ids[mspID]
		for _, a := range args {
			stub.args = append(stub.args, []byte(a))
		}
		resp := cc.Invoke(stub)
		if resp.Status == 200 {
			stub.commit()
			return resp.Status, string(resp.Payload)
		}
		return resp.Status, resp.Message
	}
	ok := func(mspID string, transient map[string][]byte, args ...string) string {
		t.Helper()
		status, out := invoke(mspID, transient, args...)
		if status != 200 {
			t.Fatalf("%v: %d %s", args, status, out)
		}
		return out
	}

	ok(reg, nil, "AllocateNumber", num1, org1)
	ok(reg, nil, "numbers:AllocateRange", "+4930000000", "+4930000009", org2)
	out := ok(org2, customerTransient(nil), "RequestTransfer", num1)
	var tr TransferView
	if err := json.Unmarshal([]byte(out), &tr); err != nil || tr.Status != "OPEN" {
		t.Fatalf("%s %v", out, err)
	}
	out = ok(org3, nil, "GetNumber", num1)
	if !strings.Contains(out, `"status":"PORTING"`) || !strings.Contains(out, `"pendingTransfer":{`) {
		t.Fatal(out)
	}
	out = ok(org1, nil, "ReadCustomerData", num1)
	if !strings.Contains(out, `"customer":{"name":"Jane Doe","dateOfBirth":"1960-01-01","address":{"city":"Berlin"}}`) || !strings.Contains(out, `"hashVerified":true`) {
		t.Fatal(out)
	}
	ok(reg, nil, "ListTransfers", "OPEN", "", "")
	ok(reg, nil, "ListTransfers", "ESCALATED", "10", "")
	out = ok(org1, nil, "ConfirmTransfer", num1)
	if !strings.Contains(out, `"applied":true`) || !strings.Contains(out, `"status":"COMPLETED"`) {
		t.Fatal(out)
	}
	out = ok(org3, nil, "History", num1)
	var hist []HistoryEntry
	if err := json.Unmarshal([]byte(out), &hist); err != nil || len(hist) != 4 {
		t.Fatalf("%s %v", out, err)
	}
	ok(org2, map[string][]byte{TransientPAC: []byte("ABC123456")}, "IssuePAC", "+4930000001")
	ok(org2, nil, "RevokePAC", "+4930000001")
	ok(reg, nil, "Configure", "2", "5", "30")
	ok(org1, nil, "GetSettings")
	ok(org1, customerTransient(nil), "RequestTransfer", "+4930000002")
	ok(org1, nil, "EscalateTransfer", "+4930000002", "no answer")
	ok(reg, nil, "ResolveTransfer", "+4930000002", "DENY", "insufficient evidence")
	ok(org1, nil, "EraseCustomerData", "+4930000002")
	ok(org3, customerTransient(nil), "RequestTransfer", "+4930000003")
	ok(org2, nil, "RejectTransfer", "+4930000003", "unknown customer")
	ok(org3, customerTransient(nil), "RequestTransfer", "+4930000004")
	ok(org3, nil, "CancelTransfer", "+4930000004")
	ok(org3, nil, "GetTransfer", "+4930000004")

	// Errors reach the client as "CODE: ..." with status 500.
	for _, tc := range []struct {
		msp  string
		args []string
		want string
	}{
		{org3, []string{"ConfirmTransfer", num1}, "FORBIDDEN: only the owner Org1MSP may confirm"},
		{org1, []string{"AllocateNumber", "+4915100000000", org1}, "FORBIDDEN: only the Regulator"},
		{reg, []string{"AllocateNumber", "bad", org1}, "INVALID_ARGUMENT: number:"},
		{org2, []string{"GetNumber", "+4915100000000"}, "NOT_FOUND: number:"},
	} {
		status, msg := invoke(tc.msp, nil, tc.args...)
		if status != 500 || !strings.HasPrefix(msg, tc.want) {
			t.Errorf("%v: %d %q, want prefix %q", tc.args, status, msg, tc.want)
		}
	}

	// Evaluate functions are tagged as such in the metadata.
	meta := ok(org1, nil, "org.hyperledger.fabric:GetMetadata")
	var md struct {
		Contracts map[string]struct {
			Transactions []struct {
				Name string   `json:"name"`
				Tag  []string `json:"tag"`
			} `json:"transactions"`
		} `json:"contracts"`
	}
	if err := json.Unmarshal([]byte(meta), &md); err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	for _, tx := range md.Contracts[Name].Transactions {
		tags[tx.Name] = strings.Join(tx.Tag, ",")
	}
	for _, fn := range New().GetEvaluateTransactions() {
		if !strings.Contains(tags[fn], "EVALUATE") {
			t.Errorf("%s tags %q", fn, tags[fn])
		}
	}
	for _, fn := range []string{"AllocateNumber", "AllocateRange", "IssuePAC", "RevokePAC", "RequestTransfer", "ConfirmTransfer", "RejectTransfer", "CancelTransfer", "EscalateTransfer", "ResolveTransfer", "EraseCustomerData", "Configure"} {
		if !strings.Contains(tags[fn], "SUBMIT") {
			t.Errorf("%s tags %q", fn, tags[fn])
		}
	}
	if len(tags) != 19 {
		t.Errorf("contract exposes %d functions, want 19: %v", len(tags), tags)
	}
}
