package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/fabmarket/fabmarket/internal/netconf"
)

// key3 is the test key of org3, the third telco.
const key3 = "key-org3-0123456789"

// numbersKeys are the test keys of the four orgs of the numbers channel.
var numbersKeys = mapKeys{key1: "org1", key2: "org2", key3: "org3", keyReg: "regulator"}

// keyOf returns the test key of org.
func keyOf(org string) string {
	for k, o := range numbersKeys {
		if o == org {
			return k
		}
	}
	return ""
}

// numbersHarness is a gateway of org whose fake numbers chaincode sees org's MSP ID.
func numbersHarness(t *testing.T, org string) *harness {
	t.Helper()
	f := newFake()
	msp, err := netconf.MSPID(org)
	if err != nil {
		t.Fatal(err)
	}
	f.setCaller(msp)
	h, err := New(Config{Ledger: f, Keys: numbersKeys, Org: org, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, h: h, ledger: f}
}

const (
	goodHash     = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	goodTransfer = `{"customer":{"name":"Erika Mustermann","dateOfBirth":"1980-02-29"},"contractHash":"` + goodHash + `"}`
)

func transferBodyWith(repl ...string) string {
	s := goodTransfer
	for i := 0; i+1 < len(repl); i += 2 {
		s = strings.Replace(s, repl[i], repl[i+1], 1)
	}
	return s
}

// withPAC is goodTransfer with "pac" set to the JSON value v.
func withPAC(v string) string { return strings.TrimSuffix(goodTransfer, "}") + `,"pac":` + v + `}` }

// TestNumbersErrorPaths checks status and code of every rejection of the number routes, and
// that a rejection the handler decides itself writes nothing.
func TestNumbersErrorPaths(t *testing.T) {
	base := "/v1/numbers/" + numPorting + "/transfers"
	tests := []struct {
		name         string
		org          string
		method, path string
		body         string
		inject       map[string]error
		status       int
		code         string
	}{
		// E.164 in the path.
		{"number without plus", "org1", "GET", "/v1/numbers/4915100000001", "", nil, 400, CodeInvalidArgument},
		{"number with letters", "org1", "GET", "/v1/numbers/+49151abc0001", "", nil, 400, CodeInvalidArgument},
		{"number too short", "org1", "GET", "/v1/numbers/+4915", "", nil, 400, CodeInvalidArgument},
		{"number too long", "org1", "GET", "/v1/numbers/+4915100000000012", "", nil, 400, CodeInvalidArgument},
		{"country code zero", "org1", "GET", "/v1/numbers/+0915100000001", "", nil, 400, CodeInvalidArgument},
		{"number with spaces", "org1", "GET", "/v1/numbers/+49%20151%2000000001", "", nil, 400, CodeInvalidArgument},
		{"unknown number", "org1", "GET", "/v1/numbers/" + numUnknown, "", nil, 404, CodeNotFound},
		{"history bad number", "org1", "GET", "/v1/numbers/0049151/history", "", nil, 400, CodeInvalidArgument},
		{"history unknown number", "org1", "GET", "/v1/numbers/" + numUnknown + "/history", "", nil, 404, CodeNotFound},
		{"transfer of a number without one", "org1", "GET", "/v1/numbers/" + numActive + "/transfers", "", nil, 404, CodeNotFound},
		{"request bad number", "org2", "POST", "/v1/numbers/12345/transfers", goodTransfer, nil, 400, CodeInvalidArgument},
		{"confirm bad number", "org1", "POST", "/v1/numbers/+49x/transfers/confirm", "", nil, 400, CodeInvalidArgument},

		// Allocation.
		{"allocate by a telco", "org1", "POST", "/v1/numbers", `{"number":"+4915100000009","owner":"Org1MSP"}`, nil, 403, CodeForbidden},
		{"allocate bad number", "regulator", "POST", "/v1/numbers", `{"number":"015100000009","owner":"Org1MSP"}`, nil, 400, CodeInvalidArgument},
		{"allocate missing number", "regulator", "POST", "/v1/numbers", `{"owner":"Org1MSP"}`, nil, 400, CodeInvalidArgument},
		{"allocate missing owner", "regulator", "POST", "/v1/numbers", `{"number":"+4915100000009"}`, nil, 400, CodeInvalidArgument},
		{"allocate to the Regulator", "regulator", "POST", "/v1/numbers", `{"number":"+4915100000009","owner":"RegulatorMSP"}`, nil, 400, CodeInvalidArgument},
		{"allocate to an unknown org", "regulator", "POST", "/v1/numbers", `{"number":"+4915100000009","owner":"Org9MSP"}`, nil, 400, CodeInvalidArgument},
		{"allocate unknown field", "regulator", "POST", "/v1/numbers", `{"number":"+4915100000009","owner":"Org1MSP","note":"x"}`, nil, 400, CodeInvalidArgument},
		{"allocate number as JSON number", "regulator", "POST", "/v1/numbers", `{"number":4915100000009,"owner":"Org1MSP"}`, nil, 400, CodeInvalidArgument},
		{"allocate number and range", "regulator", "POST", "/v1/numbers", `{"number":"+4915100000009","first":"+4915100000010","last":"+4915100000011","owner":"Org1MSP"}`, nil, 400, CodeInvalidArgument},
		{"allocate range without last", "regulator", "POST", "/v1/numbers", `{"first":"+4915100000010","owner":"Org1MSP"}`, nil, 400, CodeInvalidArgument},
		{"allocate range reversed", "regulator", "POST", "/v1/numbers", `{"first":"+4915100000011","last":"+4915100000010","owner":"Org1MSP"}`, nil, 400, CodeInvalidArgument},
		{"allocate range too big", "regulator", "POST", "/v1/numbers", `{"first":"+4915100000000","last":"+4915100099999","owner":"Org1MSP"}`, nil, 400, CodeInvalidArgument},
		{"allocate range lengths differ", "regulator", "POST", "/v1/numbers", `{"first":"+491510000001","last":"+4915100000011","owner":"Org1MSP"}`, nil, 400, CodeInvalidArgument},
		{"allocate twice", "regulator", "POST", "/v1/numbers", `{"number":"+4915100000001","owner":"Org1MSP"}`, map[string]error{"AllocateNumber": NewError("ALREADY_EXISTS", "allocated")}, 409, "ALREADY_EXISTS"},
		{"allocate bad wait", "regulator", "POST", "/v1/numbers?wait=later", `{"number":"+4915100000009","owner":"Org1MSP"}`, nil, 400, CodeInvalidArgument},
		{"allocate network down", "regulator", "POST", "/v1/numbers", `{"number":"+4915100000009","owner":"Org1MSP"}`, map[string]error{"AllocateNumber": NewError(CodeUnavailable, "down")}, 503, CodeUnavailable},

		// Transfer request.
		{"request missing customer", "org2", "POST", "/v1/numbers/" + numActive + "/transfers", `{"contractHash":"` + goodHash + `"}`, nil, 400, CodeInvalidArgument},
		{"request customer null", "org2", "POST", "/v1/numbers/" + numActive + "/transfers", transferBodyWith(`{"name":"Erika Mustermann","dateOfBirth":"1980-02-29"}`, `null`), nil, 400, CodeInvalidArgument},
		{"request customer not an object", "org2", "POST", "/v1/numbers/" + numActive + "/transfers", transferBodyWith(`{"name":"Erika Mustermann","dateOfBirth":"1980-02-29"}`, `["Erika"]`), nil, 400, CodeInvalidArgument},
		{"request customer empty", "org2", "POST", "/v1/numbers/" + numActive + "/transfers", transferBodyWith(`{"name":"Erika Mustermann","dateOfBirth":"1980-02-29"}`, `{}`), nil, 400, CodeInvalidArgument},
		{"request missing contractHash", "org2", "POST", "/v1/numbers/" + numActive + "/transfers", transferBodyWith(`,"contractHash":"`+goodHash+`"`, ``), nil, 400, CodeInvalidArgument},
		{"request non-hex contractHash", "org2", "POST", "/v1/numbers/" + numActive + "/transfers", transferBodyWith(goodHash, strings.Repeat("z", 64)), nil, 400, CodeInvalidArgument},
		{"request short contractHash", "org2", "POST", "/v1/numbers/" + numActive + "/transfers", transferBodyWith(goodHash, goodHash[:32]), nil, 400, CodeInvalidArgument},
		{"request contractHash as number", "org2", "POST", "/v1/numbers/" + numActive + "/transfers", transferBodyWith(`"`+goodHash+`"`, `123`), nil, 400, CodeInvalidArgument},
		{"request unknown field", "org2", "POST", "/v1/numbers/" + numActive + "/transfers", transferBodyWith(`"contractHash"`, `"salt":"00","contractHash"`), nil, 400, CodeInvalidArgument},
		{"request malformed JSON", "org2", "POST", "/v1/numbers/" + numActive + "/transfers", `{"customer":{`, nil, 400, CodeInvalidArgument},
		{"request empty body", "org2", "POST", "/v1/numbers/" + numActive + "/transfers", ``, nil, 400, CodeInvalidArgument},
		{"request by the Regulator", "regulator", "POST", "/v1/numbers/" + numActive + "/transfers", goodTransfer, nil, 403, CodeForbidden},
		{"request own number", "org1", "POST", "/v1/numbers/" + numActive + "/transfers", goodTransfer, nil, 422, CodeFailedPrecond},
		{"request unknown number", "org2", "POST", "/v1/numbers/" + numUnknown + "/transfers", goodTransfer, nil, 404, CodeNotFound},
		{"second open request", "org3", "POST", base, goodTransfer, map[string]error{}, 409, CodeConflict},
		{"request in dispute window", "org3", "POST", "/v1/numbers/" + numActive + "/transfers", goodTransfer, map[string]error{"RequestTransfer": NewError(CodeConflict, "dispute window")}, 409, CodeConflict},
		{"request without the code", "org2", "POST", "/v1/numbers/" + numActive + "/transfers", goodTransfer, map[string]error{"RequestTransfer": NewError("PAC_REQUIRED", "pac: outstanding")}, 422, "PAC_REQUIRED"},
		{"request with a wrong code", "org2", "POST", "/v1/numbers/" + numActive + "/transfers", withPAC(`"WRONG12345"`), map[string]error{"RequestTransfer": NewError("PAC_INVALID", "pac: no match")}, 422, "PAC_INVALID"},
		{"request pac as number", "org2", "POST", "/v1/numbers/" + numActive + "/transfers", withPAC(`12345678`), nil, 400, CodeInvalidArgument},

		// Steps.
		{"confirm by the Regulator", "regulator", "POST", base + "/confirm", "", nil, 403, CodeForbidden},
		{"confirm by a non-owner", "org2", "POST", base + "/confirm", "", nil, 403, CodeForbidden},
		{"confirm unknown field", "org1", "POST", base + "/confirm", `{"force":true}`, nil, 400, CodeInvalidArgument},
		{"confirm not an object", "org1", "POST", base + "/confirm", `"yes"`, nil, 400, CodeInvalidArgument},
		{"confirm without a transfer", "org1", "POST", "/v1/numbers/" + numActive + "/transfers/confirm", "", nil, 404, CodeNotFound},
		{"confirm unknown number", "org1", "POST", "/v1/numbers/" + numUnknown + "/transfers/confirm", "", nil, 404, CodeNotFound},
		{"confirm a closed transfer", "org1", "POST", base + "/confirm", "", map[string]error{"TransferStep": NewError(CodeFailedPrecond, "it is COMPLETED")}, 422, CodeFailedPrecond},
		{"reject by a non-owner", "org3", "POST", base + "/reject", `{"reason":"no"}`, nil, 403, CodeForbidden},
		{"reject without reason", "org1", "POST", base + "/reject", `{}`, nil, 400, CodeInvalidArgument},
		{"reject without body", "org1", "POST", base + "/reject", ``, nil, 400, CodeInvalidArgument},
		{"reject control characters", "org1", "POST", base + "/reject", `{"reason":"a\u0007b"}`, nil, 400, CodeInvalidArgument},
		{"reject reason too long", "org1", "POST", base + "/reject", `{"reason":"` + strings.Repeat("r", 501) + `"}`, nil, 400, CodeInvalidArgument},
		{"reject unknown field", "org1", "POST", base + "/reject", `{"reason":"x","why":"y"}`, nil, 400, CodeInvalidArgument},
		{"cancel by the Regulator", "regulator", "POST", base + "/cancel", "", nil, 403, CodeForbidden},
		{"cancel by a non-requester", "org1", "POST", base + "/cancel", "", map[string]error{"TransferStep": NewError(CodeForbidden, "only the requester")}, 403, CodeForbidden},
		{"escalate without reason", "org2", "POST", base + "/escalate", `{"reason":""}`, nil, 400, CodeInvalidArgument},
		{"escalate by the Regulator", "regulator", "POST", base + "/escalate", `{"reason":"x"}`, nil, 403, CodeForbidden},
		{"resolve by a telco", "org1", "POST", base + "/resolve", `{"decision":"GRANT","reason":"ok"}`, nil, 403, CodeForbidden},
		{"resolve bad decision", "regulator", "POST", base + "/resolve", `{"decision":"grant","reason":"ok"}`, nil, 400, CodeInvalidArgument},
		{"resolve without decision", "regulator", "POST", base + "/resolve", `{"reason":"ok"}`, nil, 400, CodeInvalidArgument},
		{"resolve without reason", "regulator", "POST", base + "/resolve", `{"decision":"DENY"}`, nil, 400, CodeInvalidArgument},
		{"resolve not escalated", "regulator", "POST", base + "/resolve", `{"decision":"DENY","reason":"x"}`, map[string]error{"TransferStep": NewError(CodeFailedPrecond, "OPEN")}, 422, CodeFailedPrecond},
		{"erase by the Regulator", "regulator", "DELETE", base + "/customer", "", nil, 403, CodeForbidden},
		{"step bad wait", "org1", "POST", base + "/confirm?wait=1", "", nil, 400, CodeInvalidArgument},
		{"unknown step", "org1", "POST", base + "/approve", "", nil, 404, CodeNotFound},

		// PAC.
		{"pac by the Regulator", "regulator", "POST", "/v1/numbers/" + numActive + "/pac", `{"pac":"PAC7K2Q9ZX"}`, nil, 403, CodeForbidden},
		{"pac by a non-owner", "org2", "POST", "/v1/numbers/" + numActive + "/pac", `{"pac":"PAC7K2Q9ZX"}`, nil, 403, CodeForbidden},
		{"pac missing", "org1", "POST", "/v1/numbers/" + numActive + "/pac", `{}`, nil, 400, CodeInvalidArgument},
		{"pac too short", "org1", "POST", "/v1/numbers/" + numActive + "/pac", `{"pac":"PAC1"}`, nil, 400, CodeInvalidArgument},
		{"pac lower case", "org1", "POST", "/v1/numbers/" + numActive + "/pac", `{"pac":"pac7k2q9zx"}`, nil, 400, CodeInvalidArgument},
		{"pac unknown number", "org1", "POST", "/v1/numbers/" + numUnknown + "/pac", `{"pac":"PAC7K2Q9ZX"}`, nil, 404, CodeNotFound},
		{"revoke none outstanding", "org1", "DELETE", "/v1/numbers/" + numActive + "/pac", "", map[string]error{"RevokePAC": NewError(CodeFailedPrecond, "none")}, 422, CodeFailedPrecond},

		// Reads restricted by org.
		{"list by a telco", "org1", "GET", "/v1/numbers/transfers?status=OPEN", "", nil, 403, CodeForbidden},
		{"list bad status", "regulator", "GET", "/v1/numbers/transfers?status=REJECTED", "", nil, 400, CodeInvalidArgument},
		{"list bad limit", "regulator", "GET", "/v1/numbers/transfers?status=OPEN&limit=0", "", nil, 400, CodeInvalidArgument},
		{"list bookmark without status", "regulator", "GET", "/v1/numbers/transfers?bookmark=x", "", nil, 400, CodeInvalidArgument},
		{"customer data by the Regulator", "regulator", "GET", base + "/customer", "", nil, 403, CodeForbidden},
		{"customer data by the third telco", "org3", "GET", base + "/customer", "", nil, 403, CodeForbidden},
		{"customer data purged", "org1", "GET", base + "/customer", "", map[string]error{"CustomerData": NewError(CodeNotFound, "purged")}, 404, CodeNotFound},
		{"customer data wrong method", "org1", "PUT", base + "/customer", "", nil, 405, CodeMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := numbersHarness(t, tt.org)
			for m, err := range tt.inject {
				h.ledger.errs[m] = err
			}
			w := h.do(tt.method, tt.path, keyOf(tt.org), tt.body)
			code, msg := decodeError(t, w.Body.Bytes())
			if w.Code != tt.status || code != tt.code {
				t.Fatalf("%s %s = %d %s (%s); want %d %s", tt.method, tt.path, w.Code, code, msg, tt.status, tt.code)
			}
			if msg == "" {
				t.Fatal("empty message")
			}
			if tt.inject == nil && h.ledger.writeCount() != 0 {
				t.Fatalf("a rejected request wrote %v", h.ledger.writes)
			}
		})
	}
}

// TestNumbersWrites checks status codes (201/200 after the commit, 202 pending), the answers
// and what reached the ledger.
func TestNumbersWrites(t *testing.T) {
	base := "/v1/numbers/" + numPorting + "/transfers"
	tests := []struct {
		name         string
		org, key     string
		method, path string
		body         string
		status       int
		want         map[string]any // top-level fields of the answer
	}{
		{"allocate committed", "regulator", keyReg, "POST", "/v1/numbers?wait=commit", `{"number":"+4915100000009","owner":"Org2MSP"}`, 201, map[string]any{"number": "+4915100000009", "owner": "Org2MSP", "status": "ACTIVE", "txId": testTx}},
		{"allocate pending", "regulator", keyReg, "POST", "/v1/numbers", `{"number":"+4915100000009","owner":"Org2MSP"}`, 202, map[string]any{"txId": testTx}},
		{"allocate range", "regulator", keyReg, "POST", "/v1/numbers?wait=commit", `{"first":"+4915100000010","last":"+4915100000011","owner":"Org3MSP"}`, 201, map[string]any{"first": "+4915100000010", "last": "+4915100000011", "count": float64(2), "owner": "Org3MSP"}},
		{"issue pac", "org1", key1, "POST", "/v1/numbers/" + numActive + "/pac?wait=commit", `{"pac":"PAC7K2Q9ZX"}`, 201, map[string]any{"status": "OUTSTANDING", "outstanding": true}},
		{"revoke pac", "org1", key1, "DELETE", "/v1/numbers/" + numActive + "/pac?wait=commit", "", 200, map[string]any{"status": "REVOKED"}},
		{"request committed", "org2", key2, "POST", "/v1/numbers/" + numActive + "/transfers?wait=commit", goodTransfer, 201, map[string]any{"status": "OPEN", "from": "Org1MSP", "to": "Org2MSP", "contractHash": goodHash, "txId": testTx}},
		{"request pending with pac", "org2", key2, "POST", "/v1/numbers/" + numActive + "/transfers", withPAC(`"PAC7K2Q9ZX"`), 202, map[string]any{"pacPresented": true}},
		{"confirm", "org1", key1, "POST", base + "/confirm?wait=commit", "", 200, map[string]any{"applied": true, "txStatus": "VALID"}},
		{"confirm with empty object", "org1", key1, "POST", base + "/confirm", "{}", 202, map[string]any{"txStatus": "PENDING"}},
		{"reject", "org1", key1, "POST", base + "/reject?wait=commit", `{"reason":"contract still running"}`, 200, map[string]any{"applied": true}},
		{"cancel", "org2", key2, "POST", base + "/cancel?wait=commit", "", 200, map[string]any{"applied": true}},
		{"escalate", "org2", key2, "POST", base + "/escalate?wait=commit", `{"reason":"no answer"}`, 200, map[string]any{"applied": true}},
		{"resolve", "regulator", keyReg, "POST", base + "/resolve?wait=commit", `{"decision":"GRANT","reason":"customer proved identity"}`, 200, map[string]any{"applied": true}},
		{"erase", "org2", key2, "DELETE", base + "/customer?wait=commit", "", 200, map[string]any{"applied": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := numbersHarness(t, tt.org)
			w := h.do(tt.method, tt.path, tt.key, tt.body)
			if w.Code != tt.status {
				t.Fatalf("= %d %s; want %d", w.Code, w.Body, tt.status)
			}
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v; want %v (%s)", k, got[k], v, w.Body)
				}
			}
			if h.ledger.writeCount() != 1 {
				t.Fatalf("writes = %v", h.ledger.writes)
			}
		})
	}
}

// TestNumbersStepArguments checks what the steps hand to the ledger.
func TestNumbersStepArguments(t *testing.T) {
	h := numbersHarness(t, "regulator")
	if w := h.do("POST", "/v1/numbers/"+numPorting+"/transfers/resolve", keyReg, `{"decision":"DENY","reason":"fraud"}`); w.Code != 202 {
		t.Fatalf("resolve = %d %s", w.Code, w.Body)
	}
	h2 := numbersHarness(t, "org1")
	if w := h2.do("POST", "/v1/numbers/"+numPorting+"/transfers/reject", key1, `{"reason":"contract"}`); w.Code != 202 {
		t.Fatalf("reject = %d %s", w.Code, w.Body)
	}
	want := []TransferStep{{Number: numPorting, Action: StepResolve, Decision: "DENY", Reason: "fraud"}}
	if got := h.ledger.nums.steps; len(got) != 1 || got[0] != want[0] {
		t.Fatalf("resolve steps = %+v", got)
	}
	if got := h2.ledger.nums.steps; len(got) != 1 || got[0] != (TransferStep{Number: numPorting, Action: StepReject, Reason: "contract"}) {
		t.Fatalf("reject steps = %+v", got)
	}
}

// TestNumbersRequestKeepsCustomerDataPrivate checks that the request hands the customer data,
// the contract hash, the code and the owner to the ledger, and that neither the customer data
// nor the code reaches the log, even when the request fails.
func TestNumbersRequestKeepsCustomerDataPrivate(t *testing.T) {
	var logs bytes.Buffer
	f := newFake()
	f.setCaller("Org2MSP")
	hd, err := New(Config{Ledger: f, Keys: numbersKeys, Org: "org2", Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, h: hd, ledger: f}
	body := withPAC(`"SECRETPAC99"`)
	if w := h.do("POST", "/v1/numbers/"+numActive+"/transfers", key2, body); w.Code != http.StatusAccepted {
		t.Fatalf("request = %d %s", w.Code, w.Body)
	}
	f.errs["RequestTransfer"] = errPlain("boom Erika Mustermann") // a 500 logs the error, not the body
	if w := h.do("POST", "/v1/numbers/"+numActive+"/transfers", key2, body); w.Code != http.StatusInternalServerError {
		t.Fatalf("failing request = %d %s", w.Code, w.Body)
	}
	reqs := f.nums.requests
	if len(reqs) != 1 {
		t.Fatalf("requests = %d", len(reqs))
	}
	r := reqs[0]
	if r.Number != numActive || r.Owner != "Org1MSP" || r.ContractHash != goodHash || r.PAC != "SECRETPAC99" ||
		string(r.Customer) != `{"name":"Erika Mustermann","dateOfBirth":"1980-02-29"}` {
		t.Fatalf("ledger got %+v / %s", r, r.Customer)
	}
	if s := r.String(); strings.Contains(s, "Erika") || strings.Contains(s, "SECRETPAC99") {
		t.Fatalf("TransferRequest.String leaks: %s", s)
	}
	for _, secret := range []string{"1980-02-29", "SECRETPAC99", goodHash} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("the log contains %q:\n%s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `"path":"/v1/numbers/`+numActive+`/transfers"`) {
		t.Fatalf("no request line in the log:\n%s", logs.String())
	}
}

// TestNumbersReads checks the read routes' answers.
func TestNumbersReads(t *testing.T) {
	tests := []struct {
		name, org, key, path string
		want                 []string // substrings of the JSON answer
	}{
		{"active number", "org3", "", "/v1/numbers/" + numActive, []string{`"number":"+4915100000001"`, `"owner":"Org1MSP"`, `"status":"ACTIVE"`, `"pendingTransfer":null`}},
		{"percent-encoded plus", "org1", key1, "/v1/numbers/%2B4915100000001", []string{`"number":"+4915100000001"`}},
		{"porting number", "org1", key1, "/v1/numbers/" + numPorting, []string{`"status":"PORTING"`, `"pendingTransfer":{"id":"t1"`, `"from":"Org1MSP","to":"Org2MSP","status":"OPEN"`, `"overdue":false`}},
		{"current transfer", "org2", key2, "/v1/numbers/" + numPorting + "/transfers", []string{`"id":"t1"`, `"status":"OPEN"`}},
		{"history", "org2", key2, "/v1/numbers/" + numActive + "/history", []string{`[{"txId":"` + testTx, `"record":"number","action":"ALLOCATE","actor":"RegulatorMSP"`}},
		{"list open", "regulator", keyReg, "/v1/numbers/transfers?status=OPEN", []string{`"transfers":[{"id":"t1"`, `"count":1`}},
		{"list escalated", "regulator", keyReg, "/v1/numbers/transfers?status=ESCALATED&limit=10", []string{`"transfers":[]`, `"count":0`}},
		{"list all active", "regulator", keyReg, "/v1/numbers/transfers", []string{`"count":1`}},
		{"customer data by the owner", "org1", key1, "/v1/numbers/" + numPorting + "/transfers/customer", []string{`"customer":{"name":"Erika Mustermann"}`, `"hashVerified":true`}},
		{"customer data by the requester", "org2", key2, "/v1/numbers/" + numPorting + "/transfers/customer", []string{`"transferId":"t1"`}},
		{"customer data hash", "regulator", keyReg, "/v1/numbers/" + numPorting + "/transfers/customer/hash", []string{`"matches":true`, `"ledgerHash":"ab"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := numbersHarness(t, tt.org)
			w := h.do("GET", tt.path, keyOf(tt.org), "")
			if w.Code != http.StatusOK {
				t.Fatalf("= %d %s", w.Code, w.Body)
			}
			for _, s := range tt.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("answer lacks %s: %s", s, w.Body)
				}
			}
		})
	}
}

// TestNumbersIdempotency: the same key with another body is refused; with the same body it
// is answered from the binding.
func TestNumbersIdempotency(t *testing.T) {
	h := numbersHarness(t, "org2")
	path := "/v1/numbers/" + numActive + "/transfers"
	if w := h.do("POST", path, key2, goodTransfer, IdempotencyKeyHeader, "req-1"); w.Code != http.StatusAccepted {
		t.Fatalf("first = %d %s", w.Code, w.Body)
	}
	if w := h.do("POST", path, key2, goodTransfer, IdempotencyKeyHeader, "req-1"); w.Code != http.StatusAccepted {
		t.Fatalf("same = %d %s", w.Code, w.Body)
	}
	w := h.do("POST", path, key2, transferBodyWith("Erika", "Max"), IdempotencyKeyHeader, "req-1")
	if code, _ := decodeError(t, w.Body.Bytes()); w.Code != http.StatusConflict || code != CodeIdempotencyReuse {
		t.Fatalf("other body = %d %s", w.Code, code)
	}
	// A step without a body has the fingerprint of its path: another number is another request.
	h1 := numbersHarness(t, "org1")
	if w := h1.do("POST", "/v1/numbers/"+numPorting+"/transfers/confirm", key1, "", IdempotencyKeyHeader, "c-1"); w.Code != http.StatusAccepted {
		t.Fatalf("confirm = %d %s", w.Code, w.Body)
	}
	w = h1.do("POST", "/v1/numbers/"+numActive+"/pac", key1, `{"pac":"PAC7K2Q9ZX"}`, IdempotencyKeyHeader, "c-1")
	if code, _ := decodeError(t, w.Body.Bytes()); w.Code != http.StatusConflict || code != CodeIdempotencyReuse {
		t.Fatalf("key reused on another route = %d %s", w.Code, code)
	}
}
