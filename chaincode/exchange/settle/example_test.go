package settle_test

import (
	"fmt"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/settle"
)

// A bilateral DvP agreement: proposed by the buyer's org, affirmed by the seller's, funded by
// both; the funding that completes the second leg settles in the same transaction.
func Example() {
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	a, err := settle.Propose("Org1MSP", now, settle.Terms{
		ID:             "agr-42",
		Buyer:          settle.Party{Account: "buyer-1", Org: "Org1MSP"},
		Seller:         settle.Party{Account: "seller-1", Org: "Org2MSP"},
		Symbol:         "ACME",
		Quantity:       10,   // lots
		Price:          2030, // ticks
		Currency:       "USD",
		CashPerLotTick: 1, // one cent per lot per tick
		Deadline:       now.Add(time.Hour),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var moves, all []settle.Movement
	steps := []func() (settle.Agreement, []settle.Movement, error){
		func() (settle.Agreement, []settle.Movement, error) { return a.Affirm("Org2MSP", now.Add(time.Minute)) },
		func() (settle.Agreement, []settle.Movement, error) {
			return a.Fund("Org2MSP", now.Add(2*time.Minute), settle.LegAuto, 0)
		},
		func() (settle.Agreement, []settle.Movement, error) {
			return a.Fund("Org1MSP", now.Add(3*time.Minute), settle.LegAuto, 0)
		},
	}
	for _, step := range steps {
		if a, moves, err = step(); err != nil {
			fmt.Println(err)
			return
		}
		all = append(all, moves...)
	}
	fmt.Println(a.Status, a.SettledQuantity, a.SettledCash)
	for _, m := range all {
		fmt.Printf("%-7s %5d %-4s %s/%s -> %s/%s\n", m.Reason, m.Amount, m.Asset, m.From.Account, m.From.Bucket, m.To.Account, m.To.Bucket)
	}
	for _, msg := range a.Messages {
		fmt.Println(msg.Time.Format("15:04"), msg.SenderOrg, msg.Type)
	}
	_, _, err = a.Fund("Org1MSP", now.Add(4*time.Minute), settle.LegAuto, 0)
	fmt.Println(err)
	// Output:
	// SETTLED 10 20300
	// FUND       10 ACME seller-1/AVAILABLE -> seller-1/ESCROW
	// FUND    20300 USD  buyer-1/AVAILABLE -> buyer-1/ESCROW
	// DELIVER    10 ACME seller-1/ESCROW -> buyer-1/AVAILABLE
	// PAY     20300 USD  buyer-1/ESCROW -> seller-1/AVAILABLE
	// 09:00 Org1MSP PROPOSED
	// 09:01 Org2MSP AFFIRMED
	// 09:02 Org2MSP FUNDED
	// 09:03 Org1MSP FUNDED
	// 09:03 Org1MSP SETTLED
	// settle: already closed: agreement agr-42 is SETTLED
}

// An HTLC locked with the SHA-256 of a secret, claimed by the receiver with the secret, which
// the claimed HTLC reveals for the other leg of a swap.
func ExampleHTLC_Claim() {
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	secret := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	pre, _ := settle.ParsePreimage(secret)
	h, _, err := settle.Lock("Org2MSP", now, settle.LockTerms{
		ID: "htlc-7", Asset: "ACME", Amount: 5,
		Sender:   settle.Party{Account: "seller-1", Org: "Org2MSP"},
		Receiver: settle.Party{Account: "buyer-1", Org: "Org1MSP"},
		Hashlock: settle.HashlockOf(pre), Timelock: now.Add(2 * time.Hour),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _, err = h.Refund("Org2MSP", now.Add(time.Hour))
	fmt.Println(err)
	h, moves, err := h.Claim("Org1MSP", now.Add(time.Hour), secret)
	fmt.Println(h.Status, h.Preimage == secret, moves[0].To.Account, err)
	// Output:
	// settle: timelock not reached, refund not yet possible: htlc htlc-7 timelock 2025-03-14T11:00:00Z, now 2025-03-14T10:00:00Z
	// CLAIMED true buyer-1 <nil>
}
