// Package benchkit holds what the benchmark commands share: a REST client of the four org
// gateways with their development API keys, and latency percentiles.
package benchkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fabmarket/fabmarket/internal/netconf"
)

// HTTPError is a REST answer other than 2xx.
type HTTPError struct {
	Method, Path string
	Status       int
	Body         string // trimmed
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, e.Body)
}

// Gateways calls the REST gateways of org1, org2, org3 and the Regulator as those orgs.
type Gateways struct {
	base   map[string]string // org → http://host:port
	keys   map[string]string // org → API key
	client *http.Client
}

// Load reads the gateways' addresses from cfg and their keys from the run directory's
// apikeys.json; client nil means a client with a 60 s timeout.
func Load(cfg *netconf.Config, client *http.Client) (*Gateways, error) {
	raw, err := os.ReadFile(filepath.Join(cfg.RunDir(), "apikeys.json"))
	if err != nil {
		return nil, err
	}
	g := &Gateways{base: map[string]string{}, client: client}
	if err := json.Unmarshal(raw, &g.keys); err != nil {
		return nil, fmt.Errorf("apikeys.json: %w", err)
	}
	for _, org := range netconf.Orgs {
		addr, err := cfg.Addr(strings.ToUpper(org) + "_GATEWAY")
		if err != nil {
			return nil, err
		}
		g.base[org] = "http://" + addr
	}
	if g.client == nil {
		g.client = &http.Client{Timeout: time.Minute}
	}
	return g, nil
}

// Base returns the base URL of org's gateway.
func (g *Gateways) Base(org string) string { return g.base[org] }

// Do sends one request to org's gateway with org's key, body (when not nil) as JSON and the
// extra headers, and returns the status and the raw answer, whatever the status.
func (g *Gateways) Do(ctx context.Context, org, method, path string, body []byte, headers map[string]string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, g.base[org]+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+g.keys[org])
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// Call sends one request to org's gateway with org's key (body, when not nil, as JSON) and
// decodes a 2xx JSON answer into out (when not nil). Another status is a *HTTPError; the
// status is returned in every case it is known.
func (g *Gateways) Call(ctx context.Context, org, method, path string, body, out any) (int, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return 0, err
		}
	}
	status, raw, err := g.Do(ctx, org, method, path, raw, nil)
	if err != nil {
		return status, err
	}
	if status >= 300 {
		return status, &HTTPError{Method: method, Path: path, Status: status, Body: string(bytes.TrimSpace(raw))}
	}
	if out != nil {
		return status, json.Unmarshal(raw, out)
	}
	return status, nil
}

// Percentile returns the q-quantile (0 < q ≤ 1, nearest rank) of sorted latencies in
// milliseconds; 0 for none.
func Percentile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = min(max(i, 0), len(sorted)-1)
	return float64(sorted[i].Microseconds()) / 1000
}
