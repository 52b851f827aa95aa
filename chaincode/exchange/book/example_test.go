package book_test

import (
	"fmt"

	"github.com/fabmarket/fabmarket/chaincode/exchange/book"
)

// The adapter's cycle: restore, process the intake within a budget, write events and state.
func Example() {
	b, err := book.NewBook(book.Config{Algorithm: book.FIFO})
	if err != nil {
		panic(err)
	}
	now := int64(1_700_000_000_000_000_000) // the transaction timestamp, Unix ns
	intake := []book.Order{
		{ID: "s1", Account: "alice", Side: book.Sell, Type: book.Limit, TIF: book.GTC, Price: 2025, Qty: 100},
		{ID: "b1", Account: "bob", Side: book.Buy, Type: book.Limit, TIF: book.GTC, Price: 2030, Qty: 150},
	}
	res := b.Process(now, intake, book.Budget{MaxFills: 500})
	for _, e := range res.Events {
		switch e.Kind {
		case book.EventTrade:
			t := e.Trade
			fmt.Printf("trade #%d %s buys %d@%d from %s\n", t.Seq, t.BuyAccount(), t.Qty, t.Price, t.SellAccount())
		case book.EventUpdate:
			u := e.Update
			fmt.Printf("order %s %s filled=%d remaining=%d\n", u.OrderID, u.Status, u.Filled, u.Remaining)
		}
	}
	st := b.Snapshot() // persist; next transaction: b.Restore(st)
	fmt.Println("consumed", res.Consumed, "pending", res.Pending, "live", len(st.Orders), "last", st.LastPrice)
	fmt.Println("bids", b.Depth(book.Buy, 5))
	// Output:
	// order s1 NEW filled=0 remaining=100
	// trade #1 bob buys 100@2025 from alice
	// order s1 FILLED filled=100 remaining=0
	// order b1 PARTIALLY_FILLED filled=100 remaining=50
	// consumed 2 pending false live 1 last 2025
	// bids [{2030 50 1}]
}
