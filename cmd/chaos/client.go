package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fabmarket/fabmarket/internal/benchkit"
	"github.com/fabmarket/fabmarket/internal/fabnet"
	"github.com/fabmarket/fabmarket/internal/netconf"
)

type run struct {
	cfg   *netconf.Config
	o     options
	http  *http.Client
	gw    *benchkit.Gateways // the gateways, each with its org's key
	runID string

	hardStop time.Time // no retry after this

	// counters
	requests     atomic.Int64 // HTTP requests sent, retries included
	retries      atomic.Int64 // requests sent again
	ops          atomic.Int64 // logical operations
	unanswered   atomic.Int64
	mu           sync.Mutex
	opStats      map[string]*opStat // by operation
	rejected     map[string]int     // by "op CODE"
	retryReasons map[string]int

	// what the clients saw
	accounts  []string // by client
	orders    map[string]*seenOrder
	ambiguous map[string]bool // account/clientOrderId of orders never answered
	moneyIn   map[string]map[string]int64
	moneyOut  map[string]map[string]int64
	moneyAmb  map[string]bool // account~asset with an unanswered deposit or withdrawal
	agrs      map[string]*seenAgr
	numbers   map[string]*seenNumber

	faultLog []string
	metrics  *scraper
}

type opStat struct {
	Count, Accepted, Rejected, Unanswered, Retries int64
}

type seenOrder struct {
	id, cid, account string
	cancelled        bool
}

type seenAgr struct {
	id, sellerOrg, buyerOrg string
	deadline                time.Time
	settled, refundable     bool
}

type seenNumber struct {
	number, owner string
	completed     int  // confirmed transfers seen answered
	ambiguous     bool // a confirm never answered
}

func newRun(cfg *netconf.Config, o options) (*run, error) {
	r := &run{cfg: cfg, o: o, runID: strconv.FormatInt(time.Now().Unix()%100_000_000, 10),
		http: &http.Client{Timeout: 45 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 4 * o.clients, MaxIdleConnsPerHost: o.clients + 8, IdleConnTimeout: 30 * time.Second}},
		opStats: map[string]*opStat{}, rejected: map[string]int{}, retryReasons: map[string]int{}, orders: map[string]*seenOrder{},
		ambiguous: map[string]bool{}, moneyIn: map[string]map[string]int64{}, moneyOut: map[string]map[string]int64{},
		moneyAmb: map[string]bool{}, agrs: map[string]*seenAgr{}, numbers: map[string]*seenNumber{},
	}
	gw, err := benchkit.Load(cfg, r.http)
	if err != nil {
		return nil, err
	}
	r.gw = gw
	return r, nil
}

// attempt sends one request.
func (r *run) attempt(ctx context.Context, org, method, path string, body []byte, idem string) (int, []byte, error) {
	var h map[string]string
	if idem != "" {
		h = map[string]string{"Idempotency-Key": idem}
	}
	r.requests.Add(1)
	return r.gw.Do(ctx, org, method, path, body, h)
}

// result of one logical request.
type result struct {
	status   int
	raw      []byte
	code     string // error code of a 4xx
	answered bool   // a final answer: 2xx (not 202) or 4xx
}

func (x result) ok() bool { return x.answered && x.status < 300 }

func errCode(raw []byte) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Error.Code != "" {
		return e.Error.Code
	}
	return "UNKNOWN"
}

// send runs one logical request to its answer: again (same body, same keys) after a refused
// connection, a timeout, a 5xx, a 429 or a 202 pending, and after a 404 up to retry404 times
// (a write right after another org's commit may reach a peer that has not seen it yet). It
// gives up only at the run's hard stop: the operation is then unanswered.
func (r *run) send(ctx context.Context, op, org, method, path string, body any, idem string, retry404 int) result {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	st := r.stat(op)
	atomic.AddInt64(&st.Count, 1)
	r.ops.Add(1)
	backoff := 500 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			r.retries.Add(1)
			atomic.AddInt64(&st.Retries, 1)
			if time.Now().Add(backoff).After(r.hardStop) || !fabnet.Sleep(ctx, backoff+time.Duration(rand.Int64N(int64(backoff/2)))) {
				atomic.AddInt64(&st.Unanswered, 1)
				r.unanswered.Add(1)
				return result{}
			}
			backoff = min(2*backoff, 3*time.Second)
		}
		status, out, err := r.attempt(ctx, org, method, path, raw, idem)
		switch {
		case err != nil:
			r.retryWhy("no answer")
			continue
		case status >= 500, status == http.StatusTooManyRequests:
			r.retryWhy(strconv.Itoa(status) + " " + errCode(out))
			continue
		case status == http.StatusAccepted:
			r.retryWhy("202 pending")
			continue
		case status == http.StatusNotFound && retry404 > 0:
			r.retryWhy("404 not yet on the peer")
			retry404--
			continue
		case status < 300:
			atomic.AddInt64(&st.Accepted, 1)
			return result{status: status, raw: out, answered: true}
		default:
			atomic.AddInt64(&st.Rejected, 1)
			code := errCode(out)
			r.mu.Lock()
			r.rejected[op+" "+strconv.Itoa(status)+" "+code]++
			r.mu.Unlock()
			return result{status: status, raw: out, code: code, answered: true}
		}
	}
}

func (r *run) retryWhy(why string) {
	r.mu.Lock()
	r.retryReasons[why]++
	r.mu.Unlock()
}

func (r *run) stat(op string) *opStat {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.opStats[op]
	if s == nil {
		s = &opStat{}
		r.opStats[op] = s
	}
	return s
}

// get is a read with the same retries, for the checks.
func (r *run) get(ctx context.Context, org, path string, out any) error {
	res := r.send(ctx, "read", org, "GET", path, nil, "", 0)
	if !res.answered {
		return fmt.Errorf("GET %s: no answer", path)
	}
	if !res.ok() {
		return fmt.Errorf("GET %s: %d %s", path, res.status, bytes.TrimSpace(res.raw))
	}
	return json.Unmarshal(res.raw, out)
}

// ---- the run

const (
	symPrice = 1000 // 10.00
	usdSetup = 1_000_000_00
)
