package settle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	secretSum = sha256.Sum256([]byte("fabmarket test secret"))
	secret    = hex.EncodeToString(secretSum[:])
	secretB   = mustHex(secret)
	hashlock  = HashlockOf(secretB)
	otherPre  = strings.Repeat("ab", 32)
	senderAcc = "acc-alice"
	recvAcc   = "acc-bob"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func baseLock() LockTerms {
	return LockTerms{
		ID: "htlc-1", Asset: sym, Amount: 40,
		Sender:   Party{Account: senderAcc, Org: sellerOrg},
		Receiver: Party{Account: recvAcc, Org: buyerOrg},
		Hashlock: hashlock, Timelock: t0.Add(2 * time.Hour),
	}
}

func TestParseHashlock(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  error
	}{
		{in: hashlock, want: hashlock},
		{in: strings.ToUpper(hashlock), want: hashlock},
		{in: "", wantErr: ErrBadHashlock},
		{in: hashlock[:63], wantErr: ErrBadHashlock},
		{in: hashlock + "0", wantErr: ErrBadHashlock},
		{in: "0x" + hashlock[:62], wantErr: ErrBadHashlock},
		{in: "0x" + hashlock, wantErr: ErrBadHashlock},
		{in: "g" + hashlock[1:], wantErr: ErrBadHashlock},
		{in: " " + hashlock[1:], wantErr: ErrBadHashlock},
		{in: hashlock[:32], wantErr: ErrBadHashlock},
		{in: strings.Repeat("é", 32), wantErr: ErrBadHashlock},
	}
	for _, tc := range tests {
		got, err := ParseHashlock(tc.in)
		if !errors.Is(err, tc.wantErr) || (err == nil && got != tc.want) {
			t.Errorf("ParseHashlock(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParsePreimage(t *testing.T) {
	tests := []struct {
		in      string
		wantErr error
	}{
		{in: secret},
		{in: strings.ToUpper(secret)},
		{in: "", wantErr: ErrBadPreimage},
		{in: secret[:63], wantErr: ErrBadPreimage},
		{in: secret[:62], wantErr: ErrBadPreimage},
		{in: secret + "00", wantErr: ErrBadPreimage},
		{in: "z" + secret[1:], wantErr: ErrBadPreimage},
		{in: strings.Repeat("é", 32), wantErr: ErrBadPreimage},
	}
	for _, tc := range tests {
		got, err := ParsePreimage(tc.in)
		if !errors.Is(err, tc.wantErr) || (err == nil && !slices.Equal(got, secretB)) {
			t.Errorf("ParsePreimage(%q) = %x, %v; want %v", tc.in, got, err, tc.wantErr)
		}
	}
}

func TestLock(t *testing.T) {
	tests := []struct {
		name    string
		org     string
		mod     func(*LockTerms)
		wantErr error
	}{
		{name: "ok", org: sellerOrg},
		{name: "uppercase hashlock normalised", org: sellerOrg, mod: func(l *LockTerms) { l.Hashlock = strings.ToUpper(hashlock) }},
		{name: "timelock at the maximum", org: sellerOrg, mod: func(l *LockTerms) { l.Timelock = t0.Add(MaxTimelock) }},
		{name: "timelock one ns ahead", org: sellerOrg, mod: func(l *LockTerms) { l.Timelock = t0.Add(time.Nanosecond) }},
		{name: "receiver org locks", org: buyerOrg, wantErr: ErrForbidden},
		{name: "third org locks", org: thirdOrg, wantErr: ErrForbidden},
		{name: "empty caller", org: "", wantErr: ErrInvalidArgument},
		{name: "timelock now", org: sellerOrg, mod: func(l *LockTerms) { l.Timelock = t0 }, wantErr: ErrTimelockRange},
		{name: "timelock past", org: sellerOrg, mod: func(l *LockTerms) { l.Timelock = t0.Add(-time.Minute) }, wantErr: ErrTimelockRange},
		{name: "timelock missing", org: sellerOrg, mod: func(l *LockTerms) { l.Timelock = time.Time{} }, wantErr: ErrTimelockRange},
		{name: "timelock beyond the maximum", org: sellerOrg, mod: func(l *LockTerms) { l.Timelock = t0.Add(MaxTimelock + time.Nanosecond) }, wantErr: ErrTimelockRange},
		{name: "timelock far future", org: sellerOrg, mod: func(l *LockTerms) { l.Timelock = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) }, wantErr: ErrTimelockRange},
		{name: "short hashlock", org: sellerOrg, mod: func(l *LockTerms) { l.Hashlock = hashlock[:40] }, wantErr: ErrBadHashlock},
		{name: "non-hex hashlock", org: sellerOrg, mod: func(l *LockTerms) { l.Hashlock = "x" + hashlock[1:] }, wantErr: ErrBadHashlock},
		{name: "prefixed hashlock", org: sellerOrg, mod: func(l *LockTerms) { l.Hashlock = "0x" + hashlock }, wantErr: ErrBadHashlock},
		{name: "empty hashlock", org: sellerOrg, mod: func(l *LockTerms) { l.Hashlock = "" }, wantErr: ErrBadHashlock},
		{name: "zero amount", org: sellerOrg, mod: func(l *LockTerms) { l.Amount = 0 }, wantErr: ErrInvalidArgument},
		{name: "negative amount", org: sellerOrg, mod: func(l *LockTerms) { l.Amount = -3 }, wantErr: ErrInvalidArgument},
		{name: "empty asset", org: sellerOrg, mod: func(l *LockTerms) { l.Asset = "" }, wantErr: ErrInvalidArgument},
		{name: "empty id", org: sellerOrg, mod: func(l *LockTerms) { l.ID = "" }, wantErr: ErrInvalidArgument},
		{name: "same account", org: sellerOrg, mod: func(l *LockTerms) { l.Receiver.Account = senderAcc }, wantErr: ErrInvalidArgument},
		{name: "empty receiver org", org: sellerOrg, mod: func(l *LockTerms) { l.Receiver.Org = "" }, wantErr: ErrInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lt := baseLock()
			if tc.mod != nil {
				tc.mod(&lt)
			}
			h, ms, err := Lock(tc.org, t0, lt)
			wantErrIs(t, err, tc.wantErr)
			if err != nil {
				if ms != nil || !reflect.DeepEqual(h, HTLC{}) {
					t.Fatal("failed Lock returned a value or movements")
				}
				return
			}
			if err := h.Validate(); err != nil {
				t.Fatal(err)
			}
			want := []Movement{{Ref: lt.ID, Reason: ReasonFund, Asset: sym, Amount: lt.Amount,
				From: Location{senderAcc, Available}, To: Location{senderAcc, Escrow}}}
			if !reflect.DeepEqual(ms, want) || h.Status != HTLCLocked || h.Hashlock != hashlock || h.Preimage != "" {
				t.Fatalf("Lock = %+v, %+v", h, ms)
			}
		})
	}
}

func TestHTLCTransitions(t *testing.T) {
	locked, _, err := Lock(sellerOrg, t0, baseLock())
	if err != nil {
		t.Fatal(err)
	}
	tl := locked.Timelock
	claimed, _, err := locked.Claim(buyerOrg, t0.Add(time.Minute), secret)
	if err != nil {
		t.Fatal(err)
	}
	refunded, _, err := locked.Refund(sellerOrg, tl)
	if err != nil {
		t.Fatal(err)
	}
	claim := func(org string, at time.Time, pre string) func(HTLC) (HTLC, []Movement, error) {
		return func(h HTLC) (HTLC, []Movement, error) { return h.Claim(org, at, pre) }
	}
	refund := func(org string, at time.Time) func(HTLC) (HTLC, []Movement, error) {
		return func(h HTLC) (HTLC, []Movement, error) { return h.Refund(org, at) }
	}
	early := t0.Add(time.Minute)
	tests := []struct {
		name       string
		from       HTLC
		do         func(HTLC) (HTLC, []Movement, error)
		wantErr    error
		wantStatus HTLCStatus
		wantTo     Location
	}{
		{name: "claim", from: locked, do: claim(buyerOrg, early, secret), wantStatus: HTLCClaimed, wantTo: Location{recvAcc, Available}},
		{name: "claim uppercase preimage", from: locked, do: claim(buyerOrg, early, strings.ToUpper(secret)), wantStatus: HTLCClaimed, wantTo: Location{recvAcc, Available}},
		{name: "claim 1ns before timelock", from: locked, do: claim(buyerOrg, tl.Add(-time.Nanosecond), secret), wantStatus: HTLCClaimed, wantTo: Location{recvAcc, Available}},
		{name: "claim wrong preimage", from: locked, do: claim(buyerOrg, early, otherPre), wantErr: ErrPreimageMismatch},
		{name: "claim with the hashlock as preimage", from: locked, do: claim(buyerOrg, early, hashlock), wantErr: ErrPreimageMismatch},
		{name: "claim short preimage", from: locked, do: claim(buyerOrg, early, secret[:10]), wantErr: ErrBadPreimage},
		{name: "claim odd-length preimage", from: locked, do: claim(buyerOrg, early, secret[:63]), wantErr: ErrBadPreimage},
		{name: "claim long preimage", from: locked, do: claim(buyerOrg, early, secret+secret), wantErr: ErrBadPreimage},
		{name: "claim non-hex preimage", from: locked, do: claim(buyerOrg, early, "q"+secret[1:]), wantErr: ErrBadPreimage},
		{name: "claim raw preimage bytes", from: locked, do: claim(buyerOrg, early, string(secretB)), wantErr: ErrBadPreimage},
		{name: "claim by sender org", from: locked, do: claim(sellerOrg, early, secret), wantErr: ErrForbidden},
		{name: "claim by third org", from: locked, do: claim(thirdOrg, early, secret), wantErr: ErrForbidden},
		{name: "claim at timelock", from: locked, do: claim(buyerOrg, tl, secret), wantErr: ErrTimelockExpired},
		{name: "claim after expiry", from: locked, do: claim(buyerOrg, tl.Add(time.Hour), secret), wantErr: ErrTimelockExpired},
		{name: "claim zero time", from: locked, do: claim(buyerOrg, time.Time{}, secret), wantErr: ErrInvalidArgument},
		{name: "claim twice", from: claimed, do: claim(buyerOrg, early, secret), wantErr: ErrClosed},
		{name: "claim after refund", from: refunded, do: claim(buyerOrg, early, secret), wantErr: ErrClosed},
		{name: "refund at timelock", from: locked, do: refund(sellerOrg, tl), wantStatus: HTLCRefunded, wantTo: Location{senderAcc, Available}},
		{name: "refund by receiver org", from: locked, do: refund(buyerOrg, tl.Add(time.Hour)), wantStatus: HTLCRefunded, wantTo: Location{senderAcc, Available}},
		{name: "refund before timelock", from: locked, do: refund(sellerOrg, tl.Add(-time.Nanosecond)), wantErr: ErrTimelockNotReached},
		{name: "refund by third org", from: locked, do: refund(thirdOrg, tl), wantErr: ErrForbidden},
		{name: "refund twice", from: refunded, do: refund(sellerOrg, tl.Add(time.Hour)), wantErr: ErrClosed},
		{name: "refund after claim", from: claimed, do: refund(sellerOrg, tl.Add(time.Hour)), wantErr: ErrClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.from
			before.Messages = slices.Clone(tc.from.Messages)
			h, ms, err := tc.do(tc.from)
			if !reflect.DeepEqual(before, tc.from) {
				t.Fatal("operation modified its input")
			}
			wantErrIs(t, err, tc.wantErr)
			if err != nil {
				if ms != nil || !reflect.DeepEqual(h, HTLC{}) {
					t.Fatal("failed operation returned a value or movements")
				}
				return
			}
			if err := h.Validate(); err != nil {
				t.Fatal(err)
			}
			if h.Status != tc.wantStatus || len(ms) != 1 || ms[0].To != tc.wantTo || ms[0].From != (Location{senderAcc, Escrow}) || ms[0].Amount != 40 {
				t.Fatalf("got %s %+v", h.Status, ms)
			}
			if h.Status == HTLCClaimed && h.Preimage != secret {
				t.Fatalf("claimed HTLC reveals %q, want %q", h.Preimage, secret)
			}
			if len(h.Messages) != 2 {
				t.Fatalf("thread %v", msgTypes(h.Messages))
			}
			l := newLedger()
			l.set(senderAcc, sym, 40)
			_, lockMoves, _ := Lock(sellerOrg, t0, baseLock())
			if err := l.apply(append(lockMoves, ms...)); err != nil {
				t.Fatal(err)
			}
			if l.escrow("htlc-1", senderAcc, sym) != 0 || l.total(sym) != 40 {
				t.Fatal("HTLC left escrow or broke conservation")
			}
		})
	}
}

func TestCorruptHTLCRejected(t *testing.T) {
	locked, _, err := Lock(sellerOrg, t0, baseLock())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*HTLC)
	}{
		{"claimed without preimage", func(h *HTLC) { h.Status = HTLCClaimed }},
		{"claimed with wrong preimage", func(h *HTLC) { h.Status = HTLCClaimed; h.Preimage = otherPre }},
		{"locked with preimage", func(h *HTLC) { h.Preimage = secret }},
		{"unknown status", func(h *HTLC) { h.Status = "OPEN" }},
		{"uppercase hashlock", func(h *HTLC) { h.Hashlock = strings.ToUpper(hashlock) }},
		{"bad hashlock", func(h *HTLC) { h.Hashlock = "00" }},
		{"no thread", func(h *HTLC) { h.Messages = nil }},
		{"zero amount", func(h *HTLC) { h.Amount = 0 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := locked
			h.Messages = slices.Clone(locked.Messages)
			tc.mod(&h)
			if err := h.Validate(); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Validate = %v", err)
			}
			if _, ms, err := h.Claim(buyerOrg, t0.Add(time.Minute), secret); !errors.Is(err, ErrCorrupt) || ms != nil {
				t.Fatalf("Claim = %v", err)
			}
			if _, ms, err := h.Refund(sellerOrg, t0.Add(3*time.Hour)); !errors.Is(err, ErrCorrupt) || ms != nil {
				t.Fatalf("Refund = %v", err)
			}
		})
	}
}

func TestHTLCCanReadAndJSON(t *testing.T) {
	h, _, err := Lock(sellerOrg, t0, baseLock())
	if err != nil {
		t.Fatal(err)
	}
	for org, want := range map[string]bool{sellerOrg: true, buyerOrg: true, RegulatorOrg: true, thirdOrg: false, "": false} {
		if h.CanRead(org) != want {
			t.Errorf("CanRead(%q) != %t", org, want)
		}
	}
	c, _, err := h.Claim(buyerOrg, t0.Add(time.Minute), secret)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"htlcId":"htlc-1"`, `"status":"CLAIMED"`, `"preimage":"` + secret + `"`, `"hashlock":"` + hashlock + `"`, `"timelock":"2025-03-14T11:00:00Z"`, `"sender":{"account":"acc-alice","org":"Org2MSP"}`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s:\n%s", key, b)
		}
	}
	var back HTLC
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip: %v", err)
	}
	b, _ = json.Marshal(h)
	if strings.Contains(string(b), "preimage") {
		t.Errorf("locked HTLC JSON mentions a preimage: %s", b)
	}
}

func TestCheckMovements(t *testing.T) {
	good := Movement{Ref: "r", Reason: ReasonFund, Asset: "A", Amount: 1, From: Location{"a", Available}, To: Location{"a", Escrow}}
	if err := CheckMovements([]Movement{good}); err != nil {
		t.Fatal(err)
	}
	bad := []func(*Movement){
		func(m *Movement) { m.Amount = 0 },
		func(m *Movement) { m.Amount = -1 },
		func(m *Movement) { m.Ref = "" },
		func(m *Movement) { m.Asset = "" },
		func(m *Movement) { m.To.Bucket = "RESERVED" },
		func(m *Movement) { m.To = m.From },
	}
	for i, f := range bad {
		m := good
		f(&m)
		if err := CheckMovements([]Movement{good, m}); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("case %d: %v", i, err)
		}
	}
	ps := Postings([]Movement{good})
	want := []Posting{{Account: "a", Bucket: Available, Asset: "A", Delta: -1}, {Ref: "r", Account: "a", Bucket: Escrow, Asset: "A", Delta: 1}}
	if !reflect.DeepEqual(ps, want) {
		t.Fatalf("Postings = %+v", ps)
	}
}
