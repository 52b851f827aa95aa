package index

import (
	"fmt"
	"math"
)

// UserTable maps user names (the API's user ids) to dense uint32 ids for the bitmaps, and back.
// Ids are given in order from 0 and never reused, so an id in a persisted bitmap or a queued
// batch always means the same user. It is not safe for concurrent mutation.
type UserTable struct {
	ids   map[string]uint32
	names []string
}

// NewUserTable returns an empty table sized for about hint users.
func NewUserTable(hint int) *UserTable {
	return &UserTable{ids: make(map[string]uint32, hint), names: make([]string, 0, hint)}
}

// Intern returns the id of name, giving it the next id when it is new. The error names the
// field: an empty name, or a table full at 2^32 users.
func (t *UserTable) Intern(name string) (uint32, error) {
	if name == "" {
		return 0, fmt.Errorf("index: user: must not be empty")
	}
	if id, ok := t.ids[name]; ok {
		return id, nil
	}
	if uint64(len(t.names)) > math.MaxUint32 {
		return 0, fmt.Errorf("index: user %q: table full", name)
	}
	id := uint32(len(t.names))
	t.ids[name] = id
	t.names = append(t.names, name)
	return id, nil
}

// ID returns the id of name, if it has one.
func (t *UserTable) ID(name string) (uint32, bool) {
	id, ok := t.ids[name]
	return id, ok
}

// Name returns the name of id, if it was given.
func (t *UserTable) Name(id uint32) (string, bool) {
	if uint64(id) >= uint64(len(t.names)) {
		return "", false
	}
	return t.names[id], true
}

// Len returns the number of users in the table.
func (t *UserTable) Len() int { return len(t.names) }
