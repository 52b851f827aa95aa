// Command gateway is the REST gateway of one org: it loads its configuration (flags, then
// GATEWAY_* environment variables, then an optional JSON file, then defaults from
// network/network.conf), connects to the org's peer through fabric-gateway, and serves the REST
// API, the live stream, /metrics and the health endpoints until SIGINT or SIGTERM, then drains.
// It serves HTTP, or HTTPS (TLS 1.2 or later) when given --https-cert and --https-key.
//
//	gateway --org org1 [--network-conf network/network.conf --run-dir network/run] [--listen 127.0.0.1:8081]
//	        [--https-cert server.pem --https-key server.key]
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fabmarket/fabmarket/gateway/api"
	"github.com/fabmarket/fabmarket/gateway/auth"
	"github.com/fabmarket/fabmarket/gateway/console"
	"github.com/fabmarket/fabmarket/gateway/fabric"
	"github.com/fabmarket/fabmarket/gateway/stream"
	"github.com/fabmarket/fabmarket/internal/fabnet"
	"github.com/fabmarket/fabmarket/internal/netconf"
	"github.com/prometheus/client_golang/prometheus"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := loadConfig(os.Args[1:], os.LookupEnv)
	if err != nil {
		return err
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("org", cfg.Org)
	slog.SetDefault(log)

	// A certificate that cannot be loaded stops the gateway before it connects to anything.
	var serverTLS *tls.Config
	if cfg.HTTPSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.HTTPSCert, cfg.HTTPSKey)
		if err != nil {
			return fmt.Errorf("--https-cert/--https-key: %w", err)
		}
		serverTLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}

	keys, err := auth.Load(cfg.APIKeys)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	store, err := fabric.OpenStore(filepath.Join(cfg.DataDir, "idempotency.db"), 7*24*time.Hour)
	if err != nil {
		return err
	}
	defer store.Close()

	conn, err := fabnet.Dial(netconf.Peer{Endpoint: cfg.PeerEndpoint, ServerName: cfg.PeerServerName, TLSCAPath: cfg.TLSCA})
	if err != nil {
		return err
	}
	defer conn.Close()
	gw, err := fabnet.Connect(conn, netconf.Identity{MSPID: cfg.MSPID, CertPath: cfg.Cert, KeyPath: cfg.Key})
	if err != nil {
		return err
	}
	defer gw.Close()

	reg := prometheus.NewRegistry()
	metrics, err := api.NewMetrics(reg)
	if err != nil {
		return err
	}
	ledger, err := fabric.New(fabric.Config{Gateway: gw, Store: store, Org: cfg.Org, Channel: cfg.Channel,
		Chaincode: cfg.Chaincode, Metrics: metrics, Logger: log})
	if err != nil {
		return err
	}
	streamer, err := stream.New(stream.Config{Source: ledger, Instrument: ledger.Instrument, Owner: ledger.AccountOwner,
		Metrics: metrics, Logger: log})
	if err != nil {
		return err
	}
	// The swap orchestrator resumes every unfinished swap of this gateway's store at once.
	swaps := fabric.NewSwaps(ledger, fabric.SwapConfig{})
	if n, err := swaps.Resume(); err != nil {
		return err
	} else if n > 0 {
		log.Info("resumed unfinished swaps", "count", n)
	}
	web, err := console.New(console.Config{Org: cfg.Org, MSPID: cfg.MSPID})
	if err != nil {
		return err
	}
	watcherProxy, err := console.NewWatcherProxy(cfg.WatcherURL, log)
	if err != nil {
		return err
	}
	handler, err := api.New(api.Config{Ledger: ledger, Keys: keys, Org: cfg.Org, Logger: log, Registry: reg,
		Metrics: metrics, Stream: streamer, MaxBody: cfg.MaxBody, RequestTimeout: cfg.RequestTimeout,
		CommitTimeout: cfg.CommitTimeout, Console: web, WatcherProxy: watcherProxy, Swaps: swaps})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.MatchInterval > 0 {
		go fabric.NewScheduler(ledger, cfg.MatchInterval).Run(ctx)
	}

	base, cancelBase := context.WithCancel(context.Background())
	srv := &http.Server{
		Addr: cfg.Listen, Handler: handler,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return base },
		TLSConfig:   serverTLS,
	}
	srv.RegisterOnShutdown(cancelBase) // ends streams, which Shutdown does not wait for
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	log.Info("gateway listening", "addr", cfg.Listen, "peer", cfg.PeerEndpoint, "channel", cfg.Channel, "matchInterval", cfg.MatchInterval.String(),
		"console", cfg.scheme()+"://"+cfg.Listen+"/", "watcher", cfg.WatcherURL)
	errc := make(chan error, 1)
	go func() {
		if serverTLS != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("shutdown", "error", err)
	}
	swaps.Close()
	ledger.Close(sctx)
	log.Info("stopped")
	return nil
}
