package users

import (
	"strings"
	"testing"
	"time"
)

func TestQuietHours(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name   string
		q      QuietHours
		at     string
		active bool
		until  string
	}{
		{"inside same-day range", QuietHours{Start: 12 * 60, End: 13 * 60}, "2025-03-10T12:30:00Z", true, "2025-03-10T13:00:00Z"},
		{"at start is quiet", QuietHours{Start: 12 * 60, End: 13 * 60}, "2025-03-10T12:00:00Z", true, "2025-03-10T13:00:00Z"},
		{"at end is not quiet", QuietHours{Start: 12 * 60, End: 13 * 60}, "2025-03-10T13:00:00Z", false, "2025-03-10T13:00:00Z"},
		{"wrapping midnight, late evening", QuietHours{Start: 22 * 60, End: 7 * 60}, "2025-03-10T23:15:00Z", true, "2025-03-11T07:00:00Z"},
		{"wrapping midnight, early morning", QuietHours{Start: 22 * 60, End: 7 * 60}, "2025-03-11T06:59:00Z", true, "2025-03-11T07:00:00Z"},
		{"wrapping midnight, daytime", QuietHours{Start: 22 * 60, End: 7 * 60}, "2025-03-11T12:00:00Z", false, "2025-03-11T12:00:00Z"},
		{"empty range", QuietHours{Start: 600, End: 600}, "2025-03-11T10:00:00Z", false, "2025-03-11T10:00:00Z"},
		// 22:00-07:00 New York: 03:00Z is 23:00 EDT on 10 March (after the DST change).
		{"IANA zone", QuietHours{Start: 22 * 60, End: 7 * 60, Location: ny}, "2025-03-11T03:00:00Z", true, "2025-03-11T11:00:00Z"},
		{"IANA zone across DST start", QuietHours{Start: 22 * 60, End: 7 * 60, Location: ny}, "2025-03-09T04:00:00Z", true, "2025-03-09T11:00:00Z"},
		{"IANA zone daytime", QuietHours{Start: 22 * 60, End: 7 * 60, Location: ny}, "2025-03-11T16:00:00Z", false, "2025-03-11T16:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := utc(tc.at)
			if got := tc.q.Active(at); got != tc.active {
				t.Fatalf("Active = %v, want %v", got, tc.active)
			}
			if got := tc.q.Until(at); !got.Equal(utc(tc.until)) {
				t.Fatalf("Until = %v, want %v", got.UTC(), tc.until)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	s := Settings{Quiet: QuietHours{Start: 22 * 60, End: 7 * 60}}
	night := time.Date(2025, 3, 10, 23, 0, 0, 0, time.UTC)
	morning := time.Date(2025, 3, 11, 7, 0, 0, 0, time.UTC)
	for _, c := range []Channel{{Type: Webhook, Target: "https://x"}, {Type: Stream}} {
		if d := s.Decide(c, night); !d.Deliver {
			t.Errorf("%s held by quiet hours", c.Type)
		}
	}
	for _, c := range []Channel{{Type: Email, Target: "a@b.c"}, {Type: APNs, Target: "tok"}, {Type: FCM, Target: "tok"}} {
		if d := s.Decide(c, night); d.Deliver || !d.NotBefore.Equal(morning) {
			t.Errorf("%s at night: %+v", c.Type, d)
		}
		if d := s.Decide(c, morning); !d.Deliver {
			t.Errorf("%s in the morning held", c.Type)
		}
	}
	if (Settings{}).Limit() != DefaultMaxPerHour || (Settings{MaxPerHour: 3}).Limit() != 3 {
		t.Error("Limit")
	}
}

func TestValidate(t *testing.T) {
	ok := Settings{
		Channels:   []Channel{{Webhook, "https://example.com/h"}, {Email, "a@b.c"}, {Stream, ""}, {FCM, "tok"}},
		Quiet:      QuietHours{Start: 1320, End: 420},
		MaxPerHour: 5,
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid settings: %v", err)
	}
	tests := []struct {
		name  string
		s     Settings
		field string
	}{
		{"webhook not a url", Settings{Channels: []Channel{{Webhook, "ftp://x"}}}, "webhook url"},
		{"webhook relative", Settings{Channels: []Channel{{Webhook, "/hook"}}}, "webhook url"},
		{"email with name", Settings{Channels: []Channel{{Email, "A <a@b.c>"}}}, "email"},
		{"email garbage", Settings{Channels: []Channel{{Email, "nope"}}}, "email"},
		{"push without token", Settings{Channels: []Channel{{APNs, ""}}}, "apns token"},
		{"stream with target", Settings{Channels: []Channel{{Stream, "x"}}}, "stream target"},
		{"unknown type", Settings{Channels: []Channel{{"sms", "1"}}}, "channel type"},
		{"duplicate", Settings{Channels: []Channel{{Email, "a@b.c"}, {Email, "a@b.c"}}}, "duplicate"},
		{"quiet start", Settings{Quiet: QuietHours{Start: 1440}}, "quiet hours start"},
		{"quiet end", Settings{Quiet: QuietHours{End: -1}}, "quiet hours end"},
		{"max per hour", Settings{MaxPerHour: -1}, "max per hour"},
		{"max per hour big", Settings{MaxPerHour: MaxMaxPerHour + 1}, "max per hour"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.s.Validate(); err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate error = %v, want one naming %q", err, tc.field)
			}
		})
	}
}

func TestScoped(t *testing.T) {
	tests := []struct{ org, id, local string }{{"org1", "u1", "u1"}, {"regulator", "a.b@c", "a.b@c"}}
	for _, tc := range tests {
		s := Scoped(tc.org, tc.id)
		if org, id, ok := Unscoped(s); !ok || org != tc.org || id != tc.id || Local(s) != tc.local {
			t.Fatalf("%q: %q %q %v %q", s, org, id, ok, Local(s))
		}
	}
	if Scoped("org1", "u1") == Scoped("org2", "u1") {
		t.Fatal("two orgs' u1 are one user")
	}
	if _, _, ok := Unscoped("u1"); ok || Local("u1") != "u1" {
		t.Fatal("an unscoped id has a scope")
	}
}
