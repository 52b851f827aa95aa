package book

import (
	"errors"
	"math"
	"testing"
)

func TestLimitAndTIF(t *testing.T) {
	runScenarios(t, []scenario{
		{
			name:  "rests without crossing",
			steps: []step{{orders: []Order{lim("b1", "A", Buy, 99, 10), lim("s1", "B", Sell, 100, 10)}, want: []string{"U b1 NEW - 0/10", "U s1 NEW - 0/10"}}},
			bids:  []Level{{99, 10, 1}}, asks: []Level{{100, 10, 1}},
		},
		{
			name: "full cross at maker price",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 10)}},
				{orders: []Order{lim("b1", "A", Buy, 102, 10)}, want: []string{"T#1 s1<-b1 10@100", "U s1 FILLED - 10/0", "U b1 FILLED - 10/0"}},
			},
			bids: []Level{}, asks: []Level{},
		},
		{
			name: "partial fill then rest",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 5)}},
				{orders: []Order{lim("b1", "A", Buy, 101, 12)}, want: []string{"T#1 s1<-b1 5@100", "U s1 FILLED - 5/0", "U b1 PARTIALLY_FILLED - 5/7"}},
			},
			bids: []Level{{101, 7, 1}}, asks: []Level{},
		},
		{
			name: "sweep levels in price then time priority",
			steps: []step{
				{orders: []Order{lim("s3", "B", Sell, 101, 5), lim("s1", "C", Sell, 100, 5), lim("s2", "D", Sell, 100, 5)}},
				{orders: []Order{lim("b1", "A", Buy, 101, 12)}, want: []string{
					"T#1 s1<-b1 5@100", "U s1 FILLED - 5/0",
					"T#2 s2<-b1 5@100", "U s2 FILLED - 5/0",
					"T#3 s3<-b1 2@101", "U s3 PARTIALLY_FILLED - 2/3",
					"U b1 FILLED - 12/0"}},
			},
			asks: []Level{{101, 3, 1}},
		},
		{
			name: "sell taker hits highest bid first",
			steps: []step{
				{orders: []Order{lim("b1", "B", Buy, 99, 5), lim("b2", "C", Buy, 100, 5)}},
				{orders: []Order{lim("s1", "A", Sell, 98, 7)}, want: []string{
					"T#1 b2<-s1 5@100", "U b2 FILLED - 5/0", "T#2 b1<-s1 2@99", "U b1 PARTIALLY_FILLED - 2/3", "U s1 FILLED - 7/0"}},
			},
		},
		{
			name: "IOC remainder canceled",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 5)}},
				{orders: []Order{lim("b1", "A", Buy, 100, 8, tif(IOC))}, want: []string{"T#1 s1<-b1 5@100", "U s1 FILLED - 5/0", "U b1 CANCELED ioc-remainder 5/0"}},
			},
			bids: []Level{}, asks: []Level{},
		},
		{
			name:  "IOC without cross",
			steps: []step{{orders: []Order{lim("s1", "B", Sell, 100, 5), lim("b1", "A", Buy, 99, 8, tif(IOC))}, want: []string{"U s1 NEW - 0/5", "U b1 CANCELED ioc-remainder 0/0"}}},
		},
		{
			name: "FOK killed when short, book untouched",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 5), lim("s2", "C", Sell, 102, 5)}},
				{orders: []Order{lim("b1", "A", Buy, 101, 8, tif(FOK))}, want: []string{"U b1 CANCELED fok-unfilled 0/0"}},
			},
			asks: []Level{{100, 5, 1}, {102, 5, 1}},
		},
		{
			name: "FOK fills across levels",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 5), lim("s2", "C", Sell, 101, 5)}},
				{orders: []Order{lim("b1", "A", Buy, 101, 8, tif(FOK))}, want: []string{
					"T#1 s1<-b1 5@100", "U s1 FILLED - 5/0", "T#2 s2<-b1 3@101", "U s2 PARTIALLY_FILLED - 3/2", "U b1 FILLED - 8/0"}},
			},
		},
		{
			name: "FOK stopped by own order is killed",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 5), lim("s2", "A", Sell, 100, 5)}},
				{orders: []Order{lim("b1", "A", Buy, 100, 8, tif(FOK))}, want: []string{"U b1 CANCELED fok-unfilled 0/0"}},
			},
		},
		{
			name: "FOK ignores expired makers",
			steps: []step{
				{now: 1, orders: []Order{lim("s1", "B", Sell, 100, 5, gtt(10)), lim("s2", "C", Sell, 100, 5)}},
				{now: 10, orders: []Order{lim("b1", "A", Buy, 100, 8, tif(FOK))}, want: []string{"U b1 CANCELED fok-unfilled 0/0"}},
			},
		},
		{
			name: "duplicate live id rejected, invalid rejected",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 5), lim("s1", "B", Sell, 101, 5), lim("x", "B", Sell, 0, 5)}, want: []string{
					"U s1 NEW - 0/5", "U s1 REJECTED duplicate-id 0/0", "U x REJECTED invalid 0/0"}},
			},
			asks: []Level{{100, 5, 1}},
		},
	})
}

func TestMarket(t *testing.T) {
	runScenarios(t, []scenario{
		{
			name: "market sell, no liquidity left",
			steps: []step{
				{orders: []Order{lim("b1", "B", Buy, 99, 4)}},
				{orders: []Order{mkt("m1", "A", Sell, 10, 0)}, want: []string{"T#1 b1<-m1 4@99", "U b1 FILLED - 4/0", "U m1 CANCELED market-no-liquidity 4/0"}},
			},
			bids: []Level{}, asks: []Level{},
		},
		{
			name:  "market into empty book",
			steps: []step{{orders: []Order{mkt("m1", "A", Buy, 10, 1000)}, want: []string{"U m1 CANCELED market-no-liquidity 0/0"}}},
		},
		{
			name: "market buy fills within cap",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 5), lim("s2", "C", Sell, 110, 5)}},
				{orders: []Order{mkt("m1", "A", Buy, 10, 1050)}, want: []string{
					"T#1 s1<-m1 5@100", "U s1 FILLED - 5/0", "T#2 s2<-m1 5@110", "U s2 FILLED - 5/0", "U m1 FILLED - 10/0"}},
			},
		},
		{
			name: "market buy stops before exceeding the cap",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 5), lim("s2", "C", Sell, 110, 5)}},
				// 5@100 = 500; 300 left buys 2@110 = 220; 80 left < 110.
				{orders: []Order{mkt("m1", "A", Buy, 10, 800)}, want: []string{
					"T#1 s1<-m1 5@100", "U s1 FILLED - 5/0", "T#2 s2<-m1 2@110", "U s2 PARTIALLY_FILLED - 2/3", "U m1 CANCELED notional-cap 7/0"}},
			},
			asks: []Level{{110, 3, 1}},
		},
		{
			name: "market buy cap below one lot",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 5)}},
				{orders: []Order{mkt("m1", "A", Buy, 10, 99)}, want: []string{"U m1 CANCELED notional-cap 0/0"}},
			},
		},
		{
			name: "market FOK with too small a cap is killed",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 5), lim("s2", "C", Sell, 110, 5)}},
				{orders: []Order{mkt("m1", "A", Buy, 10, 1049, tif(FOK))}, want: []string{"U m1 CANCELED fok-unfilled 0/0"}},
				{orders: []Order{mkt("m2", "A", Buy, 10, 1050, tif(FOK))}, want: []string{
					"T#1 s1<-m2 5@100", "U s1 FILLED - 5/0", "T#2 s2<-m2 5@110", "U s2 FILLED - 5/0", "U m2 FILLED - 10/0"}},
			},
		},
		{
			name: "market with huge cap does not overflow",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 5)}},
				{orders: []Order{mkt("m1", "A", Buy, 5, math.MaxInt64)}, want: []string{"T#1 s1<-m1 5@100", "U s1 FILLED - 5/0", "U m1 FILLED - 5/0"}},
			},
		},
	})
}

func TestSelfTradePrevention(t *testing.T) {
	for _, alg := range []Algorithm{FIFO, ProRata} {
		runScenarios(t, []scenario{
			{
				name: "taker canceled, own resting order kept",
				cfg:  Config{Algorithm: alg},
				steps: []step{
					{orders: []Order{lim("s1", "A", Sell, 100, 5)}},
					{orders: []Order{lim("b1", "A", Buy, 100, 5)}, want: []string{"U b1 CANCELED self-trade 0/0"}},
				},
				asks: []Level{{100, 5, 1}}, bids: []Level{},
			},
			{
				name: "fills before own order stay",
				cfg:  Config{Algorithm: alg},
				steps: []step{
					{orders: []Order{lim("s0", "B", Sell, 99, 3), lim("s1", "A", Sell, 100, 5)}},
					{orders: []Order{mkt("b1", "A", Buy, 10, 10000)}, want: []string{"T#1 s0<-b1 3@99", "U s0 FILLED - 3/0", "U b1 CANCELED self-trade 3/0"}},
				},
			},
		})
	}
	runScenarios(t, []scenario{
		{
			name: "FIFO trades others ahead of own order in the level",
			steps: []step{
				{orders: []Order{lim("s0", "B", Sell, 100, 3), lim("s1", "A", Sell, 100, 5), lim("s2", "C", Sell, 100, 5)}},
				{orders: []Order{lim("b1", "A", Buy, 100, 10)}, want: []string{"T#1 s0<-b1 3@100", "U s0 FILLED - 3/0", "U b1 CANCELED self-trade 3/0"}},
			},
			asks: []Level{{100, 10, 2}},
		},
		{
			name: "pro-rata: own order anywhere in the level stops the taker",
			cfg:  Config{Algorithm: ProRata},
			steps: []step{
				{orders: []Order{lim("s0", "B", Sell, 100, 3), lim("s1", "A", Sell, 100, 5)}},
				{orders: []Order{lim("b1", "A", Buy, 100, 2)}, want: []string{"U b1 CANCELED self-trade 0/0"}},
			},
			asks: []Level{{100, 8, 2}},
		},
	})
}

func TestProRata(t *testing.T) {
	pr := Config{Algorithm: ProRata}
	runScenarios(t, []scenario{
		{
			name: "floors then leftover in time priority",
			cfg:  pr,
			steps: []step{
				{orders: []Order{lim("a", "A", Sell, 100, 1), lim("b", "B", Sell, 100, 2), lim("c", "C", Sell, 100, 7)}},
				// 5×1/10=0, 5×2/10=1, 5×7/10=3 → 4; leftover 1 → a.
				{orders: []Order{lim("t", "T", Buy, 100, 5)}, want: []string{
					"T#1 a<-t 1@100", "U a FILLED - 1/0", "T#2 b<-t 1@100", "U b PARTIALLY_FILLED - 1/1",
					"T#3 c<-t 3@100", "U c PARTIALLY_FILLED - 3/4", "U t FILLED - 5/0"}},
			},
			asks: []Level{{100, 5, 2}},
		},
		{
			name: "equal sizes, leftover to the earliest",
			cfg:  pr,
			steps: []step{
				{orders: []Order{lim("a", "A", Sell, 100, 3), lim("b", "B", Sell, 100, 3), lim("c", "C", Sell, 100, 3)}},
				{orders: []Order{lim("t", "T", Buy, 100, 2)}, want: []string{
					"T#1 a<-t 1@100", "U a PARTIALLY_FILLED - 1/2", "T#2 b<-t 1@100", "U b PARTIALLY_FILLED - 1/2", "U t FILLED - 2/0"}},
			},
			asks: []Level{{100, 7, 3}},
		},
		{
			name: "exact proportions",
			cfg:  pr,
			steps: []step{
				{orders: []Order{lim("a", "A", Sell, 100, 10), lim("b", "B", Sell, 100, 30)}},
				{orders: []Order{lim("t", "T", Buy, 100, 20)}, want: []string{
					"T#1 a<-t 5@100", "U a PARTIALLY_FILLED - 5/5", "T#2 b<-t 15@100", "U b PARTIALLY_FILLED - 15/15", "U t FILLED - 20/0"}},
			},
		},
		{
			name: "whole level then next level",
			cfg:  pr,
			steps: []step{
				{orders: []Order{lim("a", "A", Sell, 100, 2), lim("b", "B", Sell, 100, 3), lim("c", "C", Sell, 101, 4), lim("d", "D", Sell, 101, 4)}},
				{orders: []Order{lim("t", "T", Buy, 101, 8)}, want: []string{
					"T#1 a<-t 2@100", "U a FILLED - 2/0", "T#2 b<-t 3@100", "U b FILLED - 3/0",
					// 3 of 8: 3×4/8=1 each, leftover 1 → c.
					"T#3 c<-t 2@101", "U c PARTIALLY_FILLED - 2/2", "T#4 d<-t 1@101", "U d PARTIALLY_FILLED - 1/3", "U t FILLED - 8/0"}},
			},
		},
		{
			name: "huge quantities: exact 128-bit proportion",
			cfg:  Config{Algorithm: ProRata, MaxPrice: 2, MaxQty: math.MaxInt64 / 2},
			steps: []step{
				{orders: []Order{lim("a", "A", Sell, 1, math.MaxInt64/4), lim("b", "B", Sell, 1, math.MaxInt64/4)}},
				{orders: []Order{lim("t", "T", Buy, 1, 3)}, want: []string{
					"T#1 a<-t 2@1", "U a PARTIALLY_FILLED - 2/2305843009213693949", "T#2 b<-t 1@1", "U b PARTIALLY_FILLED - 1/2305843009213693950", "U t FILLED - 3/0"}},
			},
		},
		{
			name: "market buy cap limits the level take",
			cfg:  pr,
			steps: []step{
				{orders: []Order{lim("a", "A", Sell, 100, 5), lim("b", "B", Sell, 100, 5)}},
				{orders: []Order{mkt("t", "T", Buy, 10, 450)}, want: []string{
					"T#1 a<-t 2@100", "U a PARTIALLY_FILLED - 2/3", "T#2 b<-t 2@100", "U b PARTIALLY_FILLED - 2/3", "U t CANCELED notional-cap 4/0"}},
			},
		},
		{
			name: "expired makers leave the level first",
			cfg:  pr,
			steps: []step{
				{now: 1, orders: []Order{lim("a", "A", Sell, 100, 5, gtt(5)), lim("b", "B", Sell, 100, 5)}},
				{now: 5, orders: []Order{lim("t", "T", Buy, 100, 4)}, want: []string{
					"U a EXPIRED expired 0/0", "T#1 b<-t 4@100", "U b PARTIALLY_FILLED - 4/1", "U t FILLED - 4/0"}},
			},
		},
	})
}

func TestCancelReplace(t *testing.T) {
	runScenarios(t, []scenario{
		{
			name: "cancel resting and unknown",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 5)}},
				{cancel: "s1", want: []string{"U s1 CANCELED canceled 0/0"}},
				{cancel: "s1", wantErr: ErrUnknownOrder},
			},
			asks: []Level{},
		},
		{
			name: "reduce keeps priority",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 10), lim("s2", "C", Sell, 100, 10)}},
				{replace: "s1", amend: Amend{Price: 100, Qty: 4}, want: []string{"U s1 NEW replaced 0/4"}},
				{orders: []Order{lim("b1", "A", Buy, 100, 4)}, want: []string{"T#1 s1<-b1 4@100", "U s1 FILLED - 4/0", "U b1 FILLED - 4/0"}},
			},
			asks: []Level{{100, 10, 1}},
		},
		{
			name: "increase loses priority",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 10), lim("s2", "C", Sell, 100, 10)}},
				{replace: "s1", amend: Amend{Price: 100, Qty: 11}, want: []string{"U s1 NEW replaced 0/11", "U s1 NEW - 0/11"}},
				{orders: []Order{lim("b1", "A", Buy, 100, 4)}, want: []string{"T#1 s2<-b1 4@100", "U s2 PARTIALLY_FILLED - 4/6", "U b1 FILLED - 4/0"}},
			},
		},
		{
			name: "price change re-queues and may trade",
			steps: []step{
				{orders: []Order{lim("b1", "A", Buy, 99, 5), lim("s1", "B", Sell, 100, 8)}},
				{replace: "s1", amend: Amend{Price: 99, Qty: 8}, want: []string{
					"U s1 NEW replaced 0/8", "T#1 b1<-s1 5@99", "U b1 FILLED - 5/0", "U s1 PARTIALLY_FILLED - 5/3"}},
			},
			bids: []Level{}, asks: []Level{{99, 3, 1}},
		},
		{
			name: "reduce below filled cancels",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 10), lim("b1", "A", Buy, 100, 6)}},
				{replace: "s1", amend: Amend{Price: 100, Qty: 6}, want: []string{"U s1 CANCELED replaced 6/0"}},
			},
			asks: []Level{},
		},
		{
			name: "partial order reduced keeps filled",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 10), lim("b1", "A", Buy, 100, 6)}},
				{replace: "s1", amend: Amend{Price: 100, Qty: 8}, want: []string{"U s1 PARTIALLY_FILLED replaced 6/2"}},
			},
			asks: []Level{{100, 2, 1}},
		},
		{
			name: "invalid amend and unknown id",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 10)}},
				{replace: "s1", amend: Amend{Price: 0, Qty: 8}, wantErr: ErrInvalidOrder},
				{replace: "s1", amend: Amend{Price: 100, StopPrice: 5, Qty: 8}, wantErr: ErrInvalidOrder},
				{replace: "nope", amend: Amend{Price: 100, Qty: 8}, wantErr: ErrUnknownOrder},
			},
			asks: []Level{{100, 10, 1}},
		},
		{
			name: "amend waiting stop",
			steps: []step{
				{orders: []Order{lim("b1", "B", Buy, 100, 5), lim("s1", "C", Sell, 100, 1)}}, // last = 100
				{orders: []Order{stpLim("st", "A", Sell, 90, 90, 3)}, want: []string{"U st NEW - 0/3"}},
				{replace: "st", amend: Amend{Price: 90, StopPrice: 100, Qty: 3}, want: []string{
					"U st NEW replaced 0/3", "U st NEW triggered 0/3", "T#2 b1<-st 3@100", "U b1 PARTIALLY_FILLED - 4/1", "U st FILLED - 3/0"}},
			},
		},
		{
			name: "triggered stop-limit keeps its stop price",
			steps: []step{
				{orders: []Order{lim("b1", "B", Buy, 100, 1), lim("s1", "C", Sell, 100, 1)}},
				{orders: []Order{stpLim("st", "A", Buy, 100, 99, 3)}},
				{replace: "st", amend: Amend{Price: 99, StopPrice: 101, Qty: 3}, wantErr: ErrInvalidOrder},
				{replace: "st", amend: Amend{Price: 98, StopPrice: 100, Qty: 3}, want: []string{"U st NEW replaced 0/3", "U st NEW - 0/3"}},
			},
			bids: []Level{{98, 3, 1}},
		},
	})
}

func TestExpiry(t *testing.T) {
	runScenarios(t, []scenario{
		{
			name: "expire sweeps in sequence order",
			steps: []step{
				{now: 1, orders: []Order{lim("s2", "B", Sell, 101, 5, gtt(20)), lim("s1", "B", Sell, 100, 5, gtt(10)), lim("s3", "B", Sell, 100, 5)}},
				{now: 9, expire: true, want: []string{}},
				{now: 20, expire: true, want: []string{"U s2 EXPIRED expired 0/0", "U s1 EXPIRED expired 0/0"}},
			},
			asks: []Level{{100, 5, 1}},
		},
		{
			name:  "expired on arrival gets no sequence",
			steps: []step{{now: 10, orders: []Order{lim("s1", "B", Sell, 100, 5, gtt(10))}, want: []string{"U s1 EXPIRED expired 0/0"}}},
			asks:  []Level{},
		},
		{
			name: "lazy expiry while matching",
			steps: []step{
				{now: 1, orders: []Order{lim("s1", "B", Sell, 100, 5, gtt(50)), lim("s2", "C", Sell, 100, 5)}},
				{now: 50, orders: []Order{lim("b1", "A", Buy, 100, 5)}, want: []string{
					"U s1 EXPIRED expired 0/0", "T#1 s2<-b1 5@100", "U s2 FILLED - 5/0", "U b1 FILLED - 5/0"}},
			},
		},
		{
			name: "waiting GTT stop expires",
			steps: []step{
				{now: 1, orders: []Order{stp("st", "A", Sell, 90, 5, 0, gtt(5))}},
				{now: 5, expire: true, want: []string{"U st EXPIRED expired 0/0"}},
			},
		},
	})
}

func TestStops(t *testing.T) {
	runScenarios(t, []scenario{
		{
			name: "sell stop triggers on a trade at the stop and executes as market",
			steps: []step{
				{orders: []Order{lim("b1", "B", Buy, 95, 10), lim("b2", "C", Buy, 90, 10)}},
				{orders: []Order{stp("st", "D", Sell, 95, 12, 0)}, want: []string{"U st NEW - 0/12"}},
				{orders: []Order{lim("s1", "E", Sell, 95, 5, tif(IOC))}, want: []string{
					"T#1 b1<-s1 5@95", "U b1 PARTIALLY_FILLED - 5/5", "U st NEW triggered 0/12", "U s1 FILLED - 5/0",
					"T#2 b1<-st 5@95", "U b1 FILLED - 10/0", "T#3 b2<-st 7@90", "U b2 PARTIALLY_FILLED - 7/3", "U st FILLED - 12/0"}},
			},
			bids: []Level{{90, 3, 1}},
		},
		{
			name: "buy stop not triggered below its price",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 104, 1), stp("st", "D", Buy, 105, 2, 1000), lim("b1", "C", Buy, 104, 1)}, want: []string{
					"U s1 NEW - 0/1", "U st NEW - 0/2", "T#1 s1<-b1 1@104", "U s1 FILLED - 1/0", "U b1 FILLED - 1/0"}},
			},
		},
		{
			name: "stop enters already triggered",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 1), lim("b1", "C", Buy, 100, 1), lim("s2", "B", Sell, 101, 5)}},
				{orders: []Order{stp("st", "D", Buy, 99, 2, 1000)}, want: []string{
					"U st NEW - 0/2", "U st NEW triggered 0/2", "T#2 s2<-st 2@101", "U s2 PARTIALLY_FILLED - 2/3", "U st FILLED - 2/0"}},
			},
		},
		{
			name: "cascade in sequence order",
			steps: []step{
				{orders: []Order{lim("b1", "B", Buy, 100, 1), lim("b2", "B", Buy, 98, 1), lim("b3", "B", Buy, 96, 5)}},
				// st2 entered after st1 but triggers at the same trade: st1 first. st3 triggers on st1's trade.
				{orders: []Order{stp("st1", "C", Sell, 100, 1, 0), stp("st2", "D", Sell, 100, 1, 0), stp("st3", "E", Sell, 98, 1, 0)}},
				{orders: []Order{lim("s0", "A", Sell, 100, 1)}, want: []string{
					"T#1 b1<-s0 1@100", "U b1 FILLED - 1/0", "U st1 NEW triggered 0/1", "U st2 NEW triggered 0/1", "U s0 FILLED - 1/0",
					"T#2 b2<-st1 1@98", "U b2 FILLED - 1/0", "U st3 NEW triggered 0/1", "U st1 FILLED - 1/0",
					"T#3 b3<-st2 1@96", "U b3 PARTIALLY_FILLED - 1/4", "U st2 FILLED - 1/0",
					"T#4 b3<-st3 1@96", "U b3 PARTIALLY_FILLED - 2/3", "U st3 FILLED - 1/0"}},
			},
			bids: []Level{{96, 3, 1}},
		},
		{
			name: "stop-limit rests as limit after trigger",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 101, 1), stpLim("st", "D", Buy, 101, 100, 4), lim("b1", "C", Buy, 101, 1)}, want: []string{
					"U s1 NEW - 0/1", "U st NEW - 0/4", "T#1 s1<-b1 1@101", "U s1 FILLED - 1/0", "U st NEW triggered 0/4", "U b1 FILLED - 1/0", "U st NEW - 0/4"}},
			},
			bids: []Level{{100, 4, 1}},
		},
		{
			name: "stop buy notional cap",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 1), lim("b1", "C", Buy, 100, 1), lim("s2", "B", Sell, 100, 5)}},
				{orders: []Order{stp("st", "D", Buy, 100, 5, 250)}, want: []string{
					"U st NEW - 0/5", "U st NEW triggered 0/5", "T#2 s2<-st 2@100", "U s2 PARTIALLY_FILLED - 2/3", "U st CANCELED notional-cap 2/0"}},
			},
		},
		{
			name: "cancel waiting stop",
			steps: []step{
				{orders: []Order{stp("st", "D", Sell, 90, 5, 0)}},
				{cancel: "st", want: []string{"U st CANCELED canceled 0/0"}},
			},
		},
	})
}

func TestWorkCap(t *testing.T) {
	runScenarios(t, []scenario{
		{
			name: "fills cap pauses and resumes the taker",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 1), lim("s2", "B", Sell, 101, 1), lim("s3", "B", Sell, 102, 1)}},
				{orders: []Order{lim("b1", "A", Buy, 102, 3), lim("b2", "A", Buy, 90, 1)}, budget: Budget{MaxFills: 2}, pending: ptrBool(true), want: []string{
					"T#1 s1<-b1 1@100", "U s1 FILLED - 1/0", "T#2 s2<-b1 1@101", "U s2 FILLED - 1/0", "U b1 PARTIALLY_FILLED work-cap 2/1"}},
				{cancel: "s3"},
				{orders: []Order{lim("b2", "A", Buy, 90, 1)}, budget: Budget{MaxFills: 2}, pending: ptrBool(false), want: []string{
					"U b1 PARTIALLY_FILLED - 2/1", "U b2 NEW - 0/1"}},
			},
			bids: []Level{{102, 1, 1}, {90, 1, 1}},
		},
		{
			name: "orders cap",
			steps: []step{
				{orders: []Order{lim("s1", "B", Sell, 100, 1), lim("s2", "B", Sell, 101, 1), lim("s3", "B", Sell, 102, 1)}, budget: Budget{MaxOrders: 2}, want: []string{"U s1 NEW - 0/1", "U s2 NEW - 0/1"}},
			},
		},
	})
	// Consumed is reported.
	for _, im := range impls {
		e := mustEngine(t, im.make, Config{})
		r := e.Process(0, []Order{lim("s1", "B", Sell, 100, 1), lim("s2", "B", Sell, 101, 1)}, Budget{MaxOrders: 1})
		if r.Consumed != 1 || r.Pending {
			t.Errorf("%s: Consumed=%d Pending=%v", im.name, r.Consumed, r.Pending)
		}
	}
}

func TestValidate(t *testing.T) {
	base := lim("id", "A", Buy, 100, 10)
	cases := []struct {
		field string
		mod   func(*Order)
	}{
		{"ID", func(o *Order) { o.ID = "" }},
		{"Account", func(o *Order) { o.Account = "" }},
		{"Side", func(o *Order) { o.Side = 0 }},
		{"Type", func(o *Order) { o.Type = 9 }},
		{"TIF", func(o *Order) { o.TIF = 0 }},
		{"Qty", func(o *Order) { o.Qty = 0 }},
		{"Qty", func(o *Order) { o.Qty = DefaultMaxQty + 1 }},
		{"Price", func(o *Order) { o.Price = 0 }},
		{"Price", func(o *Order) { o.Price = -1 }},
		{"Price", func(o *Order) { o.Price = DefaultMaxPrice + 1 }},
		{"Price", func(o *Order) { o.Type, o.TIF, o.MaxNotional = Market, IOC, 5 }},
		{"StopPrice", func(o *Order) { o.StopPrice = 5 }},
		{"StopPrice", func(o *Order) { o.Type = StopLimit }},
		{"TIF", func(o *Order) { o.Type, o.Price, o.MaxNotional = Market, 0, 5 }},
		{"ExpireTime", func(o *Order) { o.TIF = GTT }},
		{"ExpireTime", func(o *Order) { o.ExpireTime = 5 }},
		{"MaxNotional", func(o *Order) { o.Type, o.TIF, o.Price = Market, IOC, 0 }},
		{"MaxNotional", func(o *Order) { o.MaxNotional = 5 }},
		{"MaxNotional", func(o *Order) { o.Type, o.StopPrice, o.Price = Stop, 5, 0 }},
	}
	cfg := Config{}
	if err := cfg.Validate(base); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		o := base
		c.mod(&o)
		err := cfg.Validate(o)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != c.field || !errors.Is(err, ErrInvalidOrder) {
			t.Errorf("%s: got %v", c.field, err)
		}
	}
	// Submit returns the error and changes nothing.
	for _, im := range impls {
		e := mustEngine(t, im.make, Config{})
		o := base
		o.Qty = 0
		if _, err := e.Submit(0, o); !errors.Is(err, ErrInvalidOrder) {
			t.Errorf("%s: Submit invalid: %v", im.name, err)
		}
		if _, err := e.Submit(0, base); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Submit(0, base); !errors.Is(err, ErrDuplicateOrder) {
			t.Errorf("%s: Submit duplicate: %v", im.name, err)
		}
		if s := e.Snapshot(); len(s.Orders) != 1 || s.Seq != 1 {
			t.Errorf("%s: state %+v", im.name, s)
		}
	}
}

func TestOverflow(t *testing.T) {
	if _, err := Notional(math.MaxInt64, 2); !errors.Is(err, ErrOverflow) {
		t.Errorf("Notional overflow: %v", err)
	}
	if _, err := Notional(-1, 2); !errors.Is(err, ErrNegative) {
		t.Errorf("Notional negative: %v", err)
	}
	if n, err := Notional(1<<31, 1<<31); err != nil || n != 1<<62 {
		t.Errorf("Notional = %d, %v", n, err)
	}
	for _, c := range []Config{{MaxPrice: math.MaxInt64, MaxQty: 2}, {MaxPrice: -1}, {Algorithm: 7}} {
		if _, err := NewBook(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewBook(%+v): %v", c, err)
		}
		if _, err := NewReference(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewReference(%+v): %v", c, err)
		}
	}
	// A level whose total would overflow: the remainder cannot rest.
	huge := Config{MaxPrice: 1, MaxQty: math.MaxInt64}
	runScenarios(t, []scenario{{
		name: "level total overflow",
		cfg:  huge,
		steps: []step{{orders: []Order{lim("a", "A", Sell, 1, math.MaxInt64), lim("b", "B", Sell, 1, 1)}, want: []string{
			"U a NEW - 0/9223372036854775807", "U b CANCELED overflow 0/0"}}},
		asks: []Level{{1, math.MaxInt64, 1}},
	}})
	for _, im := range impls {
		e := mustEngine(t, im.make, huge)
		err := e.Restore(State{Seq: 2, Orders: []OrderState{
			{Order: lim("a", "A", Sell, 1, math.MaxInt64), Seq: 1, Location: InBook},
			{Order: lim("b", "B", Sell, 1, 1), Seq: 2, Location: InBook},
		}})
		if !errors.Is(err, ErrInvalidState) || !errors.Is(err, ErrOverflow) {
			t.Errorf("%s: Restore overflow: %v", im.name, err)
		}
	}
}

func TestRestoreErrors(t *testing.T) {
	ok := OrderState{Order: lim("a", "A", Sell, 100, 5), Seq: 1, Location: InBook}
	bid := OrderState{Order: lim("b", "B", Buy, 100, 5), Seq: 2, Location: InBook}
	cases := map[string]State{
		"seq above counter": {Seq: 0, Orders: []OrderState{ok}},
		"duplicate id":      {Seq: 2, Orders: []OrderState{ok, {Order: ok.Order, Seq: 2, Location: InBook}}},
		"duplicate seq":     {Seq: 2, Orders: []OrderState{ok, {Order: lim("c", "A", Sell, 100, 5), Seq: 1, Location: InBook}}},
		"filled >= qty":     {Seq: 1, Orders: []OrderState{{Order: ok.Order, Seq: 1, Filled: 5, Location: InBook}}},
		"crossed":           {Seq: 2, Orders: []OrderState{ok, bid}},
		"market resting":    {Seq: 1, Orders: []OrderState{{Order: mkt("m", "A", Sell, 5, 0), Seq: 1, Location: InBook}}},
		"limit in stops":    {Seq: 1, Orders: []OrderState{{Order: ok.Order, Seq: 1, Location: InStopBook}}},
		"bad location":      {Seq: 1, Orders: []OrderState{{Order: ok.Order, Seq: 1}}},
		"invalid order":     {Seq: 1, Orders: []OrderState{{Order: lim("", "A", Sell, 100, 5), Seq: 1, Location: InBook}}},
		"bad last price":    {LastPrice: -1},
	}
	for _, im := range impls {
		for name, s := range cases {
			e := mustEngine(t, im.make, Config{})
			e.Process(0, []Order{lim("keep", "K", Buy, 1, 1)}, Unlimited)
			if err := e.Restore(s); !errors.Is(err, ErrInvalidState) {
				t.Errorf("%s/%s: %v", im.name, name, err)
			}
			if _, ok := e.Get("keep"); !ok {
				t.Errorf("%s/%s: failed Restore changed the book", im.name, name)
			}
		}
	}
}
