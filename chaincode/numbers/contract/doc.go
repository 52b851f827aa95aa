// Package contract is the Fabric adapter of the number-transfer chaincode: it loads and
// stores records, checks the caller's organisation, reads the transient map and the
// transaction timestamp, and leaves every business rule to package porting.
//
// # Keys (world state, chaincode "numbers")
//
//	\x00num\x00<number>\x00                      porting.Number   key-level policy AND(Regulator.peer, owner.peer)
//	\x00xfer\x00<number>\x00                     porting.Transfer current or last transfer of the number (chaincode policy)
//	\x00pac\x00<number>\x00                      porting.PAC      current or last porting authorisation code (chaincode policy)
//	\x00xfer-status\x00<status>\x00<number>\x00  transfer ID      index of OPEN and ESCALATED transfers, for the Regulator's list
//	settings                                     porting.Settings timers set by the Regulator (defaults when absent)
//
// Private data: collection transfer_<A>_<B> (the two telcos of the transfer, MSP IDs in
// ascending order), key \x00customer\x00<number>\x00<transferID>\x00, value
// porting.CustomerRecord. Its SHA-256 is Transfer.CustomerDataHash; GetCustomerDataHash
// compares it with the peer's GetPrivateDataHash (empty after the purge).
//
// # Endorsement
//
// Writing a number record needs the Regulator's and the owner's peers (key-level policy); every
// other key falls under the chaincode policy AND(Regulator, 2 of 3 telcos). Functions that
// write private data never read private data (only PutPrivateData and PurgePrivateData), so
// the Regulator's peer, which is not a member of any collection, can endorse them (proven on
// the network, purge included). Clients must name the endorsers of RequestTransfer (transient
// customer data): see package endorse.
//
// # Time
//
// Deadlines, dispute windows and code expiry are computed from the transaction timestamp,
// which the client chooses and Fabric does not check. Every writing function therefore refuses
// a timestamp further than porting.MaxClockSkew from the endorsing peer's clock
// (INVALID_ARGUMENT, field "timestamp"); read-only functions do not check it. This is the one
// place the chaincode reads a local clock, and deliberately so: it only decides whether a
// proposal is refused, never what is written, so two endorsers can at worst disagree on
// refusing (the client then sees an endorsement error), never produce different write sets.
//
// # Events
//
// Exactly one event per transaction (Fabric keeps only the last SetEvent); the payload is an
// [Event] and never carries customer data or codes.
//
// # Errors
//
// Every error is a *porting.Error rendered "CODE: field: message"; see porting.Code.
package contract
