package dsr_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
)

func TestDeadlineDue(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	utc := dsr.DeadlinePolicy{Location: time.UTC}
	rolling := dsr.DeadlinePolicy{Location: time.UTC, RollForward: true, Holidays: map[string]bool{"2026-12-25": true, "2026-12-26": true, "2027-01-01": true}}
	tests := []struct {
		name   string
		policy dsr.DeadlinePolicy
		at     string
		months int
		want   string
	}{
		{"same day next month", utc, "2026-03-10T08:00:00Z", 1, "2026-04-10T23:59:59Z"},
		{"31 January to 28 February", utc, "2027-01-31T12:00:00Z", 1, "2027-02-28T23:59:59Z"},
		{"31 January to 29 February in a leap year", utc, "2028-01-31T12:00:00Z", 1, "2028-02-29T23:59:59Z"},
		{"31 March to 30 April", utc, "2026-03-31T00:00:00Z", 1, "2026-04-30T23:59:59Z"},
		{"December to January", utc, "2026-12-15T10:00:00Z", 1, "2027-01-15T23:59:59Z"},
		{"extension by two more months", utc, "2026-11-30T10:00:00Z", 3, "2027-02-28T23:59:59Z"},
		{"zero policy is UTC", dsr.DeadlinePolicy{}, "2026-05-05T05:05:05Z", 1, "2026-06-05T23:59:59Z"},
		{"just before midnight UTC is the next day in Berlin", dsr.DeadlinePolicy{Location: berlin}, "2026-01-30T23:30:00Z", 1, "2026-02-28T22:59:59Z"},
		{"Berlin, across the DST change", dsr.DeadlinePolicy{Location: berlin}, "2026-03-15T12:00:00Z", 1, "2026-04-15T21:59:59Z"},
		{"Berlin, across the autumn DST change", dsr.DeadlinePolicy{Location: berlin}, "2026-09-25T12:00:00Z", 1, "2026-10-25T22:59:59Z"},
		{"calendar days: a Saturday stays", utc, "2026-09-12T10:00:00Z", 1, "2026-10-12T23:59:59Z"},
		{"roll-forward: Saturday to Monday", rolling, "2026-09-10T10:00:00Z", 1, "2026-10-12T23:59:59Z"},
		{"roll-forward: a weekday stays", rolling, "2026-09-09T10:00:00Z", 1, "2026-10-09T23:59:59Z"},
		{"roll-forward: Christmas and the weekend", rolling, "2026-11-25T10:00:00Z", 1, "2026-12-28T23:59:59Z"},
		{"roll-forward over New Year's Day (Friday) and the weekend", rolling, "2026-12-01T10:00:00Z", 1, "2027-01-04T23:59:59Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at, _ := time.Parse(time.RFC3339, tc.at)
			got := tc.policy.Due(at, tc.months).Format(time.RFC3339)
			if got != tc.want {
				t.Errorf("Due(%s, %d) = %s, want %s", tc.at, tc.months, got, tc.want)
			}
		})
	}
}

func TestStatusTransitions(t *testing.T) {
	allowed := map[[2]dsr.Status]bool{
		{dsr.StatusAwaitingVerification, dsr.StatusQueued}:   true,
		{dsr.StatusAwaitingVerification, dsr.StatusExpired}:  true,
		{dsr.StatusAwaitingVerification, dsr.StatusRejected}: true,
		{dsr.StatusQueued, dsr.StatusInProgress}:             true,
		{dsr.StatusQueued, dsr.StatusFailed}:                 true,
		{dsr.StatusQueued, dsr.StatusRejected}:               true,
		{dsr.StatusInProgress, dsr.StatusCompleted}:          true,
		{dsr.StatusInProgress, dsr.StatusFailed}:             true,
		{dsr.StatusFailed, dsr.StatusQueued}:                 true,
	}
	all := []dsr.Status{dsr.StatusAwaitingVerification, dsr.StatusQueued, dsr.StatusInProgress, dsr.StatusCompleted,
		dsr.StatusFailed, dsr.StatusRejected, dsr.StatusExpired}
	for _, from := range all {
		for _, to := range all {
			if got := from.CanMoveTo(to); got != allowed[[2]dsr.Status{from, to}] {
				t.Errorf("%s → %s allowed = %v", from, to, got)
			}
		}
	}
	for _, s := range []dsr.Status{dsr.StatusCompleted, dsr.StatusRejected, dsr.StatusExpired} {
		if !s.Final() {
			t.Errorf("%s is not final", s)
		}
	}
}

func TestTokensAndCodes(t *testing.T) {
	tok, hash, err := dsr.NewStatusToken()
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) < 22 || strings.Contains(hash, tok) || !dsr.TokenMatches(tok, hash) || dsr.TokenMatches(tok+"x", hash) || dsr.TokenMatches("", hash) {
		t.Errorf("status token %q / %q", tok, hash)
	}
	h, err := dsr.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	code, err := dsr.NewCode()
	if err != nil || len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		t.Fatalf("code %q %v", code, err)
	}
	stored := h.Code("R1", code)
	if !h.CodeMatches("R1", code, stored) || h.CodeMatches("R2", code, stored) || h.CodeMatches("R1", "000000x", stored) {
		t.Errorf("code hashing does not bind the request")
	}
	other, _ := dsr.NewHasher([]byte("another pepper, 16 bytes or more"))
	if other.CodeMatches("R1", code, stored) {
		t.Errorf("code hash does not depend on the pepper")
	}
	if _, err := dsr.NewHasher([]byte("short")); err == nil {
		t.Errorf("short pepper accepted")
	}
}

func TestRequestView(t *testing.T) {
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	r := &dsr.Request{ID: "01J", Type: dsr.TypeAccess, Status: dsr.StatusCompleted, ReceivedAt: at, DueAt: at.AddDate(0, 1, 0), CompletedAt: at.Add(time.Hour),
		Email: "ada@example.com", TokenHash: "secret"}
	v := r.View()
	if v.Result == nil || v.Result.Answer != dsr.DocReportJSON || v.Result.Report != "" || v.CompletedAt == nil || v.DueAt == nil {
		t.Errorf("view: %+v", v)
	}
	r.Type, r.Result = dsr.TypeErasure, &dsr.Result{CertificateKey: "c.json"}
	if v := r.View(); v.Result == nil || v.Result.Answer != dsr.DocCertificate || v.Result.Certificate != "" || v.Result.Recipients == nil {
		t.Errorf("erasure view: %+v", v)
	}
	r.Status = dsr.StatusInProgress
	if v := r.View(); v.Result != nil || v.CompletedAt != nil {
		t.Errorf("in-progress view has a result: %+v", v)
	}
}

func demoRegistry(t testing.TB) dsr.Registry { return dsrtest.Registry(t) }

func TestParseRegistry(t *testing.T) {
	reg := demoRegistry(t)
	if diff := cmp.Diff([]string{"marketing", "billing"}, reg.Names()); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([]string{"marketing"}, reg.DirectMarketing()); diff != "" {
		t.Error(diff)
	}
	if p, ok := reg.Lookup("billing"); !ok || p.Identifier != "customerEmail" || p.Erasure != dsr.ActionRestrict {
		t.Errorf("lookup billing: %+v %v", p, ok)
	}
	base := "- purpose: p\n  table: t\n  subjectIndex: i\n  identifier: email\n  subjectKeyAttribute: sk\n  title: {de: t, en: t}\n  description: {de: d, en: d}\n  categories: {de: [c], en: [c]}\n  automatedDecisions: none\n  legalBasis: l\n  retention: {de: r, en: r}\n  erasure: delete\n  objection: delete\n"
	bad := map[string]string{
		"empty":             "",
		"empty list":        "[]",
		"not a list":        "purpose: p",
		"unknown key":       base + "  colour: red\n",
		"duplicate":         base + strings.Replace(base, "- purpose: p", "- purpose: p", 1),
		"bad name":          strings.Replace(base, "purpose: p", "purpose: Not A Name", 1),
		"no table":          strings.Replace(base, "  table: t\n", "", 1),
		"no legal basis":    strings.Replace(base, "  legalBasis: l\n", "", 1),
		"bad action":        strings.Replace(base, "erasure: delete", "erasure: mask", 1),
		"restrict, no duty": strings.Replace(base, "erasure: delete", "erasure: restrict", 1),
	}
	for name, in := range bad {
		if _, err := dsr.ParseRegistry([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// templateRegistry is the registry of template.yaml (PURPOSE_REGISTRY),
// parsed.
func templateRegistry(t testing.TB) dsr.Registry {
	t.Helper()
	raw, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(raw), "PURPOSE_REGISTRY: !Sub |\n")
	if !ok {
		t.Fatal("template has no PURPOSE_REGISTRY")
	}
	var lines []string
	for _, l := range strings.Split(after, "\n") {
		if !strings.HasPrefix(l, "          ") {
			break
		}
		lines = append(lines, strings.TrimPrefix(l, "          "))
	}
	reg, err := dsr.ParseRegistry([]byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestTemplateRegistry(t *testing.T) {
	// The registry in template.yaml parses, with the four demo purposes.
	reg := templateRegistry(t)
	if diff := cmp.Diff([]string{"marketing", "newsletter", "customer_care", "billing"}, reg.Names()); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([]string{"marketing", "newsletter"}, reg.DirectMarketing()); diff != "" {
		t.Error(diff)
	}
	// Each category is one whole text (a flow list would split
	// "contact data (e-mail address, name)" at its comma).
	billing, _ := reg.Lookup("billing")
	if diff := cmp.Diff([]string{"Kontaktdaten (E-Mail-Adresse, Name)", "Rechnungsdaten (Nummer, Betrag, Währung, Datum)"}, billing.Categories.In(dsr.LangDE)); diff != "" {
		t.Errorf("billing's categories (-want +got):\n%s", diff)
	}
	for _, p := range reg {
		for _, l := range dsr.Languages {
			for _, c := range p.Categories.In(l) {
				if strings.Count(c, "(") != strings.Count(c, ")") {
					t.Errorf("%s: category %q (%s) is cut at a comma", p.Name, c, l)
				}
			}
		}
	}
	// Only marketing decides by machine (its segment chooses the ads), and
	// says that this has no legal or similarly significant effect.
	for _, p := range reg {
		a := p.AutomatedDecisions
		if p.Name != "marketing" {
			if !a.None {
				t.Errorf("%s: automated decisions %v, want none", p.Name, a.Text)
			}
			continue
		}
		if de, en := a.Text.In(dsr.LangDE), a.Text.In(dsr.LangEN); a.None || !strings.Contains(de, "keine rechtliche Wirkung") ||
			!strings.Contains(en, "no legal effect") || !strings.Contains(en, "segment") {
			t.Errorf("marketing: automated decisions %+v", a)
		}
		if _, ok := p.Label("segment", dsr.LangDE); !ok {
			t.Error("marketing: segment has no label")
		}
	}
}

func FuzzParseRegistry(f *testing.F) {
	f.Add([]byte("- purpose: p\n  table: t\n"))
	f.Add([]byte("[]"))
	f.Add([]byte("{a: [b, {c: d}]}"))
	f.Add([]byte(dsrtest.RegistryYAML))
	f.Add([]byte("- {purpose: p, title: {de: T, en: T}, categories: {de: [a], en: [b, c]}, automatedDecisions: {de: x}, labels: {a: {fr: y}}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		reg, err := dsr.ParseRegistry(data)
		if err == nil && len(reg) == 0 {
			t.Fatal("empty registry accepted")
		}
	})
}

func TestPurposeBasis(t *testing.T) {
	tests := []struct {
		text string
		want dsr.LegalBasis
	}{
		{"consent (Art. 6(1)(a))", dsr.BasisConsent},
		{"Consent", dsr.BasisConsent},
		{"legal obligation (Art. 6(1)(c)) - commercial and tax law", dsr.BasisLegalObligation},
		{"legitimate interests (Art. 6(1)(f))", dsr.BasisLegitimateInterests},
		{"contract (Art. 6(1)(b))", dsr.BasisContract},
		{"performance of a contract", dsr.BasisContract},
		{"Art. 6(1)(c) GDPR with § 147 AO", dsr.BasisLegalObligation},
		{"vital interests", dsr.BasisVitalInterests},
		{"public task (Art. 6(1)(e))", dsr.BasisPublicTask},
		// The enum the registry may give instead of a text.
		{"consent", dsr.BasisConsent},
		{"contract", dsr.BasisContract},
		{"legal_obligation", dsr.BasisLegalObligation},
		{"vital_interests", dsr.BasisVitalInterests},
		{"public_task", dsr.BasisPublicTask},
		{"legitimate_interests", dsr.BasisLegitimateInterests},
		// Named first, another one mentioned later: the first counts.
		{"contract; consent for the newsletter part", dsr.BasisContract},
		{"because we like it", dsr.BasisUnknown},
		{"", dsr.BasisUnknown},
	}
	for _, tc := range tests {
		if got := (dsr.Purpose{LegalBasis: tc.text}).Basis(); got != tc.want {
			t.Errorf("Basis(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

// FuzzPurposeBasis: whatever the registry's text, Basis names one of the
// bases of Art. 6(1) or none, and an enum value reads as itself.
func FuzzPurposeBasis(f *testing.F) {
	for _, s := range []string{"consent (Art. 6(1)(a))", "legal obligation (Art. 6(1)(c)) - commercial and tax law", "legitimate_interests", "", "6(1)(", "CONTRACT"} {
		f.Add(s)
	}
	valid := map[dsr.LegalBasis]bool{dsr.BasisConsent: true, dsr.BasisContract: true, dsr.BasisLegalObligation: true,
		dsr.BasisVitalInterests: true, dsr.BasisPublicTask: true, dsr.BasisLegitimateInterests: true, dsr.BasisUnknown: true}
	f.Fuzz(func(t *testing.T, text string) {
		b := (dsr.Purpose{LegalBasis: text}).Basis()
		if !valid[b] {
			t.Fatalf("Basis(%q) = %q, not a basis", text, b)
		}
		if b != dsr.BasisUnknown {
			if again := (dsr.Purpose{LegalBasis: string(b)}).Basis(); again != b {
				t.Fatalf("the enum value %q reads as %q", b, again)
			}
		}
	})
}
