// Package users holds the per-user delivery settings of the notifier: where alerts go
// (channels), when they must not be pushed (quiet hours), and how many a user accepts per hour.
// It decides nothing about prices; the notifier asks it whether and when to deliver. It also
// names users: the REST API keeps each org's users apart by scoping their ids (Scoped).
//
// Quiet hours are wall-clock minutes in a time zone the caller resolves (an IANA zone loaded
// with time.LoadLocation and passed in, or UTC when none is given), so the decision never
// depends on the machine's local zone and follows daylight-saving changes of the user's zone.
package users

import (
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DefaultMaxPerHour is the per-user limit when Settings.MaxPerHour is 0.
const DefaultMaxPerHour = 20

// MaxMaxPerHour bounds Settings.MaxPerHour.
const MaxMaxPerHour = 10000

// ChannelType names a delivery channel.
type ChannelType string

// The channel types of the notifier.
const (
	Webhook ChannelType = "webhook"
	Email   ChannelType = "email"
	Stream  ChannelType = "stream"
	APNs    ChannelType = "apns"
	FCM     ChannelType = "fcm"
)

// Channel is one place a user's alerts go.
type Channel struct {
	Type ChannelType
	// Target is the webhook URL (https, or http for local receivers), the e-mail address, or
	// the device token for push; empty for the stream.
	Target string
}

// Validate checks the channel; the error names the field.
func (c Channel) Validate() error {
	switch c.Type {
	case Webhook:
		u, err := url.Parse(c.Target)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("users: channel webhook url %q: want an absolute http(s) URL", c.Target)
		}
	case Email:
		a, err := mail.ParseAddress(c.Target)
		if err != nil || a.Address != c.Target {
			return fmt.Errorf("users: channel email to %q: want a bare address such as a@b.c", c.Target)
		}
	case APNs, FCM:
		if c.Target == "" || len(c.Target) > 4096 {
			return fmt.Errorf("users: channel %s token: must be 1 to 4096 bytes", c.Type)
		}
	case Stream:
		if c.Target != "" {
			return fmt.Errorf("users: channel stream target %q: must be empty", c.Target)
		}
	default:
		return fmt.Errorf("users: channel type %q: want webhook, email, stream, apns or fcm", c.Type)
	}
	return nil
}

// QuietHours is a daily interval of wall-clock minutes [Start, End) in Location during which
// pushes wait. Start > End wraps midnight (22:00–07:00 is Start 1320, End 420); Start == End
// means no quiet hours.
type QuietHours struct {
	Start, End int            // minutes after midnight, 0..1439
	Location   *time.Location // nil means UTC
}

// Validate checks the interval; the error names the field.
func (q QuietHours) Validate() error {
	if q.Start < 0 || q.Start >= 1440 {
		return fmt.Errorf("users: quiet hours start %d: must be a minute of the day, 0..1439", q.Start)
	}
	if q.End < 0 || q.End >= 1440 {
		return fmt.Errorf("users: quiet hours end %d: must be a minute of the day, 0..1439", q.End)
	}
	return nil
}

func (q QuietHours) loc() *time.Location {
	if q.Location == nil {
		return time.UTC
	}
	return q.Location
}

// Active reports whether t falls in the quiet hours.
func (q QuietHours) Active(t time.Time) bool {
	if q.Start == q.End {
		return false
	}
	lt := t.In(q.loc())
	m := lt.Hour()*60 + lt.Minute()
	if q.Start < q.End {
		return m >= q.Start && m < q.End
	}
	return m >= q.Start || m < q.End
}

// Until returns when the quiet hours containing t end: the first instant at or after t whose
// wall-clock minute in Location is End. It returns t itself when t is not quiet. On a
// daylight-saving day the end is the wall-clock End of that day as Go normalizes it.
func (q QuietHours) Until(t time.Time) time.Time {
	if !q.Active(t) {
		return t
	}
	lt := t.In(q.loc())
	end := time.Date(lt.Year(), lt.Month(), lt.Day(), q.End/60, q.End%60, 0, 0, q.loc())
	if !end.After(t) {
		end = time.Date(lt.Year(), lt.Month(), lt.Day()+1, q.End/60, q.End%60, 0, 0, q.loc())
	}
	return end
}

// Settings are one user's delivery settings.
type Settings struct {
	Channels []Channel
	Quiet    QuietHours
	// MaxPerHour caps the notifications in any rolling hour; 0 means DefaultMaxPerHour.
	MaxPerHour int
}

// Validate checks the settings; the error names the field.
func (s Settings) Validate() error {
	for i, c := range s.Channels {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("users: channels[%d]: %w", i, err)
		}
	}
	for i, c := range s.Channels {
		if slices.Contains(s.Channels[:i], c) {
			return fmt.Errorf("users: channels[%d]: duplicate of an earlier %s channel", i, c.Type)
		}
	}
	if err := s.Quiet.Validate(); err != nil {
		return err
	}
	if s.MaxPerHour < 0 || s.MaxPerHour > MaxMaxPerHour {
		return fmt.Errorf("users: max per hour %d: must be 0 (default %d) to %d", s.MaxPerHour, DefaultMaxPerHour, MaxMaxPerHour)
	}
	return nil
}

// Limit returns the effective per-hour limit.
func (s Settings) Limit() int {
	if s.MaxPerHour == 0 {
		return DefaultMaxPerHour
	}
	return s.MaxPerHour
}

// Decision is what the notifier does with one notification for one channel.
type Decision struct {
	// Deliver is true when the notification goes out now.
	Deliver bool
	// NotBefore is when a notification held by quiet hours may go out.
	NotBefore time.Time
}

// Decide tells whether a notification for channel c goes out at t. Pushes and e-mails wait out
// quiet hours; webhooks (machine receivers) and the live stream (the user is watching) never
// do. The per-hour limit is applied separately by rules.UserLimiter.
func (s Settings) Decide(c Channel, t time.Time) Decision {
	if c.Type == Webhook || c.Type == Stream || !s.Quiet.Active(t) {
		return Decision{Deliver: true, NotBefore: t}
	}
	return Decision{NotBefore: s.Quiet.Until(t)}
}

// Scoped returns the id under which the service keeps user id of org: "org/id". The REST API
// scopes every user id by the caller's org this way, so the same id given by two orgs names
// two users; ids as clients give them never contain '/', so no id of one org can name a user
// of another.
func Scoped(org, id string) string { return org + "/" + id }

// Unscoped splits a scoped id into its org and the id as that org's clients know it; ok is
// false for an id without a scope (kept by the service from before scoping, or made by a
// direct caller of the service).
func Unscoped(user string) (org, id string, ok bool) { return strings.Cut(user, "/") }

// Local returns the id as its org's clients know it: user without its scope, if it has one.
func Local(user string) string {
	if _, id, ok := Unscoped(user); ok {
		return id
	}
	return user
}
