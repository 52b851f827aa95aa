// Package porting is the pure core of the number-transfer chaincode: E.164 validation,
// number ranges, the business-day calendar, porting authorisation codes (PAC), the
// customer-data record and the transfer state machine (who may do what, when, deadlines and
// escalation).
//
// It imports nothing from Fabric. Time always comes in as an argument (the transaction
// timestamp), never from the clock, and nothing here iterates over a map or uses randomness
// or floating point, so every endorsing peer computes the same result.
//
// # Transfer life cycle
//
// A receiving telco requests a number (status OPEN) with a deadline for the owner's answer of
// [Settings.AnswerBusinessDays] business days. The owner confirms (COMPLETED: ownership moves)
// or rejects (REJECTED); the requester may cancel (CANCELLED) while the request is OPEN or
// ESCALATED. Either telco may escalate an OPEN request, or a REJECTED one until its dispute
// window closes ([Settings.DisputeBusinessDays]); the Regulator resolves an ESCALATED request
// by granting it (COMPLETED) or denying it (DENIED).
//
// Every step on a transfer first applies the clock: an OPEN request whose deadline has passed
// becomes ESCALATED (cause DEADLINE) at that touch. If the step was the owner's late confirm or
// reject, it is not applied; the step still succeeds so that the escalation is committed, and
// [Step.Applied] is false.
//
// # Errors
//
// Every error returned by this package is an [*Error] with a stable [Code]; its message has the
// form "CODE: field: message" (or "CODE: message" without a field), so that clients that only
// see the error string (Fabric returns chaincode errors as text) can map it.
package porting
