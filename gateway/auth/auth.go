// Package auth maps the API keys of the REST gateway to the org they belong to.
//
// Keys come from a JSON object {"org1": "KEY", "org2": "KEY", ...} (network/run/apikeys.json
// in development). Lookups compare SHA-256 digests of the keys, so the time they take does not
// depend on how much of a key a caller guessed right.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
)

// MinKeyLength is the shortest key accepted in a key file.
const MinKeyLength = 16

// ErrNoKeys reports a key file without any usable key.
var ErrNoKeys = errors.New("auth: no API keys")

// Keys maps API keys to orgs. The zero value knows no key.
type Keys struct {
	entries []entry
}

type entry struct {
	digest [sha256.Size]byte
	org    string
}

// New builds Keys from org → key. Empty or short keys and duplicate keys are errors.
func New(byOrg map[string]string) (*Keys, error) {
	if len(byOrg) == 0 {
		return nil, ErrNoKeys
	}
	orgs := make([]string, 0, len(byOrg))
	for org := range byOrg {
		orgs = append(orgs, org)
	}
	sort.Strings(orgs)
	k := &Keys{}
	seen := map[[sha256.Size]byte]string{}
	for _, org := range orgs {
		key := byOrg[org]
		if len(key) < MinKeyLength {
			return nil, fmt.Errorf("auth: key of %q is shorter than %d characters", org, MinKeyLength)
		}
		d := sha256.Sum256([]byte(key))
		if other, dup := seen[d]; dup {
			return nil, fmt.Errorf("auth: %q and %q have the same key", other, org)
		}
		seen[d] = org
		k.entries = append(k.entries, entry{digest: d, org: org})
	}
	return k, nil
}

// Load reads a key file: a JSON object org → key.
func Load(path string) (*Keys, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	var byOrg map[string]string
	if err := json.Unmarshal(raw, &byOrg); err != nil {
		return nil, fmt.Errorf("auth: %s: %w", path, err)
	}
	return New(byOrg)
}

// Org returns the org that key belongs to. Every entry is compared, so the time does not tell
// which entry matched.
func (k *Keys) Org(key string) (string, bool) {
	if k == nil || key == "" {
		return "", false
	}
	d := sha256.Sum256([]byte(key))
	org := ""
	for _, e := range k.entries {
		if subtle.ConstantTimeCompare(d[:], e.digest[:]) == 1 {
			org = e.org
		}
	}
	return org, org != ""
}
