//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The web console (gateway/console) in headless Chromium against the running network: the
// market screen with a crossing order that trades live, a number transfer through the numbers
// screens of two telcos and the Regulator, the other screens at both viewports. Any error in a
// page's console fails the test. Screenshots go to <run dir>/artifacts/console/.
//
// Chromium: scripts/lib/chromium.sh (chromium_ensure) installs Debian's package; the binary is
// $FABMARKET_CHROMIUM, else /usr/bin/chromium.

// Viewports of the screenshots.
var (
	desktop = [2]int64{1280, 800}
	phone   = [2]int64{390, 844}
)

// browser is one headless Chromium for a test.
type browser struct {
	t      *testing.T
	alloc  context.Context
	root   context.Context
	mu     sync.Mutex
	errs   []string
	allow  []string // network errors expected by the test (URL substrings)
	shots  string
	cancel []context.CancelFunc
	// dropped counts CDP events the library could not decode, by message.
	dropped map[string]int
	profile string
}

func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("FABMARKET_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium: run `source scripts/lib/chromium.sh && chromium_ensure` (installs Debian's chromium) or set FABMARKET_CHROMIUM")
	return ""
}

func newBrowser(t *testing.T) *browser {
	e := network(t)
	run := os.Getenv("FABMARKET_RUN")
	if run == "" {
		run = e.cfg.RunDir()
	}
	shots := filepath.Join(run, "artifacts", "console")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	// A fresh profile per run, removed after the browser is gone (t.TempDir's cleanup could
	// race the browser's last writes).
	profile, err := os.MkdirTemp("", "fabmarket-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox, // as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(int(desktop[0]), int(desktop[1])),
	}
	b := &browser{t: t, shots: shots, dropped: map[string]int{}, profile: profile}
	var c1, c2 context.CancelFunc
	b.alloc, c1 = chromedp.NewExecAllocator(context.Background(), opts...)
	b.root, c2 = chromedp.NewContext(b.alloc, chromedp.WithLogf(t.Logf), chromedp.WithErrorf(func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		// The CDP library predates this Chromium: events with enum values it does not know
		// are dropped (none that the test relies on).
		if strings.Contains(msg, "could not unmarshal event") {
			b.mu.Lock()
			b.dropped[msg]++
			b.mu.Unlock()
			return
		}
		t.Logf("chromedp: %s", msg)
	}))
	b.cancel = append(b.cancel, c2, c1)
	if err := chromedp.Run(b.root); err != nil { // starts the browser
		t.Fatalf("start %s: %v", chromiumPath(t), err)
	}
	t.Cleanup(b.close)
	return b
}

func (b *browser) close() {
	b.mu.Lock()
	for msg, n := range b.dropped {
		b.t.Logf("chromedp dropped %d events: %s", n, msg)
	}
	b.mu.Unlock()
	if err := chromedp.Cancel(b.root); err != nil { // closes the browser, waits for it
		b.t.Logf("closing the browser: %v", err)
	}
	for _, c := range b.cancel {
		c()
	}
	for i := 0; i < 20; i++ {
		err := os.RemoveAll(b.profile)
		time.Sleep(250 * time.Millisecond)
		if _, serr := os.Stat(b.profile); err == nil && os.IsNotExist(serr) {
			return
		}
	}
	b.t.Logf("could not remove the browser profile %s", b.profile)
}

// expect allows network errors (4xx answers the test provokes) on URLs containing substr.
func (b *browser) expect(substr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.allow = append(b.allow, substr)
}

func (b *browser) record(tab, msg, url, source string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if source == "network" {
		for _, a := range b.allow {
			if strings.Contains(url, a) {
				b.t.Logf("%s: expected network error: %s %s", tab, msg, url)
				return
			}
		}
	}
	b.errs = append(b.errs, fmt.Sprintf("%s: [%s] %s %s", tab, source, msg, url))
}

// checkConsole fails the test on any console error so far.
func (b *browser) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errs) > 0 {
		b.t.Fatalf("browser console errors:\n%s", strings.Join(b.errs, "\n"))
	}
}

// tab is one page of the browser, on one gateway's console.
type tab struct {
	b    *browser
	t    *testing.T
	name string
	ctx  context.Context
	base string
}

// tab opens a page (a new target) for org's console and signs in with org's key.
func (b *browser) tab(org string) *tab {
	b.t.Helper()
	g := gatewayOf(b.t, org)
	ctx, cancel := chromedp.NewContext(b.root)
	b.cancel = append([]context.CancelFunc{cancel}, b.cancel...)
	tb := &tab{b: b, t: b.t, name: org, ctx: ctx, base: g.base}
	// The first Run creates the page; it must not get a context that ends before the test.
	if err := chromedp.Run(ctx); err != nil {
		b.t.Fatalf("%s: new page: %v", org, err)
	}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeAssert {
				var parts []string
				for _, a := range ev.Args {
					if len(a.Value) > 0 {
						parts = append(parts, string(a.Value))
					} else {
						parts = append(parts, a.Description)
					}
				}
				b.record(org, "console."+string(ev.Type)+": "+strings.Join(parts, " "), "", "console")
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			b.record(org, "exception: "+msg, d.URL, "javascript")
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.LevelError {
				b.record(org, ev.Entry.Text, ev.Entry.URL, string(ev.Entry.Source))
			}
		}
	})
	tb.run(cdplog.Enable(), runtime.Enable(), chromedp.EmulateViewport(desktop[0], desktop[1]),
		chromedp.Navigate(g.base+"/"),
		chromedp.WaitVisible("#apikey", chromedp.ByID),
		chromedp.SendKeys("#apikey", g.key, chromedp.ByID),
		chromedp.Click("#signin-form button[type=submit]", chromedp.ByQuery),
		chromedp.WaitVisible("#nav", chromedp.ByID))
	tb.until("the live stream", `document.getElementById('live').classList.contains('on')`)
	return tb
}

func (tb *tab) run(actions ...chromedp.Action) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", tb.name, err)
	}
}

// until evaluates the JavaScript expression js every 200 ms until it is true (60 s at most).
func (tb *tab) until(what, js string) {
	tb.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var ok bool
		ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
		err := chromedp.Run(ctx, chromedp.Evaluate(`!!(`+js+`)`, &ok))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var status string
			ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
			_ = chromedp.Run(ctx, chromedp.Evaluate(`[...document.querySelectorAll('.form-status, .error, .notice')].map(e => e.textContent).join(' | ')`, &status))
			cancel()
			tb.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
			tb.t.Fatalf("%s: timed out waiting for %s (%v); messages on the page: %s", tb.name, what, err, status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// text returns the text of the first element matching the CSS selector ("" if none).
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	var s string
	tb.run(chromedp.Evaluate(fmt.Sprintf(`(document.querySelector(%q)||{}).textContent||''`, sel), &s))
	return s
}

// goTo changes the console's route (no reload).
func (tb *tab) goTo(hash string) {
	tb.t.Helper()
	tb.run(chromedp.Evaluate(fmt.Sprintf(`location.hash = %q`, hash), nil))
}

// fill types value into the empty control matching the CSS selector sel.
func (tb *tab) fill(sel, value string) {
	tb.t.Helper()
	tb.setJS(sel, "")
	tb.run(chromedp.SendKeys(sel, value, chromedp.ByQuery))
}

// set sets the value of a select, date or other control and fires its input and change
// events, as a user's choice would.
func (tb *tab) set(sel, value string) {
	tb.t.Helper()
	if got := tb.setJS(sel, value); got != value {
		tb.t.Fatalf("%s: %s has value %q after setting %q", tb.name, sel, got, value)
	}
}

func (tb *tab) setJS(sel, value string) string {
	tb.t.Helper()
	var got string
	tb.run(chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Evaluate(fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		el.value = %q;
		el.dispatchEvent(new Event('input', {bubbles: true}));
		el.dispatchEvent(new Event('change', {bubbles: true}));
		return el.value;
	})()`, sel, value), &got))
	return got
}

func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.run(chromedp.Click(sel, chromedp.ByQuery, chromedp.NodeVisible))
}

// shot saves a full-page screenshot at the current viewport.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	var png []byte
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	// A page in a background tab draws no frames, and a screenshot waits for one.
	if err := chromedp.Run(ctx, page.BringToFront(), chromedp.FullScreenshot(&png, 100)); err != nil {
		tb.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(tb.b.shots, fmt.Sprintf("%s-%s.png", tb.name, name))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot %s", p)
}

// shots saves the current screen at both viewports, then returns to the desktop one.
func (tb *tab) shots(name string) {
	tb.t.Helper()
	tb.shot(fmt.Sprintf("%s-%dx%d", name, desktop[0], desktop[1]))
	tb.run(chromedp.EmulateViewport(phone[0], phone[1], chromedp.EmulateMobile))
	tb.until("the phone layout", fmt.Sprintf(`window.innerWidth === %d && matchMedia('(max-width: 760px)').matches`, phone[0]))
	time.Sleep(300 * time.Millisecond) // layout
	tb.checkNoOverflow(name)
	tb.shot(fmt.Sprintf("%s-%dx%d", name, phone[0], phone[1]))
	tb.run(chromedp.EmulateViewport(desktop[0], desktop[1]))
	tb.until("the desktop layout", fmt.Sprintf(`window.innerWidth === %d`, desktop[0]))
}

// checkNoOverflow fails when the page is wider than a phone's viewport (tables scroll inside
// their own boxes).
func (tb *tab) checkNoOverflow(name string) {
	tb.t.Helper()
	var w int
	tb.run(chromedp.Evaluate(`document.documentElement.scrollWidth`, &w))
	if w > int(phone[0])+1 {
		tb.t.Errorf("%s at %dpx: page is %dpx wide", name, phone[0], w)
	}
}

func TestConsoleMarketAndNumberTransfer(t *testing.T) {
	org1, org2, reg := gatewayOf(t, "org1"), gatewayOf(t, "org2"), gatewayOf(t, "regulator")
	sym := newSymbol(t, reg)

	// Org2's resting orders, through REST: an ask of 100 @ 20.30 and a bid of 50 @ 20.00.
	seller := openFunded(t, org2, sym, "", "500")
	bidder := openFunded(t, org2, sym, "5000.00", "")
	org2.must(201, nil, "POST", "/v1/orders?wait=commit", limitOrder("ask-1", seller, sym, "SELL", "100", "20.30"))
	org2.must(201, nil, "POST", "/v1/orders?wait=commit", limitOrder("bid-1", bidder, sym, "BUY", "50", "20.00"))
	var bk restBook
	waitFor(t, 30*time.Second, "the resting orders", func() bool {
		org1.must(200, &bk, "GET", "/v1/orderbook/"+sym, "")
		return len(bk.Asks) == 1 && len(bk.Bids) == 1
	})

	b := newBrowser(t)
	t1 := b.tab("org1")

	// Accounts: open an account and deposit cash through the console.
	acct := uniqueKey("web")
	t1.goTo("#/accounts")
	t1.until("the accounts screen", `document.getElementById('open-account-id')`)
	t1.fill("#open-account-id", acct)
	t1.click("#open-account-form button[type=submit]")
	t1.until("the new account", fmt.Sprintf(`document.querySelector('section[data-account=%q]')`, acct))
	t1.until("the deposit form", `document.getElementById('move-amount')`)
	t1.set("#move-account", acct)
	t1.set("#move-asset", "USD")
	t1.fill("#move-amount", "10000.00")
	t1.click("#deposit-button")
	t1.until("the balance", fmt.Sprintf(`(document.querySelector('section[data-account=%q] tr[data-asset=USD]')||{}).textContent === 'USD10000.000.00'`, acct))
	t1.shots("accounts")

	// Market: the ladder shows org2's orders.
	t1.goTo("#/market/" + sym)
	t1.until("the ladder", `document.querySelector('#ladder-table tr.ask[data-price="20.30"]') && document.querySelector('#ladder-table tr.bid[data-price="20.00"]')`)
	if got := t1.text(`#ladder-table tr.ask[data-price="20.30"] td.qty`); got != "100" {
		t.Fatalf("ask 20.30 shows %q; want 100", got)
	}
	t1.until("the ticket", `document.getElementById('ticket-account')`)
	t1.set("#ticket-account", acct)

	// An off-tick price: the API's message is shown under the ticket, the field is marked.
	b.expect("/v1/orders")
	t1.fill("#ticket-qty", "40")
	t1.fill("#ticket-price", "20.305")
	t1.click("#ticket-submit")
	t1.until("the validation message", `document.querySelector('#ticket-form .form-status.error')`)
	msg := t1.text("#ticket-form .form-status")
	var invalid bool
	t1.run(chromedp.Evaluate(`document.getElementById('ticket-price').getAttribute('aria-invalid') === 'true'`, &invalid))
	if !strings.Contains(msg, "INVALID_TICK") || !strings.Contains(msg, "price") || !invalid {
		t.Fatalf("validation message %q (price marked invalid: %v)", msg, invalid)
	}
	t1.shot("ticket-error-1280x800")

	// The crossing buy: 40 @ 20.30 against the ask of 100. No reload from here on: the trade and
	// the new ask quantity arrive through the stream.
	var marker bool
	t1.run(chromedp.Evaluate(`window.__noReload = true`, &marker))
	t1.fill("#ticket-price", "20.30")
	t1.click("#ticket-submit")
	t1.until("the order accepted", `document.querySelector('#ticket-form .form-status.ok')`)
	t1.until("the trade in the trades list", `[...document.querySelectorAll('#trades-table tbody tr')].some(r => r.cells[1].textContent === '20.30' && r.cells[2].textContent === '40')`)
	t1.until("the ladder to change", `(document.querySelector('#ladder-table tr.ask[data-price="20.30"] td.qty')||{}).textContent === '60'`)
	t1.run(chromedp.Evaluate(`window.__noReload === true`, &marker))
	if !marker {
		t.Fatal("the page reloaded")
	}
	// The price chart has the trade; the order is no longer open; the REST view agrees.
	if lbl := t1.attr("#price-chart", "aria-label"); !strings.Contains(lbl, "1 trades") || !strings.Contains(lbl, "last 20.30") {
		t.Errorf("price chart label %q", lbl)
	}
	t1.until("the filled order gone from open orders", `!document.querySelector('#orders-table') || ![...document.querySelectorAll('#orders-table tbody tr')].length`)
	var a restAccount
	org1.must(200, &a, "GET", "/v1/accounts/"+acct, "")
	if a.Balances[sym].Available != "40" || a.Balances["USD"].Available != "9188.00" {
		t.Fatalf("buyer balances after the trade = %+v", a.Balances)
	}
	t1.shots("market")
	b.checkConsole()

	// A number transfer: org1 owns it; org2 requests it on its console, the Regulator sees the
	// open request, org1 confirms on its console.
	num := restAllocate(t, reg, "Org1MSP")
	t2 := b.tab("org2")
	t2.goTo("#/numbers/" + url.PathEscape(num))
	t2.until("the request form", `document.getElementById('request-form')`)
	if owner := t2.text("#number-owner"); owner != "Org1MSP" {
		t.Fatalf("owner shown %q", owner)
	}
	t2.fill("#customer-name", "Erika Mustermann")
	t2.set("#customer-dob", "1980-02-29")
	t2.fill("#customer-address", "Hauptstr. 1, Berlin")
	t2.run(chromedp.Evaluate(`document.querySelector('#request-form details').open = true`, nil))
	t2.set("#contract-text", "contract of Erika Mustermann")
	t2.click("#request-form details button")
	if h := t2.value("#contract-hash"); len(h) != 64 {
		t.Fatalf("contract hash %q", h)
	}
	t2.click("#request-form button[type=submit]")
	t2.until("the open transfer", `(document.getElementById('transfer-status')||{}).textContent === 'OPEN'`)
	t2.until("the cancel action", `document.getElementById('cancel-transfer')`)
	t2.shots("numbers-requested")
	numbersSynced(t)

	tr := b.tab("regulator")
	tr.goTo("#/numbers")
	tr.until("the open request in the Regulator's list", fmt.Sprintf(`document.querySelector('#queue-table tr[data-number=%q]')`, num))
	tr.shots("numbers-queue")

	t1.goTo("#/numbers/" + url.PathEscape(num))
	t1.until("the confirm action", `document.getElementById('confirm-transfer')`)
	t1.click("#confirm-transfer button[type=submit]")
	t1.until("the new owner", `(document.getElementById('number-owner')||{}).textContent === 'Org2MSP'`)
	t1.until("the history timeline", `document.querySelectorAll('#history-timeline li').length >= 3`)
	timeline := t1.text("#history-timeline")
	if !strings.Contains(timeline, "COMPLETED") {
		t.Errorf("timeline %q lacks the completed transfer", timeline)
	}
	t1.shots("numbers-confirmed")
	numbersSynced(t)
	var v restNumber
	org2.must(200, &v, "GET", "/v1/numbers/"+num, "")
	if v.Owner != "Org2MSP" || v.PreviousOwner != "Org1MSP" {
		t.Fatalf("number after the console's confirm = %+v", v)
	}

	// The other screens render at both viewports: settlements, alerts (with a subscription
	// made and removed through the watcher proxy).
	t1.goTo("#/settlements")
	t1.until("the settlements screen", `document.querySelector('#agreements > *') && document.querySelector('#swaps > *')`)
	t1.shots("settlements")
	t1.goTo("#/alerts")
	t1.until("the subscribe form", `document.getElementById('sub-symbol')`)
	t1.fill("#sub-symbol", sym)
	t1.fill("#sub-thresholds", "5, 10")
	t1.click("#subscribe-form button[type=submit]")
	t1.until("the subscription", fmt.Sprintf(`[...document.querySelectorAll('#subscriptions-table tbody tr')].some(r => r.cells[0].textContent === %q)`, sym))
	t1.shots("alerts")
	var subs struct {
		Subscriptions []struct{ ID, Symbol string } `json:"subscriptions"`
	}
	watcherGet(t, org1, "/v1/subscriptions?user=org1", &subs)
	found := ""
	for _, s := range subs.Subscriptions {
		if s.Symbol == sym {
			found = s.ID
		}
	}
	if found == "" {
		t.Fatalf("subscription to %s not in the watcher: %+v", sym, subs)
	}
	t1.click(fmt.Sprintf(`#subscriptions-table tr[data-subscription=%q] button`, found))
	t1.until("the subscription gone", fmt.Sprintf(`!document.querySelector('#subscriptions-table tr[data-subscription=%q]')`, found))
	b.checkConsole()
}

// attr returns an attribute of the first element matching sel.
func (tb *tab) attr(sel, name string) string {
	tb.t.Helper()
	var s string
	tb.run(chromedp.Evaluate(fmt.Sprintf(`(document.querySelector(%q)||{getAttribute:()=>''}).getAttribute(%q)||''`, sel, name), &s))
	return s
}

// value returns the value of the form control matching sel.
func (tb *tab) value(sel string) string {
	tb.t.Helper()
	var s string
	tb.run(chromedp.Value(sel, &s, chromedp.ByQuery))
	return s
}

// watcherGet reads the watcher's REST API through g's /watcher proxy with g's key.
func watcherGet(t *testing.T, g *rest, path string, v any) {
	t.Helper()
	status, body := g.call("GET", "/watcher"+path, "")
	if status != 200 {
		t.Fatalf("GET /watcher%s = %d %s", path, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatal(err)
	}
}
