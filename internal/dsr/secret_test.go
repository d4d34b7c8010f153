package dsr_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

func FuzzOpenCursor(f *testing.F) {
	h, err := dsr.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(h.SealCursor("list", `{"s":1}`), "list")
	f.Add("e30.AAAA", "list")
	f.Fuzz(func(t *testing.T, sealed, scope string) {
		raw, err := h.OpenCursor("cursor", scope, sealed)
		if err != nil {
			if dsr.ErrorCodeOf(err) != dsr.EInvalid {
				t.Fatalf("error code %q", dsr.ErrorCodeOf(err))
			}
			return
		}
		if again, err := h.OpenCursor("cursor", scope, h.SealCursor(scope, raw)); err != nil || again != raw {
			t.Fatalf("resealed cursor opens to %q, %v; want %q", again, err, raw)
		}
		if _, err := h.OpenCursor("cursor", scope+"\x01", sealed); err == nil {
			t.Fatalf("cursor %q of scope %q opens for another scope", sealed, scope)
		}
	})
}

func TestParseIdempotencyKey(t *testing.T) {
	for _, tc := range []struct {
		key string
		ok  bool
	}{
		{"", true}, // no key
		{"6f1c2d0e-8a5b-4c1e-9f3a-2b7d4e6a8c01", true},
		{"abcdefghijklmnop", true},                 // 16, the shortest
		{strings.Repeat("a", 128), true},           // the longest
		{"abcdefghijklmno", false},                 // 15
		{strings.Repeat("a", 129), false},          // too long
		{"with space in the key", false},           // a space
		{"ünïcödé-key-that-is-long", false},        // not ASCII
		{"semi;colon;is;not;allowed", false},       // outside -._~:
		{"urn:uuid:6f1c2d0e-8a5b-4c1e-9f3a", true}, // colons and dots
	} {
		got, err := dsr.ParseIdempotencyKey(tc.key)
		if (err == nil) != tc.ok || (tc.ok && got != tc.key) {
			t.Errorf("ParseIdempotencyKey(%q) = %q, %v; want ok %v", tc.key, got, err, tc.ok)
		}
		if err != nil && (dsr.ErrorCodeOf(err) != dsr.EInvalid || !strings.Contains(err.Error(), "Idempotency-Key")) {
			t.Errorf("ParseIdempotencyKey(%q): %v, want an invalid error naming the header", tc.key, err)
		}
	}
}

func FuzzParseIdempotencyKey(f *testing.F) {
	for _, s := range []string{"", "6f1c2d0e-8a5b-4c1e-9f3a-2b7d4e6a8c01", "short", "ü-" + strings.Repeat("x", 20)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := dsr.ParseIdempotencyKey(s)
		if err != nil {
			return
		}
		if got != s || (s != "" && (len(s) < 16 || len(s) > 128)) || strings.ContainsFunc(s, func(r rune) bool { return r < '!' || r > '~' }) {
			t.Errorf("accepted %q as %q", s, got)
		}
	})
}

// The secrets a keyed submission derives are the same for the same key,
// client and submission, and differ when any of them differs.
func TestReplayDerivation(t *testing.T) {
	h, err := dsr.NewHasher([]byte("a pepper of sixteen bytes or more"))
	if err != nil {
		t.Fatal(err)
	}
	sub := dsr.Submission{Type: dsr.TypeAccess, Email: "ada@example.com"}
	base := h.Replay("key-0123456789abcdef", "198.51.100.7", sub)
	if again := h.Replay("key-0123456789abcdef", "198.51.100.7", sub); !reflect.DeepEqual(base, again) {
		t.Errorf("not deterministic: %+v, %+v", base, again)
	}
	if len(base.IDEntropy) != 10 || len(base.Code) != 6 || base.TokenHash != dsr.HashToken(base.Token) || len(base.Token) < 43 {
		t.Errorf("derived %+v", base)
	}
	for name, other := range map[string]dsr.Replay{
		"key":     h.Replay("key-0123456789abcdeF", "198.51.100.7", sub),
		"client":  h.Replay("key-0123456789abcdef", "198.51.100.8", sub),
		"type":    h.Replay("key-0123456789abcdef", "198.51.100.7", dsr.Submission{Type: dsr.TypeErasure, Email: sub.Email}),
		"address": h.Replay("key-0123456789abcdef", "198.51.100.7", dsr.Submission{Type: sub.Type, Email: "grace@example.com"}),
	} {
		if other.Token == base.Token || bytes.Equal(other.IDEntropy, base.IDEntropy) {
			t.Errorf("another %s derives the same secrets", name)
		}
	}
	h2, _ := dsr.NewHasher([]byte("another pepper, sixteen or more"))
	if h2.Replay("key-0123456789abcdef", "198.51.100.7", sub).Token == base.Token {
		t.Error("another pepper derives the same token")
	}
}

func TestReplayHours(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2027, 1, 31, h, m, 0, 0, time.UTC) }
	for _, tc := range []struct {
		now  time.Time
		want []time.Time
	}{
		{at(10, 0), []time.Time{at(10, 0), at(9, 0)}},
		{at(10, 14), []time.Time{at(10, 0), at(9, 0)}},
		{at(10, 15), []time.Time{at(10, 0)}},
		{at(10, 59), []time.Time{at(10, 0)}},
	} {
		if got := dsr.ReplayHours(tc.now); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ReplayHours(%s) = %v, want %v", tc.now.Format("15:04"), got, tc.want)
		}
	}
}
