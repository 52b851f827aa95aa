//go:build integration

package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/internal/fabnet"
	"github.com/fabmarket/fabmarket/internal/netconf"
	"github.com/hyperledger/fabric-gateway/pkg/client"
)

// env is the running network as the tests see it.
type env struct {
	cfg  *netconf.Config
	repo string
	mu   sync.Mutex
	gws  map[string]*client.Gateway
}

var (
	netEnv  *env
	envOnce sync.Once
	envErr  error
)

// network returns the shared handle on the running network, or fails the test.
func network(t testing.TB) *env {
	t.Helper()
	envOnce.Do(func() {
		cfg, err := netconf.LoadRepo(".")
		if err != nil {
			envErr = err
			return
		}
		repo, _ := filepath.Abs("..")
		netEnv = &env{cfg: cfg, repo: repo, gws: map[string]*client.Gateway{}}
	})
	if envErr != nil {
		t.Fatalf("network config: %v", envErr)
	}
	return netEnv
}

// gateway returns a fabric-gateway connection as org's User1, shared by the tests.
func (e *env) gateway(t testing.TB, org string) *client.Gateway {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if gw, ok := e.gws[org]; ok {
		return gw
	}
	gw, _, err := fabnet.ConnectOrg(e.cfg, org, "User1")
	if err != nil {
		t.Fatalf("connect %s: %v", org, err)
	}
	e.gws[org] = gw
	return gw
}

// script runs scripts/network.sh with args and fails the test on error.
func (e *env) script(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(e.repo, "scripts", "network.sh"), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("network.sh %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// ordererMetric reads one per-channel gauge from orderer i's operations endpoint; -1 if the
// orderer does not answer.
func (e *env) ordererMetric(i int, metric, channel string) int64 {
	host, _ := e.cfg.Get(fmt.Sprintf("ORDERER%d_HOST", i))
	port, _ := e.cfg.Get(fmt.Sprintf("ORDERER%d_OPS_PORT", i))
	return scrape("http://"+host+":"+port+"/metrics", metric, channel)
}

func (e *env) peerHeight(org, channel string) int64 {
	p, err := e.cfg.Peer(org)
	if err != nil {
		return -1
	}
	return scrape("http://"+p.OpsAddr+"/metrics", "ledger_blockchain_height", channel)
}

var httpc = &http.Client{Timeout: 2 * time.Second}

func scrape(url, metric, channel string) int64 {
	resp, err := httpc.Get(url)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return -1
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(metric) + `\{channel="` + regexp.QuoteMeta(channel) + `"\} ([0-9.e+]+)`)
	m := re.FindSubmatch(body)
	if m == nil {
		return -1
	}
	f, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return -1
	}
	return int64(f)
}

// leader returns the index of the Raft leader of channel, or -1 when there is none.
func (e *env) leader(channel string) int {
	for i := 0; i < 3; i++ {
		if e.ordererMetric(i, "consensus_etcdraft_is_leader", channel) == 1 {
			return i
		}
	}
	return -1
}

// waitFor polls cond every 200 ms until it is true or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// uniqueKey returns a key no other test run uses.
func uniqueKey(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), time.Now().UnixNano())
}

// ownProcess builds the command of package pkg (such as "./watcher/cmd/watcher") into dir for a
// test that runs a process of its own beside the network's, and picks a free loopback address
// for it. It returns the binary, the address and the network.conf the tests run against.
func (e *env) ownProcess(t testing.TB, dir, pkg string) (bin, addr, conf string) {
	t.Helper()
	bin = filepath.Join(dir, filepath.Base(pkg))
	build := exec.Command("go", "build", "-o", bin, pkg)
	build.Dir = e.repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	if conf = os.Getenv("FABMARKET_CONF"); conf == "" {
		conf = filepath.Join(e.repo, "network", "network.conf")
	}
	return bin, addr, conf
}
