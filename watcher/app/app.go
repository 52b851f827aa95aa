// Package app assembles the watcher binary from its configuration: it opens the store and the
// queue, builds the channels, the service, the REST API and the ledger feed, runs them, and
// shuts them down in order. cmd/watcher only parses flags into a Config and calls
// Validate, New, Run and Close, in the manner of nats-server's main.
package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fabmarket/fabmarket/internal/netconf"
	"github.com/fabmarket/fabmarket/watcher/api"
	"github.com/fabmarket/fabmarket/watcher/feed"
	"github.com/fabmarket/fabmarket/watcher/notify"
	"github.com/fabmarket/fabmarket/watcher/queue"
	"github.com/fabmarket/fabmarket/watcher/service"
	"github.com/fabmarket/fabmarket/watcher/store"
)

// Config is everything the binary can be told. Zero values take the documented defaults.
type Config struct {
	NetworkConf string // network.conf; gives WATCHER_HOST/PORT and the Fabric peers
	RunDir      string // network/run; default for DataDir (RunDir/watcher) and KeysFile
	Listen      string // REST address; default WATCHER_HOST:WATCHER_PORT or 127.0.0.1:8090
	// HTTPSCert and HTTPSKey (PEM files, both or neither) make the REST API serve HTTPS
	// (TLS 1.2 or later) instead of HTTP.
	HTTPSCert, HTTPSKey string
	DataDir             string // the watcher's state: SQLite database, JetStream files, webhook secret
	DBURL               string // store URL; default sqlite at DataDir/watcher.db
	NATSURL             string // external NATS; default embedded
	NATSListen          string // embedded server's client address; "none" for in-process only
	KeysFile            string // API keys; default RunDir/apikeys.json (created when missing)
	// InstanceID names this process among watchers sharing a store and a queue (PostgreSQL
	// and external NATS); default HOSTNAME:ABSOLUTE-DATA-DIR, which one process at a time
	// can hold (the data directory is locked).
	InstanceID    string
	DeliveryLease time.Duration // how long a claimed delivery is reserved; default 2 minutes
	// QueueAckWait is how long a fan-out message taken by a process that then died stays
	// invisible before it is delivered again (to any instance); default 30 seconds.
	QueueAckWait time.Duration

	SMTPAddr, SMTPFrom, SMTPUser, SMTPPassword string
	WebhookSecret                              string // default: DataDir/webhook-secret (created when missing)
	// WebhookAllowPrivate lets webhooks reach loopback, private, link-local, CGNAT and other
	// non-public addresses (development and tests only); by default such connections are
	// refused when dialled and the delivery fails permanently. Redirects are never followed.
	WebhookAllowPrivate bool

	APNsEndpoint, APNsTopic, APNsToken string
	// APNs token authentication: the team's .p8 signing key, its key id and the team id; the
	// provider tokens are signed (ES256) from them and renewed every 50 minutes. APNsToken,
	// a fixed token, is for tests.
	APNsKeyFile, APNsKeyID, APNsTeamID string
	FCMEndpoint, FCMProject, FCMToken  string
	// FCMCredentials is a Google service-account key file (JSON); access tokens are obtained
	// from its token_uri and FCMProject defaults to its project_id. FCMToken, a fixed access
	// token, is for tests.
	FCMCredentials string

	WebhookRate, EmailRate, PushRate float64 // sends per second per provider
	Backoff                          notify.Backoff
	Symbols                          []string
	MaxBatch                         int

	// Feed: the exchange chaincode's events on Channel through Org's peer as User.
	Feed                        string // "auto" (when NetworkConf is set), "on", "off"
	FeedOrg, FeedUser           string
	FeedChannel, FeedChaincode  string
	DefaultTickSize             string
	TickSizes                   map[string]string
	ShutdownTimeout             time.Duration
	Log                         *slog.Logger
	defaultNATSListen, keysMade bool
}

// Validate applies defaults and checks the configuration in one place; errors name the flag.
func (c *Config) Validate() error {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.RunDir == "" {
		c.RunDir = filepath.Join("network", "run")
	}
	if c.DataDir == "" {
		c.DataDir = filepath.Join(c.RunDir, "watcher")
	}
	if c.KeysFile == "" {
		c.KeysFile = filepath.Join(c.RunDir, "apikeys.json")
	}
	if c.Listen == "" && c.NetworkConf != "" {
		nc, err := netconf.Load(c.NetworkConf, c.RunDir)
		if err != nil {
			return fmt.Errorf("--network-conf: %w", err)
		}
		if a, err := nc.Addr("WATCHER"); err == nil {
			c.Listen = a
		}
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8090"
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("--listen %q: want host:port", c.Listen)
	}
	if (c.HTTPSCert == "") != (c.HTTPSKey == "") {
		return errors.New("--https-cert and --https-key go together: give both or neither")
	}
	if c.DBURL == "" {
		c.DBURL = filepath.Join(c.DataDir, "watcher.db")
	}
	if c.InstanceID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "localhost"
		}
		dir, err := filepath.Abs(c.DataDir)
		if err != nil {
			return fmt.Errorf("--data-dir %q: %w", c.DataDir, err)
		}
		c.InstanceID = host + ":" + dir
	}
	if len(c.InstanceID) > 256 {
		return fmt.Errorf("--instance-id: at most 256 bytes")
	}
	if c.QueueAckWait != 0 && c.QueueAckWait < time.Second {
		return fmt.Errorf("--queue-ack-wait %v: want at least 1s", c.QueueAckWait)
	}
	if c.DeliveryLease != 0 && c.DeliveryLease < 10*time.Second {
		return fmt.Errorf("--delivery-lease %v: want at least 10s (above the longest send)", c.DeliveryLease)
	}
	switch c.NATSListen {
	case "":
		if c.NATSURL == "" {
			c.NATSListen, c.defaultNATSListen = "127.0.0.1:4222", true
		}
	case "none":
		c.NATSListen = ""
	}
	if c.SMTPAddr != "" {
		if c.SMTPFrom == "" {
			c.SMTPFrom = "alerts@fabmarket.local"
		}
		if err := (&notify.Email{Addr: c.SMTPAddr, From: c.SMTPFrom}).Validate(); err != nil {
			return fmt.Errorf("--smtp: %w", err)
		}
	}
	if c.APNsEndpoint != "" {
		if err := (&notify.APNs{Endpoint: c.APNsEndpoint, Topic: c.APNsTopic}).Validate(); err != nil {
			return fmt.Errorf("--apns-endpoint/--apns-topic: %w", err)
		}
		switch {
		case c.APNsKeyFile != "" && c.APNsToken != "":
			return errors.New("--apns-key-file/--apns-token: give one, not both")
		case c.APNsKeyFile != "":
			key, err := notify.LoadAPNsKey(c.APNsKeyFile)
			if err != nil {
				return fmt.Errorf("--apns-key-file: %w", err)
			}
			if err := (&notify.APNsTokenSource{KeyID: c.APNsKeyID, TeamID: c.APNsTeamID, Key: key}).Validate(); err != nil {
				return fmt.Errorf("--apns-key-id/--apns-team-id: %w", err)
			}
		case c.APNsToken == "":
			return errors.New("--apns-endpoint: needs --apns-key-file with --apns-key-id and --apns-team-id (or a fixed --apns-token)")
		}
	}
	if c.FCMEndpoint != "" {
		switch {
		case c.FCMCredentials != "" && c.FCMToken != "":
			return errors.New("--fcm-credentials/--fcm-token: give one, not both")
		case c.FCMCredentials != "":
			src, err := notify.NewFCMTokenSource(c.FCMCredentials)
			if err != nil {
				return fmt.Errorf("--fcm-credentials: %w", err)
			}
			if c.FCMProject == "" {
				c.FCMProject = src.Account.ProjectID
			}
		case c.FCMToken == "":
			return errors.New("--fcm-endpoint: needs --fcm-credentials (a service-account key file) or a fixed --fcm-token")
		}
		if err := (&notify.FCM{Endpoint: c.FCMEndpoint, Project: c.FCMProject}).Validate(); err != nil {
			return fmt.Errorf("--fcm-endpoint/--fcm-project: %w", err)
		}
	}
	if c.WebhookRate == 0 {
		c.WebhookRate = 1000
	}
	if c.EmailRate == 0 {
		c.EmailRate = 50
	}
	if c.PushRate == 0 {
		c.PushRate = 10000
	}
	if c.WebhookRate < 0 || c.EmailRate < 0 || c.PushRate < 0 {
		return errors.New("--webhook-rate/--email-rate/--push-rate: must not be negative")
	}
	if c.Backoff == (notify.Backoff{}) {
		c.Backoff = notify.DefaultBackoff
	}
	if err := c.Backoff.Validate(); err != nil {
		return fmt.Errorf("--retry-base/--retry-max/--max-attempts: %w", err)
	}
	for _, s := range c.Symbols {
		if !service.ValidSymbol(s) {
			return fmt.Errorf("--symbols: %q is not a symbol", s)
		}
	}
	switch c.Feed {
	case "", "auto":
		c.Feed = "off"
		if c.NetworkConf != "" {
			c.Feed = "on"
		}
	case "on", "off":
	default:
		return fmt.Errorf("--feed %q: want auto, on or off", c.Feed)
	}
	if c.Feed == "on" && c.NetworkConf == "" {
		return errors.New("--feed on: needs --network-conf")
	}
	if c.FeedOrg == "" {
		c.FeedOrg = "org1"
	}
	if c.FeedUser == "" {
		c.FeedUser = "User1"
	}
	if c.FeedChannel == "" {
		c.FeedChannel = "market"
	}
	if c.FeedChaincode == "" {
		c.FeedChaincode = "exchange"
	}
	if c.DefaultTickSize == "" {
		c.DefaultTickSize = "0.01"
	}
	if _, err := feed.ParseTickSize(c.DefaultTickSize, service.DefaultScale); err != nil {
		return fmt.Errorf("--tick-size: %w", err)
	}
	for sym, ts := range c.TickSizes {
		if _, err := feed.ParseTickSize(ts, service.DefaultScale); err != nil {
			return fmt.Errorf("--tick-sizes %s: %w", sym, err)
		}
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	return nil
}

// App is the assembled watcher.
type App struct {
	cfg       Config
	store     store.Store
	queue     *queue.Queue
	svc       *service.Service
	api       *api.Server
	http      *http.Server
	ln        net.Listener
	feed      *feed.Feed
	lock      *os.File // the data directory's lock
	closeOnce sync.Once
}

// New opens everything the configuration names. It does not start serving; Run does.
func New(ctx context.Context, cfg Config) (*App, error) {
	a := &App{cfg: cfg}
	var err error
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, err
	}
	if a.lock, err = lockDir(cfg.DataDir); err != nil {
		return nil, err
	}
	keys, err := loadOrCreateKeys(cfg.KeysFile, cfg.Log)
	if err != nil {
		return nil, err
	}
	secret := cfg.WebhookSecret
	if secret == "" {
		if secret, err = loadOrCreateSecret(filepath.Join(cfg.DataDir, "webhook-secret")); err != nil {
			return nil, err
		}
	}
	if a.store, err = store.Open(ctx, cfg.DBURL); err != nil {
		return nil, err
	}
	qc := queue.Config{URL: cfg.NATSURL, StoreDir: filepath.Join(cfg.DataDir, "jetstream"), Listen: cfg.NATSListen, AckWait: cfg.QueueAckWait, Log: cfg.Log}
	a.queue, err = queue.Open(ctx, qc)
	if err != nil && cfg.defaultNATSListen {
		cfg.Log.Warn("watcher: cannot listen for NATS clients on the default address; in-process only", "listen", cfg.NATSListen, "err", err)
		qc.Listen = ""
		a.queue, err = queue.Open(ctx, qc)
	}
	if err != nil {
		return nil, err
	}
	senders := map[string]notify.Sender{"webhook": &notify.Webhook{Secret: []byte(secret), AllowPrivate: cfg.WebhookAllowPrivate}}
	if cfg.WebhookAllowPrivate {
		cfg.Log.Warn("watcher: --webhook-allow-private: webhooks may reach loopback, private and metadata addresses; development only")
	}
	pacers := map[string]*notify.Pacer{"webhook": notify.NewPacer(cfg.WebhookRate, int(max(1, cfg.WebhookRate/10)), nil)}
	if cfg.SMTPAddr != "" {
		senders["email"] = &notify.Email{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUser, Password: cfg.SMTPPassword}
		pacers["email"] = notify.NewPacer(cfg.EmailRate, int(max(1, cfg.EmailRate/10)), nil)
	}
	if cfg.APNsEndpoint != "" {
		apns := &notify.APNs{Endpoint: cfg.APNsEndpoint, Topic: cfg.APNsTopic, Token: cfg.APNsToken}
		if cfg.APNsKeyFile != "" {
			key, err := notify.LoadAPNsKey(cfg.APNsKeyFile)
			if err != nil {
				return nil, err
			}
			apns.Auth = &notify.APNsTokenSource{KeyID: cfg.APNsKeyID, TeamID: cfg.APNsTeamID, Key: key}
		}
		senders["apns"] = apns
		pacers["apns"] = notify.NewPacer(cfg.PushRate, int(max(1, cfg.PushRate/10)), nil)
	}
	if cfg.FCMEndpoint != "" {
		fcm := &notify.FCM{Endpoint: cfg.FCMEndpoint, Project: cfg.FCMProject, Token: cfg.FCMToken}
		if cfg.FCMCredentials != "" {
			src, err := notify.NewFCMTokenSource(cfg.FCMCredentials)
			if err != nil {
				return nil, err
			}
			fcm.Auth = src
		}
		senders["fcm"] = fcm
		pacers["fcm"] = notify.NewPacer(cfg.PushRate, int(max(1, cfg.PushRate/10)), nil)
	}
	m := service.NewMetrics()
	a.svc, err = service.New(ctx, service.Config{Store: a.store, Queue: a.queue, Senders: senders, Pacers: pacers, Backoff: cfg.Backoff,
		InstanceID: cfg.InstanceID, DeliveryLease: cfg.DeliveryLease, Symbols: cfg.Symbols, Log: cfg.Log, Metrics: m})
	if err != nil {
		return nil, err
	}
	a.api, err = api.New(api.Config{Watcher: a.svc, Keys: keys, Registry: m.Registry, MaxBatch: cfg.MaxBatch, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	if cfg.Feed == "on" {
		a.feed, err = feed.New(feed.Config{Sink: a.svc, NetworkConf: cfg.NetworkConf, RunDir: cfg.RunDir, Org: cfg.FeedOrg, User: cfg.FeedUser,
			Channel: cfg.FeedChannel, Chaincode: cfg.FeedChaincode, DefaultTickSize: cfg.DefaultTickSize, TickSizes: cfg.TickSizes, Log: cfg.Log})
		if err != nil {
			return nil, err
		}
	}
	if a.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	// ReadTimeout bounds a trickled body; no WriteTimeout: it would cut the alert stream.
	a.http = &http.Server{Handler: a.api, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	if cfg.HTTPSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.HTTPSCert, cfg.HTTPSKey)
		if err != nil {
			return nil, fmt.Errorf("--https-cert/--https-key: %w", err)
		}
		a.http.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	ok = true
	return a, nil
}

// Addr returns the address the REST API listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// Service returns the service (for tests).
func (a *App) Service() *service.Service { return a.svc }

// Run serves until ctx ends or a part fails, then shuts down gracefully.
func (a *App) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 3)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		serve := func() error { return a.http.Serve(a.ln) }
		if a.http.TLSConfig != nil {
			serve = func() error { return a.http.ServeTLS(a.ln, "", "") }
		}
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.svc.Run(ctx); err != nil {
			errc <- fmt.Errorf("service: %w", err)
		}
	}()
	if a.feed != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.feed.Run(ctx) // retries by itself; returns when ctx ends
		}()
	}
	a.cfg.Log.Info("watcher: serving", "listen", a.Addr(), "data", a.cfg.DataDir, "nats", a.queue.ClientURL(), "feed", a.cfg.Feed, "instance", a.cfg.InstanceID)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	a.svc.Stop()
	a.api.Close()
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
	defer scancel()
	a.http.Shutdown(sctx)
	cancel()
	wg.Wait()
	return err
}

// Close releases everything; safe to call twice and after a failed New.
func (a *App) Close() {
	a.closeOnce.Do(func() {
		if a.ln != nil {
			a.ln.Close()
		}
		if a.queue != nil {
			a.queue.Close()
		}
		if a.store != nil {
			a.store.Close()
		}
		if a.lock != nil {
			a.lock.Close() // releases the lock
		}
	})
}

func loadOrCreateSecret(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		if s := strings.TrimSpace(string(b)); s != "" {
			return s, nil
		}
	}
	var b [32]byte
	rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	if err := writeAtomic(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	return s, nil
}

// loadOrCreateKeys reads the API key file, writing one with a random key per org when it does
// not exist yet (the gateways read the same file).
func loadOrCreateKeys(path string, log *slog.Logger) (*api.Keys, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		m := map[string]string{}
		for _, org := range netconf.Orgs {
			var b [24]byte
			rand.Read(b[:])
			m[org] = hex.EncodeToString(b[:])
		}
		raw, _ := json.MarshalIndent(m, "", "  ")
		if err := writeAtomic(path, append(raw, '\n'), 0o600); err != nil {
			return nil, fmt.Errorf("api keys: %w", err)
		}
		log.Info("watcher: wrote new API keys", "file", path)
	}
	return api.LoadKeys(path)
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
