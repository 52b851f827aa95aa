// Command settlebench measures DvP settlement and cross-channel swaps end to end through the
// REST gateways, against the put-state baseline, in one run on the running network:
//
//   - baseline: the baseline contract's Put through fabric-gateway (as cmd/fabbench), the
//     clients spread over the org1..org3 peers (baseline:Put has no REST route);
//   - settlements: N concurrent agreement pairs (default 16), each a seller and a buyer of two
//     different orgs, run agreements one after the other through REST with ?wait=commit:
//     propose (seller's gateway), affirm (buyer's), fund the seller's leg, fund the buyer's leg
//     (which settles it); a settlement counts when the last funding answers SETTLED;
//   - swaps: S swaps (default 20, C at a time) between an initiator of one org and a
//     counterparty of another: POST /v1/swaps?wait=commit on the initiator's gateway, POST
//     /v1/swaps/{id}/accept?wait=commit on the counterparty's, then both gateways polled until
//     COMPLETED. Completion time is from the POST to the second COMPLETED.
//
// Setup: the Regulator lists a fresh instrument through REST, accounts are opened and funded
// through REST on market; the swaps' accounts on payments are opened and funded through
// fabric-gateway (the REST account routes serve market). Reports figures, never fails on
// timing.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fabmarket/fabmarket/internal/benchkit"
	"github.com/fabmarket/fabmarket/internal/fabnet"
	"github.com/fabmarket/fabmarket/internal/netconf"
	"github.com/hyperledger/fabric-gateway/pkg/client"
)

// orgs whose gateways and peers the clients use.
var orgs = []string{"org1", "org2", "org3"}

// Result is one measured phase.
type Result struct {
	Name      string  `json:"name"`
	Clients   int     `json:"clients"`
	Count     int     `json:"count"`
	Done      int64   `json:"done"`
	Failed    int64   `json:"failed"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"perSecond"`
	P50ms     float64 `json:"p50ms"`
	P99ms     float64 `json:"p99ms"`
	MeanMs    float64 `json:"meanMs"`
}

// Report is the whole run.
type Report struct {
	Baseline    Result           `json:"baseline"`
	Settlements Result           `json:"settlements"`
	Swaps       Result           `json:"swaps"`
	SwapStatus  map[string]int   `json:"swapStatus"`
	Ratio       float64          `json:"settlementsPerBaselineTx"`
	TxRatio     float64          `json:"txRatio"` // 4 transactions per settlement
	Extra       map[string]int64 `json:"extra,omitempty"`
}

type bench struct {
	cfg   *netconf.Config
	http  *http.Client
	gw    *benchkit.Gateways
	runID string
	sym   string
	gws   map[string]*client.Gateway
}

func main() {
	var (
		pairs     = flag.Int("pairs", 16, "concurrent agreement pairs")
		count     = flag.Int("count", 320, "settlements in total")
		baseCount = flag.Int("baseline-count", 1000, "baseline transactions")
		baseCli   = flag.Int("baseline-clients", 32, "baseline clients")
		swaps     = flag.Int("swaps", 20, "swaps (0 skips the phase)")
		swapConc  = flag.Int("swap-concurrency", 4, "swaps at a time")
		asJSON    = flag.Bool("json", false, "print the report as one JSON line as well")
		timeout   = flag.Duration("timeout", 20*time.Minute, "bound on the whole run")
	)
	flag.Parse()
	if *pairs < 1 || *count < 1 || *baseCount < 1 || *baseCli < 1 || *swapConc < 1 {
		log.Fatal("-pairs, -count, -baseline-count, -baseline-clients and -swap-concurrency must be at least 1")
	}
	log.SetFlags(log.Ltime)
	cfg, err := netconf.LoadRepo(".")
	if err != nil {
		log.Fatal(err)
	}
	b := &bench{cfg: cfg, runID: fmt.Sprintf("%x", time.Now().Unix()%0xFFFFFF),
		http: &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}}}
	if b.gw, err = benchkit.Load(b.cfg, b.http); err != nil {
		log.Fatal(err)
	}
	b.gws = map[string]*client.Gateway{}
	for _, org := range orgs {
		gw, _, err := fabnet.ConnectOrg(cfg, org, "User1")
		if err != nil {
			log.Fatal(err)
		}
		b.gws[org] = gw
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	b.sym = "SB" + strings.ToUpper(b.runID)
	if err := b.call(ctx, "regulator", "POST", "/v1/instruments?wait=commit",
		map[string]string{"symbol": b.sym, "currency": "USD", "tickSize": "0.01", "lotSize": "1"}, nil); err != nil {
		log.Fatal(err)
	}
	log.Printf("instrument %s; setting up %d pairs", b.sym, *pairs)
	perPair := 2 * ((*count + *pairs - 1) / *pairs) // headroom: a fast pair takes more than its share
	sellers, buyers, err := b.setupPairs(ctx, "p", *pairs, perPair, false)
	if err != nil {
		log.Fatal(err)
	}
	var rep Report
	log.Printf("baseline: %d Put by %d clients", *baseCount, *baseCli)
	rep.Baseline = b.baseline(ctx, *baseCli, *baseCount)
	log.Printf("settlements: %d by %d pairs", *count, *pairs)
	rep.Settlements = b.settlements(ctx, sellers, buyers, *count)
	if rep.Baseline.PerSecond > 0 {
		rep.Ratio = rep.Settlements.PerSecond / rep.Baseline.PerSecond
		rep.TxRatio = 4 * rep.Ratio
	}
	if *swaps > 0 {
		ini, cp, err := b.setupPairs(ctx, "w", *swapConc, (*swaps+*swapConc-1) / *swapConc, true)
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("swaps: %d, %d at a time", *swaps, *swapConc)
		rep.Swaps, rep.SwapStatus = b.swaps(ctx, ini, cp, *swaps)
	}
	printReport(rep)
	if *asJSON {
		_ = json.NewEncoder(os.Stdout).Encode(rep)
	}
}

// call sends one REST request and decodes a 2xx JSON answer into out (when not nil).
func (b *bench) call(ctx context.Context, org, method, path string, body any, out any) error {
	_, err := b.gw.Call(ctx, org, method, path, body, out)
	return err
}

// retry is call for setup writes and steps on the other org's gateway, again after a 404 or
// 503 (what one org's peer just committed may not have reached another's), a 409 from a read
// conflict or a 409 for a status the previous step (committed on another org's peer, not yet
// on this one) has already changed, up to 10 times.
func (b *bench) retry(ctx context.Context, org, method, path string, body, out any) error {
	var err error
	for i := 0; i < 10; i++ {
		err = b.call(ctx, org, method, path, body, out)
		var he *benchkit.HTTPError
		if err == nil || !errors.As(err, &he) || (he.Status != 404 && he.Status != 503 && !strings.Contains(he.Body, "committed invalid") &&
			!strings.Contains(he.Body, "not allowed in this status")) {
			return err
		}
		time.Sleep(time.Duration(i+1) * 200 * time.Millisecond)
	}
	return err
}

// party is an account and the org that owns it.
type party struct{ org, id string }

// setupPairs opens n sellers (org i) and n buyers (org i+1) through REST with shares and cash
// for k settlements (or swaps) each; for swaps also their accounts on payments.
func (b *bench) setupPairs(ctx context.Context, prefix string, n, k int, swaps bool) ([]party, []party, error) {
	sellers, buyers := make([]party, n), make([]party, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sellers[i] = party{orgs[i%3], fmt.Sprintf("sb-%s-%s%02d-s", b.runID, prefix, i)}
		buyers[i] = party{orgs[(i+1)%3], fmt.Sprintf("sb-%s-%s%02d-b", b.runID, prefix, i)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, by := sellers[i], buyers[i]
			steps := []struct {
				org, path string
				body      any
			}{
				{s.org, "/v1/accounts?wait=commit", map[string]string{"id": s.id}},
				{by.org, "/v1/accounts?wait=commit", map[string]string{"id": by.id}},
				{s.org, "/v1/accounts/" + s.id + "/deposits?wait=commit", map[string]string{"asset": b.sym, "amount": fmt.Sprint(10 * k)}},
			}
			if !swaps {
				steps = append(steps, struct {
					org, path string
					body      any
				}{by.org, "/v1/accounts/" + by.id + "/deposits?wait=commit", map[string]string{"asset": "USD", "amount": fmt.Sprintf("%d.00", 250*k)}})
			}
			for _, st := range steps {
				if err := b.retry(ctx, st.org, "POST", st.path, st.body, nil); err != nil {
					errs[i] = fmt.Errorf("setup %s: %w", st.path, err)
					return
				}
			}
			if swaps {
				var sub fabnet.Submitter
				pay := func(org string, args ...string) error {
					c := b.gws[org].GetNetwork("payments").GetContractWithName("exchange", "exchange")
					_, err := sub.Submit(ctx, c, args[0], client.WithArguments(args[1:]...))
					return err
				}
				for _, err := range []error{pay(s.org, "OpenAccount", s.id), pay(by.org, "OpenAccount", by.id),
					pay(by.org, "Deposit", by.id, "USD", fmt.Sprint(25_000*k))} {
					if err != nil {
						errs[i] = fmt.Errorf("setup on payments: %s", fabnet.Describe(err))
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	return sellers, buyers, errors.Join(errs...)
}

type recorder struct {
	mu     sync.Mutex
	lat    []time.Duration
	done   int64
	failed int64
}

func (r *recorder) ok(d time.Duration) {
	r.mu.Lock()
	r.lat = append(r.lat, d)
	r.done++
	r.mu.Unlock()
}

func (r *recorder) fail(format string, args ...any) {
	atomic.AddInt64(&r.failed, 1)
	log.Printf(format, args...)
}

func (r *recorder) result(name string, clients, count int, secs float64) Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	var sum time.Duration
	for _, d := range r.lat {
		sum += d
	}
	mean := 0.0
	if len(r.lat) > 0 {
		mean = float64(sum.Microseconds()) / 1000 / float64(len(r.lat))
	}
	return Result{Name: name, Clients: clients, Count: count, Done: r.done, Failed: r.failed, Seconds: secs,
		PerSecond: float64(r.done) / secs, P50ms: benchkit.Percentile(r.lat, 0.50), P99ms: benchkit.Percentile(r.lat, 0.99), MeanMs: mean}
}

// run has clients workers take count items in turn, calling fn(worker, k).
func run(ctx context.Context, clients, count int, fn func(c, k int)) float64 {
	var next int64 = -1
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				if atomic.AddInt64(&next, 1) >= int64(count) || ctx.Err() != nil {
					return
				}
				fn(c, k)
			}
		}()
	}
	wg.Wait()
	return time.Since(start).Seconds()
}

// baseline submits count baseline:Put transactions through fabric-gateway.
func (b *bench) baseline(ctx context.Context, clients, count int) Result {
	var rec recorder
	var sub fabnet.Submitter
	secs := run(ctx, clients, count, func(c, k int) {
		contract := b.gws[orgs[c%3]].GetNetwork("market").GetContractWithName("exchange", "baseline")
		t0 := time.Now()
		_, err := sub.Submit(ctx, contract, "Put", client.WithArguments(fmt.Sprintf("sb-%s-%02d-%05d", b.runID, c, k), "v"))
		if err != nil {
			rec.fail("baseline: %s", fabnet.Describe(err))
			return
		}
		rec.ok(time.Since(t0))
	})
	return rec.result("baseline:Put (fabric-gateway)", clients, count, secs)
}

type settlementOut struct {
	SettlementID string `json:"settlementId"`
	Status       string `json:"status"`
}

// settlements runs count agreements, each pair one after the other.
func (b *bench) settlements(ctx context.Context, sellers, buyers []party, count int) Result {
	var rec recorder
	deadline := time.Now().Add(30 * time.Minute).UTC().Format(time.RFC3339)
	secs := run(ctx, len(sellers), count, func(c, k int) {
		s, by := sellers[c], buyers[c]
		t0 := time.Now()
		var a settlementOut
		if err := b.call(ctx, s.org, "POST", "/v1/settlements?wait=commit", map[string]any{"seller": s.id, "buyer": by.id,
			"symbol": b.sym, "quantity": "10", "price": "20.00", "currency": "USD", "deadline": deadline, "allowPartial": false}, &a); err != nil {
			rec.fail("propose: %v", err)
			return
		}
		id := a.SettlementID
		for _, st := range []struct{ org, step string }{{by.org, "affirm"}, {s.org, "fund"}, {by.org, "fund"}} {
			if err := b.retry(ctx, st.org, "POST", "/v1/settlements/"+id+"/"+st.step+"?wait=commit", nil, &a); err != nil {
				rec.fail("%s %s: %v", st.step, id, err)
				return
			}
		}
		if a.Status != "SETTLED" {
			rec.fail("settlement %s is %s after both fundings", id, a.Status)
			return
		}
		rec.ok(time.Since(t0))
	})
	return rec.result("settlements (REST, 4 tx each)", len(sellers), count, secs)
}

type swapOut struct {
	SwapID string          `json:"swapId"`
	Status string          `json:"status"`
	Terms  json.RawMessage `json:"terms"`
}

// swaps runs count swaps, len(ini) at a time, and reports the completion time.
func (b *bench) swaps(ctx context.Context, ini, cp []party, count int) (Result, map[string]int) {
	var rec recorder
	var mu sync.Mutex
	statuses := map[string]int{}
	secs := run(ctx, len(ini), count, func(c, k int) {
		i, p := ini[c], cp[c]
		t0 := time.Now()
		var sw swapOut
		now := time.Now()
		if err := b.call(ctx, i.org, "POST", "/v1/swaps?wait=commit", map[string]string{"initiator": i.id, "counterparty": p.id,
			"symbol": b.sym, "quantity": "10", "currency": "USD", "amount": "200.00",
			"counterpartyTimelock": now.Add(2 * time.Minute).UTC().Format(time.RFC3339Nano),
			"initiatorTimelock":    now.Add(4 * time.Minute).UTC().Format(time.RFC3339Nano)}, &sw); err != nil {
			rec.fail("swap: %v", err)
			return
		}
		if err := b.retry(ctx, p.org, "POST", "/v1/swaps/"+sw.SwapID+"/accept?wait=commit", sw.Terms, nil); err != nil {
			rec.fail("accept %s: %v", sw.SwapID, err)
			return
		}
		final := func(s string) bool {
			return s == "COMPLETED" || s == "REFUNDED" || s == "EXPIRED_UNCLAIMED" || s == "FAILED"
		}
		var a, z swapOut
		for ctx.Err() == nil && !(final(a.Status) && final(z.Status)) {
			time.Sleep(100 * time.Millisecond)
			if !final(a.Status) {
				_ = b.call(ctx, i.org, "GET", "/v1/swaps/"+sw.SwapID, nil, &a)
			}
			if !final(z.Status) {
				_ = b.call(ctx, p.org, "GET", "/v1/swaps/"+sw.SwapID, nil, &z)
			}
		}
		mu.Lock()
		statuses[a.Status+"/"+z.Status]++
		mu.Unlock()
		if a.Status != "COMPLETED" || z.Status != "COMPLETED" {
			rec.fail("swap %s ended %s / %s", sw.SwapID, a.Status, z.Status)
			return
		}
		rec.ok(time.Since(t0))
	})
	return rec.result("swaps (REST, orchestrated, 4 tx each)", len(ini), count, secs), statuses
}

func printReport(r Report) {
	for _, x := range []Result{r.Baseline, r.Settlements, r.Swaps} {
		if x.Name == "" {
			continue
		}
		fmt.Printf("%-40s %3d clients %5d/%d done, %d failed in %.1f s: %.2f/s, p50 %.0f ms, p99 %.0f ms, mean %.0f ms\n",
			x.Name, x.Clients, x.Done, x.Count, x.Failed, x.Seconds, x.PerSecond, x.P50ms, x.P99ms, x.MeanMs)
	}
	fmt.Printf("settlements/s ÷ baseline tx/s = %.3f (%.2f counted in transactions, 4 per settlement)\n", r.Ratio, r.TxRatio)
	if len(r.SwapStatus) > 0 {
		fmt.Printf("swap outcomes (initiator/counterparty): %v\n", r.SwapStatus)
	}
}
