package dsr_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
)

func TestPlan(t *testing.T) {
	reg := dsrtest.Registry(t)
	tests := []struct {
		name string
		r    dsr.Request
		want []string
		err  bool
	}{
		{"access: every purpose", dsr.Request{Type: dsr.TypeAccess}, []string{"marketing", "billing"}, false},
		{"erasure: every purpose", dsr.Request{Type: dsr.TypeErasure}, []string{"marketing", "billing"}, false},
		{"objection to direct marketing", dsr.Request{Type: dsr.TypeObjection, Scope: dsr.ScopeDirectMarketing}, []string{"marketing"}, false},
		{"objection to named purposes, registry order", dsr.Request{Type: dsr.TypeObjection, Purposes: []string{"billing", "marketing"}}, []string{"marketing", "billing"}, false},
		{"objection to nothing known", dsr.Request{Type: dsr.TypeObjection, Purposes: []string{"astrology"}}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dsr.Plan(&tc.r, reg)
			if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
				t.Errorf("Plan = %v, %v; want %v (error %v)", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestRestrictedUntil(t *testing.T) {
	p := dsr.Purpose{RetentionYears: 10}
	for _, tc := range []struct{ now, want time.Time }{
		{time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC), time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 12, 31, 23, 30, 0, 0, time.FixedZone("UTC-2", -2*3600)), time.Date(2038, 1, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2038, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if got := p.RestrictedUntil(tc.now); !got.Equal(tc.want) {
			t.Errorf("RestrictedUntil(%s) = %s, want %s", tc.now, got, tc.want)
		}
	}
}

// TestObjectionOnlyWhereArticle21Applies: an objection naming a purpose whose
// objection action is "none" (processing under a legal obligation) is
// accepted, and that part is answered in writing with the reasons and the
// right to complain (Art. 12(4)) while the other parts proceed (Art. 21(1),
// (2)); it never blocks invoices: no suppression covers it. A
// direct-marketing purpose can always be objected to (Art. 21(2), (3)).
func TestObjectionOnlyWhereArticle21Applies(t *testing.T) {
	const yaml = `
- {purpose: newsletter, table: n, subjectIndex: i, identifier: email, subjectKeyAttribute: sk, description: d, legalBasis: consent, directMarketing: true, retention: r, erasure: delete, objection: delete}
- {purpose: care, table: c, subjectIndex: i, identifier: email, subjectKeyAttribute: sk, description: d, legalBasis: legitimate interests, retention: r, erasure: delete, objection: restrict}
- {purpose: billing, table: b, subjectIndex: i, identifier: email, subjectKeyAttribute: sk, description: d, legalBasis: legal obligation, retention: 8 years, retentionYears: 8, erasure: restrict, objection: none}
`
	reg, err := dsr.ParseRegistry([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		purposes   []string
		field      string   // the field a 400 names; "" for accepted
		plan       []string // what the objection plans
		suppressed []string // the purposes the suppression list covers
	}{
		{"a valid and a refused purpose", []string{"newsletter", "billing"}, "", []string{"newsletter", "billing"}, []string{"newsletter"}},
		{"only a refused purpose", []string{"billing"}, "", []string{"billing"}, nil},
		{"legitimate interests and a refused purpose", []string{"billing", "care"}, "", []string{"care", "billing"}, []string{"care"}},
		{"an unknown purpose stays a 400", []string{"newsletter", "astrology"}, "purposes[1]", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ, email := "objection", "a@b.co"
			sub, err := dsr.ParseSubmission(dsr.SubmissionInput{Type: &typ, Email: &email, Purposes: &tc.purposes}, reg)
			if tc.field != "" {
				if err == nil || !strings.Contains(fmt.Sprint(err.(*dsr.Error).Fields), tc.field+" is not a purpose of the registry") {
					t.Errorf("ParseSubmission = %v, want a 400 naming %s", err, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSubmission: %v", err)
			}
			r := &dsr.Request{ID: "r1", Type: dsr.TypeObjection, Purposes: sub.Purposes, SubjectKey: "k"}
			plan, err := dsr.Plan(r, reg)
			if err != nil || !slices.Equal(plan, tc.plan) {
				t.Errorf("Plan = %v, %v; want %v", plan, err, tc.plan)
			}
			var scopes []string
			for _, s := range dsr.SuppressionsFor(r, reg.Objectable(plan), time.Time{}) {
				scopes = append(scopes, s.Scope)
			}
			if !slices.Equal(scopes, tc.suppressed) {
				t.Errorf("suppressed %v, want %v", scopes, tc.suppressed)
			}
		})
	}
	plan, err := dsr.Plan(&dsr.Request{Type: dsr.TypeObjection, Scope: dsr.ScopeDirectMarketing}, reg)
	if err != nil || !slices.Equal(plan, []string{"newsletter"}) {
		t.Errorf("direct-marketing plan %v %v", plan, err)
	}
	if _, err := dsr.ParseRegistry([]byte(strings.Replace(yaml, "directMarketing: true, retention: r, erasure: delete, objection: delete", "directMarketing: true, retention: r, erasure: delete, objection: none", 1))); err == nil {
		t.Error("a direct-marketing purpose that cannot be objected to was accepted")
	}
	if _, err := dsr.ParseRegistry([]byte(strings.Replace(yaml, "erasure: restrict, objection: none", "erasure: none, objection: none", 1))); err == nil {
		t.Error("erasure: none was accepted")
	}
}

// TestRefusalFor: the answer to an objection where Art. 21 does not apply
// names the legal basis and why, and the right to lodge a complaint and to
// a judicial remedy (Art. 12(4)); consent is withdrawn, not objected to.
func TestRefusalFor(t *testing.T) {
	tests := []struct {
		name string
		p    dsr.Purpose
		want []string
		not  []string
	}{
		{"legal obligation", dsr.Purpose{Name: "billing", LegalBasis: "legal obligation (Art. 6(1)(c))", Retention: "8 years"},
			[]string{"legal obligation (Art. 6(1)(c))", `"billing"`, "Art. 6(1)(e) or (f)", "8 years", "No record was changed"}, []string{"withdraw"}},
		{"consent", dsr.Purpose{Name: "panel", LegalBasis: "consent (Art. 6(1)(a))", Retention: "until withdrawn"},
			[]string{"consent (Art. 6(1)(a))", "withdraw your consent at any time (Art. 7(3)"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := dsr.RefusalFor(tc.p)
			if r.LegalBasis != tc.p.LegalBasis {
				t.Errorf("legal basis %q", r.LegalBasis)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Reason, w) {
					t.Errorf("reason lacks %q: %s", w, r.Reason)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(r.Reason, w) {
					t.Errorf("reason holds %q: %s", w, r.Reason)
				}
			}
			for _, w := range []string{"complaint with a supervisory authority (Art. 77", "judicial remedy (Art. 79", "Art. 12(4)"} {
				if !strings.Contains(r.Remedies, w) {
					t.Errorf("remedies lack %q: %s", w, r.Remedies)
				}
			}
		})
	}
}

func TestDeletableFrom(t *testing.T) {
	p := dsr.Purpose{RetentionYears: 10}
	for _, tc := range []struct {
		date string
		want string // "" for not a date
	}{
		{"2018-05-01", "2029-01-01"},
		{"2024-12-31T23:00:00Z", "2035-01-01"},
		{"2024-01-01T00:30:00+01:00", "2035-01-01"}, // the record's own calendar date
		{"2026-02-30", ""},
		{"someday", ""},
		{"", ""},
		{"2024-05-01 12:00", ""},
	} {
		got, ok := p.DeletableFrom(tc.date)
		if (tc.want == "") == ok || (ok && got.Format("2006-01-02") != tc.want) {
			t.Errorf("DeletableFrom(%q) = %s, %v; want %q", tc.date, got, ok, tc.want)
		}
	}
}
