// Package bench holds the price watcher's benchmarks (in its test files only): the resident
// memory of the subscription index for 3M users, ticks evaluated per second, and alerts
// fanned out per second, each next to a trivial baseline in the same run. See bench_test.go for
// the command.
package bench
