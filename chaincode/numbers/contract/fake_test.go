package contract

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeLedger is the committed state of a one-peer channel: world state with key-level
// policies and history, and private collections whose membership follows the collection
// name (transfer_<A>_<B>: members A and B, memberOnlyRead).
type fakeLedger struct {
	state   map[string][]byte
	sbe     map[string][]byte
	history map[string][]*queryresult.KeyModification
	private map[string]map[string][]byte // collection -> key -> value
	purged  map[string]map[string]string // collection -> key -> purging tx
}

func newFakeLedger() *fakeLedger {
	return &fakeLedger{
		state:   map[string][]byte{},
		sbe:     map[string][]byte{},
		history: map[string][]*queryresult.KeyModification{},
		private: map[string]map[string][]byte{},
		purged:  map[string]map[string]string{},
	}
}

// fakeStub is one transaction's view of the ledger. As on a peer, reads see committed state
// only (not the transaction's own writes); writes are buffered and applied by commit.
// Methods the chaincode must not use are inherited from the nil interface and would fail
// the test loudly.
type fakeStub struct {
	shim.ChaincodeStubInterface

	ledger    *fakeLedger
	txID      string
	ts        time.Time
	mspID     string
	transient map[string][]byte
	args      [][]byte
	creator   []byte

	writes       map[string][]byte // nil value: delete
	writeOrder   []string
	sbeWrites    map[string][]byte
	privWrites   map[string]map[string][]byte
	purges       map[string]map[string]bool
	eventName    string
	eventPayload []byte
	eventCount   int
	privateReads int
	failOn       map[string]error // method name -> injected error
}

func (l *fakeLedger) newStub(txID, msp string, ts time.Time, transient map[string][]byte) *fakeStub {
	return &fakeStub{
		ledger: l, txID: txID, ts: ts, mspID: msp, transient: transient,
		writes: map[string][]byte{}, sbeWrites: map[string][]byte{},
		privWrites: map[string]map[string][]byte{}, purges: map[string]map[string]bool{},
		failOn: map[string]error{},
	}
}

func (s *fakeStub) fail(method string) error { return s.failOn[method] }

// commit applies the buffered writes, as a valid transaction would.
func (s *fakeStub) commit() {
	l := s.ledger
	for _, k := range s.writeOrder {
		v := s.writes[k]
		mod := &queryresult.KeyModification{TxId: s.txID, Timestamp: timestamppb.New(s.ts), Value: v, IsDelete: v == nil}
		l.history[k] = append(l.history[k], mod)
		if v == nil {
			delete(l.state, k)
		} else {
			l.state[k] = v
		}
	}
	for k, v := range s.sbeWrites {
		l.sbe[k] = v
	}
	for c, kv := range s.privWrites {
		if l.private[c] == nil {
			l.private[c] = map[string][]byte{}
		}
		for k, v := range kv {
			l.private[c][k] = v
		}
	}
	for c, keys := range s.purges {
		for k := range keys {
			delete(l.private[c], k)
			if l.purged[c] == nil {
				l.purged[c] = map[string]string{}
			}
			l.purged[c][k] = s.txID
		}
	}
}

func (s *fakeStub) GetTxID() string      { return s.txID }
func (s *fakeStub) GetChannelID() string { return "numbers" }
func (s *fakeStub) GetArgs() [][]byte    { return s.args }
func (s *fakeStub) GetCreator() ([]byte, error) {
	return s.creator, nil
}

func (s *fakeStub) GetStringArgs() []string {
	out := make([]string, len(s.args))
	for i, a := range s.args {
		out[i] = string(a)
	}
	return out
}

func (s *fakeStub) GetFunctionAndParameters() (string, []string) {
	a := s.GetStringArgs()
	if len(a) == 0 {
		return "", nil
	}
	return a[0], a[1:]
}

func (s *fakeStub) GetTxTimestamp() (*timestamppb.Timestamp, error) {
	if err := s.fail("GetTxTimestamp"); err != nil {
		return nil, err
	}
	return timestamppb.New(s.ts), nil
}

func (s *fakeStub) GetTransient() (map[string][]byte, error) {
	if err := s.fail("GetTransient"); err != nil {
		return nil, err
	}
	return s.transient, nil
}

func (s *fakeStub) GetState(key string) ([]byte, error) {
	if err := s.fail("GetState"); err != nil {
		return nil, err
	}
	return s.ledger.state[key], nil
}

func (s *fakeStub) write(key string, value []byte) error {
	if key == "" {
		return errors.New("empty key")
	}
	if _, ok := s.writes[key]; !ok {
		s.writeOrder = append(s.writeOrder, key)
	}
	s.writes[key] = value
	return nil
}

func (s *fakeStub) PutState(key string, value []byte) error {
	if err := s.fail("PutState"); err != nil {
		return err
	}
	if value == nil {
		return errors.New("nil value")
	}
	return s.write(key, value)
}

func (s *fakeStub) DelState(key string) error {
	if err := s.fail("DelState"); err != nil {
		return err
	}
	return s.write(key, nil)
}

func (s *fakeStub) SetStateValidationParameter(key string, ep []byte) error {
	if err := s.fail("SetStateValidationParameter"); err != nil {
		return err
	}
	s.sbeWrites[key] = ep
	return nil
}

func (s *fakeStub) GetStateValidationParameter(key string) ([]byte, error) {
	return s.ledger.sbe[key], nil
}

func (s *fakeStub) CreateCompositeKey(objectType string, attributes []string) (string, error) {
	return shim.CreateCompositeKey(objectType, attributes)
}

func (s *fakeStub) SplitCompositeKey(key string) (string, []string, error) {
	// The inverse of shim's format: \x00 objectType \x00 (attr \x00)*.
	if !strings.HasPrefix(key, "\x00") || !strings.HasSuffix(key, "\x00") {
		return "", nil, fmt.Errorf("not a composite key: %q", key)
	}
	parts := strings.Split(key[1:len(key)-1], "\x00")
	return parts[0], parts[1:], nil
}

// GetStateByPartialCompositeKeyWithPagination iterates committed keys with the prefix in
// key order; the bookmark is the first key of the next page.
func (s *fakeStub) GetStateByPartialCompositeKeyWithPagination(objectType string, keys []string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	if err := s.fail("GetStateByPartialCompositeKeyWithPagination"); err != nil {
		return nil, nil, err
	}
	prefix, err := shim.CreateCompositeKey(objectType, keys)
	if err != nil {
		return nil, nil, err
	}
	var all []string
	for k := range s.ledger.state {
		if strings.HasPrefix(k, prefix) && (bookmark == "" || k >= bookmark) {
			all = append(all, k)
		}
	}
	sort.Strings(all)
	next := ""
	if int32(len(all)) > pageSize {
		next = all[pageSize]
		all = all[:pageSize]
	}
	kvs := make([]*queryresult.KV, len(all))
	for i, k := range all {
		kvs[i] = &queryresult.KV{Namespace: "numbers", Key: k, Value: s.ledger.state[k]}
	}
	return &fakeKVIter{kvs: kvs}, &peer.QueryResponseMetadata{FetchedRecordsCount: int32(len(kvs)), Bookmark: next}, nil
}

func (s *fakeStub) GetHistoryForKey(key string) (shim.HistoryQueryIteratorInterface, error) {
	if err := s.fail("GetHistoryForKey"); err != nil {
		return nil, err
	}
	// Fabric returns the newest first; the contract must sort for itself.
	h := s.ledger.history[key]
	mods := make([]*queryresult.KeyModification, len(h))
	for i := range h {
		mods[len(h)-1-i] = h[i]
	}
	return &fakeHistoryIter{mods: mods}, nil
}

// collectionMembers follows the naming of collections_config.json.
func collectionMembers(collection string) ([]string, error) {
	parts := strings.Split(collection, "_")
	if len(parts) != 3 || parts[0] != "transfer" || parts[1] >= parts[2] {
		return nil, fmt.Errorf("collection %s is not defined", collection)
	}
	return parts[1:], nil
}

func (s *fakeStub) GetPrivateData(collection, key string) ([]byte, error) {
	s.privateReads++
	members, err := collectionMembers(collection)
	if err != nil {
		return nil, err
	}
	if s.mspID != members[0] && s.mspID != members[1] {
		return nil, fmt.Errorf("tx creator does not have read access permission on privatedata in chaincodeName:numbers collectionName: %s", collection)
	}
	return s.ledger.private[collection][key], nil
}

func (s *fakeStub) GetPrivateDataHash(collection, key string) ([]byte, error) {
	if _, err := collectionMembers(collection); err != nil {
		return nil, err
	}
	v, ok := s.ledger.private[collection][key]
	if !ok {
		return nil, nil
	}
	sum := sha256.Sum256(v) // the peer returns the raw SHA-256 of the private value
	return sum[:], nil
}

func (s *fakeStub) PutPrivateData(collection, key string, value []byte) error {
	if err := s.fail("PutPrivateData"); err != nil {
		return err
	}
	if _, err := collectionMembers(collection); err != nil {
		return err
	}
	if s.privWrites[collection] == nil {
		s.privWrites[collection] = map[string][]byte{}
	}
	s.privWrites[collection][key] = value
	return nil
}

func (s *fakeStub) PurgePrivateData(collection, key string) error {
	if err := s.fail("PurgePrivateData"); err != nil {
		return err
	}
	if _, err := collectionMembers(collection); err != nil {
		return err
	}
	if s.purges[collection] == nil {
		s.purges[collection] = map[string]bool{}
	}
	s.purges[collection][key] = true
	return nil
}

func (s *fakeStub) SetEvent(name string, payload []byte) error {
	if err := s.fail("SetEvent"); err != nil {
		return err
	}
	if name == "" {
		return errors.New("event name can not be empty string")
	}
	s.eventName, s.eventPayload = name, payload
	s.eventCount++
	return nil
}

type fakeKVIter struct {
	kvs []*queryresult.KV
	i   int
}

func (it *fakeKVIter) HasNext() bool { return it.i < len(it.kvs) }
func (it *fakeKVIter) Close() error  { return nil }
func (it *fakeKVIter) Next() (*queryresult.KV, error) {
	if !it.HasNext() {
		return nil, errors.New("no more items")
	}
	it.i++
	return it.kvs[it.i-1], nil
}

type fakeHistoryIter struct {
	mods []*queryresult.KeyModification
	i    int
}

func (it *fakeHistoryIter) HasNext() bool { return it.i < len(it.mods) }
func (it *fakeHistoryIter) Close() error  { return nil }
func (it *fakeHistoryIter) Next() (*queryresult.KeyModification, error) {
	if !it.HasNext() {
		return nil, errors.New("no more items")
	}
	it.i++
	return it.mods[it.i-1], nil
}

// fakeIdentity is a client identity of one MSP.
type fakeIdentity struct {
	msp string
	err error
}

func (f fakeIdentity) GetID() (string, error)    { return "x509::CN=user@" + f.msp, nil }
func (f fakeIdentity) GetMSPID() (string, error) { return f.msp, f.err }
func (f fakeIdentity) GetAttributeValue(string) (string, bool, error) {
	return "", false, nil
}
func (f fakeIdentity) AssertAttributeValue(string, string) error {
	return errors.New("no attributes")
}
func (f fakeIdentity) GetX509Certificate() (*x509.Certificate, error) {
	return nil, errors.New("no certificate in fake")
}

// fakeCtx implements contractapi.TransactionContextInterface.
type fakeCtx struct {
	stub *fakeStub
	id   cid.ClientIdentity
}

func (c *fakeCtx) GetStub() shim.ChaincodeStubInterface  { return c.stub }
func (c *fakeCtx) GetClientIdentity() cid.ClientIdentity { return c.id }
