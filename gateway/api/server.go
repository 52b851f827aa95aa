// Package api is the HTTP layer of the REST gateway: the Gin router, one error shape
// ({"error":{"code","message"}}), authentication by API key, request ids, structured logs,
// Prometheus metrics, strict JSON decoding, the exchange routes of the REST contract and the
// OpenAPI document that describes them.
//
// It depends on the ledger only through the small [Ledger] interface (integer chaincode units),
// so every handler is tested with a fake; gateway/fabric implements it over fabric-gateway.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/fabmarket/fabmarket/internal/netconf"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// KeyLookup maps an API key to its org ("org1", ..., "regulator").
type KeyLookup interface {
	Org(key string) (string, bool)
}

// Config configures the handler. Ledger, Keys and Org are required.
type Config struct {
	Ledger Ledger
	Keys   KeyLookup
	// Org is the org whose identity this gateway holds; keys of other orgs are refused (403).
	Org string
	// Logger receives one line per request; default slog.Default().
	Logger *slog.Logger
	// Registry receives the metrics; default a new registry (served at /metrics).
	Registry *prometheus.Registry
	// Metrics are the gateway's collectors; default NewMetrics(Registry). Pass the same value to
	// the ledger client so that submits, commits and retries are counted.
	Metrics *Metrics
	// Stream serves GET /v1/stream after authentication; nil answers 503.
	Stream http.Handler
	// MaxBody bounds request bodies (default 64 KiB); larger bodies are answered 413.
	MaxBody int64
	// RequestTimeout bounds a request that does not wait for a commit (default 15 s).
	RequestTimeout time.Duration
	// CommitTimeout bounds ?wait=commit (default 30 s); after it the answer is 202 with the
	// transaction id.
	CommitTimeout time.Duration
	// Console serves the web console at GET / and its assets at GET /console/*; nil serves none.
	// Neither it nor WatcherProxy is part of the REST contract (openapi.json).
	Console http.Handler
	// WatcherProxy serves /watcher/* (the price watcher's API on the console's origin); nil
	// serves none.
	WatcherProxy http.Handler
	// Swaps runs the swap routes (/v1/swaps); nil answers them 503.
	Swaps Swapper
}

// Server holds the handlers' dependencies.
type Server struct {
	ledger  Ledger
	keys    KeyLookup
	org     string
	mspID   string
	log     *slog.Logger
	metrics *Metrics
	reg     *prometheus.Registry
	stream  http.Handler
	maxBody int64
	reqTO   time.Duration
	commitT time.Duration
	instr   *instrumentCache
	console http.Handler // web console, outside the routing table
	watcher http.Handler // watcher proxy, outside the routing table
	swaps   Swapper
}

// New checks cfg and builds the HTTP handler of the gateway.
func New(cfg Config) (http.Handler, error) {
	s, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	return s.router(), nil
}

func newServer(cfg Config) (*Server, error) {
	if cfg.Ledger == nil {
		return nil, errors.New("api: Config.Ledger is required")
	}
	if cfg.Keys == nil {
		return nil, errors.New("api: Config.Keys is required")
	}
	msp, err := netconf.MSPID(cfg.Org)
	if err != nil {
		return nil, fmt.Errorf("api: Config.Org: %w", err)
	}
	s := &Server{
		ledger: cfg.Ledger, keys: cfg.Keys, org: cfg.Org, mspID: msp, log: cfg.Logger,
		reg: cfg.Registry, stream: cfg.Stream, maxBody: cfg.MaxBody,
		reqTO: cfg.RequestTimeout, commitT: cfg.CommitTimeout, swaps: cfg.Swaps,
	}
	s.console, s.watcher = cfg.Console, cfg.WatcherProxy
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	if s.maxBody <= 0 {
		s.maxBody = 64 << 10
	}
	if s.reqTO <= 0 {
		s.reqTO = 15 * time.Second
	}
	if s.commitT <= 0 {
		s.commitT = 30 * time.Second
	}
	s.metrics = cfg.Metrics
	if s.metrics == nil {
		if s.metrics, err = NewMetrics(s.reg); err != nil {
			return nil, err
		}
	}
	s.instr = newInstrumentCache(cfg.Ledger)
	return s, nil
}

// route is one entry of the routing table: the router and the OpenAPI test both read it.
type route struct {
	method  string
	path    string // Gin syntax: /v1/orders/:orderId
	public  bool   // no API key needed
	handler func(*Server, *gin.Context) error
}

// routes is the routing table of the gateway.
var routes = []route{
	{http.MethodGet, "/healthz", true, (*Server).healthz},
	{http.MethodGet, "/readyz", true, (*Server).readyz},
	{http.MethodGet, "/metrics", true, (*Server).metricsHandler},
	{http.MethodGet, "/openapi.json", true, (*Server).openAPI},
	{http.MethodGet, "/docs", true, (*Server).docs},

	{http.MethodPost, "/v1/instruments", false, (*Server).createInstrument},
	{http.MethodGet, "/v1/instruments", false, (*Server).listInstruments},
	{http.MethodGet, "/v1/instruments/:symbol", false, (*Server).getInstrument},

	{http.MethodPost, "/v1/accounts", false, (*Server).openAccount},
	{http.MethodGet, "/v1/accounts/:id", false, (*Server).getAccount},
	{http.MethodPost, "/v1/accounts/:id/deposits", false, (*Server).deposit},
	{http.MethodPost, "/v1/accounts/:id/withdrawals", false, (*Server).withdraw},

	{http.MethodPost, "/v1/orders", false, (*Server).placeOrder},
	{http.MethodGet, "/v1/orders", false, (*Server).listOrders},
	{http.MethodGet, "/v1/orders/:orderId", false, (*Server).getOrder},
	{http.MethodDelete, "/v1/orders/:orderId", false, (*Server).cancelOrder},
	{http.MethodPatch, "/v1/orders/:orderId", false, (*Server).replaceOrder},

	{http.MethodGet, "/v1/orderbook/:symbol", false, (*Server).orderBook},
	{http.MethodGet, "/v1/trades", false, (*Server).trades},
	{http.MethodGet, "/v1/transactions/:txId", false, (*Server).transaction},
	{http.MethodPost, "/v1/admin/match/:symbol", false, (*Server).match},
	{http.MethodGet, "/v1/stream", false, (*Server).streamHandler},

	// Number transfer (numbers.go).
	{http.MethodPost, "/v1/numbers", false, (*Server).allocateNumber},
	{http.MethodGet, "/v1/numbers/transfers", false, (*Server).listTransfers},
	{http.MethodGet, "/v1/numbers/:number", false, (*Server).getNumber},
	{http.MethodGet, "/v1/numbers/:number/history", false, (*Server).numberHistory},
	{http.MethodPost, "/v1/numbers/:number/pac", false, (*Server).issuePAC},
	{http.MethodDelete, "/v1/numbers/:number/pac", false, (*Server).revokePAC},
	{http.MethodGet, "/v1/numbers/:number/transfers", false, (*Server).getTransfer},
	{http.MethodPost, "/v1/numbers/:number/transfers", false, (*Server).requestTransfer},
	{http.MethodPost, "/v1/numbers/:number/transfers/confirm", false, (*Server).confirmTransfer},
	{http.MethodPost, "/v1/numbers/:number/transfers/reject", false, (*Server).rejectTransfer},
	{http.MethodPost, "/v1/numbers/:number/transfers/cancel", false, (*Server).cancelTransfer},
	{http.MethodPost, "/v1/numbers/:number/transfers/escalate", false, (*Server).escalateTransfer},
	{http.MethodPost, "/v1/numbers/:number/transfers/resolve", false, (*Server).resolveTransfer},
	{http.MethodGet, "/v1/numbers/:number/transfers/customer", false, (*Server).customerData},
	{http.MethodDelete, "/v1/numbers/:number/transfers/customer", false, (*Server).eraseCustomer},
	{http.MethodGet, "/v1/numbers/:number/transfers/customer/hash", false, (*Server).customerDataHash},

	// DvP escrow agreements (settlements.go), HTLCs (htlcs.go) and swaps (swaps.go).
	{http.MethodPost, "/v1/settlements", false, (*Server).proposeSettlement},
	{http.MethodGet, "/v1/settlements", false, (*Server).listSettlements},
	{http.MethodGet, "/v1/settlements/:id", false, (*Server).getSettlement},
	{http.MethodPost, "/v1/settlements/:id/affirm", false, (*Server).affirmSettlement},
	{http.MethodPost, "/v1/settlements/:id/fund", false, (*Server).fundSettlement},
	{http.MethodPost, "/v1/settlements/:id/approve", false, (*Server).approveSettlement},
	{http.MethodPost, "/v1/settlements/:id/cancel", false, (*Server).cancelSettlement},
	{http.MethodPost, "/v1/settlements/:id/expire", false, (*Server).expireSettlement},
	{http.MethodPost, "/v1/htlcs", false, (*Server).lockHTLC},
	{http.MethodGet, "/v1/htlcs/:id", false, (*Server).getHTLC},
	{http.MethodPost, "/v1/htlcs/:id/claim", false, (*Server).claimHTLC},
	{http.MethodPost, "/v1/htlcs/:id/refund", false, (*Server).refundHTLC},
	{http.MethodPost, "/v1/swaps", false, (*Server).startSwap},
	{http.MethodGet, "/v1/swaps", false, (*Server).listSwaps},
	{http.MethodGet, "/v1/swaps/:id", false, (*Server).getSwap},
	{http.MethodPost, "/v1/swaps/:id/accept", false, (*Server).acceptSwap},
}

func (s *Server) router() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// "/v1/orders/" is a 404 with a JSON error like any unknown path, not Gin's 301 with an
	// HTML body (found by FuzzPaths).
	r.RedirectTrailingSlash = false
	r.ContextWithFallback = true
	r.Use(s.recovery(), s.requestID(), s.observe(), s.renderErrors())
	for _, rt := range routes {
		hs := []gin.HandlerFunc{}
		if !rt.public {
			hs = append(hs, s.authenticate(), s.limitBody())
		}
		h := rt.handler
		hs = append(hs, func(c *gin.Context) {
			// A handler returns its failure; answering it is one place's job.
			if err := h(s, c); err != nil {
				fail(c, err)
			}
		})
		r.Handle(rt.method, rt.path, hs...)
	}
	// The web console and the watcher proxy: outside the routing table (and the OpenAPI
	// document); they authenticate nothing themselves (the page calls /v1 with the user's key,
	// the watcher checks the key it is sent).
	if s.console != nil {
		for _, p := range []string{"/", "/console/*file"} {
			r.GET(p, gin.WrapH(s.console))
			r.HEAD(p, gin.WrapH(s.console))
		}
	}
	if s.watcher != nil {
		r.Any("/watcher/*path", gin.WrapH(s.watcher))
	}
	r.NoRoute(func(c *gin.Context) {
		fail(c, NewError(CodeNotFound, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		fail(c, NewError(CodeMethodNotAllowed, "method %s not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	return r
}

func (s *Server) healthz(c *gin.Context) error {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
	return nil
}

func (s *Server) readyz(c *gin.Context) error {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	if err := s.ledger.Ready(ctx); err != nil {
		return NewError(CodeUnavailable, "peer not reachable: %v", err)
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "org": s.org})
	return nil
}

func (s *Server) metricsHandler(c *gin.Context) error {
	promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP(c.Writer, c.Request)
	return nil
}

func (s *Server) streamHandler(c *gin.Context) error {
	if s.stream == nil {
		return NewError(CodeUnavailable, "the stream is not configured")
	}
	// The stream filters account-specific messages by the caller's org.
	s.stream.ServeHTTP(c.Writer, c.Request.WithContext(WithCaller(c.Request.Context(), c.GetString(keyOrg))))
	return nil
}
