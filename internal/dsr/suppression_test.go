package dsr_test

import (
	"errors"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

func TestSuppressed(t *testing.T) {
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.AddDate(0, 1, 0)
	entries := []dsr.Suppression{
		{Scope: "newsletter", Reason: dsr.SuppressedByObjection, Since: t1},
		{Scope: dsr.ScopeAll, Reason: dsr.SuppressedByErasure, Since: t2},
	}
	dm := []dsr.Suppression{{Scope: dsr.ScopeDirectMarketing, Reason: dsr.SuppressedByObjection, Since: t1}}
	newsletter := dsr.Purpose{Name: "newsletter", DirectMarketing: true}
	billing := dsr.Purpose{Name: "billing"}
	postal := dsr.Purpose{Name: "postal_ads", DirectMarketing: true} // flagged after the objection
	tests := []struct {
		name    string
		entries []dsr.Suppression
		purpose dsr.Purpose
		reason  string
		since   time.Time
	}{
		{"no entries", nil, newsletter, "", time.Time{}},
		{"other purpose only", entries[:1], billing, "", time.Time{}},
		{"the purpose objected to", entries[:1], newsletter, dsr.SuppressedByObjection, t1},
		{"erasure covers every purpose", entries, billing, dsr.SuppressedByErasure, t2},
		{"the earliest entry gives the reason", entries, newsletter, dsr.SuppressedByObjection, t1},
		{"direct marketing covers a purpose flagged later", dm, postal, dsr.SuppressedByObjection, t1},
		{"direct marketing does not cover billing", dm, billing, "", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := dsr.Suppressed(tc.entries, tc.purpose, time.Time{})
			if got.Suppressed != (tc.reason != "") || got.Reason != tc.reason || (got.Since != nil && !got.Since.Equal(tc.since)) {
				t.Errorf("Suppressed = %+v", got)
			}
		})
	}
}

// After an erasure, what the suppression allows depends on the purpose's
// legal basis (Art. 17 suppression scope): consent → blocked until new
// consent given after the erasure (Art. 7(3): a withdrawn consent is not
// revived, a new one counts); contract and legal obligation → new
// transactions, no old data; other bases → blocked. An objection stays
// absolute whatever the basis or consent (Art. 21(3)).
func TestSuppressedPerLegalBasis(t *testing.T) {
	erased := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	objected := erased.AddDate(0, -1, 0)
	erasure := dsr.Suppression{Scope: dsr.ScopeAll, Reason: dsr.SuppressedByErasure, Since: erased}
	dmObjection := dsr.Suppression{Scope: dsr.ScopeDirectMarketing, Reason: dsr.SuppressedByObjection, Since: objected}
	purpose := func(name, basis string, dm bool) dsr.Purpose {
		return dsr.Purpose{Name: name, LegalBasis: basis, DirectMarketing: dm}
	}
	newsletter := purpose("newsletter", "consent (Art. 6(1)(a))", true)
	billing := purpose("billing", "legal obligation (Art. 6(1)(c)) - commercial and tax law", false)
	shop := purpose("shop", "contract (Art. 6(1)(b))", false)
	care := purpose("customer_care", "legitimate interests (Art. 6(1)(f))", false)
	loyalty := purpose("loyalty", "consent", false)
	odd := purpose("odd", "whatever the CRM says", false)
	tests := []struct {
		name       string
		entries    []dsr.Suppression
		purpose    dsr.Purpose
		consentAt  time.Time
		suppressed bool
		effect     dsr.SuppressionEffect
		since      time.Time
	}{
		{"consent, no new consent", []dsr.Suppression{erasure}, newsletter, time.Time{}, true, dsr.EffectUntilNewConsent, erased},
		{"consent given before the erasure", []dsr.Suppression{erasure}, loyalty, erased.Add(-time.Second), true, dsr.EffectUntilNewConsent, erased},
		{"consent given at the erasure's time", []dsr.Suppression{erasure}, loyalty, erased, true, dsr.EffectUntilNewConsent, erased},
		{"new consent after the erasure", []dsr.Suppression{erasure}, loyalty, erased.Add(time.Second), false, dsr.EffectNewDataOnly, erased},
		{"legal obligation: new invoices, no old data", []dsr.Suppression{erasure}, billing, time.Time{}, false, dsr.EffectNewDataOnly, erased},
		{"contract: new purchases, no old data", []dsr.Suppression{erasure}, shop, time.Time{}, false, dsr.EffectNewDataOnly, erased},
		{"legitimate interests: blocked", []dsr.Suppression{erasure}, care, time.Time{}, true, dsr.EffectBlocked, erased},
		{"a basis the text does not name: blocked", []dsr.Suppression{erasure}, odd, time.Time{}, true, dsr.EffectBlocked, erased},
		{"direct-marketing objection: absolute, new consent or not", []dsr.Suppression{dmObjection, erasure}, newsletter, erased.AddDate(0, 1, 0), true, dsr.EffectBlocked, objected},
		{"direct-marketing objection does not touch billing", []dsr.Suppression{dmObjection, erasure}, billing, time.Time{}, false, dsr.EffectNewDataOnly, erased},
		{"objection to the purpose: blocked", []dsr.Suppression{{Scope: "customer_care", Reason: dsr.SuppressedByObjection, Since: objected}}, care, time.Time{}, true, dsr.EffectBlocked, objected},
		{"two erasures: new consent must follow the later", []dsr.Suppression{erasure, {Scope: dsr.ScopeAll, Reason: dsr.SuppressedByErasure, Since: erased.AddDate(1, 0, 0)}}, loyalty, erased.AddDate(0, 6, 0), true, dsr.EffectUntilNewConsent, erased.AddDate(1, 0, 0)},
		{"two erasures: no data from before the later", []dsr.Suppression{{Scope: dsr.ScopeAll, Reason: dsr.SuppressedByErasure, Since: erased.AddDate(1, 0, 0)}, erasure}, billing, time.Time{}, false, dsr.EffectNewDataOnly, erased.AddDate(1, 0, 0)},
		{"nothing", nil, billing, time.Time{}, false, "", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := dsr.Suppressed(tc.entries, tc.purpose, tc.consentAt)
			var since time.Time
			if got.Since != nil {
				since = *got.Since
			}
			if got.Suppressed != tc.suppressed || got.Effect != tc.effect || !since.Equal(tc.since) {
				t.Errorf("Suppressed = %+v (since %s); want suppressed %v, effect %q, since %s", got, since, tc.suppressed, tc.effect, tc.since)
			}
		})
	}
}

func TestParseSuppressionCheckConsentAt(t *testing.T) {
	reg := dsr.Registry{{Name: "newsletter", LegalBasis: "consent (Art. 6(1)(a))"}, {Name: "billing", LegalBasis: "legal obligation"}}
	s := func(v string) *string { return &v }
	tests := []struct {
		purpose, consentAt string
		want               time.Time
		field              string // the field refused, or ""
	}{
		{"newsletter", "2026-03-01T13:00:00+01:00", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), ""},
		{"newsletter", "1 March 2026", time.Time{}, "consentAt"},
		{"billing", "2026-03-01T12:00:00Z", time.Time{}, "consentAt"},
	}
	for _, tc := range tests {
		c, err := dsr.ParseSuppressionCheck(dsr.SuppressionCheckInput{Email: s("ada@example.com"), Purpose: s(tc.purpose), ConsentAt: s(tc.consentAt)}, reg)
		var de *dsr.Error
		switch {
		case tc.field == "" && (err != nil || !c.ConsentAt.Equal(tc.want)):
			t.Errorf("%s %s: %+v, %v", tc.purpose, tc.consentAt, c, err)
		case tc.field != "" && (!errors.As(err, &de) || len(de.Fields) != 1 || de.Fields[0].Field != tc.field):
			t.Errorf("%s %s: %v, want %s refused", tc.purpose, tc.consentAt, err, tc.field)
		}
	}
}
