package contract

import (
	"encoding/json"
	"sort"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/fabmarket/fabmarket/chaincode/numbers/porting"
)

// transient returns the transient map after checking it holds no key other than allowed
// (a misspelt key would otherwise be silently ignored). Keys are checked in sorted order so
// the error is the same on every peer.
func transient(ctx contractapi.TransactionContextInterface, allowed ...string) (map[string][]byte, error) {
	tm, err := ctx.GetStub().GetTransient()
	if err != nil {
		return nil, porting.Wrap(porting.CodeInternal, err, "read transient map")
	}
	if tm == nil {
		tm = map[string][]byte{}
	}
	keys := make([]string, 0, len(tm))
	for k := range tm {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
				break
			}
		}
		if !ok {
			return nil, porting.Errorf(porting.CodeInvalidArgument, "transient", "unexpected key %q; this function takes %v", porting.Clip(k), allowed)
		}
	}
	return tm, nil
}

// keyHistory reads the ledger history of one record key.
func keyHistory(stub shim.ChaincodeStubInterface, key, record string) ([]*HistoryEntry, error) {
	it, err := stub.GetHistoryForKey(key)
	if err != nil {
		return nil, porting.Wrap(porting.CodeInternal, err, "read %s history", record)
	}
	defer it.Close()
	var out []*HistoryEntry
	for it.HasNext() {
		m, err := it.Next()
		if err != nil {
			return nil, porting.Wrap(porting.CodeInternal, err, "iterate %s history", record)
		}
		e := &HistoryEntry{TxID: m.GetTxId(), Record: record, Deleted: m.GetIsDelete()}
		if ts := m.GetTimestamp(); ts != nil {
			e.Timestamp = porting.FormatTime(ts.AsTime())
		}
		if !e.Deleted {
			if err := decodeHistoryValue(e, m.GetValue()); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func decodeHistoryValue(e *HistoryEntry, value []byte) error {
	bad := func(err error) error {
		return porting.Wrap(porting.CodeInternal, err, "decode %s history entry of tx %s", e.Record, e.TxID)
	}
	switch e.Record {
	case "number":
		var n porting.Number
		if err := json.Unmarshal(value, &n); err != nil {
			return bad(err)
		}
		e.Number, e.Action, e.Actor = &n, string(n.LastAction), n.UpdatedBy
	case "transfer":
		var t porting.Transfer
		if err := json.Unmarshal(value, &t); err != nil {
			return bad(err)
		}
		e.Transfer, e.Action, e.Actor = &t, string(t.LastAction), t.UpdatedBy
	default:
		var p porting.PAC
		if err := json.Unmarshal(value, &p); err != nil {
			return bad(err)
		}
		when, err := porting.ParseTime("timestamp", e.Timestamp)
		if err != nil {
			return err
		}
		e.PAC, e.Action, e.Actor = pacView(p, p.IssuedBy, when), string(p.LastAction), p.UpdatedBy
	}
	return nil
}
