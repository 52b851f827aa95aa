package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/fabmarket/fabmarket/watcher/service"
)

// Keys holds the API keys the watcher accepts: any org's key from the gateway's key file
// (network/run/apikeys.json, {"org1": "KEY", ...}). Lookups compare SHA-256 digests of every
// entry, so timing does not reveal how much of a key was right.
type Keys struct {
	mu      sync.Mutex
	entries []keyEntry
	// path, when set, is re-read after a miss if its modification time changed (the gateways
	// may write the file after the watcher started); checked at most once a second.
	path    string
	mtime   time.Time
	checked time.Time
}

type keyEntry struct {
	digest [sha256.Size]byte
	org    string
}

// MinKeyLength is the shortest key accepted.
const MinKeyLength = 16

// NewKeys builds Keys from org → key; short, empty or duplicate keys are errors, and so are
// org names that cannot scope user ids (empty, spaces or '/': see scope.go).
func NewKeys(byOrg map[string]string) (*Keys, error) {
	if len(byOrg) == 0 {
		return nil, errors.New("api: no API keys")
	}
	orgs := make([]string, 0, len(byOrg))
	for o := range byOrg {
		orgs = append(orgs, o)
	}
	sort.Strings(orgs)
	k := &Keys{}
	seen := map[[sha256.Size]byte]bool{}
	for _, o := range orgs {
		if service.ValidUser(o) != nil {
			return nil, fmt.Errorf("api: org %q: want printable characters without spaces or '/'", o)
		}
		key := byOrg[o]
		if len(key) < MinKeyLength {
			return nil, fmt.Errorf("api: key of %q: shorter than %d characters", o, MinKeyLength)
		}
		d := sha256.Sum256([]byte(key))
		if seen[d] {
			return nil, fmt.Errorf("api: key of %q: duplicate", o)
		}
		seen[d] = true
		k.entries = append(k.entries, keyEntry{digest: d, org: o})
	}
	return k, nil
}

// LoadKeys reads a key file, a JSON object org → key, and re-reads it when it changes.
func LoadKeys(path string) (*Keys, error) {
	k, err := readKeys(path)
	if err != nil {
		return nil, err
	}
	k.path = path
	if fi, err := os.Stat(path); err == nil {
		k.mtime = fi.ModTime()
	}
	return k, nil
}

func readKeys(path string) (*Keys, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("api: keys: %w", err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("api: keys %s: %w", path, err)
	}
	return NewKeys(m)
}

// Org returns the org of key; ok is false for an unknown key.
func (k *Keys) Org(key string) (org string, ok bool) {
	if k == nil || key == "" {
		return "", false
	}
	d := sha256.Sum256([]byte(key))
	k.mu.Lock()
	defer k.mu.Unlock()
	if org, ok = k.lookup(d); ok || k.path == "" || time.Since(k.checked) < time.Second {
		return org, ok
	}
	k.checked = time.Now()
	if fi, err := os.Stat(k.path); err == nil && !fi.ModTime().Equal(k.mtime) {
		if nk, err := readKeys(k.path); err == nil {
			k.entries, k.mtime = nk.entries, fi.ModTime()
		}
	}
	return k.lookup(d)
}

func (k *Keys) lookup(d [sha256.Size]byte) (org string, ok bool) {
	for _, e := range k.entries {
		if subtle.ConstantTimeCompare(d[:], e.digest[:]) == 1 {
			org, ok = e.org, true
		}
	}
	return org, ok
}
