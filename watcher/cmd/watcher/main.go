// Command watcher is the price watcher and notifier service: REST on WATCHER_HOST:WATCHER_PORT
// of network.conf (127.0.0.1:8090), an embedded NATS JetStream queue and SQLite store under
// RUN/watcher, and the exchange chaincode's trades as a tick feed. scripts/network.sh starts it
// as
//
//	watcher --network-conf network/network.conf --run-dir network/run --webhook-allow-private
//
// Every flag has an environment variable (WATCHER_ + the flag in upper case with '_' for '-',
// e.g. WATCHER_NATS_URL, WATCHER_DB_URL, WATCHER_SMTP, WATCHER_WEBHOOK_SECRET); a flag given on
// the command line wins. main only wires: configure, validate, new, run, wait for a signal.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // quiet hours in any IANA zone, whatever the host has installed

	"github.com/fabmarket/fabmarket/watcher/app"
	"github.com/fabmarket/fabmarket/watcher/notify"
)

func main() {
	cfg, err := configure(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "watcher:", err)
		os.Exit(2)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "watcher: config:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg)
	if err != nil {
		cfg.Log.Error("watcher: start", "err", err)
		os.Exit(1)
	}
	defer a.Close()
	if err := a.Run(ctx); err != nil {
		cfg.Log.Error("watcher: stopped", "err", err)
		a.Close()
		os.Exit(1)
	}
	cfg.Log.Info("watcher: stopped")
}

// configure reads flags, with WATCHER_* environment variables as defaults.
func configure(args []string) (app.Config, error) {
	var c app.Config
	fs := flag.NewFlagSet("watcher", flag.ContinueOnError)
	str := func(p *string, name, usage string) {
		fs.StringVar(p, name, env(name, ""), usage+" (env "+envName(name)+")")
	}
	num := func(p *float64, name string, def float64, usage string) {
		v := def
		if s := env(name, ""); s != "" {
			fmt.Sscan(s, &v)
		}
		fs.Float64Var(p, name, v, usage+" (env "+envName(name)+")")
	}
	var symbols, tickSizes, logLevel string
	var retryBase, retryMax time.Duration
	var attempts, maxBatch int
	str(&c.NetworkConf, "network-conf", "network.conf with WATCHER_HOST/PORT and the peers")
	str(&c.RunDir, "run-dir", "run directory (default network/run); state goes to RUN/watcher")
	str(&c.Listen, "listen", "REST address (default WATCHER_HOST:WATCHER_PORT, else 127.0.0.1:8090)")
	str(&c.HTTPSCert, "https-cert", "PEM certificate chain to serve HTTPS instead of HTTP (with --https-key)")
	str(&c.HTTPSKey, "https-key", "PEM private key of --https-cert")
	str(&c.DataDir, "data-dir", "state directory (default RUN/watcher)")
	str(&c.DBURL, "db-url", "store: a SQLite path or postgres:// URL (default DATA/watcher.db)")
	str(&c.NATSURL, "nats-url", "external NATS URL (default: embedded server)")
	str(&c.NATSListen, "nats-listen", "embedded NATS client address for tick publishers, or none (default 127.0.0.1:4222)")
	str(&c.KeysFile, "api-keys", "API key file (default RUN/apikeys.json)")
	str(&c.InstanceID, "instance-id", "this process's id among watchers sharing a store and queue (default HOSTNAME:DATA-DIR)")
	fs.DurationVar(&c.QueueAckWait, "queue-ack-wait", envDur("queue-ack-wait", 0), "redelivery delay of a queue message whose consumer died (default 30s; env WATCHER_QUEUE_ACK_WAIT)")
	fs.DurationVar(&c.DeliveryLease, "delivery-lease", envDur("delivery-lease", 0), "how long a claimed delivery stays reserved for this instance (default 2m; env WATCHER_DELIVERY_LEASE)")
	str(&c.SMTPAddr, "smtp", "SMTP server host:port for e-mail (default: e-mail off)")
	str(&c.SMTPFrom, "smtp-from", "e-mail sender (default alerts@fabmarket.local)")
	str(&c.SMTPUser, "smtp-user", "SMTP username")
	str(&c.SMTPPassword, "smtp-password", "SMTP password")
	str(&c.WebhookSecret, "webhook-secret", "webhook HMAC secret (default: DATA/webhook-secret, created)")
	fs.BoolVar(&c.WebhookAllowPrivate, "webhook-allow-private", envBool("webhook-allow-private", false), "let webhooks reach loopback, private, link-local and metadata addresses; development only (env WATCHER_WEBHOOK_ALLOW_PRIVATE)")
	str(&c.APNsEndpoint, "apns-endpoint", "APNs base URL, e.g. https://api.push.apple.com (default: APNs off)")
	str(&c.APNsTopic, "apns-topic", "APNs topic (bundle id)")
	str(&c.APNsToken, "apns-token", "fixed APNs provider token (tests; use --apns-key-file otherwise)")
	str(&c.APNsKeyFile, "apns-key-file", "APNs token signing key (.p8) for ES256 provider tokens")
	str(&c.APNsKeyID, "apns-key-id", "key id of --apns-key-file")
	str(&c.APNsTeamID, "apns-team-id", "Apple developer team id (the provider token's issuer)")
	str(&c.FCMEndpoint, "fcm-endpoint", "FCM base URL, e.g. https://fcm.googleapis.com (default: FCM off)")
	str(&c.FCMProject, "fcm-project", "FCM project id (default: the service account's project_id)")
	str(&c.FCMCredentials, "fcm-credentials", "Google service-account key file (JSON) for FCM OAuth 2 access tokens")
	str(&c.FCMToken, "fcm-token", "fixed FCM OAuth access token (tests; use --fcm-credentials otherwise)")
	num(&c.WebhookRate, "webhook-rate", 1000, "webhook sends per second")
	num(&c.EmailRate, "email-rate", 50, "e-mails per second")
	num(&c.PushRate, "push-rate", 10000, "pushes per second per provider")
	fs.DurationVar(&retryBase, "retry-base", envDur("retry-base", notify.DefaultBackoff.Base), "first retry delay (env WATCHER_RETRY_BASE)")
	fs.DurationVar(&retryMax, "retry-max", envDur("retry-max", notify.DefaultBackoff.Max), "largest retry delay (env WATCHER_RETRY_MAX)")
	fs.IntVar(&attempts, "max-attempts", envInt("max-attempts", notify.DefaultBackoff.MaxAttempts), "attempts before a dead letter (env WATCHER_MAX_ATTEMPTS)")
	fs.IntVar(&maxBatch, "max-batch", envInt("max-batch", 1000), "largest POST /v1/prices batch (env WATCHER_MAX_BATCH)")
	str(&symbols, "symbols", "comma-separated closed list of symbols (default: symbols of subscriptions and the ledger)")
	str(&c.Feed, "feed", "ledger feed: auto (on with --network-conf), on, off")
	str(&c.FeedOrg, "feed-org", "org whose peer the feed reads (default org1)")
	str(&c.FeedUser, "feed-user", "identity of the feed (default User1)")
	str(&c.FeedChannel, "feed-channel", "channel (default market)")
	str(&c.FeedChaincode, "feed-chaincode", "chaincode (default exchange)")
	str(&c.DefaultTickSize, "tick-size", "tick size of instruments the chaincode does not describe (default 0.01)")
	str(&tickSizes, "tick-sizes", "per-symbol tick sizes, SYM=0.01,SYM2=0.5")
	str(&logLevel, "log-level", "debug, info, warn or error (default info)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	c.Backoff = notify.Backoff{Base: retryBase, Max: retryMax, MaxAttempts: attempts}
	c.MaxBatch = maxBatch
	for _, s := range strings.Split(symbols, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.Symbols = append(c.Symbols, s)
		}
	}
	if tickSizes != "" {
		c.TickSizes = map[string]string{}
		for _, kv := range strings.Split(tickSizes, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok {
				return c, fmt.Errorf("--tick-sizes %q: want SYM=SIZE", kv)
			}
			c.TickSizes[k] = v
		}
	}
	var lvl slog.Level
	if logLevel != "" {
		if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
			return c, fmt.Errorf("--log-level %q: %w", logLevel, err)
		}
	}
	c.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	return c, nil
}

func envName(flag string) string {
	return "WATCHER_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func env(flag, def string) string {
	if v, ok := os.LookupEnv(envName(flag)); ok {
		return v
	}
	return def
}

func envDur(flag string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(env(flag, "")); err == nil {
		return d
	}
	return def
}

func envBool(flag string, def bool) bool {
	if b, err := strconv.ParseBool(env(flag, "")); err == nil {
		return b
	}
	return def
}

func envInt(flag string, def int) int {
	v := def
	if s := env(flag, ""); s != "" {
		fmt.Sscan(s, &v)
	}
	return v
}
