// Package stubtest is an in-memory fake of a Fabric channel ledger for chaincode unit tests. A
// [Tx] implements both shim.ChaincodeStubInterface and contractapi.TransactionContextInterface,
// so a contract function can be called directly with it.
//
// It behaves like a peer where it matters for correctness:
//
//   - A transaction reads committed state only: its own writes are not visible to its reads
//     (GetState, range scans), exactly as in Fabric's simulation.
//   - Writes are buffered and applied by [Tx.Commit], which first validates the transaction
//     the way a committing peer does: every key read must still have the version it had when
//     it was read (else [MVCCReadConflict]) and every range scanned must still hold the same
//     keys at the same versions (else [PhantomReadConflict]). Range scans record every key
//     of the range, as a peer that fetched it in one batch would.
//   - Range scans and partial composite key scans return keys in ascending byte order;
//     GetStateByRange refuses keys that start with U+0000, as the shim does. Like a peer's
//     ledger.state.totalQueryLimit, [Ledger.QueryLimit] (when set) silently cuts a range scan
//     short. GetStateByRangeWithPagination pages from a bookmark, and a transaction that ran
//     one may not write, as on a peer.
//   - Only the last SetEvent of a transaction is kept.
//
// Several transactions can be simulated against the same committed state and then committed
// in any order, which is how tests prove that two transactions do (or do not) conflict.
// History, private data and state-based endorsement are not supported: those methods of the
// embedded nil interface panic, so a test that needs them fails loudly.
package stubtest

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	compositeNS = "\x00"
	maxRune     = string(utf8.MaxRune)
)

type versioned struct {
	value   []byte
	version uint64
}

// Event is a chaincode event of a committed transaction.
type Event struct {
	TxID    string
	Name    string
	Payload []byte
}

// Ledger is the committed state of one channel (one chaincode namespace). It is safe for
// concurrent use; each Tx is not.
type Ledger struct {
	// QueryLimit, when positive, is the most results one range scan returns (the rest are
	// dropped without an error, as by a peer's totalQueryLimit).
	QueryLimit int

	mu      sync.Mutex
	channel string
	state   map[string]versioned
	version uint64 // last commit number
	txSeq   uint64
	events  []Event
	invalid int
}

// NewLedger returns an empty ledger of the named channel.
func NewLedger(channel string) *Ledger {
	return &Ledger{channel: channel, state: map[string]versioned{}}
}

// Channel returns the channel name.
func (l *Ledger) Channel() string { return l.channel }

// Get returns the committed value of key (nil if absent).
func (l *Ledger) Get(key string) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.state[key].value)
}

// Keys returns the committed keys that start with prefix, in ascending order.
func (l *Ledger) Keys(prefix string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for k := range l.state {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Put writes key directly into the committed state (test setup).
func (l *Ledger) Put(key string, value []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.version++
	l.state[key] = versioned{value: slices.Clone(value), version: l.version}
}

// Events returns the events of all committed transactions, in commit order.
func (l *Ledger) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// Invalid returns how many transactions failed validation at Commit.
func (l *Ledger) Invalid() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.invalid
}

// Identity is the fake client identity of a transaction.
type Identity struct {
	MSPID string
	ID    string
	Attrs map[string]string
}

var _ cid.ClientIdentity = Identity{}

// GetID returns the identity's unique id.
func (i Identity) GetID() (string, error) { return i.ID, nil }

// GetMSPID returns the MSP ID.
func (i Identity) GetMSPID() (string, error) {
	if i.MSPID == "" {
		return "", errors.New("stubtest: identity has no MSP ID")
	}
	return i.MSPID, nil
}

// GetAttributeValue returns an attribute.
func (i Identity) GetAttributeValue(name string) (string, bool, error) {
	v, ok := i.Attrs[name]
	return v, ok, nil
}

// AssertAttributeValue fails unless the attribute has that value.
func (i Identity) AssertAttributeValue(name, value string) error {
	if v, ok := i.Attrs[name]; !ok || v != value {
		return fmt.Errorf("stubtest: attribute %s is not %q", name, value)
	}
	return nil
}

// GetX509Certificate returns nil: the fake identity has no certificate.
func (i Identity) GetX509Certificate() (*x509.Certificate, error) { return nil, nil }

type rangeRead struct {
	start, end string
	keys       []string
	versions   []uint64
}

// Tx is one transaction simulated against a Ledger.
type Tx struct {
	shim.ChaincodeStubInterface // nil: unsupported methods panic

	l        *Ledger
	id       string
	ts       time.Time
	identity Identity

	reads        map[string]uint64 // key -> version read (0: absent)
	ranges       []rangeRead
	writes       map[string][]byte // nil: delete
	eventName    string
	eventPayload []byte
	done         bool
	paginated    bool // a paginated query ran: writes are refused
}

// TxOption configures a transaction.
type TxOption func(*Tx)

// WithTxID sets the transaction id (default: a deterministic 64-hex id).
func WithTxID(id string) TxOption { return func(t *Tx) { t.id = id } }

// WithIdentity sets the whole client identity.
func WithIdentity(id Identity) TxOption { return func(t *Tx) { t.identity = id } }

// NewTx starts a transaction by a client of org mspID at time ts.
func (l *Ledger) NewTx(mspID string, ts time.Time, opts ...TxOption) *Tx {
	l.mu.Lock()
	l.txSeq++
	n := l.txSeq
	l.mu.Unlock()
	sum := sha256.Sum256([]byte(l.channel + "/" + strconv.FormatUint(n, 10)))
	t := &Tx{
		l: l, id: hex.EncodeToString(sum[:]), ts: ts,
		identity: Identity{MSPID: mspID, ID: "x509::CN=User1@" + mspID},
		reads:    map[string]uint64{}, writes: map[string][]byte{},
	}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Exec runs fn in a new transaction and commits it when fn succeeds. It returns fn's error,
// or the validation error of Commit.
func (l *Ledger) Exec(mspID string, ts time.Time, fn func(tx *Tx) error) (*Tx, error) {
	tx := l.NewTx(mspID, ts)
	if err := fn(tx); err != nil {
		return tx, err
	}
	return tx, tx.Commit()
}

// GetStub returns the transaction itself.
func (t *Tx) GetStub() shim.ChaincodeStubInterface { return t }

// GetClientIdentity returns the fake identity.
func (t *Tx) GetClientIdentity() cid.ClientIdentity { return t.identity }

// GetTxID returns the transaction id.
func (t *Tx) GetTxID() string { return t.id }

// GetChannelID returns the ledger's channel.
func (t *Tx) GetChannelID() string { return t.l.channel }

// GetTxTimestamp returns the transaction time.
func (t *Tx) GetTxTimestamp() (*timestamppb.Timestamp, error) { return timestamppb.New(t.ts), nil }

// GetCreator returns a placeholder serialized identity.
func (t *Tx) GetCreator() ([]byte, error) { return []byte(t.identity.MSPID), nil }

func checkKey(key string) error {
	if key == "" {
		return errors.New("stubtest: key must not be an empty string")
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("stubtest: key %q is not valid UTF-8", key)
	}
	return nil
}

// GetState reads the committed value of key and records the read.
func (t *Tx) GetState(key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	v := t.l.state[key]
	if _, seen := t.reads[key]; !seen {
		t.reads[key] = v.version
	}
	return slices.Clone(v.value), nil
}

// PutState buffers a write.
func (t *Tx) PutState(key string, value []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := t.writable(); err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	t.writes[key] = slices.Clone(value)
	return nil
}

// DelState buffers a delete.
func (t *Tx) DelState(key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := t.writable(); err != nil {
		return err
	}
	t.writes[key] = nil
	return nil
}

// writable refuses writes after the commit and after a paginated query.
func (t *Tx) writable() error {
	switch {
	case t.done:
		return errors.New("stubtest: transaction already committed")
	case t.paginated:
		return fmt.Errorf("txid [%s]: transaction has already performed a paginated query. Writes are not allowed", t.id)
	}
	return nil
}

// SetEvent sets the transaction's event; a later call replaces it, as on a peer.
func (t *Tx) SetEvent(name string, payload []byte) error {
	if name == "" {
		return errors.New("stubtest: event name can not be empty string")
	}
	t.eventName, t.eventPayload = name, slices.Clone(payload)
	return nil
}

// Event returns the transaction's event name and payload ("" if none).
func (t *Tx) Event() (string, []byte) { return t.eventName, t.eventPayload }

// Writes returns the keys the transaction writes or deletes, in ascending order.
func (t *Tx) Writes() []string {
	out := make([]string, 0, len(t.writes))
	for k := range t.writes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// RangeReads returns the start keys of the range scans the transaction made (its range
// query read set) that begin with prefix, in the order made.
func (t *Tx) RangeReads(prefix string) []string {
	var out []string
	for _, r := range t.ranges {
		if strings.HasPrefix(r.start, prefix) {
			out = append(out, r.start)
		}
	}
	return out
}

// WriteSet returns the transaction's writes, key -> value (nil: delete), as a peer would put
// them in the proposal response; two endorsements of a deterministic chaincode give equal
// write sets.
func (t *Tx) WriteSet() map[string][]byte {
	out := make(map[string][]byte, len(t.writes))
	for k, v := range t.writes {
		out[k] = slices.Clone(v)
	}
	return out
}

// scan reads the committed keys in [start, end) (end "" = unbounded) and records the range.
func (t *Tx) scan(start, end string) []*queryresult.KV {
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	keys := t.l.rangeKeys(start, end)
	rr := rangeRead{start: start, end: end}
	out := make([]*queryresult.KV, 0, len(keys))
	for _, k := range keys {
		v := t.l.state[k]
		rr.keys = append(rr.keys, k)
		rr.versions = append(rr.versions, v.version)
		out = append(out, &queryresult.KV{Key: k, Value: slices.Clone(v.value)})
	}
	t.ranges = append(t.ranges, rr)
	return out
}

// rangeKeys returns the committed keys in [start, end) in order; l.mu must be held.
func (l *Ledger) rangeKeys(start, end string) []string {
	var keys []string
	for k := range l.state {
		if k >= start && (end == "" || k < end) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// GetStateByRange scans [startKey, endKey) of simple keys in ascending order.
func (t *Tx) GetStateByRange(startKey, endKey string) (shim.StateQueryIteratorInterface, error) {
	for _, k := range []string{startKey, endKey} {
		if strings.HasPrefix(k, compositeNS) {
			return nil, fmt.Errorf("first character of the key [%s] contains a null character which is not allowed", k)
		}
	}
	if startKey == "" {
		startKey = "\x01"
	}
	kvs := t.scan(startKey, endKey)
	if t.l.QueryLimit > 0 && len(kvs) > t.l.QueryLimit {
		kvs = kvs[:t.l.QueryLimit]
	}
	return &iter{kvs: kvs}, nil
}

// GetStateByRangeWithPagination returns at most pageSize keys of [startKey, endKey) from
// bookmark (the next key to read; "" = startKey), and the bookmark of the next page ("" when
// the range is exhausted). The transaction may not write afterwards.
func (t *Tx) GetStateByRangeWithPagination(startKey, endKey string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	if len(t.writes) > 0 {
		return nil, nil, fmt.Errorf("txid [%s]: paginated queries are not allowed in a transaction that writes", t.id)
	}
	if pageSize <= 0 {
		return nil, nil, errors.New("stubtest: pageSize must be positive")
	}
	t.paginated = true
	from := startKey
	if bookmark != "" {
		from = bookmark
	}
	t.l.mu.Lock()
	keys := t.l.rangeKeys(from, endKey)
	next := ""
	if len(keys) > int(pageSize) {
		next, keys = keys[pageSize], keys[:pageSize]
	}
	kvs := make([]*queryresult.KV, 0, len(keys))
	for _, k := range keys {
		kvs = append(kvs, &queryresult.KV{Key: k, Value: slices.Clone(t.l.state[k].value)})
	}
	t.l.mu.Unlock()
	return &iter{kvs: kvs}, &peer.QueryResponseMetadata{FetchedRecordsCount: int32(len(kvs)), Bookmark: next}, nil
}

// CreateCompositeKey builds a composite key as the shim does.
func (t *Tx) CreateCompositeKey(objectType string, attributes []string) (string, error) {
	return shim.CreateCompositeKey(objectType, attributes)
}

// SplitCompositeKey splits a composite key as the shim does.
func (t *Tx) SplitCompositeKey(key string) (string, []string, error) {
	if !strings.HasPrefix(key, compositeNS) {
		return "", nil, fmt.Errorf("stubtest: %q is not a composite key", key)
	}
	parts := strings.Split(key[1:], compositeNS)
	if len(parts) < 2 {
		return "", nil, fmt.Errorf("stubtest: %q is not a composite key", key)
	}
	return parts[0], parts[1 : len(parts)-1], nil
}

// GetStateByPartialCompositeKey scans every composite key with that prefix, in order.
func (t *Tx) GetStateByPartialCompositeKey(objectType string, keys []string) (shim.StateQueryIteratorInterface, error) {
	prefix, err := shim.CreateCompositeKey(objectType, keys)
	if err != nil {
		return nil, err
	}
	return &iter{kvs: t.scan(prefix, prefix+maxRune)}, nil
}

type iter struct {
	kvs []*queryresult.KV
	i   int
}

// HasNext reports whether Next has a result.
func (it *iter) HasNext() bool { return it.i < len(it.kvs) }

// Next returns the next key and value.
func (it *iter) Next() (*queryresult.KV, error) {
	if it.i >= len(it.kvs) {
		return nil, errors.New("stubtest: iterator exhausted")
	}
	it.i++
	return it.kvs[it.i-1], nil
}

// Close does nothing.
func (it *iter) Close() error { return nil }

// Validation codes returned by Commit, named as Fabric's TxValidationCode.
var (
	MVCCReadConflict    = errors.New("MVCC_READ_CONFLICT")
	PhantomReadConflict = errors.New("PHANTOM_READ_CONFLICT")
)

// Commit validates the transaction against the current committed state and applies its
// writes and event. It returns an error wrapping MVCCReadConflict or PhantomReadConflict
// (nothing applied) when a read is stale, as a committing peer would mark it invalid.
func (t *Tx) Commit() error {
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.done {
		return errors.New("stubtest: transaction already committed")
	}
	t.done = true
	readKeys := make([]string, 0, len(t.reads))
	for k := range t.reads {
		readKeys = append(readKeys, k)
	}
	sort.Strings(readKeys)
	for _, k := range readKeys {
		if l.state[k].version != t.reads[k] {
			l.invalid++
			return fmt.Errorf("tx %s: %w on key %q", t.id, MVCCReadConflict, k)
		}
	}
	for _, rr := range t.ranges {
		keys := l.rangeKeys(rr.start, rr.end)
		same := len(keys) == len(rr.keys)
		for i := 0; same && i < len(keys); i++ {
			same = keys[i] == rr.keys[i] && l.state[keys[i]].version == rr.versions[i]
		}
		if !same {
			l.invalid++
			return fmt.Errorf("tx %s: %w in range [%q, %q)", t.id, PhantomReadConflict, rr.start, rr.end)
		}
	}
	l.version++
	for _, k := range t.Writes() {
		v := t.writes[k]
		if v == nil {
			delete(l.state, k)
			continue
		}
		l.state[k] = versioned{value: v, version: l.version}
	}
	if t.eventName != "" {
		l.events = append(l.events, Event{TxID: t.id, Name: t.eventName, Payload: t.eventPayload})
	}
	return nil
}
