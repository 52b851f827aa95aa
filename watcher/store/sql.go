package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL driver ("pgx")
	_ "modernc.org/sqlite"             // the embedded, pure-Go SQLite driver ("sqlite")
)

// Dialect names the SQL flavour of a SQL store.
type Dialect string

// The dialects of SQL.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// SQL is a Store over database/sql: embedded SQLite by default, PostgreSQL by URL (through
// github.com/jackc/pgx/v5's database/sql driver). The schema and queries are shared; only
// placeholders ($1.. against ?), the binary and serial column types and the row locking of
// ClaimDeliveries differ. SQLite runs in WAL mode with synchronous=FULL, so a committed
// transaction survives an OS crash, and with one connection, so writers never see SQLITE_BUSY.
type SQL struct {
	db        *sql.DB
	dialect   Dialect
	closeOnce sync.Once
	closeErr  error
}

// Open opens the store named by url and creates or upgrades its schema:
//
//   - a file path, "sqlite:PATH" or "file:PATH": embedded SQLite (the file and its directory
//     are created);
//   - "postgres://..." or "postgresql://...": PostgreSQL, e.g.
//     postgres://user:pass@host:5432/db?sslmode=disable; any other query parameter is a
//     run-time setting (search_path=NAME puts the tables in schema NAME). Several watcher
//     instances may share one database: the schema is created under an advisory lock and
//     deliveries are claimed with FOR UPDATE SKIP LOCKED.
func Open(ctx context.Context, url string) (*SQL, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		db, err := sql.Open("pgx", url)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(16)
		db.SetConnMaxIdleTime(5 * time.Minute)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("store: connect postgres %s: %w", redact(url), err)
		}
		return newSQL(ctx, db, Postgres)
	case url == "":
		return nil, errors.New("store: database URL or path is empty")
	case strings.Contains(url, "://"):
		return nil, fmt.Errorf("store: database URL %q: want a SQLite path or a postgres:// URL", redact(url))
	}
	path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "file:")
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return newSQL(ctx, db, SQLite)
}

// redact hides the password of a URL for error messages.
func redact(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Dialect returns the SQL flavour of the store.
func (s *SQL) Dialect() Dialect { return s.dialect }

func newSQL(ctx context.Context, db *sql.DB, d Dialect) (*SQL, error) {
	s := &SQL{db: db, dialect: d}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// schemaLock is the PostgreSQL advisory lock key that serializes schema changes of instances
// starting together ("fabmarkt" in ASCII).
const schemaLock = 0x6661626d61726b74

// migrate creates the tables and indexes that are missing and adds the columns later versions
// introduced, in one transaction (on PostgreSQL under an advisory lock, since concurrent
// CREATE TABLE IF NOT EXISTS can fail).
func (s *SQL) migrate(ctx context.Context) error {
	blob, serial := "BLOB", "INTEGER PRIMARY KEY AUTOINCREMENT"
	if s.dialect == Postgres {
		blob, serial = "BYTEA", "BIGSERIAL PRIMARY KEY"
	}
	schema := []string{
		`CREATE TABLE IF NOT EXISTS subscriptions (id TEXT PRIMARY KEY, usr TEXT NOT NULL, symbol TEXT NOT NULL, doc TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS subscriptions_usr ON subscriptions (usr)`,
		`CREATE TABLE IF NOT EXISTS settings (usr TEXT PRIMARY KEY, doc TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS notifications (seq ` + serial + `, id TEXT NOT NULL UNIQUE, event_id TEXT NOT NULL, type TEXT NOT NULL, usr TEXT NOT NULL, symbol TEXT NOT NULL, payload TEXT NOT NULL, created_at BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS notifications_usr ON notifications (usr, seq)`,
		`CREATE INDEX IF NOT EXISTS notifications_symbol ON notifications (symbol, seq)`,
		`CREATE TABLE IF NOT EXISTS deliveries (notification_id TEXT NOT NULL, channel TEXT NOT NULL, target TEXT NOT NULL, secret TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL, next_at BIGINT NOT NULL, last_error TEXT NOT NULL, updated_at BIGINT NOT NULL, owner TEXT NOT NULL DEFAULT '', PRIMARY KEY (notification_id, channel, target))`,
		`CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_at)`,
		`CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, value ` + blob + ` NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS symbol_states (symbol TEXT PRIMARY KEY, win ` + blob + ` NOT NULL, rules ` + blob + ` NOT NULL, meta ` + blob + ` NOT NULL)`,
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: create schema: %w", err)
	}
	defer tx.Rollback()
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(schemaLock)); err != nil {
			return fmt.Errorf("store: create schema: lock: %w", err)
		}
	}
	for _, q := range schema {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("store: create schema: %w", err)
		}
	}
	// Columns added after the first release: databases made before them get them here.
	added := []struct{ table, column, def string }{
		{"deliveries", "owner", `TEXT NOT NULL DEFAULT ''`},
	}
	for _, c := range added {
		ok, err := s.hasColumn(ctx, tx, c.table, c.column)
		if err != nil {
			return fmt.Errorf("store: upgrade schema: %w", err)
		}
		if ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+c.table+` ADD COLUMN `+c.column+` `+c.def); err != nil {
			return fmt.Errorf("store: upgrade schema: add %s.%s: %w", c.table, c.column, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: create schema: commit: %w", err)
	}
	return nil
}

func (s *SQL) hasColumn(ctx context.Context, tx *sql.Tx, table, column string) (bool, error) {
	var n int
	var err error
	if s.dialect == Postgres {
		err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2`, table, column).Scan(&n)
	} else {
		err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, table, column).Scan(&n)
	}
	return n > 0, err
}

// q rewrites ? placeholders into $n for PostgreSQL.
func (s *SQL) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNs(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

// PutSubscription implements Store.
func (s *SQL) PutSubscription(ctx context.Context, sub Subscription) error {
	doc, err := json.Marshal(sub)
	if err != nil {
		return fmt.Errorf("store: encode subscription: %w", err)
	}
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO subscriptions (id, usr, symbol, doc) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
		sub.ID, sub.User, sub.Symbol, string(doc))
	if err != nil {
		return fmt.Errorf("store: put subscription: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrExists
	}
	return nil
}

// GetSubscription implements Store.
func (s *SQL) GetSubscription(ctx context.Context, id string) (Subscription, error) {
	var doc string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT doc FROM subscriptions WHERE id = ?`), id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return Subscription{}, ErrNotFound
	}
	if err != nil {
		return Subscription{}, fmt.Errorf("store: get subscription: %w", err)
	}
	var sub Subscription
	if err := json.Unmarshal([]byte(doc), &sub); err != nil {
		return Subscription{}, fmt.Errorf("store: decode subscription %s: %w", id, err)
	}
	return sub, nil
}

// DeleteSubscription implements Store.
func (s *SQL) DeleteSubscription(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM subscriptions WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("store: delete subscription: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ListSubscriptions implements Store.
func (s *SQL) ListSubscriptions(ctx context.Context, user string) ([]Subscription, error) {
	query, args := `SELECT doc FROM subscriptions ORDER BY id`, []any{}
	if user != "" {
		query, args = `SELECT doc FROM subscriptions WHERE usr = ? ORDER BY id`, []any{user}
	}
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list subscriptions: %w", err)
	}
	defer rows.Close()
	out := []Subscription{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("store: list subscriptions: %w", err)
		}
		var sub Subscription
		if err := json.Unmarshal([]byte(doc), &sub); err != nil {
			return nil, fmt.Errorf("store: decode subscription: %w", err)
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// PutSettings implements Store.
func (s *SQL) PutSettings(ctx context.Context, user string, doc []byte) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO settings (usr, doc) VALUES (?, ?) ON CONFLICT (usr) DO UPDATE SET doc = excluded.doc`), user, string(doc))
	if err != nil {
		return fmt.Errorf("store: put settings: %w", err)
	}
	return nil
}

// AllSettings implements Store.
func (s *SQL) AllSettings(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT usr, doc FROM settings`)
	if err != nil {
		return nil, fmt.Errorf("store: settings: %w", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var u, doc string
		if err := rows.Scan(&u, &doc); err != nil {
			return nil, fmt.Errorf("store: settings: %w", err)
		}
		out[u] = []byte(doc)
	}
	return out, rows.Err()
}

// InsertNotifications implements Store.
func (s *SQL) InsertNotifications(ctx context.Context, notes []Notification) ([]Notification, error) {
	if len(notes) == 0 {
		return nil, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: insert notifications: %w", err)
	}
	defer tx.Rollback()
	insN, err := tx.PrepareContext(ctx, s.q(`INSERT INTO notifications (id, event_id, type, usr, symbol, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING seq`))
	if err != nil {
		return nil, fmt.Errorf("store: insert notifications: %w", err)
	}
	defer insN.Close()
	insD, err := tx.PrepareContext(ctx, s.q(`INSERT INTO deliveries (notification_id, channel, target, secret, state, attempts, next_at, last_error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`))
	if err != nil {
		return nil, fmt.Errorf("store: insert notifications: %w", err)
	}
	defer insD.Close()
	// Insert in id order: two instances recording overlapping batches take the unique-index
	// locks in the same order, so PostgreSQL never has to break a deadlock between them.
	notes = slices.Clone(notes)
	slices.SortFunc(notes, func(a, b Notification) int { return strings.Compare(a.ID, b.ID) })
	var out []Notification
	for _, n := range notes {
		var seq int64
		err := insN.QueryRowContext(ctx, n.ID, n.EventID, n.Type, n.User, n.Symbol, string(n.Payload), ns(n.CreatedAt)).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			continue // already there: idempotent replay
		}
		if err != nil {
			return nil, fmt.Errorf("store: insert notification %s: %w", n.ID, err)
		}
		c := n
		c.Seq = seq
		c.Deliveries = slices.Clone(n.Deliveries)
		for i := range c.Deliveries {
			d := &c.Deliveries[i]
			d.NotificationID = n.ID
			if _, err := insD.ExecContext(ctx, d.NotificationID, d.Channel, d.Target, d.Secret, d.State, d.Attempts, ns(d.NextAt), d.LastError, ns(d.UpdatedAt)); err != nil {
				return nil, fmt.Errorf("store: insert delivery of %s: %w", n.ID, err)
			}
		}
		out = append(out, c)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: insert notifications: commit: %w", err)
	}
	return out, nil
}

const deliveryCols = `notification_id, channel, target, secret, state, attempts, next_at, last_error, updated_at, owner`

func scanDelivery(sc interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var next, upd int64
	err := sc.Scan(&d.NotificationID, &d.Channel, &d.Target, &d.Secret, &d.State, &d.Attempts, &next, &d.LastError, &upd, &d.Owner)
	d.NextAt, d.UpdatedAt = fromNs(next), fromNs(upd)
	return d, err
}

// GetNotification implements Store.
func (s *SQL) GetNotification(ctx context.Context, id string) (Notification, error) {
	var n Notification
	var payload string
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT seq, id, event_id, type, usr, symbol, payload, created_at FROM notifications WHERE id = ?`), id).
		Scan(&n.Seq, &n.ID, &n.EventID, &n.Type, &n.User, &n.Symbol, &payload, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Notification{}, ErrNotFound
	}
	if err != nil {
		return Notification{}, fmt.Errorf("store: get notification: %w", err)
	}
	n.Payload, n.CreatedAt = []byte(payload), fromNs(created)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+deliveryCols+` FROM deliveries WHERE notification_id = ? ORDER BY channel, target`), id)
	if err != nil {
		return Notification{}, fmt.Errorf("store: get deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return Notification{}, fmt.Errorf("store: get deliveries: %w", err)
		}
		n.Deliveries = append(n.Deliveries, d)
	}
	return n, rows.Err()
}

// ListNotifications implements Store.
func (s *SQL) ListNotifications(ctx context.Context, f Filter) ([]Notification, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	query := `SELECT seq, id, event_id, type, usr, symbol, payload, created_at FROM notifications WHERE seq > ?`
	args := []any{f.AfterSeq}
	if f.User != "" {
		query += ` AND usr = ?`
		args = append(args, f.User)
	}
	if f.UserPrefix != "" {
		// substr, not LIKE: exact and case-sensitive in SQLite and PostgreSQL alike.
		query += ` AND substr(usr, 1, ?) = ?`
		args = append(args, utf8.RuneCountInString(f.UserPrefix), f.UserPrefix)
	}
	if f.Symbol != "" {
		query += ` AND symbol = ?`
		args = append(args, f.Symbol)
	}
	query += ` ORDER BY seq LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list notifications: %w", err)
	}
	defer rows.Close()
	out := []Notification{}
	for rows.Next() {
		var n Notification
		var payload string
		var created int64
		if err := rows.Scan(&n.Seq, &n.ID, &n.EventID, &n.Type, &n.User, &n.Symbol, &payload, &created); err != nil {
			return nil, fmt.Errorf("store: list notifications: %w", err)
		}
		n.Payload, n.CreatedAt = []byte(payload), fromNs(created)
		out = append(out, n)
	}
	return out, rows.Err()
}

// DueDeliveries implements Store.
func (s *SQL) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+deliveryCols+` FROM deliveries WHERE state = ? AND next_at <= ? ORDER BY next_at LIMIT ?`),
		StatePending, now.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("store: due deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// UpdateDelivery implements Store.
func (s *SQL) UpdateDelivery(ctx context.Context, d Delivery) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE deliveries SET state = ?, attempts = ?, next_at = ?, last_error = ?, updated_at = ?, owner = ? WHERE notification_id = ? AND channel = ? AND target = ?`),
		d.State, d.Attempts, ns(d.NextAt), d.LastError, ns(d.UpdatedAt), d.Owner, d.NotificationID, d.Channel, d.Target)
	if err != nil {
		return fmt.Errorf("store: update delivery: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ClaimDeliveries implements Store. One statement selects the due rows and marks them claimed;
// on PostgreSQL the selection locks the rows FOR UPDATE SKIP LOCKED, so concurrent claimers
// split the due rows between them instead of waiting, and a row another claimer changed
// meanwhile is re-checked against the condition before it is taken. SQLite runs one writer at
// a time, which gives the same exclusion.
func (s *SQL) ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Delivery, error) {
	if owner == "" {
		return nil, errors.New("store: claim deliveries: owner is empty")
	}
	if limit <= 0 {
		return nil, nil
	}
	lock := ""
	if s.dialect == Postgres {
		lock = ` FOR UPDATE SKIP LOCKED`
	}
	query := `UPDATE deliveries SET state = ?, owner = ?, next_at = ?, updated_at = ?
		WHERE (notification_id, channel, target) IN (
			SELECT notification_id, channel, target FROM deliveries
			WHERE state IN (?, ?) AND next_at <= ? ORDER BY next_at LIMIT ?` + lock + `)
		RETURNING ` + deliveryCols
	rows, err := s.db.QueryContext(ctx, s.q(query), StateSending, owner, now.Add(lease).UnixNano(), now.UnixNano(),
		StatePending, StateSending, now.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: claim deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("store: claim deliveries: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: claim deliveries: %w", err)
	}
	return out, nil
}

// FinishDelivery implements Store.
func (s *SQL) FinishDelivery(ctx context.Context, owner string, d Delivery) error {
	errs, err := s.FinishDeliveries(ctx, owner, []Delivery{d})
	if err != nil {
		return err
	}
	return errs[0]
}

// FinishDeliveries implements Store.
func (s *SQL) FinishDeliveries(ctx context.Context, owner string, ds []Delivery) ([]error, error) {
	errs := make([]error, len(ds))
	if len(ds) == 0 {
		return errs, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: finish deliveries: %w", err)
	}
	defer tx.Rollback()
	upd, err := tx.PrepareContext(ctx, s.q(`UPDATE deliveries SET state = ?, attempts = ?, next_at = ?, last_error = ?, updated_at = ?, owner = ''
		WHERE notification_id = ? AND channel = ? AND target = ? AND state = ? AND owner = ?`))
	if err != nil {
		return nil, fmt.Errorf("store: finish deliveries: %w", err)
	}
	defer upd.Close()
	for i, d := range ds {
		res, err := upd.ExecContext(ctx, d.State, d.Attempts, ns(d.NextAt), d.LastError, ns(d.UpdatedAt), d.NotificationID, d.Channel, d.Target, StateSending, owner)
		if err != nil {
			return nil, fmt.Errorf("store: finish delivery of %s: %w", d.NotificationID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			continue
		}
		var one int
		err = tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM deliveries WHERE notification_id = ? AND channel = ? AND target = ?`), d.NotificationID, d.Channel, d.Target).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			errs[i] = ErrNotFound
		case err != nil:
			return nil, fmt.Errorf("store: finish delivery of %s: %w", d.NotificationID, err)
		default:
			errs[i] = ErrClaimLost
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: finish deliveries: commit: %w", err)
	}
	return errs, nil
}

// ReleaseDeliveries implements Store.
func (s *SQL) ReleaseDeliveries(ctx context.Context, owner string, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE deliveries SET state = ?, owner = '', next_at = ?, updated_at = ? WHERE state = ? AND owner = ?`),
		StatePending, now.UnixNano(), now.UnixNano(), StateSending, owner)
	if err != nil {
		return 0, fmt.Errorf("store: release deliveries: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// CountDeliveries implements Store.
func (s *SQL) CountDeliveries(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM deliveries GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("store: count deliveries: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("store: count deliveries: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}

// GetCheckpoint implements Store.
func (s *SQL) GetCheckpoint(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, s.q(`SELECT value FROM checkpoints WHERE name = ?`), name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get checkpoint: %w", err)
	}
	return v, nil
}

// SaveProgress implements Store.
func (s *SQL) SaveProgress(ctx context.Context, p Progress) error {
	if len(p.Symbols) == 0 && len(p.Checkpoints) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: save progress: %w", err)
	}
	defer tx.Rollback()
	for sym, st := range p.Symbols {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO symbol_states (symbol, win, rules, meta) VALUES (?, ?, ?, ?) ON CONFLICT (symbol) DO UPDATE SET win = excluded.win, rules = excluded.rules, meta = excluded.meta`),
			sym, nonNil(st.Window), nonNil(st.Rules), nonNil(st.Meta)); err != nil {
			return fmt.Errorf("store: save state of %s: %w", sym, err)
		}
	}
	for name, v := range p.Checkpoints {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO checkpoints (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`),
			name, nonNil(v)); err != nil {
			return fmt.Errorf("store: save checkpoint %s: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: save progress: commit: %w", err)
	}
	return nil
}

// LoadSymbolStates implements Store.
func (s *SQL) LoadSymbolStates(ctx context.Context) (map[string]SymbolState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT symbol, win, rules, meta FROM symbol_states`)
	if err != nil {
		return nil, fmt.Errorf("store: load symbol states: %w", err)
	}
	defer rows.Close()
	out := map[string]SymbolState{}
	for rows.Next() {
		var sym string
		var st SymbolState
		if err := rows.Scan(&sym, &st.Window, &st.Rules, &st.Meta); err != nil {
			return nil, fmt.Errorf("store: load symbol states: %w", err)
		}
		out[sym] = st
	}
	return out, rows.Err()
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Close implements Store.
func (s *SQL) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.db.Close() })
	return s.closeErr
}
