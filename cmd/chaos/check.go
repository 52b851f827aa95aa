package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/contract"
	"github.com/fabmarket/fabmarket/internal/fabnet"
)

// expireOpen waits for the deadline of every agreement still open and expires it through the
// seller's org.
func (r *run) expireOpen(ctx context.Context) {
	r.mu.Lock()
	var ids []string
	for id := range r.agrs {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	sort.Strings(ids)
	var open []*seenAgr
	latest := time.Time{}
	for _, id := range ids {
		a := r.agrs[id]
		var v struct{ Status string }
		if err := r.get(ctx, a.sellerOrg, "/v1/settlements/"+id, &v); err != nil {
			log.Printf("settlement %s: %v", id, err)
			continue
		}
		switch v.Status {
		case "SETTLED", "EXPIRED", "CANCELLED":
			continue
		}
		open = append(open, a)
		if a.deadline.After(latest) {
			latest = a.deadline
		}
	}
	if len(open) == 0 {
		return
	}
	if w := time.Until(latest) + 2*time.Second; w > 0 {
		log.Printf("%d agreements open: waiting %.0f s for their deadlines, then expiring them", len(open), w.Seconds())
		fabnet.Sleep(ctx, w)
	}
	r.hardStop = time.Now().Add(r.o.drain)
	for _, a := range open {
		res := r.send(ctx, "settle.expire", a.sellerOrg, "POST", "/v1/settlements/"+a.id+"/expire?wait=commit", nil, "expire-"+a.id, 5)
		if !res.ok() {
			log.Printf("expire %s: %d %s", a.id, res.status, bytes.TrimSpace(res.raw))
		}
	}
}

type listedOrder struct {
	OrderID       string `json:"orderId"`
	ClientOrderID string `json:"clientOrderId"`
	Status        string `json:"status"`
}

// listAll lists the orders of every client account through its org's gateway.
func (r *run) listAll(ctx context.Context) (map[int][]listedOrder, error) {
	out := map[int][]listedOrder{}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for c := range r.accounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var os []listedOrder
			err := r.get(ctx, r.orgOf(c), "/v1/orders?account="+r.accounts[c], &os)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			out[c] = os
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// waitSettled waits (up to 60 s) until no order of the run is PENDING any more: every intake
// order taken by a Match.
func (r *run) waitSettled(ctx context.Context) {
	for i := 0; i < 30; i++ {
		all, err := r.listAll(ctx)
		pending := 0
		for _, os := range all {
			for _, o := range os {
				if o.Status == "PENDING" {
					pending++
				}
			}
		}
		if err == nil && pending == 0 {
			return
		}
		log.Printf("%d orders still pending (%v)", pending, err)
		fabnet.Sleep(ctx, 2*time.Second)
	}
}

// Summary is the outcome of a run.
type Summary struct {
	RunID          string                           `json:"runId"`
	Seconds        float64                          `json:"seconds"`
	Clients        int                              `json:"clients"`
	Requests       int64                            `json:"requests"`
	Operations     int64                            `json:"operations"`
	Retries        int64                            `json:"retries"`
	Unanswered     int64                            `json:"unanswered"`
	Ops            map[string]opStat                `json:"ops"`
	Rejected       map[string]int                   `json:"rejected"`
	RetryReasons   map[string]int                   `json:"retryReasons"`
	Commits        map[string]float64               `json:"commits"` // gateways' commit statuses by code, during the run
	MVCCRetries    float64                          `json:"mvccRetries"`
	Resubmits      float64                          `json:"resubmits"`
	Faults         []string                         `json:"faults"`
	OrdersAccepted int                              `json:"ordersAccepted"`
	OrdersListed   int                              `json:"ordersListed"`
	OrderStatus    map[string]int                   `json:"orderStatus"`
	Agreements     map[string]int                   `json:"agreements"`
	Numbers        int                              `json:"numbers"`
	Transfers      int                              `json:"transfers"`
	Lost           int                              `json:"lost"`
	Duplicated     int                              `json:"duplicated"`
	Unexpected     int                              `json:"unexpected"`
	Findings       []string                         `json:"findings"`
	Audit          map[string]*contract.LedgerAudit `json:"audit"`
	ConservationOK bool                             `json:"conservationOk"`
	AssetTotals    map[string]*AssetSummary         `json:"assets"`
}

type AssetSummary struct {
	Deposited, Withdrawn, Held int64
	OK                         bool
}

func (r *run) finding(s *Summary, kind, format string, args ...any) {
	msg := kind + ": " + fmt.Sprintf(format, args...)
	switch kind {
	case "lost":
		s.Lost++
	case "duplicated":
		s.Duplicated++
	case "unexpected":
		s.Unexpected++
	}
	if len(s.Findings) < 40 {
		s.Findings = append(s.Findings, msg)
	}
	log.Print(msg)
}

func (r *run) check(ctx context.Context) *Summary {
	s := &Summary{RunID: r.runID, Clients: r.o.clients, OrderStatus: map[string]int{}, Agreements: map[string]int{},
		Ops: map[string]opStat{}, Rejected: r.rejected, RetryReasons: r.retryReasons, Findings: []string{}}
	r.hardStop = time.Now().Add(r.o.drain)

	// Orders.
	all, err := r.listAll(ctx)
	if err != nil {
		r.finding(s, "check", "listing orders: %v", err)
	}
	listed := map[string]listedOrder{}
	for c, os := range all {
		cids := map[string]int{}
		for _, o := range os {
			s.OrdersListed++
			if _, dup := listed[o.OrderID]; dup {
				r.finding(s, "duplicated", "order %s listed twice", o.OrderID)
			}
			listed[o.OrderID] = o
			cids[o.ClientOrderID]++
			if cids[o.ClientOrderID] == 2 {
				r.finding(s, "duplicated", "clientOrderId %s of %s used by more than one order", o.ClientOrderID, r.accounts[c])
			}
			if _, seen := r.orders[o.OrderID]; !seen && !r.ambiguous[r.accounts[c]+"/"+o.ClientOrderID] {
				r.finding(s, "unexpected", "order %s (%s) of %s listed but never sent or seen accepted", o.OrderID, o.ClientOrderID, r.accounts[c])
			}
		}
	}
	s.OrdersAccepted = len(r.orders)
	for id, o := range r.orders {
		l, ok := listed[id]
		switch {
		case !ok:
			r.finding(s, "lost", "order %s (%s of %s) was accepted and is not on the ledger", id, o.cid, o.account)
			continue
		case l.ClientOrderID != o.cid:
			r.finding(s, "lost", "order %s is listed with clientOrderId %q, accepted as %q", id, l.ClientOrderID, o.cid)
		}
		s.OrderStatus[l.Status]++
		switch l.Status {
		case "NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED", "REJECTED":
		default:
			r.finding(s, "lost", "order %s ended in status %s", id, l.Status)
		}
	}

	// Agreements: closed, and settled where the clients saw them settle.
	for id, a := range r.agrs {
		var v struct{ Status string }
		if err := r.get(ctx, a.sellerOrg, "/v1/settlements/"+id, &v); err != nil {
			r.finding(s, "lost", "settlement %s: %v", id, err)
			continue
		}
		s.Agreements[v.Status]++
		switch {
		case a.settled && v.Status != "SETTLED":
			r.finding(s, "lost", "settlement %s was seen settled and is %s", id, v.Status)
		case v.Status != "SETTLED" && v.Status != "EXPIRED" && v.Status != "CANCELLED":
			r.finding(s, "lost", "settlement %s is still %s after its deadline", id, v.Status)
		}
	}

	// Numbers: one owner, the expected one, and as many completed transfers as confirmed.
	for num, n := range r.numbers {
		var v struct {
			Owner           string
			Status          string
			PendingTransfer *struct{ ID string } `json:"pendingTransfer"`
		}
		if err := r.get(ctx, "regulator", "/v1/numbers/"+num, &v); err != nil {
			if !n.ambiguous {
				r.finding(s, "lost", "number %s: %v", num, err)
			}
			continue
		}
		s.Numbers++
		if v.Owner == "" || !strings.HasSuffix(v.Owner, "MSP") {
			r.finding(s, "lost", "number %s has owner %q", num, v.Owner)
		}
		if !n.ambiguous && n.owner != "" && v.Owner != n.owner {
			r.finding(s, "lost", "number %s is owned by %s, the confirmed transfers gave it to %s", num, v.Owner, n.owner)
		}
		var hist []struct {
			Transfer *struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"transfer"`
		}
		if err := r.get(ctx, "regulator", "/v1/numbers/"+num+"/history", &hist); err != nil {
			r.finding(s, "check", "history of %s: %v", num, err)
			continue
		}
		done := map[string]bool{}
		for _, h := range hist {
			if h.Transfer != nil && h.Transfer.Status == "COMPLETED" {
				done[h.Transfer.ID] = true
			}
		}
		s.Transfers += len(done)
		switch {
		case n.ambiguous:
		case len(done) > n.completed:
			r.finding(s, "duplicated", "number %s: %d completed transfers, %d confirmed", num, len(done), n.completed)
		case len(done) < n.completed:
			r.finding(s, "lost", "number %s: %d completed transfers, %d confirmed", num, len(done), n.completed)
		}
	}

	// The ledger audit, and the deposits and withdrawals of the run's accounts.
	s.Audit = map[string]*contract.LedgerAudit{}
	s.ConservationOK = true
	for _, ch := range []string{"market", "payments"} {
		a, err := ledgerAudit(r.cfg, ch, "cx"+r.runID+"-")
		if err != nil {
			r.finding(s, "check", "audit of %s: %v", ch, err)
			s.ConservationOK = false
			continue
		}
		s.Audit[ch] = a
		if !a.OK {
			s.ConservationOK = false
			for _, p := range a.Problems {
				r.finding(s, "conservation", "%s: %s", ch, p)
			}
		}
		if a.OpenExpired > 0 || a.LockedExpiry > 0 {
			r.finding(s, "conservation", "%s: %d agreements and %d HTLCs past their deadline still hold escrow", ch, a.OpenExpired, a.LockedExpiry)
			s.ConservationOK = false
		}
	}
	if m := s.Audit["market"]; m != nil && m.Detail != nil {
		for _, acct := range r.accounts {
			for _, asset := range append([]string{"USD"}, r.symbols()...) {
				if r.moneyAmb[acct+"~"+asset] {
					continue
				}
				var dep, wd int64
				if x := m.Detail[acct][asset]; x != nil {
					dep, wd = x.Deposited, x.Withdrawn
				}
				for _, f := range []struct {
					what      string
					got, want int64
				}{{"deposited", dep, r.moneyIn[acct][asset]}, {"withdrawn", wd, r.moneyOut[acct][asset]}} {
					switch {
					case f.got < f.want:
						r.finding(s, "lost", "%s %s: %s %d on the ledger, %d seen accepted", acct, asset, f.what, f.got, f.want)
					case f.got > f.want:
						r.finding(s, "duplicated", "%s %s: %s %d on the ledger, %d seen accepted", acct, asset, f.what, f.got, f.want)
					}
				}
			}
		}
	}
	s.AssetTotals = map[string]*AssetSummary{}
	for ch, a := range s.Audit {
		for asset, x := range a.Assets {
			s.AssetTotals[ch+" "+asset] = &AssetSummary{Deposited: x.Deposited, Withdrawn: x.Withdrawn, Held: x.Held, OK: x.OK}
		}
	}

	s.Requests, s.Operations, s.Retries, s.Unanswered = r.requests.Load(), r.ops.Load(), r.retries.Load(), r.unanswered.Load()
	for k, v := range r.opStats {
		s.Ops[k] = *v
	}
	s.Commits, s.MVCCRetries, s.Resubmits = r.metrics.delta()
	s.Faults = r.faultLog
	return s
}

func (r *run) print(s *Summary) {
	w := os.Stdout
	fmt.Fprintf(w, "\n=== chaos run %s: %d clients, %.0f s ===\n", s.RunID, s.Clients, s.Seconds)
	fmt.Fprintln(w, "faults:")
	for _, f := range s.Faults {
		fmt.Fprintln(w, "  "+f)
	}
	fmt.Fprintf(w, "%-18s %8s %8s %8s %10s %8s\n", "operation", "count", "accepted", "rejected", "unanswered", "retries")
	for _, k := range slices.Sorted(maps.Keys(s.Ops)) {
		v := s.Ops[k]
		fmt.Fprintf(w, "%-18s %8d %8d %8d %10d %8d\n", k, v.Count, v.Accepted, v.Rejected, v.Unanswered, v.Retries)
	}
	fmt.Fprintf(w, "%-18s %8d (HTTP requests %d, retries %d, unanswered %d)\n", "total", s.Operations, s.Requests, s.Retries, s.Unanswered)
	fmt.Fprintln(w, "rejected by code:")
	if len(s.Rejected) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, k := range slices.Sorted(maps.Keys(s.Rejected)) {
		fmt.Fprintf(w, "  %-50s %6d\n", k, s.Rejected[k])
	}
	fmt.Fprintln(w, "retries by cause:")
	for _, k := range slices.Sorted(maps.Keys(s.RetryReasons)) {
		fmt.Fprintf(w, "  %-50s %6d\n", k, s.RetryReasons[k])
	}
	var total float64
	for _, v := range s.Commits {
		total += v
	}
	fmt.Fprintf(w, "commit statuses at the gateways: %.0f (MVCC re-endorsements %.0f, resubmissions %.0f)\n", total, s.MVCCRetries, s.Resubmits)
	for _, k := range slices.Sorted(maps.Keys(s.Commits)) {
		fmt.Fprintf(w, "  %-30s %8.0f\n", k, s.Commits[k])
	}
	fmt.Fprintf(w, "orders: %d accepted, %d listed; final statuses %v\n", s.OrdersAccepted, s.OrdersListed, s.OrderStatus)
	fmt.Fprintf(w, "settlements: %v\n", s.Agreements)
	fmt.Fprintf(w, "numbers: %d, completed transfers %d\n", s.Numbers, s.Transfers)
	for _, ch := range slices.Sorted(maps.Keys(s.Audit)) {
		a := s.Audit[ch]
		fmt.Fprintf(w, "ledger audit %-8s: ok=%v accounts %d orders %d trades %d agreements %v htlcs %v mismatches %v\n",
			ch, a.OK, a.Accounts, a.Orders, a.Trades, a.Agreements, a.HTLCs, a.Mismatches)
	}
	fmt.Fprintf(w, "%-16s %18s %18s %18s %s\n", "asset", "deposited", "withdrawn", "held", "ok")
	for _, k := range slices.Sorted(maps.Keys(s.AssetTotals)) {
		x := s.AssetTotals[k]
		fmt.Fprintf(w, "%-16s %18d %18d %18d %v\n", k, x.Deposited, x.Withdrawn, x.Held, x.OK)
	}
	if len(s.Findings) > 0 {
		fmt.Fprintln(w, "findings:")
		for _, f := range s.Findings {
			fmt.Fprintln(w, "  "+f)
		}
	}
	verdict := func(ok bool) string { return map[bool]string{true: "OK", false: "FAIL"}[ok] }
	fmt.Fprintf(w, "(requests: every HTTP request, reads and retries included; accepted/rejected: write operations of the load phase and after)\n")
	fmt.Fprintf(w, "| requests | accepted | rejected | unanswered | retries | invalid txs | lost | duplicated | unexpected | conservation |\n")
	var acc, rej int64
	for k, v := range s.Ops {
		if k != "read" && k != "setup" {
			acc += v.Accepted
			rej += v.Rejected
		}
	}
	var inv float64
	for k, v := range s.Commits {
		if k != "VALID" {
			inv += v
		}
	}
	fmt.Fprintf(w, "| %d | %d | %d | %d | %d | %.0f | %d | %d | %d | %s |\n", s.Requests, acc, rej, s.Unanswered, s.Retries, inv,
		s.Lost, s.Duplicated, s.Unexpected, verdict(s.ConservationOK))
	fmt.Fprintf(w, "RESULT: lost = %d, duplicated = %d, conservation = %s\n", s.Lost, s.Duplicated, verdict(s.ConservationOK))
	if r.o.jsonOut {
		_ = json.NewEncoder(w).Encode(s)
	}
}

// ---- gateway metrics
