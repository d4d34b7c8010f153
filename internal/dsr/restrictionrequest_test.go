package dsr_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// restrictionRegistry has a consent purpose, one of legitimate interests
// and one of a legal obligation (where Art. 21 does not apply).
func restrictionRegistry(t *testing.T) dsr.Registry {
	t.Helper()
	const yaml = `
- {purpose: newsletter, table: n, subjectIndex: i, identifier: email, subjectKeyAttribute: sk, title: {de: Newsletter, en: Newsletter}, description: {de: d, en: d}, categories: {de: [c], en: [c]}, automatedDecisions: none, legalBasis: consent, directMarketing: true, retention: {de: r, en: r}, erasure: delete, objection: delete}
- {purpose: care, table: c, subjectIndex: i, identifier: email, subjectKeyAttribute: sk, title: {de: Kundenbetreuung, en: Customer care}, description: {de: d, en: d}, categories: {de: [c], en: [c]}, automatedDecisions: none, legalBasis: legitimate interests, retention: {de: r, en: r}, erasure: delete, objection: restrict}
- {purpose: billing, table: b, subjectIndex: i, identifier: email, subjectKeyAttribute: sk, title: {de: t, en: t}, description: {de: d, en: d}, categories: {de: [c], en: [c]}, automatedDecisions: none, legalBasis: legal obligation, retention: {de: r, en: r}, retentionYears: 10, retainedAttributes: [amount], erasure: restrict, objection: none}
`
	reg, err := dsr.ParseRegistry([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestParseRestriction: a restriction needs a ground of Art. 18(1); it
// restricts the purposes named or every purpose, with the person's reason;
// the objection's fields are refused, and so are the restriction's given
// to another type, each naming the field.
func TestParseRestriction(t *testing.T) {
	reg := restrictionRegistry(t)
	long := strings.Repeat("x", dsr.MaxReasonLength+1)
	tests := []struct {
		name   string
		in     dsr.SubmissionInput
		fields string // the fields a 400 names, sorted; "" for accepted
		plan   []string
	}{
		{"every purpose", dsr.SubmissionInput{Type: ptr("restriction"), Ground: ptr("unlawful")}, "", []string{"newsletter", "care", "billing"}},
		{"named purposes, in registry order", dsr.SubmissionInput{Type: ptr("restriction"), Ground: ptr("accuracy_contested"), Purposes: &[]string{"billing", "care", "care"}, Reason: ptr("my address is wrong")}, "", []string{"care", "billing"}},
		{"ground (c)", dsr.SubmissionInput{Type: ptr("restriction"), Ground: ptr("no_longer_needed")}, "", []string{"newsletter", "care", "billing"}},
		{"ground (d)", dsr.SubmissionInput{Type: ptr("restriction"), Ground: ptr("objection_pending"), Purposes: &[]string{"care"}}, "", []string{"care"}},
		{"no ground", dsr.SubmissionInput{Type: ptr("restriction")}, "ground", nil},
		{"an unknown ground", dsr.SubmissionInput{Type: ptr("restriction"), Ground: ptr("Accuracy_Contested")}, "ground", nil},
		{"an unknown purpose", dsr.SubmissionInput{Type: ptr("restriction"), Ground: ptr("unlawful"), Purposes: &[]string{"care", "astrology"}}, "purposes[1]", nil},
		{"no purpose named", dsr.SubmissionInput{Type: ptr("restriction"), Ground: ptr("unlawful"), Purposes: &[]string{}}, "purposes", nil},
		{"an objection's fields", dsr.SubmissionInput{Type: ptr("restriction"), Ground: ptr("unlawful"), Scope: ptr("direct_marketing"), Grounds: ptr("g")}, "grounds scope", nil},
		{"a reason too long", dsr.SubmissionInput{Type: ptr("restriction"), Ground: ptr("unlawful"), Reason: &long}, "reason", nil},
		{"a ground for an access request", dsr.SubmissionInput{Type: ptr("access"), Ground: ptr("unlawful")}, "ground", nil},
		{"a reason for an objection", dsr.SubmissionInput{Type: ptr("objection"), Scope: ptr("direct_marketing"), Reason: ptr("r")}, "reason", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Email = ptr("grace@example.com")
			sub, err := dsr.ParseSubmission(tc.in, reg)
			if tc.fields != "" {
				de, ok := err.(*dsr.Error)
				var names []string
				for ok && len(names) < len(de.Fields) {
					names = append(names, de.Fields[len(names)].Field)
				}
				if !ok || de.Code != dsr.EInvalid || strings.Join(names, " ") != tc.fields {
					t.Errorf("ParseSubmission = %v, want a 400 naming %s", err, tc.fields)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSubmission: %v", err)
			}
			if sub.Type != dsr.TypeRestriction || sub.Ground != *tc.in.Ground || (tc.in.Reason != nil && sub.Grounds != *tc.in.Reason) {
				t.Errorf("submission %+v", sub)
			}
			plan, err := dsr.Plan(&dsr.Request{ID: "r1", Type: dsr.TypeRestriction, Purposes: sub.Purposes}, reg)
			if err != nil || !slices.Equal(plan, tc.plan) {
				t.Errorf("Plan = %v, %v; want %v", plan, err, tc.plan)
			}
		})
	}
}

// TestRestrictionMarksAndSuppression: a restriction marks every purpose's
// items restricted with its ground, never overriding a mark; it suppresses
// the restricted purposes where Art. 21 applies under a scope of its own,
// and the check answers restricted for them (stricter than an erasure's
// blocked_until_new_consent, less strict than an objection's block).
func TestRestrictionMarksAndSuppression(t *testing.T) {
	reg := restrictionRegistry(t)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	r := &dsr.Request{ID: "R1", Type: dsr.TypeRestriction, Ground: dsr.GroundAccuracyContested, SubjectKey: "k"}
	plan, _ := dsr.Plan(r, reg)
	for _, name := range plan {
		p, _ := reg.Lookup(name)
		if a, err := p.ActionFor(r.Type); err != nil || a != dsr.ActionRestrict {
			t.Errorf("%s: action %q, %v; want restrict", name, a, err)
		}
		if got := dsr.RestrictionFor(r, p, now); got != (dsr.Restriction{Reason: dsr.GroundAccuracyContested, RequestID: "R1", Since: now}) {
			t.Errorf("%s: restriction %+v", name, got)
		}
	}
	entries := dsr.SuppressionsFor(r, reg.Objectable(plan), now)
	var scopes []string
	for _, e := range entries {
		scopes = append(scopes, e.Scope)
	}
	if want := []string{"restriction:newsletter:R1", "restriction:care:R1"}; !slices.Equal(scopes, want) {
		t.Errorf("suppression scopes %v, want %v", scopes, want)
	}
	care, _ := reg.Lookup("care")
	newsletter, _ := reg.Lookup("newsletter")
	billing, _ := reg.Lookup("billing")
	earlier := now.AddDate(0, -1, 0)
	erasure := dsr.Suppression{Scope: dsr.ScopeAll, Reason: dsr.SuppressedByErasure, Since: earlier}
	objection := dsr.Suppression{Scope: "care", Reason: dsr.SuppressedByObjection, Since: earlier}
	other := dsr.Suppression{Scope: dsr.RestrictionScope("care", "R2"), Reason: dsr.SuppressedByRestriction, Since: earlier}
	for _, tc := range []struct {
		name    string
		entries []dsr.Suppression
		purpose dsr.Purpose
		want    dsr.SuppressionEffect // "" for not suppressed
	}{
		{"a restricted purpose", entries, care, dsr.EffectRestricted},
		{"a restricted consent purpose", entries, newsletter, dsr.EffectRestricted},
		{"billing keeps taking new data", entries, billing, ""},
		{"a scope that only starts like the purpose", []dsr.Suppression{{Scope: "restriction:car:R1", Reason: dsr.SuppressedByRestriction}}, care, ""},
		{"another request's restriction of the purpose", []dsr.Suppression{other}, care, dsr.EffectRestricted},
		{"stricter than an erasure's consent rule", append([]dsr.Suppression{erasure}, entries...), newsletter, dsr.EffectRestricted},
		{"an objection stays stricter", append([]dsr.Suppression{objection}, entries...), care, dsr.EffectBlocked},
	} {
		got := dsr.Suppressed(tc.entries, tc.purpose, time.Time{})
		if got.Suppressed != (tc.want != "") || got.Effect != tc.want {
			t.Errorf("%s: %+v, want %q", tc.name, got, tc.want)
		}
	}
}

// TestRestrictionHoldsTheAddress: an answered restriction keeps its plain
// address while any purpose is restricted or being lifted, for the notice
// before the lifting (Art. 18(3)); once every purpose is lifted it is final.
func TestRestrictionHoldsTheAddress(t *testing.T) {
	r := &dsr.Request{Type: dsr.TypeRestriction, PlannedPurposes: []string{"care", "billing"}}
	held := dsr.HeldRestrictions(r)
	if want := map[string]string{"care": dsr.RestrictionHeld, "billing": dsr.RestrictionHeld}; !maps.Equal(held, want) {
		t.Errorf("held %v, want %v", held, want)
	}
	if dsr.HeldRestrictions(&dsr.Request{Type: dsr.TypeObjection, PlannedPurposes: []string{"care"}}) != nil {
		t.Error("an objection holds restrictions")
	}
	for _, tc := range []struct {
		states map[string]string
		needed bool
	}{
		{map[string]string{"care": dsr.RestrictionHeld, "billing": dsr.RestrictionHeld}, true},
		{map[string]string{"care": dsr.Applying(dsr.DecisionLifted), "billing": dsr.DecisionLifted}, true},
		{map[string]string{"care": dsr.DecisionLifted, "billing": dsr.DecisionLifted}, false},
	} {
		if got := dsr.AddressNeeded(dsr.StatusCompleted, tc.states); got != tc.needed {
			t.Errorf("AddressNeeded(completed, %v) = %v", tc.states, got)
		}
	}
	if r := (&dsr.Request{Type: dsr.TypeRestriction, Status: dsr.StatusCompleted, ObjectionDecisions: map[string]string{"care": dsr.RestrictionHeld}}); r.AwaitingDecision() {
		t.Error("a held restriction is listed as awaiting an objection decision")
	}
}

// TestParseAndCheckLift: a lifting needs a purpose and a reason; it is
// allowed for an answered restriction holding the purpose restricted.
func TestParseAndCheckLift(t *testing.T) {
	long := strings.Repeat("x", dsr.MaxDetailLength+1)
	for _, tc := range []struct {
		in     dsr.LiftInput
		fields string
	}{
		{dsr.LiftInput{Purpose: ptr("care"), Reason: ptr("verified")}, ""},
		{dsr.LiftInput{}, "purpose reason"},
		{dsr.LiftInput{Purpose: ptr(""), Reason: ptr(" \n")}, "purpose reason"},
		{dsr.LiftInput{Purpose: ptr("care"), Reason: &long}, "reason"},
	} {
		x, err := dsr.ParseLift(tc.in)
		if fmt.Sprint(fieldNames(err)) != fmt.Sprint(strings.Fields(tc.fields)) || (err == nil && x != dsr.Lift{Purpose: *tc.in.Purpose, Reason: *tc.in.Reason}) {
			t.Errorf("ParseLift(%+v) = %+v, %v; want fields %q", tc.in, x, err, tc.fields)
		}
	}
	held := func(typ dsr.Type, st dsr.Status, state string) *dsr.Request {
		return &dsr.Request{Type: typ, Status: st, ObjectionDecisions: map[string]string{"care": state}}
	}
	for _, tc := range []struct {
		name    string
		r       *dsr.Request
		purpose string
		code    dsr.ErrorCode // "" for allowed
	}{
		{"held", held(dsr.TypeRestriction, dsr.StatusCompleted, dsr.RestrictionHeld), "care", ""},
		{"not restricted by it", held(dsr.TypeRestriction, dsr.StatusCompleted, dsr.RestrictionHeld), "billing", dsr.EInvalid},
		{"being lifted", held(dsr.TypeRestriction, dsr.StatusCompleted, dsr.Applying(dsr.DecisionLifted)), "care", dsr.EConflict},
		{"lifted", held(dsr.TypeRestriction, dsr.StatusCompleted, dsr.DecisionLifted), "care", dsr.EConflict},
		{"not answered yet", held(dsr.TypeRestriction, dsr.StatusInProgress, dsr.RestrictionHeld), "care", dsr.EConflict},
		{"an objection", held(dsr.TypeObjection, dsr.StatusCompleted, dsr.DecisionPending), "care", dsr.EConflict},
	} {
		if got := dsr.ErrorCodeOf(dsr.CheckLift(tc.r, tc.purpose)); got != tc.code {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.code)
		}
	}
}

// fieldNames are the fields an EInvalid error names (nil for none).
func fieldNames(err error) []string {
	de, ok := err.(*dsr.Error)
	if !ok {
		return nil
	}
	var out []string
	for _, f := range de.Fields {
		out = append(out, f.Field)
	}
	return out
}

// TestLiftNotices: the person's notice before the lifting names the
// purpose by its title, the reason and Art. 18(3), once per purpose (its
// mail id); each recipient of the purpose, and no other, is told of the
// lifting, referring to the notice of the restriction.
func TestLiftNotices(t *testing.T) {
	reg := restrictionRegistry(t)
	care, _ := reg.Lookup("care")
	r := &dsr.Request{ID: "R1", Type: dsr.TypeRestriction, Email: "grace@example.com", Language: dsr.LangDE, Result: &dsr.Result{Recipients: []dsr.Recipient{
		{Recipient: "Call Centre GmbH", Country: "DE", Purposes: []string{"care"}},
		{Recipient: "Tax Advisers LLP", Country: "GB", Purposes: []string{"billing"}},
	}}}
	m := dsr.LiftMail(r, dsr.Lift{Purpose: "care", Reason: "Verified with you."}, care)
	for _, want := range []string{"„Kundenbetreuung“", `"Customer care"`, "Verified with you.", "Art. 18 Abs. 3", "Art. 18(3)", "R1"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("notice lacks %q:\n%s", want, m.Text)
		}
	}
	if m.To != r.Email || m.MailID() != "R1-lifting-care" {
		t.Errorf("notice to %q, id %q", m.To, m.MailID())
	}
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	got := dsr.LiftedNotices(r, "care", at)
	first := dsr.RecipientNotices(r, r.Result.Recipients[:1], reg, at)
	if len(got) != 1 || got[0].Recipient != "Call Centre GmbH" || got[0].RefersTo != first[0].NoticeID || got[0].NoticeID == first[0].NoticeID ||
		!slices.Equal(got[0].Purposes, []dsr.NoticePurpose{{Purpose: "care", Action: dsr.ActionLift}}) || first[0].Purposes[0].Action != dsr.ActionRestrict {
		t.Errorf("lifted notices %+v (first %+v)", got, first)
	}
	if again := dsr.LiftedNotices(r, "care", at.Add(time.Hour)); again[0].NoticeID != got[0].NoticeID {
		t.Error("a redelivered notice has another id")
	}
}

// TestRestrictionCertificate: each purpose says it is restricted, on which
// ground (its letter of Art. 18(1)), how many items; the certificate names
// the ground and the right to be told before the lifting, in the request's
// language.
func TestRestrictionCertificate(t *testing.T) {
	reg := restrictionRegistry(t)
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	r := &dsr.Request{ID: "R1", Type: dsr.TypeRestriction, Ground: dsr.GroundUnlawful, Language: dsr.LangEN, SubjectKey: "k",
		PlannedPurposes: []string{"care"}, VerifiedAt: at}
	parts := []dsr.Chunk{
		{RequestID: "R1", Purpose: "care", Index: 0, At: at, Keys: []string{"a", "b"}},
		{RequestID: "R1", Purpose: "care", Index: 1, At: at, ReadBack: &dsr.ReadBack{At: at, Restricted: 2}},
	}
	c, err := dsr.AssembleCertificate(r, reg, parts, dsr.CertificateInput{IssuedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	o := c.Purposes[0]
	if o.Action != dsr.ActionRestrict || o.Ground != dsr.GroundUnlawful || o.ItemsRestricted != 2 || o.ItemsDeleted != 0 || o.DecisionPending || !strings.Contains(o.Reason, "Art. 18(1)(b)") {
		t.Errorf("outcome %+v", o)
	}
	if c.Restriction == nil || c.Restriction.Ground != dsr.GroundUnlawful || !strings.Contains(c.Restriction.BeforeLifts, "Art. 18(3)") ||
		c.Suppress.Reason != dsr.SuppressedByRestriction {
		t.Errorf("certificate %+v, suppression %+v", c.Restriction, c.Suppress)
	}
}

// TestLiftDecisionMessage: a decision message may lift a restriction.
func TestLiftDecisionMessage(t *testing.T) {
	m, err := dsr.ParseMessage(dsr.MessageInput{RequestID: "R1", Purpose: "care", Decision: dsr.DecisionLifted})
	if err != nil || m != (dsr.DecisionMessage{RequestID: "R1", Purpose: "care", Decision: dsr.DecisionLifted}) {
		t.Errorf("ParseMessage = %+v, %v", m, err)
	}
	if _, err := dsr.ParseMessage(dsr.MessageInput{RequestID: "R1", Purpose: "care", Decision: "lifting"}); dsr.ErrorCodeOf(err) != dsr.EInvalid {
		t.Errorf("an unknown decision: %v", err)
	}
}
