// Command ordersbench measures order entry through the REST gateways against the put-state
// baseline, in one run on the running network:
//
//   - baseline: the baseline contract's Put through fabric-gateway (as cmd/fabbench), the
//     clients spread over the org1..org3 peers. The REST gateway has no route for it, so it is
//     measured directly, in the same run, with the same clients and identities (User1);
//   - direct: SubmitOrder through fabric-gateway (no REST), same accounts and symbols, for the
//     REST overhead ratio;
//   - rest: POST /v1/orders?wait=commit by N clients spread over the org1..org3 gateways, on
//     several symbols;
//   - hot and spread: the same with every order on one symbol, and over 100 symbols.
//
// Setup (REST): the Regulator lists the instruments (already listed ones are reused), every
// client opens an account on its org's gateway and deposits cash and the shares it sells.
// Afterwards the orders of every account are listed through REST and compared with what the
// clients saw accepted: lost, duplicated (clientOrderId listed twice) and unexpected orders.
// Invalid transactions come from the gateways' /metrics (gateway_commits_total by code) and,
// for the direct phases, from the commit status. It reports figures and never fails on timing.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fabmarket/fabmarket/internal/benchkit"
	"github.com/fabmarket/fabmarket/internal/fabnet"
	"github.com/fabmarket/fabmarket/internal/netconf"
	"github.com/hyperledger/fabric-gateway/pkg/client"
)

// orgs whose gateways the clients use, round robin.
var orgs = []string{"org1", "org2", "org3"}

// Result is one measured phase.
type Result struct {
	Name      string `json:"name"`
	Path      string `json:"path"` // rest or fabric-gateway
	Symbols   int    `json:"symbols"`
	Clients   int    `json:"clients"`
	Count     int    `json:"count"`
	Committed int64  `json:"committed"`
	Failed    int64  `json:"failed"`
	Invalid   int64  `json:"invalid"`     // commit statuses other than VALID
	Retries   int64  `json:"mvccRetries"` // REST: re-endorsements after read conflicts
	// REST phases, from the gateways' /metrics: every commit status the gateways received
	// (orders, the schedulers' Matches, anything else running), invalid ones by code, and
	// the Match transactions submitted.
	Commits      int64            `json:"commits,omitempty"`
	InvalidCodes map[string]int64 `json:"invalidCodes,omitempty"`
	Matches      int64            `json:"matches,omitempty"`
	Seconds      float64          `json:"seconds"`
	TPS          float64          `json:"tps"`
	P50ms        float64          `json:"p50ms"`
	P99ms        float64          `json:"p99ms"`
	MeanMs       float64          `json:"meanMs"`
	// CPUms is the CPU time the network's processes (peers, orderers, chaincode, gateways,
	// watcher; and "total") spent during the phase per committed transaction, in ms: it
	// includes the Matches and whatever else ran meanwhile.
	CPUms map[string]float64 `json:"cpuMsPerTx,omitempty"`
}

// Check is the comparison of the ledger with what the clients saw accepted.
type Check struct {
	Accepted   int `json:"accepted"`
	Listed     int `json:"listed"`
	Lost       int `json:"lost"`
	Duplicated int `json:"duplicated"`
	Unexpected int `json:"unexpected"`
}

// Report is the whole run.
type Report struct {
	Phases []Result `json:"phases"`
	Check  Check    `json:"check"`
}

type bench struct {
	cfg      *netconf.Config
	http     *http.Client
	gw       *benchkit.Gateways
	clients  int
	runID    string
	accounts []string // by client

	mu       sync.Mutex
	accepted map[string]string // orderId → clientOrderId, by every phase
}

func main() {
	var (
		clients   = flag.Int("clients", 32, "concurrent clients")
		count     = flag.Int("count", 2000, "orders of the main REST phase (and baseline, direct: the same)")
		symbols   = flag.Int("symbols", 8, "symbols of the main phases")
		hotCount  = flag.Int("hot-count", 1000, "orders of the hot-symbol and of the spread phase (0 skips both)")
		spread    = flag.Int("spread", 100, "symbols of the spread phase")
		directCnt = flag.Int("direct-count", 0, "orders of the direct fabric-gateway phase (default -count)")
		asJSON    = flag.Bool("json", false, "print the report as one JSON line as well")
		timeout   = flag.Duration("timeout", 15*time.Minute, "bound on the whole run")
	)
	flag.Parse()
	if *clients < 1 || *count < 1 || *symbols < 1 || *spread < 1 {
		log.Fatal("-clients, -count, -symbols and -spread must be at least 1")
	}
	if *directCnt == 0 {
		*directCnt = *count
	}
	log.SetFlags(log.Ltime)
	cfg, err := netconf.LoadRepo(".")
	if err != nil {
		log.Fatal(err)
	}
	b := &bench{cfg: cfg, clients: *clients, accepted: map[string]string{},
		runID: strconv.FormatInt(time.Now().Unix()%1_000_000_000, 36),
		http: &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
			MaxIdleConns: 4 * *clients, MaxIdleConnsPerHost: *clients + 8, IdleConnTimeout: time.Minute}}}
	if b.gw, err = benchkit.Load(b.cfg, b.http); err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	mainSyms := names("OBM", *symbols)
	spreadSyms := names("OBS", *spread)
	hot := mainSyms[:1]
	if err := b.setup(ctx, mainSyms, spreadSyms, *hotCount > 0); err != nil {
		log.Fatal(err)
	}
	gws, err := b.connect()
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		for _, g := range gws {
			g.Close()
		}
	}()

	var rep Report
	add := func(r Result) {
		rep.Phases = append(rep.Phases, r)
		log.Printf("%-9s %-14s %3d symbols: %d/%d committed, %d failed, %d invalid, %d mvcc retries: %.1f tx/s, p50 %.0f ms, p99 %.0f ms, mean %.0f ms",
			r.Name, r.Path, r.Symbols, r.Committed, r.Count, r.Failed, r.Invalid, r.Retries, r.TPS, r.P50ms, r.P99ms, r.MeanMs)
	}
	add(b.baseline(ctx, gws, *count))
	add(b.rest(ctx, "rest", mainSyms, *count))
	add(b.direct(ctx, gws, mainSyms, *directCnt))
	if *hotCount > 0 {
		add(b.rest(ctx, "hot", hot, *hotCount))
		add(b.rest(ctx, "spread", spreadSyms, *hotCount))
	}
	rep.Check = b.check(ctx)
	printReport(rep)
	if *asJSON {
		_ = json.NewEncoder(os.Stdout).Encode(rep)
	}
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

func (b *bench) orgOf(client int) string { return orgs[client%len(orgs)] }

// call sends one REST request and decodes a JSON answer into out (when not nil).
func (b *bench) call(ctx context.Context, org, method, path string, body any, out any) (int, error) {
	return b.gw.Call(ctx, org, method, path, body, out)
}

// retry is call for setup writes, again after a NOT_FOUND (the account or instrument just
// committed on this org's peer may not have reached the other org's endorsing peer yet) or an
// UNAVAILABLE, up to 10 times.
func (b *bench) retry(ctx context.Context, org, method, path string, body any) error {
	var err error
	for i := 0; i < 10; i++ {
		var st int
		if st, err = b.call(ctx, org, method, path, body, nil); err == nil || (st != http.StatusNotFound && st != http.StatusServiceUnavailable) {
			return err
		}
		time.Sleep(time.Duration(i+1) * 200 * time.Millisecond)
	}
	return err
}

// each runs fn for every client concurrently and returns the first error.
func (b *bench) each(fn func(c int) error) error {
	errs := make([]error, b.clients)
	var wg sync.WaitGroup
	for c := 0; c < b.clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[c] = fn(c)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// setup lists the instruments (reusing listed ones), opens one account per client on its org's
// gateway and deposits cash and the shares of every symbol the client trades.
func (b *bench) setup(ctx context.Context, mainSyms, spreadSyms []string, withSpread bool) error {
	t0 := time.Now()
	var have []struct {
		Symbol string `json:"symbol"`
	}
	if _, err := b.call(ctx, "regulator", "GET", "/v1/instruments", nil, &have); err != nil {
		return err
	}
	listed := map[string]bool{}
	for _, h := range have {
		listed[h.Symbol] = true
	}
	var todo []string
	for _, s := range append(append([]string{}, mainSyms...), spreadSyms...) {
		if !listed[s] && (withSpread || !strings.HasPrefix(s, "OBS")) {
			todo = append(todo, s)
		}
	}
	var next int64 = -1
	if err := b.each(func(int) error {
		for {
			i := atomic.AddInt64(&next, 1)
			if i >= int64(len(todo)) {
				return nil
			}
			body := map[string]string{"symbol": todo[i], "currency": "USD", "tickSize": "0.01", "lotSize": "1"}
			if st, err := b.call(ctx, "regulator", "POST", "/v1/instruments?wait=commit", body, nil); err != nil && st != http.StatusConflict {
				return err
			}
		}
	}); err != nil {
		return fmt.Errorf("listing instruments: %w", err)
	}
	b.accounts = make([]string, b.clients)
	err := b.each(func(c int) error {
		org, id := b.orgOf(c), fmt.Sprintf("ob-%s-%02d", b.runID, c)
		b.accounts[c] = id
		if _, err := b.call(ctx, org, "POST", "/v1/accounts?wait=commit", map[string]string{"id": id}, nil); err != nil {
			return err
		}
		assets := []string{"USD", mainSyms[c%len(mainSyms)], mainSyms[0]}
		if withSpread {
			for j := c; j < len(spreadSyms); j += b.clients {
				assets = append(assets, spreadSyms[j])
			}
		}
		seen := map[string]bool{}
		for _, a := range assets {
			if seen[a] {
				continue
			}
			seen[a] = true
			amount := "100000"
			if a == "USD" {
				amount = "10000000.00"
			}
			if err := b.retry(ctx, org, "POST", "/v1/accounts/"+id+"/deposits?wait=commit",
				map[string]string{"asset": a, "amount": amount}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	log.Printf("setup: %d instruments listed (%d reused), %d accounts funded in %.1f s",
		len(todo), len(mainSyms)+len(spreadSyms)-len(todo), b.clients, time.Since(t0).Seconds())
	return nil
}

// order is the i-th order of client c (k-th of its own) over syms: a 1-lot limit order at
// 10.00, alternating sides so that the clients on a symbol cross each other.
func (b *bench) order(c int, k int, syms []string, phase string) (sym, side, cid string) {
	// Client c trades the symbols it holds shares of: syms[c mod n] for the main and hot
	// sets; for the spread set, the symbols j ≡ c (mod clients), in turn.
	switch {
	case len(syms) > b.clients:
		mine := []string{}
		for j := c; j < len(syms); j += b.clients {
			mine = append(mine, syms[j])
		}
		sym = mine[k%len(mine)]
	default:
		sym = syms[c%len(syms)]
	}
	side = "BUY"
	if (c+k)%2 == 1 {
		side = "SELL"
	}
	return sym, side, fmt.Sprintf("%s-%s-%02d-%05d", phase, b.runID, c, k)
}

type recorder struct {
	mu        sync.Mutex
	lat       []time.Duration
	committed int64
	failed    int64
	invalid   int64
}

func (r *recorder) ok(d time.Duration) {
	r.mu.Lock()
	r.lat = append(r.lat, d)
	r.committed++
	r.mu.Unlock()
}

func (r *recorder) result(name, path string, symbols, clients, count int, sp span) Result {
	secs := sp.secs
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	var sum time.Duration
	for _, d := range r.lat {
		sum += d
	}
	mean := 0.0
	if len(r.lat) > 0 {
		mean = float64(sum.Microseconds()) / 1000 / float64(len(r.lat))
	}
	return Result{Name: name, Path: path, Symbols: symbols, Clients: clients, Count: count,
		Committed: r.committed, Failed: r.failed, Invalid: r.invalid, Seconds: secs,
		TPS: float64(r.committed) / secs, P50ms: benchkit.Percentile(r.lat, 0.50), P99ms: benchkit.Percentile(r.lat, 0.99), MeanMs: mean,
		CPUms: benchkit.PerTx(sp.before, sp.after, r.committed)}
}

// span is one phase's wall time and the network's CPU time before and after it.
type span struct {
	secs          float64
	before, after benchkit.CPUSample
}

// run has the clients take count items in turn, calling fn(client, k) for the k-th of each.
func (b *bench) run(ctx context.Context, count int, fn func(c, k int)) span {
	var next int64 = -1
	sp := span{before: benchkit.SampleCPU(b.cfg.RunDir())}
	start := time.Now()
	_ = b.each(func(c int) error {
		for k := 0; ; k++ {
			if atomic.AddInt64(&next, 1) >= int64(count) || ctx.Err() != nil {
				return nil
			}
			fn(c, k)
		}
	})
	sp.secs = time.Since(start).Seconds()
	sp.after = benchkit.SampleCPU(b.cfg.RunDir())
	return sp
}

// rest places count orders over syms through the REST gateways, each waiting for its commit.
func (b *bench) rest(ctx context.Context, name string, syms []string, count int) Result {
	before := b.scrape(ctx)
	var rec recorder
	sp := b.run(ctx, count, func(c, k int) {
		sym, side, cid := b.order(c, k, syms, name)
		body := map[string]string{"clientOrderId": cid, "account": b.accounts[c], "symbol": sym, "side": side,
			"type": "LIMIT", "timeInForce": "GTC", "quantity": "1", "price": "10.00"}
		var out struct {
			OrderID string `json:"orderId"`
			Status  string `json:"status"`
		}
		t0 := time.Now()
		st, err := b.call(ctx, b.orgOf(c), "POST", "/v1/orders?wait=commit", body, &out)
		d := time.Since(t0)
		if err != nil || st != http.StatusCreated || out.OrderID == "" {
			atomic.AddInt64(&rec.failed, 1)
			log.Printf("%s: order %s: status %d: %v", name, cid, st, err)
			return
		}
		rec.ok(d)
		b.mu.Lock()
		b.accepted[out.OrderID] = cid
		b.mu.Unlock()
	})
	r := rec.result(name, "rest", len(syms), b.clients, count, sp)
	after := b.scrape(ctx)
	r.Retries = int64(after.mvcc - before.mvcc)
	r.Commits = int64(after.commits - before.commits)
	r.Matches = int64(after.matches - before.matches)
	r.InvalidCodes = map[string]int64{}
	for code, n := range after.invalid {
		if d := int64(n - before.invalid[code]); d > 0 {
			r.InvalidCodes[code] = d
			r.Invalid += d
		}
	}
	return r
}

// connect opens a fabric-gateway connection per org (User1, the gateways' identity).
func (b *bench) connect() (map[string]*client.Gateway, error) {
	out := map[string]*client.Gateway{}
	for _, org := range orgs {
		gw, _, err := fabnet.ConnectOrg(b.cfg, org, "User1")
		if err != nil {
			return nil, err
		}
		out[org] = gw
	}
	return out, nil
}

// baseline submits count baseline:Put transactions through fabric-gateway, the clients spread
// over the orgs' peers like the REST clients over the gateways.
func (b *bench) baseline(ctx context.Context, gws map[string]*client.Gateway, count int) Result {
	var rec recorder
	var sub fabnet.Submitter
	sp := b.run(ctx, count, func(c, k int) {
		contract := gws[b.orgOf(c)].GetNetwork("market").GetContractWithName("exchange", "baseline")
		t0 := time.Now()
		_, err := sub.Submit(ctx, contract, "Put", client.WithArguments(fmt.Sprintf("ob-%s-%02d-%05d", b.runID, c, k), "v"))
		rec.note(err, time.Since(t0), "baseline")
	})
	return rec.result("baseline", "fabric-gateway", 0, b.clients, count, sp)
}

// direct submits count SubmitOrder transactions through fabric-gateway (no REST), the same
// orders as the REST phase would place.
func (b *bench) direct(ctx context.Context, gws map[string]*client.Gateway, syms []string, count int) Result {
	var rec recorder
	var sub fabnet.Submitter
	sp := b.run(ctx, count, func(c, k int) {
		sym, side, cid := b.order(c, k, syms, "direct")
		arg, _ := json.Marshal(map[string]any{"account": b.accounts[c], "symbol": sym, "clientOrderId": cid,
			"side": side, "type": "LIMIT", "timeInForce": "GTC", "price": 1000, "quantity": 1})
		contract := gws[b.orgOf(c)].GetNetwork("market").GetContractWithName("exchange", "exchange")
		t0 := time.Now()
		out, err := sub.Submit(ctx, contract, "SubmitOrder", client.WithArguments(string(arg)))
		d := time.Since(t0)
		if err == nil {
			var o struct {
				OrderID string `json:"orderId"`
			}
			if json.Unmarshal(out.Result, &o) != nil || o.OrderID == "" {
				err = fmt.Errorf("no order id in %q", out.Result)
			} else {
				b.mu.Lock()
				b.accepted[o.OrderID] = cid
				b.mu.Unlock()
			}
		}
		rec.note(err, d, "direct")
	})
	return rec.result("direct", "fabric-gateway", len(syms), b.clients, count, sp)
}

func (r *recorder) note(err error, d time.Duration, name string) {
	var inv *fabnet.InvalidError
	switch {
	case err == nil:
		r.ok(d)
	case errors.As(err, &inv):
		atomic.AddInt64(&r.invalid, 1)
	default:
		atomic.AddInt64(&r.failed, 1)
		log.Printf("%s: %s", name, fabnet.Describe(err))
	}
}

type counters struct {
	invalid                map[string]float64 // validation code → count
	commits, mvcc, matches float64
}

// scrape sums, over the org gateways, the commit statuses other than VALID and the MVCC
// retries from /metrics.
func (b *bench) scrape(ctx context.Context) counters {
	out := counters{invalid: map[string]float64{}}
	for _, org := range append(orgs[:len(orgs):len(orgs)], "regulator") {
		req, _ := http.NewRequestWithContext(ctx, "GET", b.gw.Base(org)+"/metrics", nil)
		resp, err := b.http.Do(req)
		if err != nil {
			log.Printf("metrics of %s: %v", org, err)
			continue
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(raw), "\n") {
			name, val, ok := strings.Cut(line, " ")
			if !ok {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil {
				continue
			}
			switch {
			case strings.HasPrefix(name, `gateway_commits_total{code="`):
				out.commits += v
				if code := strings.TrimSuffix(strings.TrimPrefix(name, `gateway_commits_total{code="`), `"}`); code != "VALID" {
					out.invalid[code] += v
				}
			case name == `gateway_retries_total{reason="mvcc"}`:
				out.mvcc += v
			case strings.HasPrefix(name, `gateway_submits_total{function="Match"`):
				out.matches += v
			}
		}
	}
	return out
}

// check lists every account's orders through REST and compares them with what the clients saw
// accepted.
func (b *bench) check(ctx context.Context) Check {
	listed := map[string]string{} // orderId → clientOrderId
	cids := map[string]int{}
	var mu sync.Mutex
	err := b.each(func(c int) error {
		var os []struct {
			OrderID       string `json:"orderId"`
			ClientOrderID string `json:"clientOrderId"`
		}
		if _, err := b.call(ctx, b.orgOf(c), "GET", "/v1/orders?account="+b.accounts[c], nil, &os); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, o := range os {
			listed[o.OrderID] = o.ClientOrderID
			cids[b.accounts[c]+"/"+o.ClientOrderID]++
		}
		return nil
	})
	if err != nil {
		log.Printf("listing orders: %v", err)
	}
	ch := Check{Accepted: len(b.accepted), Listed: len(listed)}
	for id, cid := range b.accepted {
		if got, ok := listed[id]; !ok || got != cid {
			ch.Lost++
			log.Printf("lost: order %s (%s)", id, cid)
		}
	}
	for id, cid := range listed {
		if _, ok := b.accepted[id]; !ok {
			ch.Unexpected++
			log.Printf("unexpected: order %s (%s) listed but not seen accepted", id, cid)
		}
	}
	for k, n := range cids {
		if n > 1 {
			ch.Duplicated += n - 1
			log.Printf("duplicated: %s listed %d times", k, n)
		}
	}
	return ch
}

func printReport(rep Report) {
	by := map[string]Result{}
	for _, r := range rep.Phases {
		by[r.Name] = r
	}
	ratio := func(a, b float64) string {
		if b == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f", a/b)
	}
	fmt.Println("phase     path            symbols  committed/count  failed  invalid  mvcc-retries  tx/s   p50 ms  p99 ms  mean ms")
	for _, r := range rep.Phases {
		fmt.Printf("%-9s %-15s %7d  %7d/%-7d  %6d  %7d  %12d  %5.1f  %6.0f  %6.0f  %7.0f\n", r.Name, r.Path, r.Symbols,
			r.Committed, r.Count, r.Failed, r.Invalid, r.Retries, r.TPS, r.P50ms, r.P99ms, r.MeanMs)
	}
	for _, r := range rep.Phases {
		if r.Path == "rest" {
			fmt.Printf("%s: the gateways received %d commit statuses (%d Match submits); invalid by code: %v\n", r.Name, r.Commits, r.Matches, r.InvalidCodes)
		}
	}
	for _, r := range rep.Phases {
		if len(r.CPUms) > 0 && r.Committed >= 100 {
			fmt.Printf("%s: network CPU per committed transaction: %s\n", r.Name, benchkit.FormatPerTx(r.CPUms))
		}
	}
	base, rest, direct := by["baseline"], by["rest"], by["direct"]
	fmt.Printf("orders/s vs baseline put tx/s: %s (REST %.1f / baseline %.1f; target >= 0.8)\n", ratio(rest.TPS, base.TPS), rest.TPS, base.TPS)
	fmt.Printf("network CPU per order vs per put: %s\n", ratio(rest.CPUms["total"], base.CPUms["total"]))
	fmt.Printf("REST vs direct fabric-gateway submit latency: p50 %s, mean %s (target <= 1.15); direct orders/s vs baseline: %s\n",
		ratio(rest.P50ms, direct.P50ms), ratio(rest.MeanMs, direct.MeanMs), ratio(direct.TPS, base.TPS))
	if hot, spread := by["hot"], by["spread"]; hot.Count > 0 {
		invalidPct := func(r Result) float64 {
			if r.Commits == 0 {
				return 0
			}
			return 100 * float64(r.Invalid) / float64(r.Commits)
		}
		fmt.Printf("hot symbol vs %d symbols: goodput %s (%.1f / %.1f orders/s; target >= 0.8), invalid %.2f%% / %.2f%% of the gateways' commits (target <= 1%%)\n",
			spread.Symbols, ratio(hot.TPS, spread.TPS), hot.TPS, spread.TPS, invalidPct(hot), invalidPct(spread))
	}
	c := rep.Check
	fmt.Printf("orders accepted %d, listed %d: lost %d, duplicated %d, unexpected %d (must be 0)\n",
		c.Accepted, c.Listed, c.Lost, c.Duplicated, c.Unexpected)
}
