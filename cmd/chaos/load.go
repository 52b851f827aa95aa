package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func (r *run) symbols() []string { return []string{"CHA", "CHB", "CHC", "CHD"} }

func (r *run) orgOf(c int) string { return orgs[c%len(orgs)] }

// role of client c: settlers and porters are the last clients.
func (r *run) role(c int) string {
	switch {
	case c >= r.o.clients-r.o.porters:
		return "numbers"
	case c >= r.o.clients-r.o.porters-r.o.settlers:
		return "settle"
	}
	return "orders"
}

func (r *run) main() int {
	t0 := time.Now()
	ctx := context.Background()
	r.hardStop = time.Now().Add(10 * time.Minute) // setup
	log.Printf("run %s: %d clients (%d settlements, %d number transfers), load %s, seed %d", r.runID, r.o.clients,
		r.o.settlers, r.o.porters, r.o.duration, r.o.seed)
	r.metrics = newScraper(r)
	r.metrics.scrape(ctx)
	if err := r.setup(ctx); err != nil {
		log.Printf("setup failed: %v", err)
		return 2
	}
	loadEnd := time.Now().Add(r.o.duration)
	r.hardStop = loadEnd.Add(r.o.drain)
	stopScrape := make(chan struct{})
	go r.metrics.loop(ctx, stopScrape)
	faultsDone := make(chan struct{})
	go func() { defer close(faultsDone); r.faults(ctx, loadEnd) }()
	var wg sync.WaitGroup
	var opsLeft atomic.Int64
	opsLeft.Store(int64(r.o.maxOps))
	for c := 0; c < r.o.clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(r.o.seed, uint64(c)))
			more := func() bool { return time.Now().Before(loadEnd) && opsLeft.Add(-1) >= 0 }
			switch r.role(c) {
			case "settle":
				r.settler(ctx, c, rng, more)
			case "numbers":
				r.porter(ctx, c, rng, more)
			default:
				r.trader(ctx, c, rng, more)
			}
		}()
	}
	wg.Wait()
	log.Printf("load phase over after %.0f s (%d operations, %d requests); waiting for the fault driver", time.Since(t0).Seconds(), r.ops.Load(), r.requests.Load())
	<-faultsDone
	r.hardStop = time.Now().Add(r.o.drain)
	r.ensureUp(ctx)
	r.expireOpen(ctx)
	close(stopScrape)
	r.waitSettled(ctx)
	r.metrics.scrape(ctx)
	sum := r.check(ctx)
	sum.Seconds = time.Since(t0).Seconds()
	r.print(sum)
	if sum.Lost > 0 || sum.Duplicated > 0 || !sum.ConservationOK {
		return 1
	}
	return 0
}

// setup lists the instruments (reused when listed), opens one account per client on its org's
// gateway and funds it.
func (r *run) setup(ctx context.Context) error {
	for _, s := range r.symbols() {
		res := r.send(ctx, "setup", "regulator", "POST", "/v1/instruments?wait=commit",
			map[string]string{"symbol": s, "currency": "USD", "tickSize": "0.01", "lotSize": "1"}, "ins-"+s, 0)
		if !res.ok() && res.status != http.StatusConflict {
			return fmt.Errorf("instrument %s: %d %s", s, res.status, res.raw)
		}
	}
	r.accounts = make([]string, r.o.clients)
	errs := make([]error, r.o.clients)
	var wg sync.WaitGroup
	for c := 0; c < r.o.clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			org, id := r.orgOf(c), fmt.Sprintf("cx%s-%02d", r.runID, c)
			r.accounts[c] = id
			if res := r.send(ctx, "setup", org, "POST", "/v1/accounts?wait=commit", map[string]string{"id": id}, "acct-"+id, 0); !res.ok() {
				errs[c] = fmt.Errorf("account %s: %d %s", id, res.status, res.raw)
				return
			}
			for _, a := range append([]string{"USD"}, r.symbols()...) {
				if !r.money(ctx, c, "deposit", a, map[bool]int64{true: usdSetup, false: 100_000}[a == "USD"], "setup") {
					errs[c] = fmt.Errorf("deposit %s %s refused", id, a)
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func fmtAmount(asset string, n int64) string {
	if asset == "USD" {
		return fmt.Sprintf("%d.%02d", n/100, n%100)
	}
	return strconv.FormatInt(n, 10)
}

// money deposits or withdraws n (minor units or lots) and records what was answered.
func (r *run) money(ctx context.Context, c int, kind, asset string, n int64, tag string) bool {
	acct := r.accounts[c]
	path := "/v1/accounts/" + acct + "/deposits?wait=commit"
	if kind == "withdraw" {
		path = "/v1/accounts/" + acct + "/withdrawals?wait=commit"
	}
	idem := fmt.Sprintf("%s-%s-%s-%s-%d", kind, acct, asset, tag, n)
	res := r.send(ctx, kind, r.orgOf(c), "POST", path, map[string]string{"asset": asset, "amount": fmtAmount(asset, n)}, idem, 3)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case !res.answered:
		r.moneyAmb[acct+"~"+asset] = true
	case res.ok():
		m := r.moneyIn
		if kind == "withdraw" {
			m = r.moneyOut
		}
		if m[acct] == nil {
			m[acct] = map[string]int64{}
		}
		m[acct][asset] += n
	}
	return res.ok()
}

// trader places limit orders around 10.00 on its symbols (crossing the other clients'),
// cancels some of its resting ones, and now and then withdraws and deposits cash.
func (r *run) trader(ctx context.Context, c int, rng *rand.Rand, more func() bool) {
	acct, org := r.accounts[c], r.orgOf(c)
	syms := r.symbols()
	var mine []*seenOrder
	for k := 0; more(); k++ {
		switch p := rng.IntN(100); {
		case p < 14 && len(mine) > 0:
			o := mine[rng.IntN(len(mine))]
			if o.cancelled {
				continue
			}
			res := r.send(ctx, "cancel", org, "DELETE", "/v1/orders/"+o.id+"?wait=commit", nil, "cancel-"+o.id, 3)
			if res.ok() {
				r.mu.Lock()
				o.cancelled = true
				r.mu.Unlock()
			}
		case p < 17:
			amt := int64(1+rng.IntN(50)) * 100
			if r.money(ctx, c, "withdraw", "USD", amt, strconv.Itoa(k)) {
				r.money(ctx, c, "deposit", "USD", amt, strconv.Itoa(k))
			}
		case p < 18:
			// More than the account holds: refused (422 INSUFFICIENT_FUNDS), nothing moves.
			if r.money(ctx, c, "withdraw", "USD", 100*usdSetup, strconv.Itoa(k)) {
				log.Printf("withdrawal beyond the balance of %s accepted", acct)
			}
		case p < 19:
			// Off the tick size: refused (422 INVALID_TICK), nothing written.
			cid := fmt.Sprintf("x%s-%02d-%05d", r.runID, c, k)
			res := r.send(ctx, "order", org, "POST", "/v1/orders?wait=commit", map[string]string{"clientOrderId": cid, "account": acct,
				"symbol": syms[k%len(syms)], "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "1", "price": "10.005"}, "", 0)
			if res.ok() {
				log.Printf("off-tick order %s accepted: %s", cid, res.raw)
			}
		default:
			side := "BUY"
			if rng.IntN(2) == 1 {
				side = "SELL"
			}
			tif := "GTC"
			if rng.IntN(5) == 0 {
				tif = "IOC"
			}
			price := symPrice - 5 + rng.IntN(11)
			cid := fmt.Sprintf("o%s-%02d-%05d", r.runID, c, k)
			body := map[string]string{"clientOrderId": cid, "account": acct, "symbol": syms[(c+k)%len(syms)], "side": side,
				"type": "LIMIT", "timeInForce": tif, "quantity": strconv.Itoa(1 + rng.IntN(5)),
				"price": fmt.Sprintf("%d.%02d", price/100, price%100)}
			res := r.send(ctx, "order", org, "POST", "/v1/orders?wait=commit", body, "", 0)
			switch {
			case !res.answered:
				r.mu.Lock()
				r.ambiguous[acct+"/"+cid] = true
				r.mu.Unlock()
			case res.ok():
				var o struct {
					OrderID, ClientOrderID, Status string
				}
				if json.Unmarshal(res.raw, &o) != nil || o.OrderID == "" {
					log.Printf("order %s: answer without order id: %s", cid, res.raw)
					continue
				}
				so := &seenOrder{id: o.OrderID, cid: cid, account: acct}
				r.mu.Lock()
				if prev := r.orders[o.OrderID]; prev != nil {
					log.Printf("order %s answered for two clientOrderIds: %s and %s", o.OrderID, prev.cid, cid)
				}
				r.orders[o.OrderID] = so
				r.mu.Unlock()
				if tif == "GTC" {
					mine = append(mine, so)
				}
			}
		}
	}
}

// settler runs escrow agreements: its account sells shares to another org's trader. Most are
// affirmed and funded by both (settled at the second funding); every fifth stays with the
// seller's leg only (expired after the deadline: refunded), every fifth more is cancelled by
// the seller after funding (refunded).
func (r *run) settler(ctx context.Context, c int, rng *rand.Rand, more func() bool) {
	seller, sorg := r.accounts[c], r.orgOf(c)
	var traders []int
	for b := 0; b < r.o.clients; b++ {
		if r.role(b) == "orders" && r.orgOf(b) != sorg {
			traders = append(traders, b)
		}
	}
	for k := 0; more(); k++ {
		b := traders[rng.IntN(len(traders))]
		buyer, borg := r.accounts[b], r.orgOf(b)
		id := fmt.Sprintf("st%s-%02d-%04d", r.runID, c, k)
		deadline := time.Now().Add(r.o.deadline).UTC().Truncate(time.Second)
		a := &seenAgr{id: id, sellerOrg: sorg, buyerOrg: borg, deadline: deadline}
		res := r.send(ctx, "settle.propose", sorg, "POST", "/v1/settlements?wait=commit", map[string]any{
			"settlementId": id, "seller": seller, "buyer": buyer, "symbol": r.symbols()[k%4], "quantity": strconv.Itoa(1 + rng.IntN(3)),
			"price": "10.00", "currency": "USD", "deadline": deadline.Format(time.RFC3339), "allowPartial": false}, "p-"+id, 3)
		if !res.answered && !r.exists(ctx, sorg, id) {
			continue
		}
		if res.answered && !res.ok() {
			continue
		}
		r.mu.Lock()
		r.agrs[id] = a
		r.mu.Unlock()
		path := "/v1/settlements/" + id
		step := func(org, s string) bool {
			return r.send(ctx, "settle."+s, org, "POST", path+"/"+s+"?wait=commit", nil, s+"-"+org+"-"+id, 5).ok()
		}
		if !step(borg, "affirm") || !step(sorg, "fund") {
			continue
		}
		switch k % 5 {
		case 3: // left for expiry
			continue
		case 4:
			step(sorg, "cancel")
			continue
		}
		if step(borg, "fund") {
			r.mu.Lock()
			a.settled = true
			r.mu.Unlock()
		}
	}
}

func (r *run) exists(ctx context.Context, org, id string) bool {
	var a struct{ Status string }
	return r.get(ctx, org, "/v1/settlements/"+id, &a) == nil
}

// porter runs number transfers to its own org (a telco): the Regulator allocates a fresh
// number to another telco, this org requests it with customer data, the owner confirms (every
// fourth: rejects).
func (r *run) porter(ctx context.Context, c int, rng *rand.Rand, more func() bool) {
	req := r.orgOf(c)
	for k := 0; more(); k++ {
		owner := orgs[(c+1+rng.IntN(2))%3]
		if owner == req {
			owner = orgs[(c+1)%3]
		}
		rid, _ := strconv.Atoi(r.runID)
		num := fmt.Sprintf("+492%08d%02d%02d", rid, c%100, k%100)
		if k >= 100 {
			return
		}
		res := r.send(ctx, "numbers.allocate", "regulator", "POST", "/v1/numbers?wait=commit",
			map[string]string{"number": num, "owner": mspOf[owner]}, "alloc-"+num, 0)
		if !res.ok() {
			if !res.answered {
				r.mu.Lock()
				r.numbers[num] = &seenNumber{number: num, owner: "", ambiguous: true}
				r.mu.Unlock()
			}
			continue
		}
		n := &seenNumber{number: num, owner: mspOf[owner]}
		r.mu.Lock()
		r.numbers[num] = n
		r.mu.Unlock()
		doc := sha256.Sum256([]byte("contract " + num))
		body := map[string]any{"customer": map[string]string{"name": "Kunde " + num[len(num)-4:], "dateOfBirth": "1980-02-29",
			"address": "Hauptstr. 1, Berlin"}, "contractHash": hex.EncodeToString(doc[:])}
		path := "/v1/numbers/" + num + "/transfers"
		if res := r.send(ctx, "numbers.request", req, "POST", path+"?wait=commit", body, "req-"+num, 5); !res.ok() {
			continue
		}
		if k%4 == 3 {
			r.send(ctx, "numbers.reject", owner, "POST", path+"/reject?wait=commit", map[string]string{"reason": "contract term not over"}, "rej-"+num, 5)
			continue
		}
		res = r.send(ctx, "numbers.confirm", owner, "POST", path+"/confirm?wait=commit", nil, "conf-"+num, 5)
		r.mu.Lock()
		switch {
		case res.ok():
			n.owner = mspOf[req]
			n.completed++
		case !res.answered:
			n.ambiguous = true
		}
		r.mu.Unlock()
	}
}

// ---- faults
