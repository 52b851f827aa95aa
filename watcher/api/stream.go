package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"

	"github.com/fabmarket/fabmarket/watcher/notify"
	"github.com/fabmarket/fabmarket/watcher/service"
)

var upgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 4096,
	// The key authenticates the caller; the stream is read-only, so any origin may read it.
	CheckOrigin: func(*http.Request) bool { return true },
}

// stream serves GET /v1/alerts/stream?user=&symbol=: Server-Sent Events by default, a
// WebSocket when the request asks for an upgrade. Each event is one notification (the channel
// body plus "user", "seq" and "createdAt") of the caller's user, or of any user of the
// caller's org when user is empty. With Last-Event-ID (SSE) or ?after=SEQ, the
// notifications after that sequence number are replayed first, so a client that reconnects
// misses nothing.
func (s *Server) stream(c *gin.Context) {
	user, symbol := c.Query("user"), c.Query("symbol")
	after := int64(-1)
	if v := c.GetHeader("Last-Event-ID"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			abort(c, http.StatusBadRequest, service.CodeInvalidArgument, "Last-Event-ID: want a sequence number")
			return
		}
		after = n
	}
	if v := c.Query("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			abort(c, http.StatusBadRequest, service.CodeInvalidArgument, "query parameter after: want a sequence number")
			return
		}
		after = n
	}
	// Subscribe before replaying so nothing falls between the two; duplicates are skipped by
	// sequence number.
	f := alertFilter(c, user, symbol)
	var sub *notify.Subscriber
	if f.User != "" {
		sub = s.cfg.Watcher.Hub().Subscribe(f.User, symbol, 1024)
	} else {
		sub = s.cfg.Watcher.Hub().SubscribePrefix(f.UserPrefix, symbol, 1024)
	}
	defer s.cfg.Watcher.Hub().Unsubscribe(sub)
	var backlog []notify.StreamEvent
	if after >= 0 {
		f.AfterSeq, f.Limit = after, 1000
		alerts, err := s.cfg.Watcher.Alerts(c.Request.Context(), f)
		if err != nil {
			s.fail(c, err)
			return
		}
		for _, a := range alerts {
			b, _ := jsonOf(a)
			backlog = append(backlog, notify.StreamEvent{Seq: a.Seq, User: a.User, Symbol: a.Symbol, Data: b})
		}
	}
	if websocket.IsWebSocketUpgrade(c.Request) {
		s.websocket(c, sub, backlog)
		return
	}
	s.sse(c, sub, backlog)
}

func (s *Server) sse(c *gin.Context, sub *notify.Subscriber, backlog []notify.StreamEvent) {
	w := c.Writer
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": watcher alerts stream\nretry: 2000\n\n")
	w.Flush()
	var last int64 = -1
	send := func(e notify.StreamEvent) {
		if e.Seq <= last {
			return
		}
		last = e.Seq
		e = localEvent(e)
		fmt.Fprintf(w, "id: %d\nevent: notification\ndata: %s\n\n", e.Seq, strings.ReplaceAll(string(e.Data), "\n", ""))
	}
	for _, e := range backlog {
		send(e)
	}
	w.Flush()
	hb := time.NewTicker(s.cfg.Heartbeat)
	defer hb.Stop()
	ctx := c.Request.Context()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-hb.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			w.Flush()
		case e := <-sub.C:
			send(e)
			w.Flush()
		}
	}
}

func (s *Server) websocket(c *gin.Context, sub *notify.Subscriber, backlog []notify.StreamEvent) {
	conn, err := upgrader.Upgrade(c.Writer, c.Request, nil)
	if err != nil {
		return // the upgrader answered the client
	}
	defer conn.Close()
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		conn.SetReadLimit(4096)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	var last int64 = -1
	send := func(e notify.StreamEvent) error {
		if e.Seq <= last {
			return nil
		}
		last = e.Seq
		conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		return conn.WriteMessage(websocket.TextMessage, localEvent(e).Data)
	}
	for _, e := range backlog {
		if send(e) != nil {
			return
		}
	}
	hb := time.NewTicker(s.cfg.Heartbeat)
	defer hb.Stop()
	for {
		select {
		case <-closed:
			return
		case <-s.done:
			conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "shutting down"), time.Now().Add(time.Second))
			return
		case <-hb.C:
			if conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second)) != nil {
				return
			}
		case e := <-sub.C:
			if send(e) != nil {
				return
			}
		}
	}
}
