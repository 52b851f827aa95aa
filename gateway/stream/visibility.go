package stream

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/fabmarket/fabmarket/gateway/api"
	"github.com/fabmarket/fabmarket/internal/netconf"
)

// OwnerFunc returns the MSP ID of the org that owns an account ("Org1MSP", ...). An account
// whose owner the resolver may not name (another org's account, read with an org's identity)
// is reported as "" with a nil error: its order updates then go to the Regulator only. An error
// means the owner is unknown for now (peer unavailable); it is not cached.
type OwnerFunc func(ctx context.Context, account string) (string, error)

// view is what one caller may see: all (the Regulator), the order updates of one org's
// accounts plus public messages, or public messages only (msp == "": no authenticated org).
type view struct {
	all bool
	msp string
}

// viewOf derives the caller's view from the org that the API layer put in ctx
// (api.WithCaller). Without one, or with an unknown org, only public messages are sent.
func viewOf(ctx context.Context) view {
	org, ok := api.Caller(ctx)
	if !ok {
		return view{}
	}
	if org == "regulator" {
		return view{all: true}
	}
	msp, err := netconf.MSPID(org)
	if err != nil {
		return view{}
	}
	return view{msp: msp}
}

// maxOwners bounds the owner cache; when full it starts again empty.
const maxOwners = 100_000

// ownerCache remembers account → owner MSP ID. Owners never change (an account id is unique on
// the channel and stays with the org that opened it), so entries never expire; the cache is
// shared by every connection of a Handler.
type ownerCache struct {
	resolve OwnerFunc
	mu      sync.Mutex
	m       map[string]string
}

func newOwnerCache(resolve OwnerFunc) *ownerCache {
	return &ownerCache{resolve: resolve, m: map[string]string{}}
}

func (c *ownerCache) put(account, owner string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxOwners {
		c.m = map[string]string{}
	}
	c.m[account] = owner
}

// learn records the owners that a block's events name (AccountOpened, OrderAccepted), so that
// most order updates of a later Match need no lookup.
func (c *ownerCache) learn(b Block) {
	for _, ev := range b.Events {
		var p struct {
			AccountID string `json:"accountId"` // AccountOpened
			Account   string `json:"account"`   // OrderAccepted
			Org       string `json:"org"`
		}
		if (ev.Name != "AccountOpened" && ev.Name != "OrderAccepted") || json.Unmarshal(ev.Payload, &p) != nil || p.Org == "" {
			continue
		}
		if ev.Name == "AccountOpened" {
			p.Account = p.AccountID
		}
		if p.Account != "" {
			c.put(p.Account, p.Org)
		}
	}
}

// owner returns the MSP ID that owns account ("" when it may not be named).
func (c *ownerCache) owner(ctx context.Context, account string) (string, error) {
	c.mu.Lock()
	o, ok := c.m[account]
	c.mu.Unlock()
	if ok {
		return o, nil
	}
	if c.resolve == nil {
		return "", nil // fail closed: Regulator only
	}
	o, err := c.resolve(ctx, account)
	if err != nil {
		return "", err
	}
	c.put(account, o)
	return o, nil
}

// visible keeps the messages v may see: public ones always, order updates of v's org's
// accounts, everything for the Regulator. An error (an owner that cannot be resolved now)
// means the block cannot be filtered safely.
func (h *Handler) visible(ctx context.Context, v view, msgs []Message) ([]Message, error) {
	if v.all {
		return msgs, nil
	}
	out := msgs[:0:0]
	for _, m := range msgs {
		if m.Type != TypeOrderUpdate {
			out = append(out, m)
			continue
		}
		if v.msp == "" {
			continue
		}
		owner := m.owner
		if owner == "" && m.account == "" {
			continue // names no account: nobody's to show
		}
		if owner == "" {
			var err error
			if owner, err = h.owners.owner(ctx, m.account); err != nil {
				return nil, err
			}
		}
		if owner == v.msp {
			out = append(out, m)
		}
	}
	return out, nil
}
