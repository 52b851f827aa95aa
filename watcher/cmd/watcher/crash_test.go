package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
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

	"github.com/fabmarket/fabmarket/watcher/notify"
)

// The crash test runs the watcher as a real process: the test binary re-executes itself with
// this variable set, and TestMain then runs main() instead of the tests.
const childEnv = "WATCHER_CRASH_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// hookReceiver verifies webhook signatures and counts, per notification id, the deliveries it
// acknowledged (answered 200). While held, requests wait; a request whose sender dies while
// held is not acknowledged.
type hookReceiver struct {
	mu       sync.Mutex
	acked    map[string]int
	received chan string
	hold     chan struct{}
	held     sync.WaitGroup // requests waiting on hold
	bad      int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !notify.Verify([]byte(crashSecret), body, r.Header.Get(notify.SignatureHeader)) {
		h.mu.Lock()
		h.bad++
		h.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var m struct{ ID string }
	json.Unmarshal(body, &m)
	h.received <- m.ID
	h.mu.Lock()
	hold := h.hold
	if hold != nil {
		h.held.Add(1)
		defer h.held.Done()
	}
	h.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return // the watcher died mid-request: not acknowledged
		}
	}
	h.mu.Lock()
	h.acked[m.ID]++
	h.mu.Unlock()
}

func (h *hookReceiver) setHold(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if on && h.hold == nil {
		h.hold = make(chan struct{})
	}
	if !on && h.hold != nil {
		close(h.hold)
		h.hold = nil
	}
}

func (h *hookReceiver) snapshot() (map[string]int, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for k, v := range h.acked {
		out[k] = v
	}
	return out, h.bad
}

const crashSecret = "crash-test-secret"

// watcherProc is one run of the watcher binary on a data directory.
type watcherProc struct {
	t    *testing.T
	dir  string
	addr string
	key  string
	cmd  *exec.Cmd
	log  *lockedBuffer
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs the watcher on dir and waits until it answers /healthz.
func startWatcher(t *testing.T, dir, addr string) *watcherProc {
	t.Helper()
	p := &watcherProc{t: t, dir: dir, addr: addr, log: &lockedBuffer{}}
	p.cmd = exec.Command(os.Args[0], "--run-dir", dir, "--listen", addr, "--nats-listen", "none", "--feed", "off",
		"--webhook-secret", crashSecret, "--webhook-allow-private", "--retry-base", "100ms", "--retry-max", "1s", "--queue-ack-wait", "3s", "--log-level", "info")
	p.cmd.Env = append(os.Environ(), childEnv+"=1")
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) || p.cmd.ProcessState != nil {
			t.Fatalf("watcher did not come up on %s: %s", addr, p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "apikeys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]string
	json.Unmarshal(raw, &keys)
	p.key = keys["org1"]
	return p
}

// kill sends SIGKILL (no shutdown code runs) and reaps the process.
func (p *watcherProc) kill() {
	if p.cmd.Process == nil || p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

func (p *watcherProc) call(method, path, body string) (int, string) {
	p.t.Helper()
	req, _ := http.NewRequest(method, "http://"+p.addr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+p.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestCrashBetweenQueueAndDeliveryProcess kills the real watcher process with SIGKILL between
// the queue and the delivery and restarts it on the same data directory:
//
//   - right after POST /v1/prices answered 202 (the alert is fsynced in JetStream; the
//     notifier may not have consumed it yet);
//   - while the webhook of the next alert is in flight (recorded in the store and claimed by
//     the dispatcher, the receiver holding the request).
//
// After each restart the alert is delivered and acknowledged exactly once, with the same
// notification id, its state is delivered, and one more restart sends nothing again.
func TestCrashBetweenQueueAndDeliveryProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the watcher process several times")
	}
	h := &hookReceiver{acked: map[string]int{}, received: make(chan string, 100)}
	hook := httptest.NewServer(h)
	defer hook.Close()
	dir, addr := t.TempDir(), freeAddr(t)
	w := startWatcher(t, dir, addr)
	if code, body := w.call("POST", "/v1/subscriptions", `{"user":"u1","symbol":"ACME","windows":["1d"],"channels":[{"type":"webhook","url":"`+hook.URL+`"}]}`); code != 201 {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	if code, body := w.call("POST", "/v1/prices", `[{"symbol":"ACME","price":"100","time":"`+ts(-25*time.Hour)+`"}]`); code != 202 {
		t.Fatalf("base price: %d %s", code, body)
	}
	steps := []struct {
		name  string
		price string
		at    time.Duration
		hold  bool // hold the webhook and kill while it is in flight
	}{
		{"killed right after the 202", "106", 0, false},
		{"killed with the webhook in flight", "94", time.Second, true},
	}
	ids := map[string]bool{}
	parent := t
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			for len(h.received) > 0 {
				<-h.received
			}
			h.setHold(st.hold)
			if code, body := w.call("POST", "/v1/prices", `[{"symbol":"ACME","price":"`+st.price+`","time":"`+ts(st.at)+`"}]`); code != 202 || !strings.Contains(body, `"messages":1`) {
				t.Fatalf("prices: %d %s", code, body)
			}
			if st.hold {
				select {
				case <-h.received:
				case <-time.After(30 * time.Second):
					t.Fatalf("the webhook never reached the receiver: %s", w.log)
				}
			}
			w.kill()
			if st.hold {
				// Release the hold only once the receiver has seen the sender die;
				// releasing it earlier would race the disconnect and acknowledge a
				// request nobody is waiting for.
				h.held.Wait()
			}
			h.setHold(false)
			w = startWatcher(parent, dir, addr)
			w.t = t
			// The step's notification, recorded before or after the crash.
			var id string
			deadline := time.Now().Add(30 * time.Second)
			for id == "" {
				_, body := w.call("GET", "/v1/alerts?user=u1", "")
				var list struct {
					Alerts []struct{ ID string }
				}
				json.Unmarshal([]byte(body), &list)
				if len(list.Alerts) == i+1 {
					id = list.Alerts[i].ID
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("alert %d not recorded after the restart: %s\n%s", i+1, body, w.log)
				}
				time.Sleep(50 * time.Millisecond)
			}
			ids[id] = true
			if st.hold && !strings.Contains(w.log.String(), "released deliveries claimed before a restart") {
				// Without the release the delivery would wait for its claim's lease (2 minutes).
				defer func() {
					if !t.Failed() && !strings.Contains(w.log.String(), "released deliveries claimed before a restart") {
						t.Errorf("the restarted watcher did not release its predecessor's claim:\n%s", w.log)
					}
				}()
			}
			for {
				code, body := w.call("GET", "/v1/notifications/"+id, "")
				acked, _ := h.snapshot()
				if code == 200 && strings.Contains(body, `"state":"delivered"`) && acked[id] > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("notification %s: %d %s; acknowledged %v\n%s", id, code, body, acked, w.log)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	// One more crash and restart: nothing is sent again.
	w.t = t
	w.kill()
	w = startWatcher(t, dir, addr)
	time.Sleep(1500 * time.Millisecond)
	acked, bad := h.snapshot()
	if bad != 0 || len(acked) != len(steps) || len(ids) != len(steps) {
		t.Fatalf("acknowledged %v (bad signatures %d), ids seen %v: want %d distinct notifications", acked, bad, ids, len(steps))
	}
	for id, n := range acked {
		if n != 1 || !ids[id] {
			t.Fatalf("notification %s acknowledged %d times", id, n)
		}
	}
	code, body := w.call("GET", "/v1/alerts?user=u1", "")
	if code != 200 || strings.Count(body, `"id":"n_`) != len(steps) {
		t.Fatalf("alerts: %d %s", code, body)
	}
}

// lockedBuffer collects the child's output; the test reads it while the process writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
