// Package book is the pure, deterministic order-matching core of the exchange chaincode.
//
// It imports nothing but the Go standard library: no Fabric, no network, no clock, no
// randomness. The chaincode adapter rebuilds a [Book] from the ledger for every Match
// transaction ([Book.Restore]), feeds it the closed-epoch intake in arrival order
// ([Book.Process]), writes back the [Event] stream it returns and the new [State]
// ([Book.Snapshot]). Every peer that endorses the transaction computes byte-identical results.
//
// # Units
//
// Prices are int64 ticks, quantities int64 lots, notionals are price×qty in tick-lots.
// [Config.MaxPrice]×[Config.MaxQty] must fit in an int64, so every notional of every order and
// every cumulative fill notional fits too; all products and sums are computed with checked
// arithmetic anyway and never wrap around (see [Notional]). Times are int64 Unix nanoseconds
// supplied by the caller (the transaction timestamp); the package never reads the clock.
//
// # Priority
//
// Buy side best = highest price then lowest sequence number; sell side best = lowest price then
// lowest sequence number. The book owns a sequence counter ([State].Seq); an order receives the
// next number when it is accepted. Callers must pass orders already in their deterministic
// arrival order (the chaincode sorts by transaction timestamp, then transaction id).
//
// Trades execute at the resting (maker) order's price.
//
// # Order types and time in force
//
//   - LIMIT: matches up to its price; the remainder rests (GTC, GTT), is canceled (IOC,
//     reason [ReasonIOCRemainder]), or the whole order is killed before any fill unless it can
//     fill completely at once (FOK, reason [ReasonFOKUnfilled]).
//   - MARKET: TIF must be IOC or FOK; never rests. The unfilled remainder is canceled with
//     reason [ReasonNoLiquidity], [ReasonNotionalCap] or [ReasonSelfTrade]. A MARKET BUY must
//     carry MaxNotional > 0: it stops filling before the cumulative Σ price×qty of its fills
//     would exceed MaxNotional (it may fill fewer lots at a level than are offered).
//   - STOP (stop-loss): waits in the stop book until the last trade price reaches StopPrice
//     (BUY: last >= StopPrice; SELL: last <= StopPrice), then executes as a MARKET order (FOK if
//     its TIF is FOK, otherwise IOC). A STOP BUY needs MaxNotional like a MARKET BUY.
//   - STOP_LIMIT: same trigger, then becomes a LIMIT order at Price with its TIF.
//   - GTT: the order (resting or waiting in the stop book) expires when now >= ExpireTime.
//     A GTT order whose time has already come when it is processed is EXPIRED without entering.
//
// A stop order entering the stop book is checked at once against the current last trade price
// and triggers immediately if the condition already holds. Triggering: after every trade at
// price p, every waiting stop whose condition holds at p is triggered; stops triggered by the
// same trade are taken in ascending sequence order, each gets a new sequence number (its time
// priority starts at the trigger) and is appended to the work queue, so it executes after the
// current taker and after stops triggered earlier. Trades made by triggered stops trigger further
// stops the same way (cascade).
//
// # Pro-rata
//
// With [ProRata] a taker meeting a price level takes T = min(its remaining quantity, the level's
// total, what its notional cap allows at that price). If T equals the level's total every maker
// fills completely. Otherwise each maker i with remaining q_i out of level total Q is allocated
// floor(T×q_i/Q) lots (computed exactly in 128 bits), and the R = T − Σ floor(...) leftover lots
// (R < number of makers) go one lot each to the makers in time priority (ascending sequence),
// starting with the earliest. Trades are emitted in ascending maker sequence, one per maker with
// a non-zero allocation. Expired GTT makers at the level are removed first.
//
// # Self-trade prevention
//
// An account never trades with itself. Mode: cancel newest. When the taker would trade with a
// resting order of its own account (FIFO: that order is the next maker; pro-rata: the level it
// is about to take from holds an order of its account), the taker's remaining quantity is
// canceled (reason [ReasonSelfTrade]); fills made before stay; the resting order is untouched.
//
// # Work cap
//
// [Budget] bounds one call: MaxOrders input orders accepted, MaxFills trades. When the cap is hit
// the current taker pauses (update with reason [ReasonWorkCap]) and stays, with any triggered
// stops, in the work queue that is part of [State]; [Result].Pending reports it and the next
// call (with or without new orders) resumes it before taking new input. The fill cap is soft in
// two places: a FOK order executes atomically, and a pro-rata level is executed atomically, so
// one call may exceed MaxFills by the fills of one FOK order or one level.
//
// # Events
//
// Every operation returns a [Result] whose Events list, in the order they happened, the trades
// and the order updates. For each fill: the Trade, then the maker's update. After a taker's
// processing: the taker's update. Stops triggered by a trade: an update (NEW, [ReasonTriggered])
// right after that trade's maker update. Updates carry the full order state (cumulative filled
// quantity and notional, remaining quantity, sequence), so the adapter can write them as is.
//
// Order ids must be unique among live orders of one book (a duplicate is REJECTED with
// [ReasonDuplicateID]); the book forgets an id once the order is final, so global uniqueness is
// the adapter's job.
//
// [Reference] is a deliberately naive implementation of the same [Engine] used to check [Book].
package book
