// Package settle holds the pure settlement rules of the exchange chaincode: bilateral
// delivery-versus-payment escrow agreements, hash-time-locked contracts (HTLC) and the
// timelock plan of a cross-channel swap.
//
// The package imports only the standard library. It never reads the clock, never draws random
// numbers, never uses floating point and never panics: the chaincode adapter loads an
// [Agreement] or an [HTLC] from the ledger, calls one operation with the caller's MSP ID and the
// transaction timestamp, and, when the operation succeeds, applies the returned [Movement]s to
// the balances and stores the returned value. When an operation fails it returns a zero value,
// no movements and an error that wraps one of the sentinel errors of this package (test with
// [errors.Is]); the adapter then writes nothing.
//
// # Movements and conservation
//
// Every change of a balance is a [Movement]: a positive amount of one asset going from one
// [Location] (an account's AVAILABLE balance, or its ESCROW balance held for the agreement or
// HTLC named by Movement.Ref) to another. A movement debits exactly what it credits, so the
// sum of all [Posting]s of an operation is zero per asset by construction. Escrow balances are
// scoped by Ref: the adapter must key them by (ref, account, asset) so that the escrow of one
// agreement can never pay out for another. Each funded unit leaves escrow exactly once, when the
// agreement or HTLC closes; a closed value rejects every further operation with [ErrClosed].
//
// # Units
//
// Quantities are lots and prices are ticks, both int64. Cash is in minor units of the
// currency, computed as quantity × price × CashPerLotTick with overflow checks, where
// CashPerLotTick (minor units per lot per tick, from the instrument) is supplied by the adapter.
// Taking the multiplier instead of a precomputed total keeps partial settlement exact: the cash
// for any part of the quantity is again an integer product, never a division.
//
// # Time
//
// Times come in as arguments and are stored in UTC. An agreement's operations other than
// Expire must happen strictly before its deadline; Expire at or after it. An HTLC can be claimed
// strictly before its timelock and refunded at or after it, so there is no instant where both,
// or neither, are possible.
package settle
