package contract

import (
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/settle"
	"github.com/fabmarket/fabmarket/chaincode/exchange/units"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// LockRequest is the argument of Lock (JSON): amount in lots (a listed symbol, on market) or
// minor units (a currency, on payments), accounts by id, hashlock = hex SHA-256 of the
// preimage, timelock RFC 3339. HTLCID is optional (default: the transaction id); a swap
// orchestrator chooses it so that a retried lock cannot lock twice.
type LockRequest struct {
	HTLCID   string `json:"htlcId"`
	Asset    string `json:"asset"`
	Amount   int64  `json:"amount"`
	Sender   string `json:"sender"`
	Receiver string `json:"receiver"`
	Hashlock string `json:"hashlock"`
	Timelock string `json:"timelock"`
}

// HTLCEvent is the payload of the "HTLC" event. A claim carries the preimage, so the other leg
// of a swap can be claimed by whoever listens.
type HTLCEvent struct {
	HTLCID    string            `json:"htlcId"`
	Status    settle.HTLCStatus `json:"status"`
	Action    string            `json:"action"`
	SenderOrg string            `json:"senderOrg"`
	Asset     string            `json:"asset"`
	Amount    int64             `json:"amount"`
	Hashlock  string            `json:"hashlock"`
	Preimage  string            `json:"preimage,omitempty"`
	Channel   string            `json:"channel"`
	Time      time.Time         `json:"time"`
	TxID      string            `json:"txId"`
}

// Lock locks amount of asset from the sender's available balance until the receiver claims it
// with the preimage or the timelock passes. The sender account's org only. On market the
// asset must be a listed symbol (shares), on payments a currency (cash). Returns the HTLC;
// event "HTLC".
func (h *HTLCs) Lock(ctx contractapi.TransactionContextInterface, request string) (string, error) {
	t, err := h.begin(ctx, onBoth)
	if err != nil {
		return "", err
	}
	var req LockRequest
	if err := decodeStrict("request", request, &req); err != nil {
		return "", err
	}
	id := req.HTLCID
	if id == "" {
		id = t.id
	}
	if err := checkIdent("htlcId", id, 128); err != nil {
		return "", err
	}
	if t.onMarket() {
		if _, err := t.instrument("asset", req.Asset); err != nil {
			if CodeOf(err) == CodeNotFound {
				return "", invalidArg("asset", "%q: HTLCs on %s lock shares of a listed instrument", req.Asset, t.channel)
			}
			return "", err
		}
	} else if !units.IsCurrency(req.Asset) {
		return "", invalidArg("asset", "%q: HTLCs on %s lock cash in a supported currency (%v)", req.Asset, t.channel, units.Currencies())
	}
	if req.Amount <= 0 {
		return "", invalidArg("amount", "must be a positive integer")
	}
	sender, err := t.ownAccount("sender", req.Sender)
	if err != nil {
		return "", err
	}
	receiver, err := t.account("receiver", req.Receiver)
	if err != nil {
		return "", err
	}
	if _, err := settle.ParseHashlock(req.Hashlock); err != nil {
		return "", invalidArg("hashlock", "%v", err)
	}
	if req.Timelock == "" {
		return "", invalidArg("timelock", "required")
	}
	timelock, err := parseTime("timelock", req.Timelock)
	if err != nil {
		return "", err
	}
	k := key(pHTLC, id)
	if old, err := t.get(k); err != nil {
		return "", err
	} else if old != nil {
		return "", conflict("htlc %s already exists on %s", id, t.channel)
	}
	hl, moves, err := settle.Lock(t.org, t.now, settle.LockTerms{
		ID: id, Asset: req.Asset, Amount: req.Amount,
		Sender:   settle.Party{Account: sender.AccountID, Org: sender.Org},
		Receiver: settle.Party{Account: receiver.AccountID, Org: receiver.Org},
		Hashlock: req.Hashlock, Timelock: timelock,
	})
	if err != nil {
		return "", settleErr(err)
	}
	return t.finishHTLC(&hl, settle.MsgLocked, moves)
}

func (t *txn) finishHTLC(hl *settle.HTLC, action string, moves []settle.Movement) (string, error) {
	if err := t.applyMoves(moves, refHTLC); err != nil {
		return "", err
	}
	if err := t.put(key(pHTLC, hl.ID), hl); err != nil {
		return "", err
	}
	t.event("HTLC", &HTLCEvent{HTLCID: hl.ID, Status: hl.Status, Action: action, SenderOrg: t.org,
		Asset: hl.Asset, Amount: hl.Amount, Hashlock: hl.Hashlock, Preimage: hl.Preimage,
		Channel: t.channel, Time: t.now, TxID: t.id})
	if err := t.flush(); err != nil {
		return "", err
	}
	return jsonString(hl)
}

// htlc loads an HTLC that the caller may read (NOT_FOUND, FORBIDDEN otherwise).
func (t *txn) htlc(id string) (*settle.HTLC, error) {
	if err := checkIdent("htlcId", id, 128); err != nil {
		return nil, err
	}
	hl := &settle.HTLC{}
	ok, err := t.getJSON(key(pHTLC, id), hl)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("htlc %s does not exist on %s", id, t.channel)
	}
	if !hl.CanRead(t.org) {
		return nil, forbidden("%s is not a party of htlc %s", t.org, id)
	}
	return hl, nil
}

// Claim releases a locked HTLC to the receiver against the preimage (64 hex characters), strictly
// before the timelock. The receiver's org only. Returns the HTLC with the preimage; event
// "HTLC" (with the preimage).
func (h *HTLCs) Claim(ctx contractapi.TransactionContextInterface, htlcID, preimage string) (string, error) {
	t, err := h.begin(ctx, onBoth)
	if err != nil {
		return "", err
	}
	hl, err := t.htlc(htlcID)
	if err != nil {
		return "", err
	}
	n, moves, err := hl.Claim(t.org, t.now, preimage)
	if err != nil {
		return "", settleErr(err)
	}
	return t.finishHTLC(&n, settle.MsgClaimed, moves)
}

// Refund returns a locked HTLC to the sender at or after the timelock. The sender's or the
// receiver's org. Event "HTLC".
func (h *HTLCs) Refund(ctx contractapi.TransactionContextInterface, htlcID string) (string, error) {
	t, err := h.begin(ctx, onBoth)
	if err != nil {
		return "", err
	}
	hl, err := t.htlc(htlcID)
	if err != nil {
		return "", err
	}
	n, moves, err := hl.Refund(t.org, t.now)
	if err != nil {
		return "", settleErr(err)
	}
	return t.finishHTLC(&n, settle.MsgRefunded, moves)
}

// Get returns an HTLC: the sender's and receiver's orgs and the Regulator.
func (h *HTLCs) Get(ctx contractapi.TransactionContextInterface, htlcID string) (string, error) {
	t, err := h.beginQuery(ctx, onBoth)
	if err != nil {
		return "", err
	}
	hl, err := t.htlc(htlcID)
	if err != nil {
		return "", err
	}
	return jsonString(hl)
}
