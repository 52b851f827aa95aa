// Package integration holds the tests that run against the real Fabric network started by
// scripts/network.sh (build tag "integration"; scripts/test.sh brings a fresh network up, runs
// them, and tears it down).
package integration
