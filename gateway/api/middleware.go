package api

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// Context keys set by the middleware.
const (
	keyRequestID = "fabmarket.requestID"
	keyOrg       = "fabmarket.org"
	keyTxID      = "fabmarket.txID"
)

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

// fail records err for renderErrors and stops the chain.
func fail(c *gin.Context, err error) {
	_ = c.Error(err)
	c.Abort()
}

// renderErrors is the one place that writes error responses: the last error recorded by a
// handler or middleware becomes {"error":{"code","message"}} with its status.
func (s *Server) renderErrors() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) == 0 || c.Writer.Written() {
			return
		}
		e := asError(c.Errors.Last().Err)
		if e.Status >= 500 {
			s.log.LogAttrs(c.Request.Context(), slog.LevelError, "request failed",
				slog.String("requestId", c.GetString(keyRequestID)), slog.String("error", c.Errors.Last().Err.Error()))
		}
		c.JSON(e.Status, gin.H{"error": gin.H{"code": e.Code, "message": e.Message}})
	}
}

// recovery turns a panic into a 500 with the error shape.
func (s *Server) recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("panic", "requestId", c.GetString(keyRequestID), "panic", r, "stack", string(debug.Stack()))
				if !c.Writer.Written() {
					c.AbortWithStatusJSON(http.StatusInternalServerError,
						gin.H{"error": gin.H{"code": CodeInternal, "message": "internal error"}})
				}
			}
		}()
		c.Next()
	}
}

// requestID takes a well-formed X-Request-Id from the client or makes one, and echoes it.
func (s *Server) requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(RequestIDHeader)
		if !validRequestID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(keyRequestID, id)
		c.Header(RequestIDHeader, id)
		c.Next()
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if r < '!' || r > '~' {
			return false
		}
	}
	return true
}

// observe logs one structured line per request (with request id, org and tx id) and records
// the request metrics under the route pattern.
func (s *Server) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		d := time.Since(start)
		s.metrics.Requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Inc()
		s.metrics.Latency.WithLabelValues(c.Request.Method, route).Observe(d.Seconds())
		attrs := []slog.Attr{
			slog.String("requestId", c.GetString(keyRequestID)),
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", status),
			slog.Duration("duration", d),
		}
		if org := c.GetString(keyOrg); org != "" {
			attrs = append(attrs, slog.String("org", org))
		}
		if tx := c.GetString(keyTxID); tx != "" {
			attrs = append(attrs, slog.String("txId", tx))
		}
		if len(c.Errors) > 0 {
			e := asError(c.Errors.Last().Err)
			attrs = append(attrs, slog.String("code", e.Code))
		}
		level := slog.LevelInfo
		if route == "/healthz" || route == "/readyz" || route == "/metrics" {
			level = slog.LevelDebug
		}
		s.log.LogAttrs(c.Request.Context(), level, "http", attrs...)
	}
}

// authenticate requires "Authorization: Bearer KEY" (or, for the stream, whose browser clients
// cannot set headers on a WebSocket, ?access_token=KEY). Unknown keys are 401; a key of another
// org is 403: this gateway signs with its own org's identity only.
func (s *Server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		key := ""
		if h := c.GetHeader("Authorization"); h != "" {
			scheme, rest, ok := strings.Cut(h, " ")
			if ok && strings.EqualFold(scheme, "Bearer") {
				key = strings.TrimSpace(rest)
			}
		} else if c.FullPath() == "/v1/stream" {
			key = c.Query("access_token")
		}
		if key == "" {
			c.Header("WWW-Authenticate", `Bearer realm="fabmarket"`)
			fail(c, NewError(CodeUnauthenticated, "missing API key: send Authorization: Bearer <key>"))
			return
		}
		org, ok := s.keys.Org(key)
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="fabmarket", error="invalid_token"`)
			fail(c, NewError(CodeUnauthenticated, "unknown API key"))
			return
		}
		c.Set(keyOrg, org)
		if org != s.org {
			fail(c, NewError(CodeForbidden, "this key belongs to %s; this gateway serves %s", org, s.org))
			return
		}
		c.Next()
	}
}

// limitBody bounds the request body; reading past the limit fails and is answered 413.
func (s *Server) limitBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > s.maxBody {
			fail(c, NewError(CodeTooLarge, "request body larger than %d bytes", s.maxBody))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.maxBody)
		c.Next()
	}
}

// setTx records the transaction id of the request for the log line.
func setTx(c *gin.Context, txID string) {
	if txID != "" {
		c.Set(keyTxID, txID)
	}
}
