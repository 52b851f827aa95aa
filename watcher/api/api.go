// Package api is the watcher's REST API on Gin, with the gateway's conventions: JSON, decimal
// strings for prices, RFC 3339 times, "Authorization: Bearer KEY" with any org's key from
// network/run/apikeys.json, and errors as {"error":{"code","message"}} with 400, 401, 404,
// 409, 413, 422 or 503. /healthz, /metrics and /openapi.json need no key.
//
// Users belong to the org of the key that names them (see scope.go): the same user id given
// with two orgs' keys names two users, lists, the stream and reads by id reach the caller's
// org's users only, and another org's subscription or notification answers 404 like one that
// does not exist. Prices and events are market data: any org's key posts them, for every
// subscriber of the symbol.
//
// Routes (see openapi.json, which a test keeps in step with the router):
//
//	POST   /v1/subscriptions            201 the subscription
//	GET    /v1/subscriptions?user=U     200 {"subscriptions":[...]}
//	GET    /v1/subscriptions/{id}       200, 404
//	DELETE /v1/subscriptions/{id}       204, 404
//	PUT    /v1/users/{id}/settings      200 the settings
//	GET    /v1/users/{id}/settings      200 the settings ({} when none)
//	POST   /v1/prices                   202 {"accepted","held","dropped","alerts","messages"}
//	POST   /v1/events                   202 {"id","type","symbol","recipients","messages"}
//	GET    /v1/alerts?user=&symbol=     200 {"alerts":[...]}
//	GET    /v1/notifications/{id}       200 with delivery states, 404
//	GET    /v1/alerts/stream            SSE (text/event-stream) or WebSocket (Upgrade)
//	GET    /healthz, /metrics, /openapi.json
package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fabmarket/fabmarket/internal/textclip"
	"github.com/fabmarket/fabmarket/watcher/notify"
	"github.com/fabmarket/fabmarket/watcher/service"
	"github.com/fabmarket/fabmarket/watcher/store"
	"github.com/fabmarket/fabmarket/watcher/users"
)

// Watcher is what the handlers need from the service.
type Watcher interface {
	Subscribe(ctx context.Context, req service.SubscriptionRequest) (store.Subscription, error)
	GetSubscription(ctx context.Context, id string) (store.Subscription, error)
	ListSubscriptions(ctx context.Context, user string) ([]store.Subscription, error)
	Unsubscribe(ctx context.Context, id string) error
	PutSettings(ctx context.Context, user string, spec service.SettingsSpec) (service.Settings, error)
	GetSettings(user string) service.Settings
	ParsePrices(reqs []service.PriceRequest) ([]service.Tick, error)
	Ingest(ctx context.Context, source string, ticks []service.Tick, checkpoints map[string][]byte) (service.IngestResult, error)
	PostEvent(ctx context.Context, req service.EventRequest) (service.EventResult, error)
	Alerts(ctx context.Context, f store.Filter) ([]service.AlertView, error)
	Notification(ctx context.Context, id string) (service.AlertView, error)
	Hub() *notify.Hub
	Ready() bool
}

// Config sets up the API.
type Config struct {
	Watcher Watcher
	Keys    *Keys
	// Registry is served on /metrics and receives the HTTP metrics; nil means a new one.
	Registry *prometheus.Registry
	// MaxBatch is the largest number of prices in one POST /v1/prices; 0 means 1000.
	MaxBatch int
	// MaxBody is the largest request body in bytes; 0 means 1 MiB.
	MaxBody int64
	// Heartbeat is the stream keep-alive period; 0 means 15s.
	Heartbeat time.Duration
	Log       *slog.Logger
}

// Server is the HTTP handler of the API.
type Server struct {
	cfg    Config
	engine *gin.Engine
	reqs   *prometheus.CounterVec
	done   chan struct{}
}

// New checks the configuration and builds the router.
func New(cfg Config) (*Server, error) {
	if cfg.Watcher == nil {
		return nil, errors.New("api: config Watcher: required")
	}
	if cfg.Keys == nil {
		return nil, errors.New("api: config Keys: required")
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 1000
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Server{cfg: cfg, done: make(chan struct{})}
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "watcher_http_requests_total", Help: "HTTP requests by route, method and status."},
		[]string{"route", "method", "code"})
	if err := cfg.Registry.Register(s.reqs); err != nil {
		return nil, err
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.Use(s.recovery(), s.observe())
	e.NoRoute(func(c *gin.Context) {
		abort(c, http.StatusNotFound, "NOT_FOUND", "no route "+c.Request.Method+" "+c.Request.URL.Path)
	})
	e.NoMethod(func(c *gin.Context) {
		abort(c, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "method "+c.Request.Method+" not allowed on "+c.Request.URL.Path)
	})
	e.GET("/healthz", s.healthz)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})))
	e.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", OpenAPI()) })
	v1 := e.Group("/v1", s.authenticate(), s.limitBody())
	v1.POST("/subscriptions", s.createSubscription)
	v1.GET("/subscriptions", s.listSubscriptions)
	v1.GET("/subscriptions/:id", s.getSubscription)
	v1.DELETE("/subscriptions/:id", s.deleteSubscription)
	v1.PUT("/users/:id/settings", s.putSettings)
	v1.GET("/users/:id/settings", s.getSettings)
	v1.POST("/prices", s.postPrices)
	v1.POST("/events", s.postEvent)
	v1.GET("/alerts", s.listAlerts)
	v1.GET("/alerts/stream", s.stream)
	v1.GET("/notifications/:id", s.getNotification)
	s.engine = e
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// Routes returns "METHOD PATH" of every route, paths in OpenAPI form ({id}).
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.engine.Routes() {
		p := r.Path
		parts := strings.Split(p, "/")
		for i, x := range parts {
			if strings.HasPrefix(x, ":") {
				parts[i] = "{" + x[1:] + "}"
			}
		}
		out = append(out, r.Method+" "+strings.Join(parts, "/"))
	}
	return out
}

// Close ends the live streams so that an http.Server shuts down promptly; safe to call twice.
func (s *Server) Close() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
}

// Error codes of the API besides the service's.
const (
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeMalformedJSON   = "MALFORMED_JSON"
	CodeInternal        = "INTERNAL"
)

var codeStatus = map[string]int{
	service.CodeInvalidArgument: http.StatusBadRequest,
	CodeMalformedJSON:           http.StatusBadRequest,
	CodeUnauthenticated:         http.StatusUnauthorized,
	service.CodeNotFound:        http.StatusNotFound,
	service.CodeConflict:        http.StatusConflict,
	service.CodeOutOfOrder:      http.StatusConflict,
	service.CodeTooLarge:        http.StatusRequestEntityTooLarge,
	service.CodeUnknownSymbol:   http.StatusUnprocessableEntity,
	service.CodeUnprocessable:   http.StatusUnprocessableEntity,
	service.CodeUnavailable:     http.StatusServiceUnavailable,
}

type errBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func abort(c *gin.Context, status int, code, msg string) {
	var b errBody
	b.Error.Code, b.Error.Message = code, msg
	c.AbortWithStatusJSON(status, b)
}

// fail answers err: a *service.Error with its status, anything else as 500 INTERNAL (logged).
func (s *Server) fail(c *gin.Context, err error) {
	var se *service.Error
	if errors.As(err, &se) {
		st, ok := codeStatus[se.Code]
		if !ok {
			st = http.StatusInternalServerError
		}
		abort(c, st, se.Code, se.Message)
		return
	}
	s.cfg.Log.Error("watcher: request failed", "method", c.Request.Method, "path", c.FullPath(), "err", err)
	abort(c, http.StatusInternalServerError, CodeInternal, "internal error")
}

func (s *Server) recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.cfg.Log.Error("watcher: panic in handler", "path", c.Request.URL.Path, "panic", r)
				abort(c, http.StatusInternalServerError, CodeInternal, "internal error")
			}
		}()
		c.Next()
	}
}

func (s *Server) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		rid := c.GetHeader("X-Request-Id")
		if rid == "" || len(rid) > 64 {
			var b [8]byte
			rand.Read(b[:])
			rid = hex.EncodeToString(b[:])
		}
		c.Header("X-Request-Id", rid)
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		s.reqs.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
		if route != "/metrics" && route != "/healthz" {
			s.cfg.Log.Debug("watcher: http", "rid", rid, "method", c.Request.Method, "route", route, "status", c.Writer.Status(), "dur", time.Since(start))
		}
	}
}

func (s *Server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		key, ok := strings.CutPrefix(h, "Bearer ")
		if !ok && c.FullPath() == "/v1/alerts/stream" {
			// Browsers cannot set headers on EventSource or WebSocket: allow the query.
			key, ok = c.Query("access_token"), c.Query("access_token") != ""
		}
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="watcher"`)
			abort(c, http.StatusUnauthorized, CodeUnauthenticated, "missing Authorization: Bearer <api key>")
			return
		}
		org, ok := s.cfg.Keys.Org(strings.TrimSpace(key))
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="watcher", error="invalid_token"`)
			abort(c, http.StatusUnauthorized, CodeUnauthenticated, "unknown API key")
			return
		}
		c.Set("org", org)
		c.Next()
	}
}

func (s *Server) limitBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > s.cfg.MaxBody {
			abort(c, http.StatusRequestEntityTooLarge, service.CodeTooLarge, "request body larger than "+strconv.FormatInt(s.cfg.MaxBody, 10)+" bytes")
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxBody)
		c.Next()
	}
}

// decode reads a JSON body into v, answering 413 or 400 itself; ok is false when it did.
func (s *Server) decode(c *gin.Context, v any) bool {
	raw, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			abort(c, http.StatusRequestEntityTooLarge, service.CodeTooLarge, "request body larger than "+strconv.FormatInt(s.cfg.MaxBody, 10)+" bytes")
			return false
		}
		abort(c, http.StatusBadRequest, CodeMalformedJSON, "cannot read body: "+err.Error())
		return false
	}
	// Strict, as the gateway: unknown fields and trailing data are refused.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// The message may quote an unknown field name: bounded (see textclip).
		abort(c, http.StatusBadRequest, CodeMalformedJSON, "body: "+textclip.Clip(err.Error(), maxEcho))
		return false
	}
	if dec.More() {
		abort(c, http.StatusBadRequest, CodeMalformedJSON, "body: trailing data after the JSON value")
		return false
	}
	return true
}

// maxEcho bounds the decoder's message, which may repeat a client's field name.
const maxEcho = 200

func (s *Server) healthz(c *gin.Context) {
	if !s.cfg.Watcher.Ready() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "stopping"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func (s *Server) createSubscription(c *gin.Context) {
	var req service.SubscriptionRequest
	if !s.decode(c, &req) {
		return
	}
	if err := service.ValidUser(req.User); err != nil {
		s.fail(c, err)
		return
	}
	req.User = scoped(c, req.User)
	sub, err := s.cfg.Watcher.Subscribe(c.Request.Context(), req)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", "/v1/subscriptions/"+sub.ID)
	c.JSON(http.StatusCreated, viewOf(sub))
}

func (s *Server) listSubscriptions(c *gin.Context) {
	user := c.Query("user")
	if user == "" {
		abort(c, http.StatusBadRequest, service.CodeInvalidArgument, "query parameter user: required")
		return
	}
	if err := service.ValidUser(user); err != nil {
		s.fail(c, err)
		return
	}
	subs, err := s.cfg.Watcher.ListSubscriptions(c.Request.Context(), scoped(c, user))
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]service.SubscriptionView, 0, len(subs))
	for _, sub := range subs {
		out = append(out, viewOf(sub))
	}
	c.JSON(http.StatusOK, gin.H{"subscriptions": out})
}

func (s *Server) getSubscription(c *gin.Context) {
	sub, err := s.subscriptionOf(c, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewOf(sub))
}

func (s *Server) deleteSubscription(c *gin.Context) {
	// Subscriptions never change user, so the one checked is the one deleted.
	if _, err := s.subscriptionOf(c, c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	if err := s.cfg.Watcher.Unsubscribe(c.Request.Context(), c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// settingsView is the answer of the settings routes.
type settingsView struct {
	User string `json:"user"`
	service.SettingsSpec
}

func (s *Server) putSettings(c *gin.Context) {
	var spec service.SettingsSpec
	if !s.decode(c, &spec) {
		return
	}
	if err := service.ValidUser(c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	st, err := s.cfg.Watcher.PutSettings(c.Request.Context(), scoped(c, c.Param("id")), spec)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, settingsView{User: c.Param("id"), SettingsSpec: redact(st.Spec)})
}

func (s *Server) getSettings(c *gin.Context) {
	st := s.cfg.Watcher.GetSettings(scoped(c, c.Param("id")))
	c.JSON(http.StatusOK, settingsView{User: c.Param("id"), SettingsSpec: redact(st.Spec)})
}

func redact(spec service.SettingsSpec) service.SettingsSpec {
	out := spec
	out.Channels = make([]service.ChannelSpec, len(spec.Channels))
	for i, ch := range spec.Channels {
		ch.Secret = ""
		out.Channels[i] = ch
	}
	return out
}

func (s *Server) postPrices(c *gin.Context) {
	var reqs []service.PriceRequest
	if !s.decode(c, &reqs) {
		return
	}
	if len(reqs) == 0 {
		abort(c, http.StatusBadRequest, service.CodeInvalidArgument, "body: want a non-empty JSON array of {\"symbol\",\"price\",\"time\"}")
		return
	}
	if len(reqs) > s.cfg.MaxBatch {
		abort(c, http.StatusRequestEntityTooLarge, service.CodeTooLarge, "batch of "+strconv.Itoa(len(reqs))+" prices: at most "+strconv.Itoa(s.cfg.MaxBatch))
		return
	}
	ticks, err := s.cfg.Watcher.ParsePrices(reqs)
	if err != nil {
		s.fail(c, err)
		return
	}
	res, err := s.cfg.Watcher.Ingest(c.Request.Context(), "rest", ticks, nil)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, res)
}

func (s *Server) postEvent(c *gin.Context) {
	var req service.EventRequest
	if !s.decode(c, &req) {
		return
	}
	res, err := s.cfg.Watcher.PostEvent(c.Request.Context(), req)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, res)
}

// page reads after= and limit= (default 100, at most 1000).
func page(c *gin.Context) (after int64, limit int, ok bool) {
	limit = 100
	if v := c.Query("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			abort(c, http.StatusBadRequest, service.CodeInvalidArgument, "query parameter after: want a sequence number")
			return 0, 0, false
		}
		after = n
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			abort(c, http.StatusBadRequest, service.CodeInvalidArgument, "query parameter limit: want 1 to 1000")
			return 0, 0, false
		}
		limit = n
	}
	return after, limit, true
}

func (s *Server) listAlerts(c *gin.Context) {
	after, limit, ok := page(c)
	if !ok {
		return
	}
	f := alertFilter(c, c.Query("user"), c.Query("symbol"))
	f.AfterSeq, f.Limit = after, limit
	alerts, err := s.cfg.Watcher.Alerts(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	for i := range alerts {
		alerts[i].User = users.Local(alerts[i].User)
	}
	c.JSON(http.StatusOK, gin.H{"alerts": alerts})
}

func (s *Server) getNotification(c *gin.Context) {
	v, err := s.cfg.Watcher.Notification(c.Request.Context(), c.Param("id"))
	if err == nil && !owns(c, v.User) {
		err = notFound("notification", c.Param("id"))
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	v.User = users.Local(v.User)
	c.JSON(http.StatusOK, v)
}
