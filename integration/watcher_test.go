//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/watcher/app"
	"github.com/fabmarket/fabmarket/watcher/notify"
	"github.com/fabmarket/fabmarket/watcher/smtptest"
)

// TestWatcherLedgerMove: trades made on the real network move a new instrument's price 6%;
// a watcher reading the exchange chaincode's Match events (its own instance, with a test SMTP
// server and a webhook receiver) notifies the subscribed user exactly once by webhook
// (signature verified) and e-mail, and on the SSE stream.
func TestWatcherLedgerMove(t *testing.T) {
	e := network(t)
	const secret = "integration-webhook-secret"
	var mu sync.Mutex
	hooks := map[string]int{}
	got := make(chan map[string]any, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !notify.Verify([]byte(secret), body, r.Header.Get(notify.SignatureHeader)) {
			t.Errorf("bad signature on %s", body)
			w.WriteHeader(401)
			return
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		mu.Lock()
		hooks[m["id"].(string)]++
		mu.Unlock()
		got <- m
	}))
	defer hook.Close()
	mail, err := smtptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer mail.Close()

	dir := t.TempDir()
	conf := os.Getenv("FABMARKET_CONF") // a second network on other ports, as in netconf.LoadRepo
	if conf == "" {
		conf = filepath.Join(e.repo, "network", "network.conf")
	}
	cfg := app.Config{NetworkConf: conf, RunDir: e.cfg.RunDir(), DataDir: dir,
		KeysFile: filepath.Join(dir, "apikeys.json"), Listen: "127.0.0.1:0", NATSListen: "none", SMTPAddr: mail.Addr(),
		WebhookSecret: secret, WebhookAllowPrivate: true, Feed: "on", Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := app.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	go w.Run(ctx)
	raw, _ := os.ReadFile(cfg.KeysFile)
	var keys map[string]string
	json.Unmarshal(raw, &keys)
	call := func(method, path, body string) (int, []byte) {
		req, _ := http.NewRequest(method, "http://"+w.Addr()+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+keys["org1"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	reg := exchangeAs(t, e, "regulator", "market")
	o1 := exchangeAs(t, e, "org1", "market")
	o2 := exchangeAs(t, e, "org2", "market")
	sym := runSymbol("WAT")
	reg.submit("ListInstrument", sym, "USD", "0.01", "1", "FIFO")
	if code, b := call("POST", "/v1/subscriptions", `{"user":"alice","symbol":"`+sym+`","windows":["1d"],"channels":[{"type":"webhook","url":"`+hook.URL+`"},{"type":"email","to":"alice@example.com"}]}`); code != 201 {
		t.Fatalf("subscribe: %d %s", code, b)
	}
	req, _ := http.NewRequest("GET", "http://"+w.Addr()+"/v1/alerts/stream?user=alice", nil)
	req.Header.Set("Authorization", "Bearer "+keys["org1"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sse := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				sse <- d
			}
		}
	}()

	run := uniqueKey("wat")
	seller, buyer := run+"-s", run+"-b"
	o2.submit("OpenAccount", seller)
	o2.submit("Deposit", seller, sym, "10")
	o1.submit("OpenAccount", buyer)
	o1.submit("Deposit", buyer, "USD", "10000000")
	trade := func(px int64) {
		o2.submit("SubmitOrder", orderJSON(seller, sym, "SELL", px, 1))
		o1.submit("SubmitOrder", orderJSON(buyer, sym, "BUY", px, 1))
		matchUntil(t, o1, sym, fmt.Sprint("a trade at ", px), func() bool {
			return unmarshal[xBook](t, o1.eval("GetBook", sym, "1")).LastPrice == px
		})
	}
	trade(10000) // 100.00
	trade(10600) // 106.00: +6% within the day

	var m map[string]any
	select {
	case m = <-got:
	case <-time.After(60 * time.Second):
		t.Fatal("no webhook for the 6% move")
	}
	if m["symbol"] != sym || m["changePercent"] != "6.00" || m["price"] != "106.00" || m["referencePrice"] != "100.00" || m["window"] != "1d" {
		t.Fatalf("webhook %v", m)
	}
	id := m["id"].(string)
	select {
	case mm := <-mail.Received():
		if !strings.Contains(mm.Data, id) {
			t.Fatalf("mail %q", mm.Data)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no e-mail")
	}
	select {
	case d := <-sse:
		if !strings.Contains(d, id) {
			t.Fatalf("stream %s", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing on the stream")
	}
	time.Sleep(2 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(hooks) != 1 || hooks[id] != 1 || len(mail.Mails()) != 1 {
		t.Fatalf("webhooks %v, mails %d: want exactly one each", hooks, len(mail.Mails()))
	}
}

// syncBuffer collects a child process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWatcherCrashLedger: a watcher process of the test's own (the binary built from
// watcher/cmd/watcher, its own data directory and port, the ledger feed on the real network)
// is killed with SIGKILL while the webhook of an alert fired by real trades is in flight —
// after the queue, before the delivery is recorded — and restarted: the alert is acknowledged
// by the receiver exactly once, and a further kill and restart neither sends it again nor
// fires it again from the replayed ledger.
func TestWatcherCrashLedger(t *testing.T) {
	e := network(t)
	const secret = "integration-crash-secret"
	var mu sync.Mutex
	acked := map[string]int{}
	var hold chan struct{}
	received := make(chan string, 10)
	aborted := make(chan struct{}, 10) // a held request ended because its sender died
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !notify.Verify([]byte(secret), body, r.Header.Get(notify.SignatureHeader)) {
			t.Errorf("bad signature on %s", body)
			w.WriteHeader(401)
			return
		}
		var m struct{ ID string }
		json.Unmarshal(body, &m)
		received <- m.ID
		mu.Lock()
		h := hold
		mu.Unlock()
		if h != nil {
			select {
			case <-h:
			case <-r.Context().Done():
				aborted <- struct{}{}
				return // the watcher died mid-request: not acknowledged
			}
		}
		mu.Lock()
		acked[m.ID]++
		mu.Unlock()
	}))
	defer hook.Close()

	dir := t.TempDir()
	bin, addr, conf := e.ownProcess(t, dir, "./watcher/cmd/watcher")
	keysFile := filepath.Join(dir, "apikeys.json")
	var cmd *exec.Cmd
	var logs *syncBuffer
	start := func() {
		logs = &syncBuffer{}
		cmd = exec.Command(bin, "--network-conf", conf, "--run-dir", e.cfg.RunDir(), "--data-dir", filepath.Join(dir, "data"),
			"--api-keys", keysFile, "--listen", addr, "--nats-listen", "none", "--feed", "on", "--webhook-secret", secret, "--webhook-allow-private",
			"--queue-ack-wait", "3s", "--log-level", "warn")
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("watcher not up on %s: %s", addr, logs)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	kill := func() {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	start()
	defer func() { kill() }()
	raw, _ := os.ReadFile(keysFile)
	var keys map[string]string
	json.Unmarshal(raw, &keys)
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+keys["org1"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	reg := exchangeAs(t, e, "regulator", "market")
	o1 := exchangeAs(t, e, "org1", "market")
	o2 := exchangeAs(t, e, "org2", "market")
	sym := runSymbol("WCR")
	reg.submit("ListInstrument", sym, "USD", "0.01", "1", "FIFO")
	if code, b := call("POST", "/v1/subscriptions", `{"user":"bob","symbol":"`+sym+`","windows":["1d"],"channels":[{"type":"webhook","url":"`+hook.URL+`"}]}`); code != 201 {
		t.Fatalf("subscribe: %d %s", code, b)
	}
	run := uniqueKey("wcr")
	seller, buyer := run+"-s", run+"-b"
	o2.submit("OpenAccount", seller)
	o2.submit("Deposit", seller, sym, "10")
	o1.submit("OpenAccount", buyer)
	o1.submit("Deposit", buyer, "USD", "10000000")
	trade := func(px int64) {
		o2.submit("SubmitOrder", orderJSON(seller, sym, "SELL", px, 1))
		o1.submit("SubmitOrder", orderJSON(buyer, sym, "BUY", px, 1))
		matchUntil(t, o1, sym, fmt.Sprint("a trade at ", px), func() bool {
			return unmarshal[xBook](t, o1.eval("GetBook", sym, "1")).LastPrice == px
		})
	}
	mu.Lock()
	hold = make(chan struct{})
	mu.Unlock()
	trade(10000)
	trade(10700) // +7%: the alert's webhook is held in flight
	var id string
	select {
	case id = <-received:
	case <-time.After(90 * time.Second):
		t.Fatalf("no webhook for the 7%% move: %s", logs)
	}
	kill()
	// Release the hold only once the receiver has seen the sender die: released earlier, the
	// held request could still be acknowledged, and its redelivery counted a second time.
	select {
	case <-aborted:
	case <-time.After(30 * time.Second):
		t.Fatal("the held webhook request did not end when the watcher was killed")
	}
	mu.Lock()
	close(hold)
	hold = nil
	mu.Unlock()
	start()
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := acked[id]
		mu.Unlock()
		code, body := call("GET", "/v1/notifications/"+id, "")
		if n > 0 && code == 200 && strings.Contains(body, `"state":"delivered"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: acknowledged %d, notification %d %s\n%s", n, code, body, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	kill()
	start()
	time.Sleep(3 * time.Second) // the feed resumes from its checkpoint; nothing fires or is sent again
	mu.Lock()
	defer mu.Unlock()
	if len(acked) != 1 || acked[id] != 1 {
		t.Fatalf("acknowledged %v: want %s exactly once", acked, id)
	}
	if code, body := call("GET", "/v1/alerts?user=bob", ""); code != 200 || strings.Count(body, `"id":"n_`) != 1 {
		t.Fatalf("alerts: %d %s", code, body)
	}
}
