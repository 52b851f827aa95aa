package settle

import (
	"fmt"
	"strings"
	"time"
)

// Party is one side of an agreement or HTLC: an account and the MSP ID of the org that owns it.
type Party struct {
	Account string `json:"account"`
	Org     string `json:"org"`
}

// Status is the life-cycle state of an agreement.
type Status string

// Agreement statuses. PROPOSED → AFFIRMED → FUNDING → SETTLED, or EXPIRED / CANCELLED from
// any open status. SETTLED, EXPIRED and CANCELLED are final.
const (
	StatusProposed  Status = "PROPOSED"
	StatusAffirmed  Status = "AFFIRMED"
	StatusFunding   Status = "FUNDING"
	StatusSettled   Status = "SETTLED"
	StatusExpired   Status = "EXPIRED"
	StatusCancelled Status = "CANCELLED"
)

// Closed reports whether s is final.
func (s Status) Closed() bool {
	return s == StatusSettled || s == StatusExpired || s == StatusCancelled
}

// Valid reports whether s is one of the agreement statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusProposed, StatusAffirmed, StatusFunding, StatusSettled, StatusExpired, StatusCancelled:
		return true
	}
	return false
}

// Leg names a side of an agreement: the seller delivers shares, the buyer pays cash.
type Leg string

const (
	// LegAuto lets Fund pick the caller org's leg; it fails if the org owns both.
	LegAuto Leg = ""
	// LegSeller is the shares leg.
	LegSeller Leg = "SELLER"
	// LegBuyer is the cash leg.
	LegBuyer Leg = "BUYER"
)

// ParseLeg accepts "seller", "buyer" (any case) or "" (LegAuto).
func ParseLeg(s string) (Leg, error) {
	switch strings.ToUpper(s) {
	case "":
		return LegAuto, nil
	case string(LegSeller):
		return LegSeller, nil
	case string(LegBuyer):
		return LegBuyer, nil
	}
	return "", fmt.Errorf("%w: leg %q is not seller or buyer", ErrInvalidArgument, s)
}

// Terms are the inputs of Propose.
type Terms struct {
	// ID identifies the agreement (typically derived from the transaction id by the adapter).
	ID     string
	Buyer  Party
	Seller Party
	// Symbol is the instrument; shares move in lots of it.
	Symbol string
	// Quantity in lots, > 0.
	Quantity int64
	// Price in ticks per lot, > 0.
	Price int64
	// Currency of the cash leg; must differ from Symbol.
	Currency string
	// CashPerLotTick is how many minor units of Currency one lot costs per tick of price
	// (from the instrument's lot size and tick size), > 0.
	CashPerLotTick int64
	// Deadline after which the agreement can be expired; must be after the proposal time.
	Deadline time.Time
	// AllowPartial allows funding in parts and settling, at the deadline, what both legs cover.
	AllowPartial bool
	// Notary is the optional MSP ID of an org whose approval settlement requires; it must not
	// be the org of either party.
	Notary string
}

// Agreement is a bilateral delivery-versus-payment escrow agreement as stored on the ledger.
//
// Funding is tracked in lots for both legs: the seller escrows SellerFundedQuantity lots and the
// buyer escrows BuyerFundedCash = Cash(BuyerFundedQuantity) minor units. Once closed, the funded
// fields keep what was funded; what was refunded is funded minus settled.
type Agreement struct {
	ID                   string    `json:"settlementId"`
	Buyer                Party     `json:"buyer"`
	Seller               Party     `json:"seller"`
	ProposerOrg          string    `json:"proposerOrg"`
	Symbol               string    `json:"symbol"`
	Quantity             int64     `json:"quantity"`
	Price                int64     `json:"price"`
	Currency             string    `json:"currency"`
	CashPerLotTick       int64     `json:"cashPerLotTick"`
	CashAmount           int64     `json:"cashAmount"`
	Deadline             time.Time `json:"deadline"`
	AllowPartial         bool      `json:"allowPartial"`
	Notary               string    `json:"notary,omitempty"`
	NotaryApproved       bool      `json:"notaryApproved"`
	Status               Status    `json:"status"`
	SellerFundedQuantity int64     `json:"sellerFundedQuantity"`
	BuyerFundedQuantity  int64     `json:"buyerFundedQuantity"`
	BuyerFundedCash      int64     `json:"buyerFundedCash"`
	SettledQuantity      int64     `json:"settledQuantity"`
	SettledCash          int64     `json:"settledCash"`
	Messages             []Message `json:"messages"`
}

// Cash returns the cash, in minor units, that quantity lots cost under the agreement:
// quantity × Price × CashPerLotTick, or ErrOverflow.
func (a Agreement) Cash(quantity int64) (int64, error) {
	return cashFor(quantity, a.Price, a.CashPerLotTick)
}

func cashFor(quantity, price, perLotTick int64) (int64, error) {
	x, err := mul(quantity, price)
	if err != nil {
		return 0, err
	}
	return mul(x, perLotTick)
}

// Propose creates an agreement in status PROPOSED. callerOrg must own the buyer's or the
// seller's account; the other party's org affirms. It moves nothing.
func Propose(callerOrg string, now time.Time, t Terms) (Agreement, error) {
	if err := checkCaller(callerOrg, now); err != nil {
		return Agreement{}, err
	}
	a := Agreement{
		ID: t.ID, Buyer: t.Buyer, Seller: t.Seller, ProposerOrg: callerOrg,
		Symbol: t.Symbol, Quantity: t.Quantity, Price: t.Price, Currency: t.Currency,
		CashPerLotTick: t.CashPerLotTick, Deadline: stamp(t.Deadline),
		AllowPartial: t.AllowPartial, Notary: t.Notary, Status: StatusProposed,
	}
	if t.Quantity > 0 && t.Price > 0 && t.CashPerLotTick > 0 {
		cash, err := a.Cash(t.Quantity)
		if err != nil {
			return Agreement{}, err
		}
		a.CashAmount = cash
	}
	if err := a.checkTerms(); err != nil {
		return Agreement{}, err
	}
	if callerOrg != t.Buyer.Org && callerOrg != t.Seller.Org {
		return Agreement{}, fmt.Errorf("%w: %s is not the buyer's or the seller's org", ErrForbidden, callerOrg)
	}
	if !t.Deadline.After(now) {
		return Agreement{}, fmt.Errorf("%w: deadline %s is not after %s", ErrInvalidArgument,
			stamp(t.Deadline).Format(time.RFC3339Nano), stamp(now).Format(time.RFC3339Nano))
	}
	notary := t.Notary
	if notary == "" {
		notary = "none"
	}
	a.Messages = appendMsg(nil, MsgProposed, callerOrg, now, fmt.Sprintf(
		"buyer=%s/%s seller=%s/%s symbol=%s quantity=%d price=%d currency=%s cash=%d deadline=%s allowPartial=%t notary=%s",
		a.Buyer.Org, a.Buyer.Account, a.Seller.Org, a.Seller.Account, a.Symbol, a.Quantity,
		a.Price, a.Currency, a.CashAmount, a.Deadline.Format(time.RFC3339Nano), a.AllowPartial, notary))
	return a, nil
}

// checkTerms validates the fields fixed at proposal time.
func (a Agreement) checkTerms() error {
	if err := checkID("agreement id", a.ID); err != nil {
		return err
	}
	if err := checkParty("buyer", a.Buyer); err != nil {
		return err
	}
	if err := checkParty("seller", a.Seller); err != nil {
		return err
	}
	if a.Buyer.Account == a.Seller.Account {
		return fmt.Errorf("%w: buyer and seller are the same account %s", ErrInvalidArgument, a.Buyer.Account)
	}
	if err := checkID("symbol", a.Symbol); err != nil {
		return err
	}
	if err := checkID("currency", a.Currency); err != nil {
		return err
	}
	if a.Symbol == a.Currency {
		return fmt.Errorf("%w: symbol and currency are both %s", ErrInvalidArgument, a.Symbol)
	}
	if a.Quantity <= 0 || a.Price <= 0 || a.CashPerLotTick <= 0 {
		return fmt.Errorf("%w: quantity %d, price %d and cashPerLotTick %d must be positive",
			ErrInvalidArgument, a.Quantity, a.Price, a.CashPerLotTick)
	}
	if a.Deadline.IsZero() {
		return fmt.Errorf("%w: deadline is missing", ErrInvalidArgument)
	}
	if a.Notary != "" {
		if err := checkID("notary", a.Notary); err != nil {
			return err
		}
		if a.Notary == a.Buyer.Org || a.Notary == a.Seller.Org {
			return fmt.Errorf("%w: notary %s is a party's org", ErrInvalidArgument, a.Notary)
		}
	}
	return nil
}

// Validate checks the invariants of a stored agreement. Every operation calls it first and
// refuses, with ErrCorrupt, to act on an agreement that fails it.
func (a Agreement) Validate() error {
	if err := a.checkTerms(); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: agreement %s: %s", ErrCorrupt, a.ID, fmt.Sprintf(format, args...))
	}
	if cash, err := a.Cash(a.Quantity); err != nil || cash != a.CashAmount {
		return bad("cashAmount %d does not match the terms", a.CashAmount)
	}
	if a.ProposerOrg != a.Buyer.Org && a.ProposerOrg != a.Seller.Org {
		return bad("proposer %q is not a party's org", a.ProposerOrg)
	}
	if !a.Status.Valid() {
		return bad("unknown status %q", a.Status)
	}
	if a.NotaryApproved && a.Notary == "" {
		return bad("approved without a notary")
	}
	s, b := a.SellerFundedQuantity, a.BuyerFundedQuantity
	if s < 0 || s > a.Quantity || b < 0 || b > a.Quantity {
		return bad("funded quantities %d/%d outside 0..%d", s, b, a.Quantity)
	}
	if cash, err := a.Cash(b); err != nil || cash != a.BuyerFundedCash {
		return bad("buyerFundedCash %d does not match %d lots", a.BuyerFundedCash, b)
	}
	if !a.AllowPartial && ((s != 0 && s != a.Quantity) || (b != 0 && b != a.Quantity)) {
		return bad("partial funding without allowPartial")
	}
	funded := s > 0 || b > 0
	switch a.Status {
	case StatusProposed, StatusAffirmed:
		if funded {
			return bad("funded while %s", a.Status)
		}
	case StatusFunding:
		if !funded {
			return bad("FUNDING with nothing funded")
		}
	}
	if a.SettledQuantity < 0 || a.SettledQuantity > min(s, b) {
		return bad("settledQuantity %d exceeds what was funded", a.SettledQuantity)
	}
	if a.SettledQuantity > 0 && a.Status != StatusSettled {
		return bad("settled quantity in status %s", a.Status)
	}
	if a.Status == StatusSettled && a.SettledQuantity == 0 {
		return bad("SETTLED with nothing settled")
	}
	if cash, err := a.Cash(a.SettledQuantity); err != nil || cash != a.SettledCash {
		return bad("settledCash %d does not match %d lots", a.SettledCash, a.SettledQuantity)
	}
	if len(a.Messages) == 0 {
		return bad("empty message thread")
	}
	return nil
}

// CanRead reports whether org may read the agreement's details: the parties' orgs, the notary
// and the Regulator.
func (a Agreement) CanRead(org string) bool {
	return org != "" && (org == a.Buyer.Org || org == a.Seller.Org ||
		(a.Notary != "" && org == a.Notary) || org == RegulatorOrg)
}

// FullyFunded reports whether both legs are completely in escrow.
func (a Agreement) FullyFunded() bool {
	return a.SellerFundedQuantity == a.Quantity && a.BuyerFundedQuantity == a.Quantity
}

// begin runs the checks common to every operation on a stored agreement and returns a copy to
// modify (its message thread is copied on write by appendMsg).
func (a Agreement) begin(callerOrg string, now time.Time) (Agreement, error) {
	if err := checkCaller(callerOrg, now); err != nil {
		return Agreement{}, err
	}
	if err := a.Validate(); err != nil {
		return Agreement{}, err
	}
	if a.Status.Closed() {
		return Agreement{}, fmt.Errorf("%w: agreement %s is %s", ErrClosed, a.ID, a.Status)
	}
	return a, nil
}

// beforeDeadline rejects operations at or after the deadline.
func (a Agreement) beforeDeadline(now time.Time) error {
	if !now.Before(a.Deadline) {
		return fmt.Errorf("%w: agreement %s deadline %s, now %s", ErrDeadlinePassed, a.ID,
			a.Deadline.Format(time.RFC3339Nano), stamp(now).Format(time.RFC3339Nano))
	}
	return nil
}

func (a Agreement) isParty(org string) bool { return org == a.Buyer.Org || org == a.Seller.Org }

// Affirm accepts a proposed agreement. Only the org that did not propose may affirm (when both
// accounts belong to one org, that org). It moves nothing.
func (a Agreement) Affirm(callerOrg string, now time.Time) (Agreement, []Movement, error) {
	n, err := a.begin(callerOrg, now)
	if err != nil {
		return Agreement{}, nil, err
	}
	counterparty := n.Buyer.Org
	if n.ProposerOrg == n.Buyer.Org {
		counterparty = n.Seller.Org
	}
	if callerOrg != counterparty {
		return Agreement{}, nil, fmt.Errorf("%w: only %s, the counterparty of the proposer, may affirm", ErrForbidden, counterparty)
	}
	if n.Status != StatusProposed {
		return Agreement{}, nil, fmt.Errorf("%w: affirm needs PROPOSED, agreement %s is %s", ErrWrongState, n.ID, n.Status)
	}
	if err := n.beforeDeadline(now); err != nil {
		return Agreement{}, nil, err
	}
	n.Status = StatusAffirmed
	n.Messages = appendMsg(n.Messages, MsgAffirmed, callerOrg, now, "")
	return n, nil, nil
}

// Fund moves one leg, or part of it, from the party's available balance into escrow. The
// caller org must own the leg's account; leg may be LegAuto unless the org owns both accounts.
// quantity is in lots for both legs (the buyer escrows Cash(quantity)); 0 means the rest of the
// leg. Without AllowPartial a leg is funded whole in one call. The call that completes both
// legs settles the agreement in the same transaction, unless a notary has yet to approve.
func (a Agreement) Fund(callerOrg string, now time.Time, leg Leg, quantity int64) (Agreement, []Movement, error) {
	n, err := a.begin(callerOrg, now)
	if err != nil {
		return Agreement{}, nil, err
	}
	switch leg {
	case LegAuto:
		switch {
		case callerOrg == n.Seller.Org && callerOrg == n.Buyer.Org:
			return Agreement{}, nil, fmt.Errorf("%w: agreement %s", ErrAmbiguousLeg, n.ID)
		case callerOrg == n.Seller.Org:
			leg = LegSeller
		case callerOrg == n.Buyer.Org:
			leg = LegBuyer
		default:
			return Agreement{}, nil, fmt.Errorf("%w: %s is not a party of agreement %s", ErrForbidden, callerOrg, n.ID)
		}
	case LegSeller:
		if callerOrg != n.Seller.Org {
			return Agreement{}, nil, fmt.Errorf("%w: only %s funds the seller leg", ErrForbidden, n.Seller.Org)
		}
	case LegBuyer:
		if callerOrg != n.Buyer.Org {
			return Agreement{}, nil, fmt.Errorf("%w: only %s funds the buyer leg", ErrForbidden, n.Buyer.Org)
		}
	default:
		return Agreement{}, nil, fmt.Errorf("%w: leg %q", ErrInvalidArgument, leg)
	}
	if n.Status != StatusAffirmed && n.Status != StatusFunding {
		return Agreement{}, nil, fmt.Errorf("%w: fund needs AFFIRMED or FUNDING, agreement %s is %s", ErrWrongState, n.ID, n.Status)
	}
	if err := n.beforeDeadline(now); err != nil {
		return Agreement{}, nil, err
	}
	funded := &n.SellerFundedQuantity
	party := n.Seller
	if leg == LegBuyer {
		funded = &n.BuyerFundedQuantity
		party = n.Buyer
	}
	remaining := n.Quantity - *funded
	if remaining == 0 {
		return Agreement{}, nil, fmt.Errorf("%w: %s leg of agreement %s", ErrLegFunded, leg, n.ID)
	}
	switch {
	case quantity < 0:
		return Agreement{}, nil, fmt.Errorf("%w: quantity %d", ErrInvalidArgument, quantity)
	case quantity == 0:
		quantity = remaining
	case quantity > remaining:
		return Agreement{}, nil, fmt.Errorf("%w: %d lots asked, %s leg needs %d", ErrExceedsLeg, quantity, leg, remaining)
	}
	if quantity != remaining && !n.AllowPartial {
		return Agreement{}, nil, fmt.Errorf("%w: agreement %s needs all %d lots in one funding", ErrPartialNotAllowed, n.ID, remaining)
	}
	asset, amount := n.Symbol, quantity
	if leg == LegBuyer {
		asset = n.Currency
		if amount, err = n.Cash(quantity); err != nil {
			return Agreement{}, nil, err
		}
		if n.BuyerFundedCash, err = add(n.BuyerFundedCash, amount); err != nil {
			return Agreement{}, nil, err
		}
	}
	*funded += quantity
	n.Status = StatusFunding
	moves := []Movement{{
		Ref: n.ID, Reason: ReasonFund, Asset: asset, Amount: amount,
		From: Location{party.Account, Available}, To: Location{party.Account, Escrow},
	}}
	n.Messages = appendMsg(n.Messages, MsgFunded, callerOrg, now, fmt.Sprintf(
		"leg=%s quantity=%d amount=%d %s funded=%d/%d", leg, quantity, amount, asset, *funded, n.Quantity))
	if n.FullyFunded() && (n.Notary == "" || n.NotaryApproved) {
		closing, err := n.close(callerOrg, now, n.Quantity, StatusSettled)
		if err != nil {
			return Agreement{}, nil, err
		}
		moves = append(moves, closing...)
	}
	return n, moves, nil
}

// Approve records the notary's approval. Only the notary org may approve, once, after the
// agreement is affirmed and before the deadline. If both legs are already funded, the
// agreement settles in the same transaction; otherwise it settles when funding completes.
func (a Agreement) Approve(callerOrg string, now time.Time) (Agreement, []Movement, error) {
	n, err := a.begin(callerOrg, now)
	if err != nil {
		return Agreement{}, nil, err
	}
	if n.Notary == "" {
		return Agreement{}, nil, fmt.Errorf("%w: agreement %s", ErrNoNotary, n.ID)
	}
	if callerOrg != n.Notary {
		return Agreement{}, nil, fmt.Errorf("%w: only the notary %s may approve", ErrForbidden, n.Notary)
	}
	if n.NotaryApproved {
		return Agreement{}, nil, fmt.Errorf("%w: agreement %s", ErrAlreadyApproved, n.ID)
	}
	if n.Status != StatusAffirmed && n.Status != StatusFunding {
		return Agreement{}, nil, fmt.Errorf("%w: approve needs AFFIRMED or FUNDING, agreement %s is %s", ErrWrongState, n.ID, n.Status)
	}
	if err := n.beforeDeadline(now); err != nil {
		return Agreement{}, nil, err
	}
	n.NotaryApproved = true
	n.Messages = appendMsg(n.Messages, MsgApproved, callerOrg, now, "")
	var moves []Movement
	if n.FullyFunded() {
		if moves, err = n.close(callerOrg, now, n.Quantity, StatusSettled); err != nil {
			return Agreement{}, nil, err
		}
	}
	return n, moves, nil
}

// Cancel ends an open agreement before the deadline and refunds every funded leg. Either
// party's org may cancel until both legs are fully funded (ErrFullyFunded after that: the
// parties are committed and only settlement or expiry closes the agreement). At or after the
// deadline use Expire, which also applies partial settlement. reason is optional free text.
func (a Agreement) Cancel(callerOrg string, now time.Time, reason string) (Agreement, []Movement, error) {
	n, err := a.begin(callerOrg, now)
	if err != nil {
		return Agreement{}, nil, err
	}
	if err := checkText("reason", reason); err != nil {
		return Agreement{}, nil, err
	}
	if !n.isParty(callerOrg) {
		return Agreement{}, nil, fmt.Errorf("%w: %s is not a party of agreement %s", ErrForbidden, callerOrg, n.ID)
	}
	if err := n.beforeDeadline(now); err != nil {
		return Agreement{}, nil, err
	}
	if n.FullyFunded() {
		return Agreement{}, nil, fmt.Errorf("%w: agreement %s", ErrFullyFunded, n.ID)
	}
	n.Messages = appendMsg(n.Messages, MsgCancelled, callerOrg, now, reason)
	moves, err := n.close(callerOrg, now, 0, StatusCancelled)
	if err != nil {
		return Agreement{}, nil, err
	}
	return n, moves, nil
}

// Expire closes an open agreement at or after its deadline; any org may call it, since the
// outcome is fixed by the agreement. With AllowPartial, and the notary's approval when there is
// a notary, it settles the largest quantity both legs cover, min(SellerFundedQuantity,
// BuyerFundedQuantity), when that is positive (status SETTLED, SettledQuantity < Quantity),
// and refunds the rest; otherwise it refunds everything (status EXPIRED).
func (a Agreement) Expire(callerOrg string, now time.Time) (Agreement, []Movement, error) {
	n, err := a.begin(callerOrg, now)
	if err != nil {
		return Agreement{}, nil, err
	}
	if now.Before(n.Deadline) {
		return Agreement{}, nil, fmt.Errorf("%w: agreement %s deadline %s, now %s", ErrDeadlineNotReached, n.ID,
			n.Deadline.Format(time.RFC3339Nano), stamp(now).Format(time.RFC3339Nano))
	}
	n.Messages = appendMsg(n.Messages, MsgExpired, callerOrg, now, "")
	q := int64(0)
	if n.AllowPartial && (n.Notary == "" || n.NotaryApproved) {
		q = min(n.SellerFundedQuantity, n.BuyerFundedQuantity)
	}
	final := StatusExpired
	if q > 0 {
		final = StatusSettled
	}
	moves, err := n.close(callerOrg, now, q, final)
	if err != nil {
		return Agreement{}, nil, err
	}
	return n, moves, nil
}

// close delivers q lots against Cash(q), refunds everything else in escrow and sets the final
// status. It is the only place where assets leave an agreement's escrow, and it runs once:
// every caller goes through begin, which rejects closed agreements.
func (a *Agreement) close(callerOrg string, now time.Time, q int64, final Status) ([]Movement, error) {
	cash, err := a.Cash(q)
	if err != nil {
		return nil, err
	}
	var moves []Movement
	mv := func(reason Reason, asset string, amount int64, from, to Location) {
		if amount > 0 {
			moves = append(moves, Movement{Ref: a.ID, Reason: reason, Asset: asset, Amount: amount, From: from, To: to})
		}
	}
	sellerEscrow := Location{a.Seller.Account, Escrow}
	buyerEscrow := Location{a.Buyer.Account, Escrow}
	mv(ReasonDeliver, a.Symbol, q, sellerEscrow, Location{a.Buyer.Account, Available})
	mv(ReasonPay, a.Currency, cash, buyerEscrow, Location{a.Seller.Account, Available})
	sharesBack := a.SellerFundedQuantity - q
	cashBack := a.BuyerFundedCash - cash
	mv(ReasonRefund, a.Symbol, sharesBack, sellerEscrow, Location{a.Seller.Account, Available})
	mv(ReasonRefund, a.Currency, cashBack, buyerEscrow, Location{a.Buyer.Account, Available})
	if q > 0 {
		a.SettledQuantity, a.SettledCash = q, cash
		a.Messages = appendMsg(a.Messages, MsgSettled, callerOrg, now,
			fmt.Sprintf("quantity=%d/%d %s cash=%d %s", q, a.Quantity, a.Symbol, cash, a.Currency))
	}
	if sharesBack > 0 || cashBack > 0 {
		a.Messages = appendMsg(a.Messages, MsgRefunded, callerOrg, now,
			fmt.Sprintf("seller=%d %s buyer=%d %s", sharesBack, a.Symbol, cashBack, a.Currency))
	}
	a.Status = final
	return moves, nil
}
