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

// TestObjectionOnlyWhereArticle21Applies: a purpose whose objection action is
// "none" (processing under a legal obligation) is refused in an objection,
// so an objection can never block invoices; a direct-marketing purpose can
// always be objected to.
func TestObjectionOnlyWhereArticle21Applies(t *testing.T) {
	const yaml = `
- {purpose: newsletter, table: n, subjectIndex: i, identifier: email, subjectKeyAttribute: sk, description: d, legalBasis: consent, directMarketing: true, retention: r, erasure: delete, objection: delete}
- {purpose: care, table: c, subjectIndex: i, identifier: email, subjectKeyAttribute: sk, description: d, legalBasis: legitimate interests, retention: r, erasure: delete, objection: restrict}
- {purpose: billing, table: b, subjectIndex: i, identifier: email, subjectKeyAttribute: sk, description: d, legalBasis: legal obligation, retention: r, retentionYears: 10, erasure: restrict, objection: none}
`
	reg, err := dsr.ParseRegistry([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	typ, email, purposes := "objection", "a@b.co", []string{"care", "billing"}
	if _, err := dsr.ParseSubmission(dsr.SubmissionInput{Type: &typ, Email: &email, Purposes: &purposes}, reg); err == nil ||
		!strings.Contains(fmt.Sprint(err.(*dsr.Error).Fields), "purposes[1] cannot be objected to: it rests on legal obligation") {
		t.Errorf("objection to billing: %v", err)
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
