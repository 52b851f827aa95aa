package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/fabmarket/fabmarket/internal/fabnet"
)

type fault struct {
	node          string
	down, settle  time.Duration
	resolvedNode  string
	killed, ready time.Time
}

func (r *run) plan() []fault {
	if r.o.faults == "none" {
		return nil
	}
	names := "orderer1,peer0.org3,cc.exchange,gateway.org2,watcher,cc.numbers,orderer-leader"
	if r.o.short {
		names = "orderer1,cc.exchange,gateway.org2"
	}
	if r.o.faults != "" {
		names = r.o.faults
	}
	var out []fault
	for _, n := range strings.Split(names, ",") {
		f := fault{node: strings.TrimSpace(n), down: 8 * time.Second, settle: 15 * time.Second}
		switch {
		case strings.HasPrefix(f.node, "orderer"):
			f.down = 10 * time.Second
		case strings.HasPrefix(f.node, "peer"):
			f.down, f.settle = 12*time.Second, 20*time.Second
		case f.node == "watcher":
			f.down = 5 * time.Second
		}
		if r.o.short {
			f.settle = 10 * time.Second
		}
		out = append(out, f)
	}
	return out
}

// faults kills and restarts the planned nodes one at a time, from 15 s into the load phase,
// as long as a whole cycle fits before its end.
func (r *run) faults(ctx context.Context, loadEnd time.Time) {
	if !fabnet.Sleep(ctx, 15*time.Second) {
		return
	}
	for _, f := range r.plan() {
		if time.Now().Add(f.down + 5*time.Second).After(loadEnd) {
			r.note("skipped %s: the load phase ends", f.node)
			continue
		}
		node := f.node
		if node == "orderer-leader" {
			node = r.raftLeader(ctx)
		}
		t0 := time.Now()
		if err := r.network("kill", node); err != nil {
			r.note("kill %s failed: %v", node, err)
			continue
		}
		fabnet.Sleep(ctx, f.down)
		if err := r.network("start", node); err != nil {
			r.note("start %s failed: %v (retrying)", node, err)
			fabnet.Sleep(ctx, 3*time.Second)
			if err := r.network("start", node); err != nil {
				r.note("start %s failed again: %v", node, err)
			}
		}
		ready := r.waitReady(ctx, node, 90*time.Second)
		r.note("SIGKILL %-15s down %4.1f s, ready again after %4.1f s%s", node, f.down.Seconds(), time.Since(t0).Seconds(),
			map[bool]string{true: "", false: " (NOT READY)"}[ready])
		fabnet.Sleep(ctx, min(f.settle, time.Until(loadEnd)))
	}
}

func (r *run) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	log.Print("fault: " + s)
	r.mu.Lock()
	r.faultLog = append(r.faultLog, time.Now().Format("15:04:05")+" "+s)
	r.mu.Unlock()
}

// network runs scripts/network.sh with the run's environment (FABMARKET_CONF, FABMARKET_RUN).
func (r *run) network(args ...string) error {
	cmd := exec.Command("./scripts/network.sh", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// raftLeader finds the orderer whose operations endpoint reports leading the market channel.
func (r *run) raftLeader(ctx context.Context) string {
	for i := 0; i < 3; i++ {
		addr, err := r.cfg.Addr(fmt.Sprintf("ORDERER%d_OPS", i))
		if err != nil {
			continue
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/metrics", nil)
		resp, err := r.http.Do(req)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		lead := false
		for sc.Scan() {
			l := sc.Text()
			if strings.HasPrefix(l, "consensus_etcdraft_is_leader{") && strings.Contains(l, `channel="market"`) && strings.HasSuffix(l, " 1") {
				lead = true
			}
		}
		resp.Body.Close()
		if lead {
			return fmt.Sprintf("orderer%d", i)
		}
	}
	return "orderer2"
}

// waitReady waits until a restarted node serves: gateways and the watcher answer /readyz or
// /healthz, a peer's gateway reaches it again, orderers and chaincodes accept connections.
func (r *run) waitReady(ctx context.Context, node string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	var probe func() bool
	httpOK := func(url string) bool {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := r.http.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	tcp := func(key string) func() bool {
		return func() bool {
			addr, err := r.cfg.Addr(key)
			if err != nil {
				return true
			}
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				return false
			}
			c.Close()
			return true
		}
	}
	switch {
	case strings.HasPrefix(node, "gateway."):
		org := strings.TrimPrefix(node, "gateway.")
		probe = func() bool { return httpOK(r.gw.Base(org) + "/readyz") }
	case strings.HasPrefix(node, "peer0."):
		org := strings.TrimPrefix(node, "peer0.")
		probe = func() bool { return tcp(strings.ToUpper(org)+"_PEER")() && httpOK(r.gw.Base(org)+"/readyz") }
	case node == "watcher":
		addr, _ := r.cfg.Addr("WATCHER")
		probe = func() bool { return httpOK("http://" + addr + "/healthz") }
	case strings.HasPrefix(node, "orderer"):
		probe = tcp(strings.ToUpper(node))
	case node == "cc.exchange":
		probe = tcp("EXCHANGE_CC")
	case node == "cc.numbers":
		probe = tcp("NUMBERS_CC")
	default:
		return true
	}
	for time.Now().Before(deadline) {
		if probe() {
			return true
		}
		fabnet.Sleep(ctx, 500*time.Millisecond)
	}
	return false
}

// ensureUp starts any node of the plan that is not running (a failed restart).
func (r *run) ensureUp(ctx context.Context) {
	for _, n := range []string{"orderer0", "orderer1", "orderer2", "peer0.org1", "peer0.org2", "peer0.org3", "peer0.regulator",
		"cc.exchange", "cc.numbers", "gateway.org1", "gateway.org2", "gateway.org3", "gateway.regulator", "watcher"} {
		if !r.waitReady(ctx, n, 2*time.Second) {
			r.note("%s not ready after the load phase: starting it", n)
			_ = r.network("start", n)
			r.waitReady(ctx, n, 60*time.Second)
		}
	}
}

// ---- after the load
