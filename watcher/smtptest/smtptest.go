// Package smtptest is a tiny SMTP server for tests: it listens on 127.0.0.1, speaks just
// enough of RFC 5321 (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for net/smtp, and
// records every message it receives.
package smtptest

import (
	"bufio"
	"net"
	"strings"
	"sync"
)

// Mail is one received message.
type Mail struct {
	From string
	To   []string
	Data string // headers and body, CRLF line endings, dot-stuffing removed
}

// Server is a running test SMTP server.
type Server struct {
	ln  net.Listener
	mu  sync.Mutex
	got []Mail
	wg  sync.WaitGroup
	// RejectRcpt, when set, answers RCPT TO with this reply (for example "550 no such user").
	RejectRcpt string
	ch         chan Mail
}

// Start listens on a free local port and serves until Close.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, ch: make(chan Mail, 1024)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	return s, nil
}

// Addr returns host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Mails returns the messages received so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.got...)
}

// Received delivers each message as it arrives.
func (s *Server) Received() <-chan Mail { return s.ch }

// Close stops the server and waits for its connections.
func (s *Server) Close() {
	s.ln.Close()
	s.wg.Wait()
}

func (s *Server) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(l string) {
		w.WriteString(l + "\r\n")
		w.Flush()
	}
	reply("220 smtptest ready")
	var cur Mail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(verb, "EHLO"):
			reply("250-smtptest")
			reply("250 8BITMIME")
		case strings.HasPrefix(verb, "HELO"):
			reply("250 smtptest")
		case strings.HasPrefix(verb, "MAIL FROM:"):
			cur = Mail{From: strings.Trim(line[10:], "<> ")}
			reply("250 ok")
		case strings.HasPrefix(verb, "RCPT TO:"):
			if s.RejectRcpt != "" {
				reply(s.RejectRcpt)
				continue
			}
			cur.To = append(cur.To, strings.Trim(line[8:], "<> "))
			reply("250 ok")
		case verb == "DATA":
			reply("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
				l = strings.TrimPrefix(l, ".")
				b.WriteString(l)
			}
			cur.Data = b.String()
			s.mu.Lock()
			s.got = append(s.got, cur)
			s.mu.Unlock()
			select {
			case s.ch <- cur:
			default:
			}
			reply("250 queued")
		case verb == "RSET":
			cur = Mail{}
			reply("250 ok")
		case verb == "NOOP":
			reply("250 ok")
		case verb == "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}
