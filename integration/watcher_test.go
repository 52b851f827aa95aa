//go:build integration

package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
		WebhookSecret: secret, Feed: "on", Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
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
