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
- {purpose: newsletter, table: n, subjectIndex: i, identifier: email, subjectKeyAttribute: sk, title: {de: t, en: t}, description: {de: d, en: d}, categories: {de: [c], en: [c]}, automatedDecisions: none, legalBasis: consent, directMarketing: true, retention: {de: r, en: r}, erasure: delete, objection: delete}
- {purpose: care, table: c, subjectIndex: i, identifier: email, subjectKeyAttribute: sk, title: {de: t, en: t}, description: {de: d, en: d}, categories: {de: [c], en: [c]}, automatedDecisions: none, legalBasis: legitimate interests, retention: {de: r, en: r}, erasure: delete, objection: restrict}
- {purpose: billing, table: b, subjectIndex: i, identifier: email, subjectKeyAttribute: sk, title: {de: t, en: t}, description: {de: d, en: d}, categories: {de: [c], en: [c]}, automatedDecisions: none, legalBasis: legal obligation, retention: {de: r, en: r}, retentionYears: 10, retainedAttributes: [amount], erasure: restrict, objection: none}
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
	if _, err := dsr.ParseRegistry([]byte(strings.Replace(yaml, "directMarketing: true, retention: {de: r, en: r}, erasure: delete, objection: delete", "directMarketing: true, retention: {de: r, en: r}, erasure: delete, objection: none", 1))); err == nil {
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
		{"legal obligation", dsr.Purpose{Name: "billing", LegalBasis: "legal obligation (Art. 6(1)(c))", Retention: dsr.Text{dsr.LangDE: "8 Jahre", dsr.LangEN: "8 years"}},
			[]string{"legal obligation (Art. 6(1)(c))", `"billing"`, "Art. 6(1)(e) or (f)", "8 years", "No record was changed"}, []string{"withdraw"}},
		{"consent", dsr.Purpose{Name: "panel", LegalBasis: "consent (Art. 6(1)(a))", Retention: dsr.Text{dsr.LangDE: "bis zum Widerruf", dsr.LangEN: "until withdrawn"}},
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

// TestRestrictionPastDuty: Art. 17(3)(b) keeps a record only while its
// statutory duty lasts. Under the demo's 8 years for invoices, one issued
// 2014-01-15 is deletable from 2023-01-01, so an erasure in 2026 deletes it
// (Art. 17(1)); one of 2020 is restricted until 2029-01-01; a date the DPO
// extended stands; an objection's restriction is never past a duty.
func TestRestrictionPastDuty(t *testing.T) {
	p := dsr.Purpose{Name: "billing", RetentionYears: 8, RetentionFrom: "issuedOn", Erasure: dsr.ActionRestrict}
	erasedAt := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	r := &dsr.Request{ID: "R1", Type: dsr.TypeErasure, ReceivedAt: erasedAt, VerifiedAt: erasedAt}
	statutory := dsr.RestrictionFor(r, p, erasedAt)
	objection := dsr.RestrictionFor(&dsr.Request{ID: "R2", Type: dsr.TypeObjection}, p, erasedAt)
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	for _, tc := range []struct {
		name      string
		r         dsr.Restriction
		issuedOn  string
		current   time.Time // the end an earlier restriction set
		wantUntil string    // "" for none
		wantPast  bool
	}{
		{"2014 invoice: duty ended 2023-01-01", statutory, "2014-01-15", time.Time{}, "2023-01-01", true},
		{"2017 invoice: duty ends the day before the erasure's year ends", statutory, "2017-06-30", time.Time{}, "2026-01-01", true},
		{"2018 invoice: duty ends 2027-01-01", statutory, "2018-12-31", time.Time{}, "2027-01-01", false},
		{"2020 invoice: restricted until 2029-01-01", statutory, "2020-01-15", time.Time{}, "2029-01-01", false},
		{"2026 invoice: restricted until 2035-01-01", statutory, "2026-01-15T10:00:00Z", time.Time{}, "2035-01-01", false},
		{"no readable date: the latest end any record can need", statutory, "someday", time.Time{}, "2035-01-01", false},
		{"2014 invoice whose restriction the DPO extended", statutory, "2014-01-15", day("2027-06-30"), "2027-06-30", false},
		{"an earlier end before the duty's: the duty's", statutory, "2020-01-15", day("2028-01-01"), "2029-01-01", false},
		{"objection: until a decision, never past a duty", objection, "2014-01-15", time.Time{}, "", false},
	} {
		until := tc.r.ItemUntil(p, tc.issuedOn, tc.current)
		got := ""
		if !until.IsZero() {
			got = until.Format(time.DateOnly)
		}
		if got != tc.wantUntil || tc.r.PastDuty(until) != tc.wantPast {
			t.Errorf("%s: until %q, past duty %v; want %q, %v", tc.name, got, tc.r.PastDuty(until), tc.wantUntil, tc.wantPast)
		}
	}
}

// TestRetainedAttributes: a statutory restriction keeps only what the duty
// covers (Art. 17(3)(b), 5(1)(c)): the registry must say what that is for
// every purpose restricted on erasure, and the identifier is not among it
// (the subject key replaces it).
func TestRetainedAttributes(t *testing.T) {
	const billing = "- {purpose: billing, table: b, subjectIndex: i, identifier: customerEmail, subjectKeyAttribute: sk, title: {de: t, en: t}, description: {de: d, en: d}, categories: {de: [c], en: [c]}, automatedDecisions: none, legalBasis: legal obligation, retention: {de: r, en: r}, retentionYears: 8, retentionFrom: issuedOn, RETAINED erasure: ERASURE, objection: none}"
	for _, tc := range []struct {
		name, retained, erasure string
		wantErr                 string // "" for valid
	}{
		{"kept attributes named", "retainedAttributes: [invoiceNumber, amountCents], ", "restrict", ""},
		{"restrict without them", "", "restrict", "needs retainedAttributes"},
		{"restrict with an empty list", "retainedAttributes: [], ", "restrict", "needs retainedAttributes"},
		{"a purpose deleted on erasure", "retainedAttributes: [invoiceNumber], ", "delete", "applies only to a purpose restricted on erasure"},
		{"an attribute named twice", "retainedAttributes: [a, a], ", "restrict", `"a" is named twice`},
		{"an empty name", `retainedAttributes: [""], `, "restrict", "1 to 255 characters"},
		{"the identifier kept", "retainedAttributes: [customerEmail], ", "restrict", "replaces it by the subject key"},
	} {
		in := strings.NewReplacer("RETAINED ", tc.retained, "ERASURE", tc.erasure).Replace(billing)
		if tc.erasure == "delete" {
			in = strings.Replace(in, "retentionFrom: issuedOn, ", "", 1)
		}
		_, err := dsr.ParseRegistry([]byte(in))
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: %v, want error %q", tc.name, err, tc.wantErr)
		}
	}
	p := dsr.Purpose{Identifier: "customerEmail", SubjectKeyAttribute: "sk", RetentionFrom: "issuedOn", RetainedAttributes: []string{"invoiceNumber", "amountCents"}}
	for attr, want := range map[string]bool{
		"invoiceNumber": true, "amountCents": true, "issuedOn": true, "sk": true, "customerEmail": true,
		"name": false, "address": false, "marketingOptIn": false, "": false,
	} {
		if got := p.Retains(attr); got != want {
			t.Errorf("Retains(%q) = %v, want %v", attr, got, want)
		}
	}
}

// TestRestrictedRecordStaysTheSubjects: a restricted record holds the
// subject key in place of the address; it is still the subject's (found,
// read back, reported), and the keying of its stream record keeps the key
// rather than unlinking it.
func TestRestrictedRecordStaysTheSubjects(t *testing.T) {
	h, err := dsr.NewHasher([]byte("a pepper of sixteen bytes or more"))
	if err != nil {
		t.Fatal(err)
	}
	ada := dsr.Subject{Email: "ada@example.com", Key: h.Subject("ada@example.com")}
	grace := dsr.Subject{Email: "grace@example.com", Key: h.Subject("grace@example.com")}
	key := ada.Key
	if !ada.Owns(&key) || grace.Owns(&key) {
		t.Errorf("a record holding ada's key in place of her address: ada owns %v, grace owns %v", ada.Owns(&key), grace.Owns(&key))
	}
	want, why, err := h.WantKey(dsr.KeyState{Ref: "r", Identifier: &key, SubjectKey: ada.Key})
	if err != nil || want != ada.Key {
		t.Errorf("keying a restricted record: %q %q %v, want its own key", want, why, err)
	}
	if _, _, err := h.WantKey(dsr.KeyState{Ref: "r", Identifier: &key, SubjectKey: ""}); err == nil {
		t.Error("an identifier that is a key, on a record without that key, was keyed")
	}
}
