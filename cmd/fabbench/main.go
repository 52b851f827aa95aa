// Command fabbench measures the trivial put-state transaction (the baseline contract's Put)
// through fabric-gateway: N concurrent clients, each submitting and waiting for the commit, for
// a bounded count. It prints committed tx/s, commit latency percentiles and the count of
// invalid transactions, as text and (with -json) as one JSON line for scripts.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fabmarket/fabmarket/internal/benchkit"
	"github.com/fabmarket/fabmarket/internal/fabnet"
	"github.com/fabmarket/fabmarket/internal/netconf"
	"github.com/hyperledger/fabric-gateway/pkg/client"
)

// Result is one benchmark run.
type Result struct {
	Name      string  `json:"name"`
	Clients   int     `json:"clients"`
	Count     int     `json:"count"`
	Committed int64   `json:"committed"`
	Invalid   int64   `json:"invalid"`
	Failed    int64   `json:"failed"`
	Resubmits int64   `json:"resubmits"`
	Seconds   float64 `json:"seconds"`
	TPS       float64 `json:"tps"`
	P50ms     float64 `json:"p50ms"`
	P99ms     float64 `json:"p99ms"`
}

func main() {
	var (
		org       = flag.String("org", "org1", "org whose peer and User1 identity submit")
		channel   = flag.String("channel", "market", "channel")
		chaincode = flag.String("chaincode", "exchange", "chaincode that serves the baseline contract")
		clients   = flag.Int("clients", 32, "concurrent clients")
		count     = flag.Int("count", 2000, "transactions in total")
		asJSON    = flag.Bool("json", false, "print one JSON line instead of text")
		name      = flag.String("name", "put-state", "name of the run in the output")
		timeout   = flag.Duration("timeout", 10*time.Minute, "bound on the whole run")
	)
	flag.Parse()
	if *clients < 1 || *count < 1 {
		log.Fatal("-clients and -count must be at least 1")
	}
	cfg, err := netconf.LoadRepo(".")
	if err != nil {
		log.Fatal(err)
	}
	gw, conn, err := fabnet.ConnectOrg(cfg, *org, "User1")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	defer gw.Close()
	contract := gw.GetNetwork(*channel).GetContractWithName(*chaincode, "baseline")
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	res := run(ctx, contract, *name, *clients, *count)
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	fmt.Printf("%s: %d clients, %d tx: committed %d, invalid %d, failed %d, resubmits %d\n",
		res.Name, res.Clients, res.Count, res.Committed, res.Invalid, res.Failed, res.Resubmits)
	fmt.Printf("%s: %.1f tx/s, commit latency p50 %.0f ms, p99 %.0f ms (%.1f s)\n",
		res.Name, res.TPS, res.P50ms, res.P99ms, res.Seconds)
}

func run(ctx context.Context, contract *client.Contract, name string, clients, count int) Result {
	var (
		next                                  int64 = -1
		committed, invalid, failed, resubmits int64
		mu                                    sync.Mutex
		lat                                   = make([]time.Duration, 0, count)
		wg                                    sync.WaitGroup
		sub                                   fabnet.Submitter
	)
	prefix := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= int64(count) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				out, err := sub.Submit(ctx, contract, "Put", client.WithArguments(fmt.Sprintf("%s-%07d", prefix, i), "v"))
				if out != nil {
					atomic.AddInt64(&resubmits, int64(out.Resubmits))
				}
				var inv *fabnet.InvalidError
				switch {
				case err == nil:
					atomic.AddInt64(&committed, 1)
					mu.Lock()
					lat = append(lat, time.Since(t0))
					mu.Unlock()
				case errors.As(err, &inv):
					atomic.AddInt64(&invalid, 1)
				default:
					atomic.AddInt64(&failed, 1)
					log.Printf("submit: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	return Result{
		Name: name, Clients: clients, Count: count,
		Committed: committed, Invalid: invalid, Failed: failed, Resubmits: resubmits,
		Seconds: secs, TPS: float64(committed) / secs,
		P50ms: benchkit.Percentile(lat, 0.50), P99ms: benchkit.Percentile(lat, 0.99),
	}
}
