package dsr_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
)

func hasher(t testing.TB, pepper string) *dsr.Hasher {
	t.Helper()
	h, err := dsr.NewHasher([]byte(pepper))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestUnsubscribeToken: a token signed by the pipeline's pepper opens to
// what it was issued for; a forged, altered, malformed, expired or future
// one, or one for a channel the registry lacks, does not, and every fault
// but age gets the same answer.
func TestUnsubscribeToken(t *testing.T) {
	reg := dsrtest.Registry(t)
	h, other := hasher(t, "the pipeline's pepper, 32 bytes!"), hasher(t, "someone else's pepper, 32 bytes")
	issued := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	u := dsr.Unsubscribe{SubjectKey: strings.Repeat("ab", 32), Purpose: "marketing", Channel: dsr.ChannelEmail, IssuedAt: issued}
	good := h.UnsubscribeToken(u)
	payload, sig, _ := strings.Cut(good, ".")
	line, _ := base64.RawURLEncoding.DecodeString(payload)
	resign := func(l string) string { // a payload the attacker wrote, the good token's signature
		return base64.RawURLEncoding.EncodeToString([]byte(l)) + "." + sig
	}
	tests := []struct {
		name  string
		token string
		now   time.Time
		code  dsr.ErrorCode // "": valid
	}{
		{"valid", good, issued.Add(time.Hour), ""},
		{"valid a year on", good, issued.Add(365 * 24 * time.Hour), ""},
		{"expired", good, issued.Add(dsr.UnsubscribeTokenTTL + time.Hour), dsr.EGone},
		{"issued in the future", good, issued.Add(-time.Hour), dsr.ENotFound},
		{"forged with another key", other.UnsubscribeToken(u), issued, dsr.ENotFound},
		{"another channel, same signature", resign(strings.Replace(string(line), "|email|", "|post|", 1)), issued, dsr.ENotFound},
		{"another subject, same signature", resign(strings.Replace(string(line), "abab", "cdcd", 1)), issued, dsr.ENotFound},
		{"signature cut", payload + "." + sig[:10], issued, dsr.ENotFound},
		{"no signature", payload, issued, dsr.ENotFound},
		{"not base64", "!!!." + sig, issued, dsr.ENotFound},
		{"empty", "", issued, dsr.ENotFound},
		{"too long", good + strings.Repeat("A", dsr.MaxUnsubscribeTokenLength), issued, dsr.ENotFound},
		{"a channel the purpose lacks", h.UnsubscribeToken(dsr.Unsubscribe{SubjectKey: u.SubjectKey, Purpose: "marketing", Channel: dsr.ChannelSMS, IssuedAt: issued}), issued, dsr.ENotFound},
		{"a purpose without channels", h.UnsubscribeToken(dsr.Unsubscribe{SubjectKey: u.SubjectKey, Purpose: "billing", Channel: dsr.ChannelEmail, IssuedAt: issued}), issued, dsr.ENotFound},
		{"not a subject key", h.UnsubscribeToken(dsr.Unsubscribe{SubjectKey: "ada@example.com", Purpose: "marketing", Channel: dsr.ChannelEmail, IssuedAt: issued}), issued, dsr.ENotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.ParseUnsubscribeToken(tt.token, reg, tt.now)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(u, got); diff != "" {
					t.Error(diff)
				}
				return
			}
			if dsr.ErrorCodeOf(err) != tt.code {
				t.Fatalf("error %v, want code %s", err, tt.code)
			}
			if tt.code == dsr.ENotFound && err != dsr.ErrBadUnsubscribe {
				t.Errorf("error %v says more than ErrBadUnsubscribe", err)
			}
		})
	}
	if strings.Contains(string(line), "@") {
		t.Errorf("the token carries an address: %q", line)
	}
}

// TestOneClickRequest: the same token makes the same request id; the
// request is a verified, queued withdrawal of the token's channel, known
// by its key alone.
func TestOneClickRequest(t *testing.T) {
	h := hasher(t, "the pipeline's pepper, 32 bytes!")
	a, b := h.OneClickEntropy("token-a"), h.OneClickEntropy("token-b")
	if !cmp.Equal(a, h.OneClickEntropy("token-a")) || cmp.Equal(a, b) {
		t.Error("the entropy is not the token's alone")
	}
	now := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	u := dsr.Unsubscribe{SubjectKey: "k", Purpose: "newsletter", Channel: dsr.ChannelEmail, IssuedAt: now}
	r := dsr.OneClickRequest("ID", u, dsr.LangDE, dsr.DeadlinePolicy{}, now)
	want := []dsr.PreferenceChange{{Purpose: "newsletter", Channel: dsr.ChannelEmail, Consent: dsr.ConsentWithdraw}}
	if r.Status != dsr.StatusQueued || !r.OneClick || r.Email != "" || !cmp.Equal(r.Preferences, want) || r.VerifiedAt != now || r.DueAt.IsZero() {
		t.Errorf("request %+v", r)
	}
	if s := r.Subject(); !s.KeyOnly || !s.Owns(nil) {
		t.Errorf("subject %+v: not known by its key alone", s)
	}
	if steps := dsr.OneClickSteps(r); len(steps) != 2 || steps[0].Actor != "subject:one-click" {
		t.Errorf("steps %+v", steps)
	}
}

// FuzzParseUnsubscribeToken: no token makes the parser panic, and every
// token it accepts is one the pipeline signed, which signs back the same.
func FuzzParseUnsubscribeToken(f *testing.F) {
	reg := dsrtest.Registry(f)
	h := hasher(f, "the pipeline's pepper, 32 bytes!")
	now := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	good := h.UnsubscribeToken(dsr.Unsubscribe{SubjectKey: strings.Repeat("ab", 32), Purpose: "marketing", Channel: dsr.ChannelEmail, IssuedAt: now})
	for _, s := range []string{good, good + "x", "x." + good, "", ".", "a.b.c", strings.Repeat("A", 500)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		u, err := h.ParseUnsubscribeToken(token, reg, now)
		if err != nil {
			return
		}
		if again := h.UnsubscribeToken(u); again != token {
			t.Fatalf("accepted %q, which signs back as %q", token, again)
		}
	})
}
