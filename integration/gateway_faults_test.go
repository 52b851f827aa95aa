//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGatewayWriteRightAfterOpen opens accounts and deposits into each at once. The deposit is
// endorsed by a second org's peer that may not have committed the account's block yet; the
// gateway must wait for it instead of answering 404.
func TestGatewayWriteRightAfterOpen(t *testing.T) {
	for _, org := range []string{"org1", "org2", "org3"} {
		g := gatewayOf(t, org)
		for i := 0; i < 8; i++ {
			id := uniqueKey("fresh-" + org)
			g.must(201, nil, "POST", "/v1/accounts?wait=commit", fmt.Sprintf(`{"id":%q}`, id))
			g.must(200, nil, "POST", "/v1/accounts/"+id+"/deposits?wait=commit", `{"asset":"USD","amount":"5.00"}`)
			var a restAccount
			g.must(200, &a, "GET", "/v1/accounts/"+id, "")
			if a.Balances["USD"].Available != "5.00" {
				t.Fatalf("%s: balance %+v after one deposit of 5.00", id, a.Balances)
			}
		}
	}
}

// send posts body to g at path with headers and returns the status and body; a transport
// error (the gateway is down) is returned, not fatal.
func send(ctx context.Context, g *rest, path, body string, headers ...string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", g.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+g.key)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := restClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out, nil
}

// ordersOf lists an account's orders and counts them by clientOrderId.
func ordersOf(t *testing.T, g *rest, account string) map[string]int {
	t.Helper()
	var os []restOrder
	g.must(200, &os, "GET", "/v1/orders?account="+account, "")
	n := map[string]int{}
	for _, o := range os {
		n[o.ClientOrderID]++
	}
	return n
}

// TestGatewayOrdererLeaderKillUnderREST places orders through the three telcos' gateways while
// the Raft leader of the market channel is killed and restarted. Clients repeat a request
// (same clientOrderId) until it is answered with a commit, as a real client would after a
// 5xx or a pending answer: in the end every order exists exactly once.
func TestGatewayOrdererLeaderKillUnderREST(t *testing.T) {
	e := network(t)
	reg := gatewayOf(t, "regulator")
	sym := newSymbol(t, reg)
	type client struct {
		g       *rest
		account string
		sent    []string
	}
	var clients []*client
	for _, org := range []string{"org1", "org2", "org3", "org1", "org2", "org3"} {
		g := gatewayOf(t, org)
		c := &client{g: g, account: openFunded(t, g, sym, "100000.00", "")}
		clients = append(clients, c)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var committed, retried atomic.Int64
	var wg sync.WaitGroup
	for ci, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				cid := fmt.Sprintf("k%d-%d", ci, n)
				c.sent = append(c.sent, cid)
				body := limitOrder(cid, c.account, sym, "BUY", "1", "1.00")
				for {
					// Not bound to ctx: a request once sent is followed to its commit.
					status, out, err := send(context.Background(), c.g, "/v1/orders?wait=commit", body)
					if err == nil && status == 201 {
						committed.Add(1)
						break
					}
					if err == nil && status < 500 && status != 202 {
						t.Errorf("order %s: %d %s", cid, status, out)
						return
					}
					retried.Add(1)
					time.Sleep(500 * time.Millisecond)
				}
			}
		}()
	}
	waitFor(t, 60*time.Second, "orders before the kill", func() bool { return committed.Load() >= 30 })
	victim := e.leader("market")
	if victim < 0 {
		t.Fatal("no Raft leader on market")
	}
	node := fmt.Sprintf("orderer%d", victim)
	e.script(t, "kill", node)
	before := committed.Load()
	waitFor(t, 90*time.Second, "orders with the leader down", func() bool { return committed.Load() >= before+30 })
	e.script(t, "start", node)
	waitFor(t, 60*time.Second, node+" back", func() bool {
		return e.ordererMetric(victim, "ledger_blockchain_height", "market") > 0
	})
	after := committed.Load()
	waitFor(t, 60*time.Second, "orders after the restart", func() bool { return committed.Load() >= after+20 })
	stop()
	wg.Wait()
	total := 0
	for _, c := range clients {
		got := ordersOf(t, c.g, c.account)
		for _, cid := range c.sent {
			if got[cid] != 1 {
				t.Errorf("account %s: order %s listed %d times, want once", c.account, cid, got[cid])
			}
		}
		if len(got) != len(c.sent) {
			t.Errorf("account %s: %d orders listed, %d sent", c.account, len(got), len(c.sent))
		}
		total += len(c.sent)
	}
	t.Logf("%d orders, %d committed answers, %d repeated requests; leader %s killed and restarted; each order listed exactly once",
		total, committed.Load(), retried.Load(), node)
}

// TestGatewayKilledMidRequest kills a gateway (SIGKILL) while an order with an
// Idempotency-Key is in flight, restarts it and repeats the request: the answer names one
// transaction and the order exists exactly once, whatever phase the kill hit.
func TestGatewayKilledMidRequest(t *testing.T) {
	e := network(t)
	reg := gatewayOf(t, "regulator")
	sym := newSymbol(t, reg)
	g := gatewayOf(t, "org3")
	acct := openFunded(t, g, sym, "1000.00", "")
	for _, delay := range []time.Duration{20 * time.Millisecond, 120 * time.Millisecond, 400 * time.Millisecond} {
		cid := uniqueKey("mid")
		key := "idem-" + cid
		body := limitOrder(cid, acct, sym, "BUY", "1", "2.00")
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _, _ = send(context.Background(), g, "/v1/orders?wait=commit", body, "Idempotency-Key", key)
		}()
		time.Sleep(delay)
		e.script(t, "kill", "gateway.org3")
		<-done
		e.script(t, "start", "gateway.org3")
		g = gatewayOf(t, "org3")
		var first, again restOrder
		var status int
		var out []byte
		waitFor(t, 60*time.Second, "the repeated request to commit", func() bool {
			s, o, err := send(context.Background(), g, "/v1/orders?wait=commit", body, "Idempotency-Key", key)
			status, out = s, o
			return err == nil && (s == 200 || s == 201)
		})
		if err := json.Unmarshal(out, &first); err != nil || first.OrderID == "" || first.TxID == "" {
			t.Fatalf("kill after %v: repeated request = %d %s", delay, status, out)
		}
		// A replay answers as the original did (201: the order exists).
		g.must(201, &again, "POST", "/v1/orders?wait=commit", body, "Idempotency-Key", key)
		if again.TxID != first.TxID || again.OrderID != first.OrderID {
			t.Fatalf("kill after %v: a third request names another transaction: %+v then %+v", delay, first, again)
		}
		// The same order without the key, after the restart: the gateway has no record of
		// the clientOrderId; the chaincode answers with the order (its id is its transaction's).
		var byCID restOrder
		g.must(201, &byCID, "POST", "/v1/orders?wait=commit", body)
		if byCID.OrderID != first.OrderID || byCID.TxID != first.OrderID {
			t.Fatalf("kill after %v: the clientOrderId repeated without the key names order %s tx %s, want %s",
				delay, byCID.OrderID, byCID.TxID, first.OrderID)
		}
		if n := ordersOf(t, g, acct)[cid]; n != 1 {
			t.Fatalf("kill after %v: order %s listed %d times, want once", delay, cid, n)
		}
		t.Logf("kill after %v: answered %d, order %s in tx %s, listed once", delay, status, first.OrderID, first.TxID[:12])
	}
}
