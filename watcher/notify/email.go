package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// Email sends notifications over SMTP (net/smtp), with STARTTLS when the server offers it
// and authentication when a username is set.
type Email struct {
	// Addr is the SMTP server, host:port.
	Addr string
	// From is the envelope and header sender.
	From string
	// Username and Password enable PLAIN authentication (over TLS or to localhost).
	Username, Password string
	// TLS configures STARTTLS; nil means the system roots and the host of Addr.
	TLS *tls.Config
	// Timeout bounds one attempt; 0 means 15 seconds.
	Timeout time.Duration
}

// Validate checks the configuration; the error names the field.
func (e *Email) Validate() error {
	if _, _, err := net.SplitHostPort(e.Addr); err != nil {
		return fmt.Errorf("notify: smtp addr %q: want host:port", e.Addr)
	}
	if e.From == "" || strings.ContainsAny(e.From, "\r\n") {
		return fmt.Errorf("notify: smtp from %q: want an address", e.From)
	}
	return nil
}

// Send implements Sender. SMTP 5xx replies are permanent; 4xx and connection errors retry.
func (e *Email) Send(ctx context.Context, to Target, m Message) error {
	if strings.ContainsAny(to.Address, "\r\n<>") || to.Address == "" {
		return &PermanentError{Err: fmt.Errorf("email: bad address %q", to.Address)}
	}
	timeout := e.Timeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn, err := (&net.Dialer{Deadline: deadline}).DialContext(ctx, "tcp", e.Addr)
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	conn.SetDeadline(deadline)
	host, _, _ := net.SplitHostPort(e.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return smtpErr(err)
	}
	defer c.Close()
	if err := c.Hello("fabmarket-watcher"); err != nil {
		return smtpErr(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := e.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return smtpErr(err)
		}
	}
	if e.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.Username, e.Password, host)); err != nil {
			return smtpErr(err)
		}
	}
	if err := c.Mail(e.From); err != nil {
		return smtpErr(err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return smtpErr(err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr(err)
	}
	if _, err := w.Write(e.compose(to, m)); err != nil {
		return smtpErr(err)
	}
	if err := w.Close(); err != nil {
		return smtpErr(err)
	}
	return smtpErr(c.Quit())
}

// compose writes the RFC 5322 message: plain text, the notification id as Message-ID.
func (e *Email) compose(to Target, m Message) []byte {
	title, body := m.Summary()
	var b strings.Builder
	hdr := func(k, v string) {
		b.WriteString(k + ": " + strings.NewReplacer("\r", " ", "\n", " ").Replace(v) + "\r\n")
	}
	hdr("From", e.From)
	hdr("To", to.Address)
	hdr("Subject", title)
	hdr("Date", time.Now().UTC().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+m.ID+"@watcher.fabmarket>")
	hdr("X-Watcher-Id", m.ID)
	hdr("X-Watcher-Event", m.Type)
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	b.WriteString("\r\n")
	b.WriteString(body + "\r\n\r\nNotification " + m.ID + " at " + m.Time.UTC().Format(time.RFC3339) + "\r\n")
	return []byte(b.String())
}

func smtpErr(err error) error {
	if err == nil {
		return nil
	}
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return &PermanentError{Err: fmt.Errorf("email: %w", err)}
	}
	return fmt.Errorf("email: %w", err)
}
