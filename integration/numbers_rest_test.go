//go:build integration

package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The number-transfer routes of the REST gateways (gateway/api/numbers.go) on the real
// network. Each gateway reads from and commits through its own org's peer, and peers lag each
// other by milliseconds: after a write through one gateway, a test that goes on through
// another waits for equal heights (numbersSynced).

// restNumber is GET /v1/numbers/{number}.
type restNumber struct {
	Number          string        `json:"number"`
	Owner           string        `json:"owner"`
	Status          string        `json:"status"`
	PreviousOwner   string        `json:"previousOwner"`
	PendingTransfer *restTransfer `json:"pendingTransfer"`
	PAC             *struct {
		Status      string `json:"status"`
		Outstanding bool   `json:"outstanding"`
	} `json:"pac"`
	TxID string `json:"txId"`
}

// restTransfer is a transfer record.
type restTransfer struct {
	ID                   string `json:"id"`
	Number               string `json:"number"`
	From                 string `json:"from"`
	To                   string `json:"to"`
	Status               string `json:"status"`
	Collection           string `json:"collection"`
	CustomerDataHash     string `json:"customerDataHash"`
	ContractHash         string `json:"contractHash"`
	PACPresented         bool   `json:"pacPresented"`
	RejectReason         string `json:"rejectReason"`
	Resolution           string `json:"resolution"`
	CustomerDataPurgedAt string `json:"customerDataPurgedAt"`
	TxID                 string `json:"txId"`
}

// restStep is the answer of a transfer step.
type restStep struct {
	Applied  bool         `json:"applied"`
	Event    string       `json:"event"`
	Transfer restTransfer `json:"transfer"`
	TxID     string       `json:"txId"`
	TxStatus string       `json:"txStatus"`
}

// numbersSynced waits until every peer has the numbers channel's highest block.
func numbersSynced(t *testing.T) { network(t).samePeerHeights(t, "numbers") }

// restCode sends a request (with headers, name then value) and checks status and error code.
func restCode(t *testing.T, g *rest, status int, code, method, path, body string, headers ...string) string {
	t.Helper()
	got, out := g.call(method, path, body, headers...)
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(out, &e)
	if got != status || e.Error.Code != code {
		t.Fatalf("%s %s = %d %s; want %d %s", method, path, got, out, status, code)
	}
	return e.Error.Message
}

// customerBody is a transfer request body for a recognisable customer, with pac if not "".
func customerBody(name, pac string) string {
	doc := sha256.Sum256([]byte("contract of " + name))
	b := fmt.Sprintf(`{"customer":{"name":%q,"dateOfBirth":"1980-02-29","address":"Hauptstr. 1, Berlin"},"contractHash":%q`, name, hex.EncodeToString(doc[:]))
	if pac != "" {
		b += fmt.Sprintf(`,"pac":%q`, pac)
	}
	return b + "}"
}

// restAllocate allocates a fresh number to owner through the Regulator's gateway.
func restAllocate(t *testing.T, reg *rest, owner string) string {
	t.Helper()
	num := freshNumber()
	var v restNumber
	reg.must(201, &v, "POST", "/v1/numbers?wait=commit", fmt.Sprintf(`{"number":%q,"owner":%q}`, num, owner))
	if v.Number != num || v.Owner != owner || v.Status != "ACTIVE" || v.PendingTransfer != nil || len(v.TxID) != 64 {
		t.Fatalf("allocated %+v", v)
	}
	numbersSynced(t)
	return num
}

// TestNumbersRESTPortingOrg1ToOrg2 ports a number from Org1 to Org2 through the gateways:
// allocation by the Regulator, a porting authorisation code, the request with customer data,
// the confirmation by the owner, and every refusal on the way.
func TestNumbersRESTPortingOrg1ToOrg2(t *testing.T) {
	org1, org2, org3, reg := gatewayOf(t, "org1"), gatewayOf(t, "org2"), gatewayOf(t, "org3"), gatewayOf(t, "regulator")
	num := restAllocate(t, reg, "Org1MSP")
	path := "/v1/numbers/" + num

	var v restNumber
	org2.must(200, &v, "GET", path, "")
	if v.Owner != "Org1MSP" || v.Status != "ACTIVE" || v.PendingTransfer != nil {
		t.Fatalf("GET %s = %+v", num, v)
	}

	// The owner issues a code; a non-owner cannot.
	const pac = "PAC7K2Q9ZX"
	restCode(t, org2, 403, "FORBIDDEN", "POST", path+"/pac", `{"pac":"PAC0000000"}`)
	var pv struct {
		Status      string `json:"status"`
		Outstanding bool   `json:"outstanding"`
		TxID        string `json:"txId"`
	}
	org1.must(201, &pv, "POST", path+"/pac?wait=commit", fmt.Sprintf(`{"pac":%q}`, pac))
	if pv.Status != "OUTSTANDING" || !pv.Outstanding || len(pv.TxID) != 64 {
		t.Fatalf("issue PAC = %+v", pv)
	}
	numbersSynced(t)

	// Requests without the code and with a wrong one.
	restCode(t, org2, 422, "PAC_REQUIRED", "POST", path+"/transfers", customerBody("Erika Mustermann", ""))
	restCode(t, org2, 422, "PAC_INVALID", "POST", path+"/transfers", customerBody("Erika Mustermann", "WRONG12345"))

	// The request, with the code.
	var tr restTransfer
	org2.must(201, &tr, "POST", path+"/transfers?wait=commit", customerBody("Erika Mustermann", pac))
	if tr.Status != "OPEN" || tr.From != "Org1MSP" || tr.To != "Org2MSP" || !tr.PACPresented ||
		tr.Collection != "transfer_Org1MSP_Org2MSP" || len(tr.CustomerDataHash) != 64 || len(tr.TxID) != 64 {
		t.Fatalf("request = %+v", tr)
	}
	numbersSynced(t)

	t.Run("second open request is a conflict", func(t *testing.T) {
		restCode(t, org3, 409, "CONFLICT", "POST", path+"/transfers", customerBody("Max Mustermann", ""))
		restCode(t, org2, 409, "CONFLICT", "POST", path+"/transfers", customerBody("Erika Mustermann", ""))
	})

	t.Run("GET shows the pending transfer", func(t *testing.T) {
		var v restNumber
		org3.must(200, &v, "GET", path, "")
		if v.Status != "PORTING" || v.PendingTransfer == nil || v.PendingTransfer.ID != tr.ID || v.PendingTransfer.To != "Org2MSP" {
			t.Fatalf("GET = %+v", v)
		}
		if v.PAC == nil || v.PAC.Status != "USED" {
			t.Fatalf("code after the request: %+v", v.PAC)
		}
	})

	t.Run("customer data readable by the two telcos only", func(t *testing.T) {
		for _, g := range []*rest{org1, org2} {
			var cd struct {
				TransferID       string         `json:"transferId"`
				CustomerDataHash string         `json:"customerDataHash"`
				HashVerified     bool           `json:"hashVerified"`
				Customer         map[string]any `json:"customer"`
			}
			g.must(200, &cd, "GET", path+"/transfers/customer", "")
			if cd.TransferID != tr.ID || !cd.HashVerified || cd.CustomerDataHash != tr.CustomerDataHash || cd.Customer["name"] != "Erika Mustermann" {
				t.Fatalf("%s read %+v", g.base, cd)
			}
		}
		msg := restCode(t, org3, 403, "FORBIDDEN", "GET", path+"/transfers/customer", "")
		if strings.Contains(msg, "Erika") {
			t.Fatalf("the refusal leaks the data: %s", msg)
		}
		restCode(t, reg, 403, "FORBIDDEN", "GET", path+"/transfers/customer", "")
	})

	t.Run("the Regulator lists the open request", func(t *testing.T) {
		var page struct {
			Transfers []restTransfer `json:"transfers"`
			Count     int            `json:"count"`
		}
		reg.must(200, &page, "GET", "/v1/numbers/transfers?status=OPEN&limit=1000", "")
		found := false
		for _, x := range page.Transfers {
			found = found || x.Number == num
		}
		if !found || page.Count != len(page.Transfers) {
			t.Fatalf("%s not in the Regulator's OPEN list (%d entries)", num, page.Count)
		}
		restCode(t, org1, 403, "FORBIDDEN", "GET", "/v1/numbers/transfers?status=OPEN", "")
	})

	t.Run("confirm by a non-owner is refused", func(t *testing.T) {
		msg := restCode(t, org2, 403, "FORBIDDEN", "POST", path+"/transfers/confirm", "")
		if !strings.Contains(msg, "only the owner Org1MSP may confirm") {
			t.Fatalf("unclear refusal: %s", msg)
		}
		restCode(t, org3, 403, "FORBIDDEN", "POST", path+"/transfers/confirm", "")
		restCode(t, reg, 403, "FORBIDDEN", "POST", path+"/transfers/confirm", "")
	})

	// The confirmation by the owner's gateway.
	var st restStep
	org1.must(200, &st, "POST", path+"/transfers/confirm?wait=commit", "")
	if !st.Applied || st.Event != "TransferConfirmed" || st.Transfer.Status != "COMPLETED" || st.TxStatus != "VALID" || len(st.TxID) != 64 {
		t.Fatalf("confirm = %+v", st)
	}
	org1.must(200, &v, "GET", path, "") // the same peer that reported the commit
	if v.Owner != "Org2MSP" || v.PreviousOwner != "Org1MSP" || v.Status != "ACTIVE" || v.PendingTransfer != nil {
		t.Fatalf("after the confirmation: %+v", v)
	}
	numbersSynced(t)

	t.Run("customer data purged, hash kept", func(t *testing.T) {
		for _, g := range []*rest{org1, org2} {
			restCode(t, g, 404, "NOT_FOUND", "GET", path+"/transfers/customer", "")
		}
		var hv struct {
			CustomerDataHash string `json:"customerDataHash"`
			LedgerHash       string `json:"ledgerHash"`
			PurgedAt         string `json:"purgedAt"`
		}
		reg.must(200, &hv, "GET", path+"/transfers/customer/hash", "")
		if hv.CustomerDataHash != tr.CustomerDataHash || hv.LedgerHash != "" || hv.PurgedAt == "" {
			t.Fatalf("hash after the purge: %+v", hv)
		}
		var last restTransfer
		org3.must(200, &last, "GET", path+"/transfers", "")
		if last.ID != tr.ID || last.Status != "COMPLETED" || last.CustomerDataHash != tr.CustomerDataHash || last.CustomerDataPurgedAt == "" {
			t.Fatalf("last transfer: %+v", last)
		}
	})

	t.Run("history shows every step", func(t *testing.T) {
		var hist []struct {
			TxID      string `json:"txId"`
			Timestamp string `json:"timestamp"`
			Record    string `json:"record"`
			Action    string `json:"action"`
			Actor     string `json:"actor"`
		}
		reg.must(200, &hist, "GET", path+"/history", "")
		var steps []string
		for _, h := range hist {
			steps = append(steps, h.Record+":"+h.Action+":"+h.Actor)
			if len(h.TxID) != 64 || h.Timestamp == "" {
				t.Fatalf("entry without tx id or time: %+v", h)
			}
		}
		want := []string{
			"number:ALLOCATE:RegulatorMSP",
			"pac:ISSUE_PAC:Org1MSP",
			"transfer:REQUEST:Org2MSP", "pac:REQUEST:Org2MSP",
			"transfer:CONFIRM:Org1MSP", "number:CONFIRM:Org1MSP",
		}
		if strings.Join(steps, " ") != strings.Join(want, " ") {
			t.Fatalf("history\n got %v\nwant %v", steps, want)
		}
	})

	t.Run("the new owner holds the number", func(t *testing.T) {
		// Org1 is no longer the owner: it may request the number back, Org2 may not.
		restCode(t, org2, 422, "FAILED_PRECONDITION", "POST", path+"/transfers", customerBody("Erika Mustermann", ""))
		restCode(t, org1, 403, "FORBIDDEN", "POST", path+"/pac", `{"pac":"PAC1111111"}`)
	})
}

// TestNumbersRESTRejectEscalateResolve: the owner rejects, the requester escalates, the
// Regulator grants; a cancellation by the requester; an erasure request; a 202 answer whose
// transaction is then looked up.
func TestNumbersRESTRejectEscalateResolve(t *testing.T) {
	org1, org2, org3, reg := gatewayOf(t, "org1"), gatewayOf(t, "org2"), gatewayOf(t, "org3"), gatewayOf(t, "regulator")

	t.Run("reject, escalate, grant", func(t *testing.T) {
		num := restAllocate(t, reg, "Org3MSP")
		path := "/v1/numbers/" + num
		org1.must(201, nil, "POST", path+"/transfers?wait=commit", customerBody("Hans Meier", ""))
		numbersSynced(t)
		restCode(t, org3, 400, "INVALID_ARGUMENT", "POST", path+"/transfers/reject", `{}`)
		var st restStep
		org3.must(200, &st, "POST", path+"/transfers/reject?wait=commit", `{"reason":"contract term not over"}`)
		if st.Transfer.Status != "REJECTED" || st.Transfer.RejectReason != "contract term not over" || st.Transfer.CustomerDataPurgedAt == "" {
			t.Fatalf("reject = %+v", st)
		}
		numbersSynced(t)
		restCode(t, reg, 403, "FORBIDDEN", "POST", path+"/transfers/escalate", `{"reason":"x"}`)
		org1.must(200, &st, "POST", path+"/transfers/escalate?wait=commit", `{"reason":"the customer ended the contract"}`)
		if st.Transfer.Status != "ESCALATED" {
			t.Fatalf("escalate = %+v", st)
		}
		numbersSynced(t)
		var page struct {
			Transfers []restTransfer `json:"transfers"`
		}
		reg.must(200, &page, "GET", "/v1/numbers/transfers?status=ESCALATED&limit=1000", "")
		found := false
		for _, x := range page.Transfers {
			found = found || x.Number == num
		}
		if !found {
			t.Fatalf("%s not in the ESCALATED list", num)
		}
		restCode(t, org1, 403, "FORBIDDEN", "POST", path+"/transfers/resolve", `{"decision":"GRANT","reason":"x"}`)
		restCode(t, reg, 400, "INVALID_ARGUMENT", "POST", path+"/transfers/resolve", `{"decision":"MAYBE","reason":"x"}`)
		reg.must(200, &st, "POST", path+"/transfers/resolve?wait=commit", `{"decision":"GRANT","reason":"termination letter shown"}`)
		if !st.Applied || st.Transfer.Status != "COMPLETED" || st.Transfer.Resolution != "GRANT" {
			t.Fatalf("resolve = %+v", st)
		}
		var v restNumber
		reg.must(200, &v, "GET", path, "")
		if v.Owner != "Org1MSP" || v.PreviousOwner != "Org3MSP" || v.Status != "ACTIVE" {
			t.Fatalf("after GRANT: %+v", v)
		}
	})

	t.Run("cancel by the requester only", func(t *testing.T) {
		num := restAllocate(t, reg, "Org1MSP")
		path := "/v1/numbers/" + num
		org2.must(201, nil, "POST", path+"/transfers?wait=commit", customerBody("Jana Novak", ""))
		numbersSynced(t)
		restCode(t, org1, 403, "FORBIDDEN", "POST", path+"/transfers/cancel", "")
		var st restStep
		org2.must(200, &st, "POST", path+"/transfers/cancel?wait=commit", "")
		if st.Transfer.Status != "CANCELLED" || st.Transfer.CustomerDataPurgedAt == "" {
			t.Fatalf("cancel = %+v", st)
		}
		restCode(t, org2, 422, "FAILED_PRECONDITION", "POST", path+"/transfers/cancel", "")
	})

	t.Run("erasure request purges the data of an open transfer", func(t *testing.T) {
		num := restAllocate(t, reg, "Org2MSP")
		path := "/v1/numbers/" + num
		org3.must(201, nil, "POST", path+"/transfers?wait=commit", customerBody("Olga Petrova", ""))
		numbersSynced(t)
		org2.must(200, nil, "GET", path+"/transfers/customer", "")
		var st restStep
		org2.must(200, &st, "DELETE", path+"/transfers/customer?wait=commit", "")
		if st.Transfer.Status != "OPEN" || st.Transfer.CustomerDataPurgedAt == "" {
			t.Fatalf("erase = %+v", st)
		}
		restCode(t, org2, 404, "NOT_FOUND", "GET", path+"/transfers/customer", "")
	})

	t.Run("202 without wait, then the transaction commits", func(t *testing.T) {
		num := freshNumber()
		var v restNumber
		reg.must(202, &v, "POST", "/v1/numbers", fmt.Sprintf(`{"number":%q,"owner":"Org2MSP"}`, num))
		if v.Number != num || v.Owner != "Org2MSP" || len(v.TxID) != 64 {
			t.Fatalf("pending allocation = %+v", v)
		}
		waitFor(t, 60*time.Second, "the allocation to commit", func() bool {
			var tx struct{ Status string }
			reg.must(200, &tx, "GET", "/v1/transactions/"+v.TxID, "")
			if tx.Status == "INVALID" {
				t.Fatalf("allocation %s INVALID", v.TxID)
			}
			return tx.Status == "VALID"
		})
		reg.must(200, nil, "GET", "/v1/numbers/"+num, "")
		// A gateway that did not submit it finds it on the numbers channel (qscc).
		var tx struct {
			Status      string `json:"status"`
			BlockNumber uint64 `json:"blockNumber"`
		}
		org3.must(200, &tx, "GET", "/v1/transactions/"+v.TxID, "")
		if tx.Status != "VALID" || tx.BlockNumber == 0 {
			t.Fatalf("transaction seen by org3: %+v", tx)
		}
	})
}

// TestNumbersRESTBadInputs: malformed numbers, unknown numbers, wrong orgs, malformed bodies;
// a range allocation and idempotent retries.
func TestNumbersRESTBadInputs(t *testing.T) {
	org1, org2, reg := gatewayOf(t, "org1"), gatewayOf(t, "org2"), gatewayOf(t, "regulator")
	num := restAllocate(t, reg, "Org1MSP")

	for _, bad := range []string{"4915112345678", "+49-151-123", "+0151123456789", "+491", "+4915112345678901", "%2B49abc12345678"} {
		restCode(t, org1, 400, "INVALID_ARGUMENT", "GET", "/v1/numbers/"+bad, "")
		restCode(t, org2, 400, "INVALID_ARGUMENT", "POST", "/v1/numbers/"+bad+"/transfers", customerBody("X Y", ""))
	}
	restCode(t, reg, 400, "INVALID_ARGUMENT", "POST", "/v1/numbers", `{"number":"0049151","owner":"Org1MSP"}`)

	unknown := freshNumber()
	restCode(t, org1, 404, "NOT_FOUND", "GET", "/v1/numbers/"+unknown, "")
	restCode(t, org1, 404, "NOT_FOUND", "GET", "/v1/numbers/"+unknown+"/history", "")
	restCode(t, org2, 404, "NOT_FOUND", "POST", "/v1/numbers/"+unknown+"/transfers", customerBody("X Y", ""))
	restCode(t, org1, 404, "NOT_FOUND", "POST", "/v1/numbers/"+unknown+"/transfers/confirm", "")
	restCode(t, org1, 404, "NOT_FOUND", "POST", "/v1/numbers/"+num+"/transfers/confirm", "") // no transfer yet

	restCode(t, org1, 403, "FORBIDDEN", "POST", "/v1/numbers", fmt.Sprintf(`{"number":%q,"owner":"Org1MSP"}`, freshNumber()))
	restCode(t, reg, 409, "ALREADY_EXISTS", "POST", "/v1/numbers", fmt.Sprintf(`{"number":%q,"owner":"Org2MSP"}`, num))
	restCode(t, reg, 400, "INVALID_ARGUMENT", "POST", "/v1/numbers", fmt.Sprintf(`{"number":%q,"owner":"RegulatorMSP"}`, freshNumber()))
	restCode(t, reg, 403, "FORBIDDEN", "POST", "/v1/numbers/"+num+"/transfers", customerBody("X Y", ""))

	path := "/v1/numbers/" + num + "/transfers"
	doc := customerBody("X Y", "")
	restCode(t, org2, 400, "INVALID_ARGUMENT", "POST", path, strings.Replace(doc, `"contractHash":"`, `"contractHash":"zz`, 1))
	restCode(t, org2, 400, "INVALID_ARGUMENT", "POST", path, strings.Replace(doc, `"contractHash"`, `"salt":"00","contractHash"`, 1))
	restCode(t, org2, 400, "INVALID_ARGUMENT", "POST", path, `{"customer":{},"contractHash":"`+strings.Repeat("a", 64)+`"}`)
	restCode(t, org2, 400, "INVALID_ARGUMENT", "POST", path, `{"contractHash":"`+strings.Repeat("a", 64)+`"}`)
	restCode(t, org1, 422, "FAILED_PRECONDITION", "POST", path, doc)

	t.Run("range allocation", func(t *testing.T) {
		seq := numSeq.Add(3)
		first, last := fmt.Sprintf("+491%08d%04d", runID, seq-2), fmt.Sprintf("+491%08d%04d", runID, seq)
		var r struct {
			First, Last, Owner string
			Count              int
			TxID               string `json:"txId"`
		}
		reg.must(201, &r, "POST", "/v1/numbers?wait=commit", fmt.Sprintf(`{"first":%q,"last":%q,"owner":"Org3MSP"}`, first, last))
		if r.Count != 3 || r.First != first || r.Last != last || r.Owner != "Org3MSP" {
			t.Fatalf("range = %+v", r)
		}
		var v restNumber
		reg.must(200, &v, "GET", "/v1/numbers/"+last, "")
		if v.Owner != "Org3MSP" {
			t.Fatalf("last of the range: %+v", v)
		}
		restCode(t, reg, 409, "ALREADY_EXISTS", "POST", "/v1/numbers", fmt.Sprintf(`{"first":%q,"last":%q,"owner":"Org1MSP"}`, first, last))
	})

	t.Run("idempotent request", func(t *testing.T) {
		n2 := restAllocate(t, reg, "Org1MSP")
		key := uniqueKey("num-req")
		var a, b restTransfer
		org2.must(201, &a, "POST", "/v1/numbers/"+n2+"/transfers?wait=commit", customerBody("Ida Idem", ""), "Idempotency-Key", key)
		org2.must(201, &b, "POST", "/v1/numbers/"+n2+"/transfers?wait=commit", customerBody("Ida Idem", ""), "Idempotency-Key", key)
		if a.TxID != b.TxID || a.ID != b.ID {
			t.Fatalf("replay made another transaction: %s vs %s", a.TxID, b.TxID)
		}
		restCode(t, org2, 409, "IDEMPOTENCY_KEY_REUSED", "POST", "/v1/numbers/"+n2+"/transfers", customerBody("Other Person", ""), "Idempotency-Key", key)
	})
}
