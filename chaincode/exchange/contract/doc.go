// Package contract holds the Fabric contract adapters of the exchange chaincode: three
// contracts served by one chaincode on the channels market and payments.
//
//   - "exchange" (default): instruments, accounts, deposits and withdrawals, orders, the
//     periodic Match, queries and the Regulator's Audit. Order matching is delegated to the
//     pure package book.
//   - "settlement": bilateral DvP escrow agreements over the pure package settle.
//   - "htlc": hash-time-locked contracts over settle, shares on market, cash on payments.
//
// Every function checks the channel it runs on (WRONG_CHANNEL otherwise), the caller's org
// (the MSP ID of the client identity) and every argument before writing anything. Errors carry
// a stable code as the prefix of their message (see [Code]). Results are JSON strings with the
// field names of the REST API; amounts are integers: cash in minor units of the currency,
// quantities in lots, prices in ticks (package units converts decimal strings).
//
// # Submit / Match split
//
// SubmitOrder writes the new order under an intake key of the symbol's current epoch
// (derived from the transaction timestamp) and the account's base balance (the
// reservation); it never reads the book. Match takes the intake of closed epochs, runs the
// book, settles every fill in the same transaction and writes only keys no submitting
// transaction writes: the orders it owns, trades, the book counters and balance deltas
// (dl~ACCT~ASSET~TXID). An account's balance is its base record plus its deltas; Match deltas
// only ever raise Available, so an owner's transaction reads the deltas (and folds them into
// the base, deleting them) only when the base alone does not cover a debit. The key schema is
// documented in keys.go.
//
// # Determinism
//
// No clock (the transaction timestamp is the only time), no randomness, no floats, no map
// iteration in outputs (writes are flushed in key order; JSON maps are encoded sorted), and
// no panics on input.
package contract
