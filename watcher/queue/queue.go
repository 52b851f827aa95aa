// Package queue is the watcher's notification queue on NATS JetStream: an embedded nats-server
// running in-process by default (file storage under the run directory), or an external NATS
// cluster by URL when a deployment outgrows one machine.
//
// # Subjects and streams
//
// Stream WATCHER holds the fan-out messages on watcher.fanout.<TYPE>, TYPE one of PRICE_CHANGE,
// EARNINGS_CALL, BREAKING_NEWS; each message carries one event and a batch of many user ids,
// so a symbol with a million subscribers is a thousand messages, not a million. Stream
// WATCHER_TICKS holds external ticks published on watcher.ticks (JSON arrays of
// {"symbol","price","time"}), so a feed that publishes with JetStream gets at-least-once too.
//
// # Durability
//
// JetStream by default fsyncs its files every 2 minutes (sync_interval), so a message it
// acknowledged can be lost if the OS crashes before the next sync. The embedded server sets
// server.Options.SyncAlways (the sync_interval: always setting), which fsyncs every write
// before the publish is acknowledged; batching many users per message keeps the number of
// fsyncs per alert small. For an external cluster set `jetstream { sync_interval: always }` in
// its configuration (a client cannot), or rely on replicas (Config.Replicas = 3).
//
// # Exactly-once effect
//
// Publishes carry a Nats-Msg-Id derived from the event and batch, so a publish replayed after
// a crash inside the Duplicates window is dropped by the server. Consumers are durable pull
// consumers with explicit acks: a message is acknowledged (and the acknowledgement confirmed,
// DoubleAck) only after its handler stored its effect, and redelivered otherwise; handlers are
// idempotent (notification ids are derived from the event id and the user).
//
// # Several instances
//
// Watcher processes pointed at one external NATS cluster (and one PostgreSQL store) share
// each durable consumer by name: a pull consumer hands every message to one fetcher at a time
// (work-queue semantics), and redelivers it to any of them when it is not acknowledged within
// AckWait. The store then makes the effect exactly-once: a notification is inserted only if
// absent, and each delivery is claimed by one instance's dispatcher (store.ClaimDeliveries).
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Event types carried by the queue.
const (
	PriceChange  = "PRICE_CHANGE"
	EarningsCall = "EARNINGS_CALL"
	BreakingNews = "BREAKING_NEWS"
)

// EventTypes lists the event types in a fixed order.
var EventTypes = []string{PriceChange, EarningsCall, BreakingNews}

// ValidType reports whether t is one of EventTypes.
func ValidType(t string) bool {
	return t == PriceChange || t == EarningsCall || t == BreakingNews
}

// Subjects and stream names.
const (
	FanoutPrefix = "watcher.fanout."
	TickSubject  = "watcher.ticks"
	FanoutStream = "WATCHER"
	TickStream   = "WATCHER_TICKS"
	// ChangesSubject carries subscription and settings changes from one watcher instance to
	// the others (stream ChangesStream, kept for ChangesMaxAge).
	ChangesSubject = "watcher.changes"
	ChangesStream  = "WATCHER_CHANGES"
	ChangesMaxAge  = time.Hour
)

// ErrClosed is returned by calls on a closed queue.
var ErrClosed = errors.New("queue: closed")

// Config sets up a Queue.
type Config struct {
	// URL of an external NATS server or cluster; empty runs an embedded server.
	URL string
	// StoreDir is the embedded server's JetStream directory (required when URL is empty).
	StoreDir string
	// Listen is the embedded server's client address (host:port) for external publishers of
	// ticks; empty means in-process connections only.
	Listen string
	// Replicas of the streams on an external cluster; 0 means 1.
	Replicas int
	// Duplicates is the publish de-duplication window; 0 means 10 minutes.
	Duplicates time.Duration
	// MaxAge bounds how long messages are kept; 0 means 7 days.
	MaxAge time.Duration
	// AckWait is how long a delivered message may stay unacknowledged before it is delivered
	// again; 0 means 30 seconds.
	AckWait time.Duration
	// Log receives server and consumer messages; nil means slog.Default().
	Log *slog.Logger
}

// Validate applies defaults and checks the configuration; the error names the field.
func (c *Config) Validate() error {
	if c.URL == "" && c.StoreDir == "" {
		return errors.New("queue: config StoreDir: required for the embedded server")
	}
	if c.Listen != "" {
		if _, p, err := net.SplitHostPort(c.Listen); err != nil {
			return fmt.Errorf("queue: config Listen %q: want host:port", c.Listen)
		} else if _, err := strconv.Atoi(p); err != nil {
			return fmt.Errorf("queue: config Listen %q: bad port", c.Listen)
		}
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		return fmt.Errorf("queue: config Replicas %d: want 1 to 5", c.Replicas)
	}
	if c.Duplicates == 0 {
		c.Duplicates = 10 * time.Minute
	}
	if c.MaxAge == 0 {
		c.MaxAge = 7 * 24 * time.Hour
	}
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.Duplicates < 0 || c.MaxAge < c.Duplicates || c.AckWait < time.Second {
		return fmt.Errorf("queue: config Duplicates %v / MaxAge %v / AckWait %v: want 0 <= Duplicates <= MaxAge, AckWait >= 1s", c.Duplicates, c.MaxAge, c.AckWait)
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return nil
}

// Queue is a connection to JetStream with the watcher's streams.
type Queue struct {
	cfg       Config
	ns        *server.Server // nil with an external URL
	nc        *nats.Conn
	js        jetstream.JetStream
	closeOnce sync.Once
}

// Open starts the embedded server (or connects to URL), and creates or updates the streams.
func Open(ctx context.Context, cfg Config) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	q := &Queue{cfg: cfg}
	var opts []nats.Option
	opts = append(opts, nats.Name("fabmarket-watcher"), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second))
	url := cfg.URL
	if url == "" {
		so := &server.Options{
			ServerName: "watcher",
			JetStream:  true,
			StoreDir:   cfg.StoreDir,
			SyncAlways: true, // fsync every write: see the package documentation
			NoSigs:     true,
			NoLog:      true,
			DontListen: cfg.Listen == "",
		}
		if cfg.Listen != "" {
			h, p, _ := net.SplitHostPort(cfg.Listen)
			so.Host = h
			so.Port, _ = strconv.Atoi(p)
		}
		ns, err := server.NewServer(so)
		if err != nil {
			return nil, fmt.Errorf("queue: embedded nats-server: %w", err)
		}
		go ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			ns.Shutdown()
			return nil, fmt.Errorf("queue: embedded nats-server not ready after 10s (listen %q)", cfg.Listen)
		}
		q.ns = ns
		opts = append(opts, nats.InProcessServer(ns))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		q.shutdownServer()
		return nil, fmt.Errorf("queue: connect %s: %w", url, err)
	}
	q.nc = nc
	js, err := jetstream.New(nc)
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("queue: jetstream: %w", err)
	}
	q.js = js
	streams := []jetstream.StreamConfig{
		{Name: FanoutStream, Subjects: []string{FanoutPrefix + ">"}, Description: "watcher fan-out batches"},
		{Name: TickStream, Subjects: []string{TickSubject}, Description: "watcher external ticks"},
		{Name: ChangesStream, Subjects: []string{ChangesSubject}, Description: "watcher subscription and settings changes between instances", MaxAge: ChangesMaxAge},
	}
	for _, sc := range streams {
		sc.Storage = jetstream.FileStorage
		sc.Retention = jetstream.LimitsPolicy
		sc.Replicas = cfg.Replicas
		if sc.MaxAge == 0 {
			sc.MaxAge = cfg.MaxAge
		}
		sc.Duplicates = min(cfg.Duplicates, sc.MaxAge)
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			q.Close()
			return nil, fmt.Errorf("queue: stream %s: %w", sc.Name, err)
		}
	}
	return q, nil
}

// ClientURL returns the URL external publishers use, or "" when the embedded server does not
// listen.
func (q *Queue) ClientURL() string {
	if q.ns != nil {
		if q.cfg.Listen == "" {
			return ""
		}
		return q.ns.ClientURL()
	}
	return q.cfg.URL
}

// Embedded reports whether the queue runs its own server.
func (q *Queue) Embedded() bool { return q.ns != nil }

// Publish stores data on subject with a de-duplication id and waits for the server's
// acknowledgement (after the fsync, with SyncAlways). A duplicate id within the window is
// acknowledged without being stored again.
func (q *Queue) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	if q.nc == nil || q.nc.IsClosed() {
		return ErrClosed
	}
	_, err := q.js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: data}, jetstream.WithMsgID(msgID))
	if err != nil {
		return fmt.Errorf("queue: publish %s: %w", subject, err)
	}
	return nil
}

// Item is one entry of PublishBatch.
type Item struct {
	Subject string
	MsgID   string
	Data    []byte
}

// PublishBatch publishes items asynchronously and waits until every one is acknowledged; it
// returns the first error.
func (q *Queue) PublishBatch(ctx context.Context, items []Item) error {
	if q.nc == nil || q.nc.IsClosed() {
		return ErrClosed
	}
	futs := make([]jetstream.PubAckFuture, 0, len(items))
	for _, it := range items {
		f, err := q.js.PublishMsgAsync(&nats.Msg{Subject: it.Subject, Data: it.Data}, jetstream.WithMsgID(it.MsgID))
		if err != nil {
			return fmt.Errorf("queue: publish %s: %w", it.Subject, err)
		}
		futs = append(futs, f)
	}
	for _, f := range futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("queue: publish %s: %w", f.Msg().Subject, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Msg is one delivered message.
type Msg struct {
	Subject      string
	Data         []byte
	NumDelivered uint64
}

// Handler processes one message; nil acknowledges it, an error has it delivered again after
// a delay.
type Handler func(ctx context.Context, m Msg) error

// ConsumeConfig names a durable consumer.
type ConsumeConfig struct {
	Stream  string
	Durable string
	Filter  string
	// Batch is how many messages one fetch asks for; 0 means 64.
	Batch int
	// RetryDelay is the redelivery delay after a handler error; 0 means 1 second.
	RetryDelay time.Duration
	// StartTime, when set, is where a durable that does not exist yet starts (an existing one
	// keeps its position); zero means from the stream's first message.
	StartTime time.Time
	// InactiveAfter, when set, lets the server delete the durable after that long without a
	// consumer (per-instance durables of instances that are gone).
	InactiveAfter time.Duration
}

// Consume runs a durable pull consumer until ctx ends, calling h for each message in order.
// Consumers with the same Durable, in this process or in other processes on the same NATS
// server or cluster, share it: each message goes to one of them (work-queue semantics);
// consumers that must each see every message use durables of their own.
func (q *Queue) Consume(ctx context.Context, cc ConsumeConfig, h Handler) error {
	if cc.Batch == 0 {
		cc.Batch = 64
	}
	if cc.RetryDelay == 0 {
		cc.RetryDelay = time.Second
	}
	ccfg := jetstream.ConsumerConfig{
		Durable:           cc.Durable,
		AckPolicy:         jetstream.AckExplicitPolicy,
		AckWait:           q.cfg.AckWait,
		MaxDeliver:        -1,
		FilterSubject:     cc.Filter,
		MaxAckPending:     4 * cc.Batch,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: cc.InactiveAfter,
	}
	if !cc.StartTime.IsZero() {
		existing, err := q.js.Consumer(ctx, cc.Stream, cc.Durable)
		switch {
		case err == nil:
			// Where a durable starts cannot be changed: keep what it was made with.
			info := existing.CachedInfo()
			ccfg.DeliverPolicy, ccfg.OptStartTime = info.Config.DeliverPolicy, info.Config.OptStartTime
		case errors.Is(err, jetstream.ErrConsumerNotFound):
			st := cc.StartTime
			ccfg.DeliverPolicy, ccfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &st
		default:
			return fmt.Errorf("queue: consumer %s: %w", cc.Durable, err)
		}
	}
	cons, err := q.js.CreateOrUpdateConsumer(ctx, cc.Stream, ccfg)
	if err != nil {
		return fmt.Errorf("queue: consumer %s: %w", cc.Durable, err)
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(cc.Batch, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			q.cfg.Log.Warn("watcher: queue fetch", "consumer", cc.Durable, "err", err)
			sleep(ctx, time.Second)
			continue
		}
		for m := range batch.Messages() {
			if ctx.Err() != nil {
				return nil // unacknowledged: delivered again after AckWait or restart
			}
			md, _ := m.Metadata()
			var n uint64
			if md != nil {
				n = md.NumDelivered
			}
			if err := h(ctx, Msg{Subject: m.Subject(), Data: m.Data(), NumDelivered: n}); err != nil {
				q.cfg.Log.Warn("watcher: queue handler", "consumer", cc.Durable, "subject", m.Subject(), "delivery", n, "err", err)
				m.NakWithDelay(cc.RetryDelay)
				continue
			}
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := m.DoubleAck(actx); err != nil {
				q.cfg.Log.Warn("watcher: queue ack", "consumer", cc.Durable, "err", err)
			}
			cancel()
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			q.cfg.Log.Debug("watcher: queue batch", "consumer", cc.Durable, "err", err)
		}
	}
	return nil
}

// Follow calls h, in order, for every message of stream stored from since on (and every later
// one) until ctx ends. It uses an ordered consumer of its own, so every follower sees every
// message — a broadcast, unlike Consume — and one that lost its connection resumes after the
// last message it saw.
func (q *Queue) Follow(ctx context.Context, stream string, since time.Time, h func(m Msg)) error {
	if q.nc == nil || q.nc.IsClosed() {
		return ErrClosed
	}
	oc := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &since}
	c, err := q.js.OrderedConsumer(ctx, stream, oc)
	if err != nil {
		return fmt.Errorf("queue: follow %s: %w", stream, err)
	}
	cc, err := c.Consume(func(m jetstream.Msg) {
		md, _ := m.Metadata()
		var n uint64
		if md != nil {
			n = md.NumDelivered
		}
		h(Msg{Subject: m.Subject(), Data: m.Data(), NumDelivered: n})
	})
	if err != nil {
		return fmt.Errorf("queue: follow %s: %w", stream, err)
	}
	<-ctx.Done()
	cc.Stop()
	return nil
}

// Pending returns the number of messages not yet acknowledged by a durable consumer.
func (q *Queue) Pending(ctx context.Context, stream, durable string) (uint64, error) {
	c, err := q.js.Consumer(ctx, stream, durable)
	if err != nil {
		return 0, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (q *Queue) shutdownServer() {
	if q.ns != nil {
		q.ns.Shutdown()
		q.ns.WaitForShutdown()
	}
}

// Close drains the connection and stops the embedded server; it is safe to call twice.
func (q *Queue) Close() {
	q.closeOnce.Do(func() {
		if q.nc != nil {
			q.nc.Close()
		}
		q.shutdownServer()
	})
}
