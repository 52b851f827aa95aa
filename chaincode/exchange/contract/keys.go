package contract

import (
	"strconv"
	"strings"
)

// Key schema. Every key is a simple key (no leading U+0000, so GetStateByRange can scan exact
// half-open ranges, which Fabric re-checks for phantoms) made of components joined by "~".
// Identifiers never contain "~" (see checkIdent); numbers are zero-padded to 20 digits so that
// byte order is numeric order. Who writes each key is part of the design (ARCHITECTURE §2): the
// Match transaction never writes a key that SubmitOrder, CancelOrder, ReplaceOrder or an
// account owner's transaction writes.
//
//	ins~SYM                                  instrument                          ListInstrument (Regulator)
//	acct~ACCT                                account                             OpenAccount
//	bal~ACCT~ASSET                           base balance {available, reserved,  the owner org's transactions
//	                                         deposited, withdrawn}
//	dl~ACCT~ASSET~TXID                       balance delta {available, reserved}  written once by Match, settlement
//	                                         (credits and releases)              and HTLC transactions; folded into
//	                                                                             bal~ and deleted by the owner's
//	                                                                             later debits
//	esc~ACCT~ASSET~REF                       escrowed amount of an agreement     settlement / HTLC transactions
//	                                         or HTLC REF
//	ord~ORDERID                              order as submitted (immutable)      SubmitOrder
//	ost~ORDERID                              order state after matching          Match
//	coid~ACCT~CLIENTORDERID                  → order id (idempotency)            SubmitOrder
//	aord~ACCT~TS~ORDERID                     → symbol (orders of an account)     SubmitOrder
//	in~SYM~EPOCH~TS~TXID                     intake: order waiting for Match     SubmitOrder; deleted by Match
//	rq~SYM~EPOCH~TS~TXID                     cancel / replace request            Cancel/ReplaceOrder; deleted by Match
//	lv~SYM~B~(MAXP-PRICE)~SEQ~ORDERID        resting bid (best first)            Match
//	lv~SYM~A~PRICE~SEQ~ORDERID               resting ask (best first)            Match
//	lv~SYM~S~STOPPRICE~SEQ~ORDERID           stop order waiting for its trigger  Match
//	lv~SYM~Q~0~SEQ~ORDERID                   queued work (paused taker, stop)    Match
//	bk~SYM                                   book counters {seq, tradeSeq,       Match
//	                                         lastPrice, version: hash of lv~SYM~}
//	tr~SYM~TRADESEQ                          trade                               Match
//	agr~ID                                   escrow agreement (settle.Agreement) settlement transactions
//	agra~ACCT~ID                             agreements of an account            ProposeSettlement
//	htlc~ID                                  HTLC (settle.HTLC)                  HTLC transactions
//
// EPOCH is the transaction timestamp divided by the epoch length, TS the timestamp in Unix
// nanoseconds, SEQ the book's sequence number.
const (
	sep = "~"

	pInstrument = "ins"
	pAccount    = "acct"
	pBalance    = "bal"
	pDelta      = "dl"
	pEscrow     = "esc"
	pOrder      = "ord"
	pOrderState = "ost"
	pClientID   = "coid"
	pAcctOrder  = "aord"
	pIntake     = "in"
	pRequest    = "rq"
	pLive       = "lv"
	pBook       = "bk"
	pTrade      = "tr"
	pAgreement  = "agr"
	pAgrAccount = "agra"
	pHTLC       = "htlc"
)

// maxPriceKey complements bid prices so that higher prices sort first.
const maxPriceKey = uint64(1<<63 - 1)

func key(parts ...string) string { return strings.Join(parts, sep) }

// prefix returns the key prefix made of parts followed by the separator.
func prefix(parts ...string) string { return key(parts...) + sep }

// prefixEnd returns the exclusive end of the range of keys starting with p (which ends in the
// separator): every character of a component sorts below U+007F.
func prefixEnd(p string) string { return p[:len(p)-1] + "\x7f" }

// pad renders n as 20 digits.
func pad(n uint64) string {
	s := strconv.FormatUint(n, 10)
	return strings.Repeat("0", 20-len(s)) + s
}

func padI(n int64) string {
	if n < 0 {
		n = 0
	}
	return pad(uint64(n))
}

// lastPart returns the component after the last separator.
func lastPart(k string) string {
	i := strings.LastIndex(k, sep)
	return k[i+1:]
}

// checkIdent accepts 1..max characters from [A-Za-z0-9._:-], starting with a letter or digit.
// Such identifiers are safe inside keys, log lines and URLs.
func checkIdent(field, s string, max int) error {
	if s == "" {
		return invalidArg(field, "required")
	}
	if len(s) > max {
		return invalidArg(field, "longer than %d characters", max)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != ':' && c != '-')) {
			return invalidArg(field, "%q: only letters, digits and . _ : - are allowed, starting with a letter or digit", s)
		}
	}
	return nil
}

// checkSymbol accepts 1..16 characters from [A-Z0-9._-], starting with a letter or digit, that
// are not a currency code.
func checkSymbol(field, s string) error {
	if err := checkIdent(field, s, 16); err != nil {
		return err
	}
	if s != strings.ToUpper(s) || strings.Contains(s, ":") {
		return invalidArg(field, "%q: use upper-case letters, digits and . _ -", s)
	}
	return nil
}
