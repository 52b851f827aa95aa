package fabric

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Record states of an idempotency key.
const (
	statePending   = "PENDING"   // endorsed and bound; the commit status is not known yet
	stateCommitted = "COMMITTED" // committed VALID
)

// Record is what an idempotency key is bound to: the request's fingerprint, the transaction it
// produced (and its signed-able bytes, so the same transaction can be sent again after a
// restart) and the chaincode's result.
type Record struct {
	Fingerprint string    `json:"fingerprint"`
	Function    string    `json:"function"`
	TxID        string    `json:"txId"`
	TxBytes     []byte    `json:"txBytes,omitempty"`
	Result      []byte    `json:"result,omitempty"`
	State       string    `json:"state"`
	Block       uint64    `json:"block,omitempty"`
	Created     time.Time `json:"created"`
}

// Store persists idempotency records and superseded transaction ids in a bbolt file.
type Store struct {
	db *bolt.DB
}

var (
	bucketKeys       = []byte("idempotency")
	bucketSuperseded = []byte("superseded")
	bucketSwaps      = []byte("swaps")
)

// OpenStore opens (or creates) the store at path and drops records older than maxAge (0 keeps
// everything).
func OpenStore(path string, maxAge time.Duration) (*Store, error) {
	// The hash-map freelist and an unsynced freelist keep each commit cheap in a large file
	// (with the default array freelist, allocating pages dominated the gateway's CPU under
	// load); the freelist is rebuilt from the pages when the file is opened.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second,
		FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("fabric: open store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketKeys, bucketSuperseded, bucketSwaps} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if maxAge <= 0 {
			return nil
		}
		cutoff := time.Now().Add(-maxAge)
		b := tx.Bucket(bucketKeys)
		var old [][]byte
		_ = b.ForEach(func(k, v []byte) error {
			var r Record
			if json.Unmarshal(v, &r) != nil || r.Created.Before(cutoff) {
				old = append(old, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("fabric: init store: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Get returns the record of key, or nil.
func (s *Store) Get(key string) (*Record, error) {
	var r *Record
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketKeys).Get([]byte(key))
		if v == nil {
			return nil
		}
		r = &Record{}
		return json.Unmarshal(v, r)
	})
	return r, err
}

// Put stores the record of key.
func (s *Store) Put(key string, r *Record) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketKeys).Put([]byte(key), v) })
}

// Delete forgets key.
func (s *Store) Delete(key string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketKeys).Delete([]byte(key)) })
}

// Supersede records that txID was replaced by next after an MVCC conflict.
func (s *Store) Supersede(txID, next string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSuperseded).Put([]byte(txID), []byte(next)) })
}

// SupersededBy returns the transaction that replaced txID, or "".
func (s *Store) SupersededBy(txID string) string {
	var next string
	_ = s.db.View(func(tx *bolt.Tx) error {
		next = string(tx.Bucket(bucketSuperseded).Get([]byte(txID)))
		return nil
	})
	return next
}

// PutSwap stores the record of swap id (JSON, see swaps.go); it is on disk (fsynced) when
// PutSwap returns. Swap records are never dropped by age.
func (s *Store) PutSwap(id string, record []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSwaps).Put([]byte(id), record) })
}

// GetSwap returns the record of swap id, or nil.
func (s *Store) GetSwap(id string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketSwaps).Get([]byte(id)); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	return out, err
}

// EachSwap calls fn with every swap record, by id.
func (s *Store) EachSwap(fn func(id string, record []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSwaps).ForEach(func(k, v []byte) error {
			return fn(string(k), append([]byte(nil), v...))
		})
	})
}
