package dsr_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
)

// fieldsOf are the fields an EInvalid error names, in order ("" for none).
func fieldsOf(err error) []string {
	de, ok := err.(*dsr.Error)
	if !ok || de.Code != dsr.EInvalid {
		return nil
	}
	names := []string{}
	for _, f := range de.Fields {
		names = append(names, f.Field)
	}
	return names
}

func TestParseRectification(t *testing.T) {
	reg := templateRegistry(t)
	in := func(mod func(*dsr.SubmissionInput)) dsr.SubmissionInput {
		s := dsr.SubmissionInput{Type: ptr("rectification"), Email: ptr("ada@example.com"), Attribute: ptr("name"), Corrected: ptr("Ada King")}
		if mod != nil {
			mod(&s)
		}
		return s
	}
	for _, tc := range []struct {
		name string
		in   dsr.SubmissionInput
		want *dsr.Correction // nil: invalid
		bad  []string
	}{
		{"every purpose", in(nil), &dsr.Correction{Attribute: "name", Corrected: "Ada King"}, nil},
		{"one purpose, evidence", in(func(s *dsr.SubmissionInput) {
			s.Purpose, s.Evidence = ptr("newsletter"), ptr("married 1835\nsee the register")
		}),
			&dsr.Correction{Attribute: "name", Corrected: "Ada King", Purpose: "newsletter", Evidence: "married 1835\nsee the register"}, nil},
		{"unicode", in(func(s *dsr.SubmissionInput) { s.Corrected = ptr("Åda Kíng-Lovelace") }), &dsr.Correction{Attribute: "name", Corrected: "Åda Kíng-Lovelace"}, nil},
		{"no attribute, no value", in(func(s *dsr.SubmissionInput) { s.Attribute, s.Corrected = nil, nil }), nil, []string{"attribute", "corrected"}},
		{"attribute not rectifiable anywhere", in(func(s *dsr.SubmissionInput) { s.Attribute = ptr("invoiceNumber") }), nil, []string{"attribute"}},
		{"the identifier", in(func(s *dsr.SubmissionInput) { s.Attribute = ptr("email") }), nil, []string{"attribute"}},
		{"not rectifiable in billing", in(func(s *dsr.SubmissionInput) { s.Purpose = ptr("billing") }), nil, []string{"attribute"}},
		{"unknown purpose", in(func(s *dsr.SubmissionInput) { s.Purpose = ptr("astrology") }), nil, []string{"purpose"}},
		{"blank", in(func(s *dsr.SubmissionInput) { s.Corrected = ptr("  ") }), nil, []string{"corrected"}},
		{"control character", in(func(s *dsr.SubmissionInput) { s.Corrected = ptr("Ada\x00King") }), nil, []string{"corrected"}},
		{"newline in a value", in(func(s *dsr.SubmissionInput) { s.Corrected = ptr("Ada\nKing") }), nil, []string{"corrected"}},
		{"too long", in(func(s *dsr.SubmissionInput) { s.Corrected = ptr(strings.Repeat("a", dsr.MaxCorrectedLength+1)) }), nil, []string{"corrected"}},
		{"longest", in(func(s *dsr.SubmissionInput) { s.Corrected = ptr(strings.Repeat("ä", dsr.MaxCorrectedLength)) }),
			&dsr.Correction{Attribute: "name", Corrected: strings.Repeat("ä", dsr.MaxCorrectedLength)}, nil},
		{"evidence too long", in(func(s *dsr.SubmissionInput) { s.Evidence = ptr(strings.Repeat("e", dsr.MaxEvidenceLength+1)) }), nil, []string{"evidence"}},
		{"evidence with a control character", in(func(s *dsr.SubmissionInput) { s.Evidence = ptr("a\x1bb") }), nil, []string{"evidence"}},
		{"objection members", in(func(s *dsr.SubmissionInput) { s.Grounds, s.Scope = ptr("g"), ptr("direct_marketing") }), nil, []string{"grounds", "scope"}},
		{"rectification members on an access request", dsr.SubmissionInput{Type: ptr("access"), Email: ptr("ada@example.com"), Attribute: ptr("name"), Purpose: ptr("billing")},
			nil, []string{"attribute", "purpose"}},
		{"on an objection", dsr.SubmissionInput{Type: ptr("objection"), Email: ptr("ada@example.com"), Scope: ptr("direct_marketing"), Corrected: ptr("x"), Evidence: ptr("y")},
			nil, []string{"corrected", "evidence"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := dsr.ParseSubmission(tc.in, reg)
			if tc.want == nil {
				if diff := cmp.Diff(tc.bad, fieldsOf(err)); diff != "" {
					t.Errorf("fields (-want +got):\n%s (%v)", diff, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, s.Correction); diff != "" {
				t.Errorf("correction (-want +got):\n%s", diff)
			}
			if rc := s.Rectification(); rc == nil || rc.Decision != dsr.RectificationPending {
				t.Errorf("stored as %+v, want pending", rc)
			}
		})
	}
	if s, err := dsr.ParseSubmission(dsr.SubmissionInput{Type: ptr("access"), Email: ptr("ada@example.com")}, reg); err != nil || s.Correction != nil || s.Rectification() != nil {
		t.Errorf("access: %+v, %v", s, err)
	}
}

func TestRegistryRectifiable(t *testing.T) {
	base := "- purpose: p\n  table: t\n  subjectIndex: i\n  identifier: email\n  subjectKeyAttribute: sk\n  title: {de: t, en: t}\n  description: {de: d, en: d}\n  categories: {de: [c], en: [c]}\n  automatedDecisions: none\n  legalBasis: l\n  retention: {de: r, en: r}\n  erasure: delete\n  objection: delete\n"
	for _, tc := range []struct {
		name, rectifiable string
		ok                bool
	}{
		{"none", "", true},
		{"two", "[name, street]", true},
		{"the identifier", "[email]", false},
		{"the subject key", "[sk]", false},
		{"twice", "[name, name]", false},
		{"empty name", `[""]`, false},
		{"a typo of the key", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := base
			switch {
			case tc.name == "a typo of the key":
				yaml += "  rectifyable: [name]\n"
			case tc.rectifiable != "":
				yaml += "  rectifiable: " + tc.rectifiable + "\n"
			}
			_, err := dsr.ParseRegistry([]byte(yaml))
			if (err == nil) != tc.ok {
				t.Errorf("err %v, want ok %v", err, tc.ok)
			}
		})
	}
	// The demo: name is rectifiable where it is held, except billing,
	// whose invoices keep the name they were issued with (§14 UStG).
	reg := templateRegistry(t)
	for _, p := range reg {
		if got, want := p.Rectifies("name"), p.Name != "billing"; got != want {
			t.Errorf("%s: name rectifiable %v, want %v", p.Name, got, want)
		}
	}
	if diff := cmp.Diff([]string{"name"}, reg.RectifiableAttributes()); diff != "" {
		t.Error(diff)
	}
}

func TestRectificationPlan(t *testing.T) {
	reg := templateRegistry(t)
	for _, tc := range []struct {
		name string
		rc   *dsr.Rectification
		want []string
		ok   bool
	}{
		{"every purpose", &dsr.Rectification{Correction: dsr.Correction{Attribute: "name"}}, reg.Names(), true},
		{"the one named", &dsr.Rectification{Correction: dsr.Correction{Attribute: "name", Purpose: "customer_care"}}, []string{"customer_care"}, true},
		{"a purpose gone from the registry", &dsr.Rectification{Correction: dsr.Correction{Attribute: "name", Purpose: "astrology"}}, nil, false},
		{"no correction", nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := dsr.Plan(&dsr.Request{ID: "r", Type: dsr.TypeRectification, Rectification: tc.rc}, reg)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok %v", err, tc.ok)
			}
			if diff := cmp.Diff(tc.want, plan); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func TestParseRectificationDecision(t *testing.T) {
	for _, tc := range []struct {
		name             string
		outcome, reasons *string
		want             dsr.RectificationDecision
		bad              []string
	}{
		{"confirmed", ptr("confirmed"), nil, dsr.RectificationDecision{Outcome: "confirmed"}, nil},
		{"confirmed with reasons", ptr("confirmed"), ptr("marriage certificate seen"), dsr.RectificationDecision{Outcome: "confirmed", Reasons: "marriage certificate seen"}, nil},
		{"refused", ptr("refused"), ptr("the name matches the contract"), dsr.RectificationDecision{Outcome: "refused", Reasons: "the name matches the contract"}, nil},
		{"refused without reasons", ptr("refused"), nil, dsr.RectificationDecision{}, []string{"reasons"}},
		{"refused with blank reasons", ptr("refused"), ptr(" \n"), dsr.RectificationDecision{}, []string{"reasons"}},
		{"reasons too long", ptr("confirmed"), ptr(strings.Repeat("r", dsr.MaxDetailLength+1)), dsr.RectificationDecision{}, []string{"reasons"}},
		{"no outcome", nil, ptr("r"), dsr.RectificationDecision{}, []string{"outcome"}},
		{"another outcome", ptr("upheld"), ptr("r"), dsr.RectificationDecision{}, []string{"outcome"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := dsr.ParseRectificationDecision(dsr.RectificationDecisionInput{Outcome: tc.outcome, Reasons: tc.reasons})
			if tc.bad != nil {
				if diff := cmp.Diff(tc.bad, fieldsOf(err)); diff != "" {
					t.Errorf("fields (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil || d != tc.want {
				t.Errorf("%+v, %v; want %+v", d, err, tc.want)
			}
		})
	}
}

// rectificationRequest is ada's rectification of her name, decided d.
func rectificationRequest(d, reasons string) *dsr.Request {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	return &dsr.Request{ID: "r1", Type: dsr.TypeRectification, Status: dsr.StatusInProgress, Email: "ada@example.com", Language: dsr.LangDE,
		ReceivedAt: at, VerifiedAt: at, PlannedPurposes: []string{"marketing", "newsletter", "customer_care", "billing"},
		Rectification: &dsr.Rectification{Correction: dsr.Correction{Attribute: "name", Corrected: "Ada King"}, Decision: d, Reasons: reasons}}
}

func TestRectificationCertificate(t *testing.T) {
	reg := templateRegistry(t)
	at := time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC)
	part := func(purpose string, p dsr.RectifiedPart) dsr.Chunk {
		return dsr.Chunk{RequestID: "r1", Purpose: purpose, At: at, Rectified: &p}
	}
	chunks := []dsr.Chunk{
		part("marketing", dsr.RectifiedPart{Attribute: "name", Rectifiable: true, Holding: 2, Corrected: 2}),
		part("newsletter", dsr.RectifiedPart{Attribute: "name", Rectifiable: true, Holding: 1, Corrected: 1, Fixed: 1}),
		part("customer_care", dsr.RectifiedPart{Attribute: "name", Rectifiable: true}),
		part("billing", dsr.RectifiedPart{Attribute: "name", Holding: 4}),
	}
	t.Run("confirmed", func(t *testing.T) {
		cert, err := dsr.AssembleCertificate(rectificationRequest(dsr.RectificationConfirmed, ""), reg, chunks, dsr.CertificateInput{IssuedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			Purpose          string
			Action           dsr.Action
			Holding, Changed int
			Rectifiable      bool
		}
		var got []row
		for _, o := range cert.Purposes {
			got = append(got, row{o.Purpose, o.Action, o.Rectification.ItemsHolding, o.Rectification.ItemsCorrected, o.Rectification.Rectifiable})
		}
		want := []row{{"marketing", dsr.ActionRectify, 2, 2, true}, {"newsletter", dsr.ActionRectify, 1, 1, true},
			{"customer_care", dsr.ActionNone, 0, 0, true}, {"billing", dsr.ActionNone, 4, 0, false}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
		if b := cert.Purposes[3].Reason; !strings.Contains(b, "not rectifiable") || !strings.Contains(b, "4 item(s) left unchanged") {
			t.Errorf("billing: %q", b)
		}
		if cert.Rectification == nil || cert.Rectification.Decision != dsr.RectificationConfirmed || cert.Rectification.Reasons != "" {
			t.Errorf("answer %+v", cert.Rectification)
		}
		body, _ := json.Marshal(cert)
		if strings.Contains(string(body), "Ada King") || strings.Contains(string(body), "ada@example.com") {
			t.Errorf("the certificate holds personal data: %s", body)
		}
	})
	t.Run("a part not corrected fails", func(t *testing.T) {
		bad := append([]dsr.Chunk{}, chunks[:3]...)
		bad = append(bad, part("billing", dsr.RectifiedPart{Attribute: "name", Rectifiable: true, Holding: 4, Corrected: 3}))
		if _, err := dsr.AssembleCertificate(rectificationRequest(dsr.RectificationConfirmed, ""), reg, bad, dsr.CertificateInput{IssuedAt: at}); err == nil {
			t.Error("assembled")
		}
		if _, err := dsr.AssembleCertificate(rectificationRequest(dsr.RectificationConfirmed, ""), reg, chunks[:3], dsr.CertificateInput{IssuedAt: at}); err == nil {
			t.Error("assembled without billing's part")
		}
	})
	t.Run("refused", func(t *testing.T) {
		cert, err := dsr.AssembleCertificate(rectificationRequest(dsr.RectificationRefused, "the contract names you so"), reg, nil, dsr.CertificateInput{IssuedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range cert.Purposes {
			if o.Action != dsr.ActionNone || !strings.Contains(o.Reason, "refused") {
				t.Errorf("%s: %s %q", o.Purpose, o.Action, o.Reason)
			}
		}
		a := cert.Rectification
		if a == nil || a.Decision != dsr.RectificationRefused || a.Reasons != "the contract names you so" ||
			!strings.Contains(a.Remedies, "Art. 18(1)(a)") || !strings.Contains(a.Remedies, "supervisory authority") {
			t.Errorf("answer %+v", a)
		}
	})
}

func TestRectificationNotices(t *testing.T) {
	reg := templateRegistry(t)
	at := time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC)
	r := rectificationRequest(dsr.RectificationConfirmed, "")
	recipients := dsr.NotifiedRecipients(map[string][]dsr.Recipient{
		"marketing":  {{Recipient: "Example Print GmbH", Country: "DE"}},
		"newsletter": {{Recipient: "Mailer Inc.", Country: "US", Safeguard: "scc"}, {Recipient: "Example Print GmbH", Country: "DE"}},
	}, r.PlannedPurposes)
	notices := dsr.RecipientNotices(r, recipients, reg, at)
	want := map[string][]dsr.NoticePurpose{
		"Example Print GmbH": {{Purpose: "marketing", Action: dsr.ActionRectify, Attribute: "name", Corrected: "Ada King"},
			{Purpose: "newsletter", Action: dsr.ActionRectify, Attribute: "name", Corrected: "Ada King"}},
		"Mailer Inc.": {{Purpose: "newsletter", Action: dsr.ActionRectify, Attribute: "name", Corrected: "Ada King"}},
	}
	got := map[string][]dsr.NoticePurpose{}
	for _, n := range notices {
		got[n.Recipient] = n.Purposes
		if n.Type != dsr.TypeRectification || n.Email != "ada@example.com" || n.NoticeID == "" {
			t.Errorf("notice %+v", n)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
	if again := dsr.RecipientNotices(r, recipients, reg, at.Add(time.Hour)); again[0].NoticeID != notices[0].NoticeID {
		t.Error("a redelivery's notice has another id")
	}
}

func TestSurveyCorrection(t *testing.T) {
	items := []dsr.AttributeValue{{Key: "a", Held: true, Matches: true}, {Key: "b", Held: true}, {Key: "c"}, {Key: "d", Held: true}}
	for _, tc := range []struct {
		rectifiable bool
		want        dsr.RectifiedPart
		left        []string
	}{
		{true, dsr.RectifiedPart{Attribute: "name", Rectifiable: true, Holding: 3, Corrected: 1}, []string{"b", "d"}},
		{false, dsr.RectifiedPart{Attribute: "name", Holding: 3, Corrected: 1}, nil},
	} {
		part, left := dsr.SurveyCorrection(items, "name", tc.rectifiable)
		if diff := cmp.Diff(tc.want, part); diff != "" {
			t.Error(diff)
		}
		if diff := cmp.Diff(tc.left, left); diff != "" {
			t.Error(diff)
		}
	}
}

func TestRectificationMails(t *testing.T) {
	r := rectificationRequest(dsr.RectificationRefused, "Der Vertrag nennt Sie so.")
	m := dsr.RectificationRefusalMail(r)
	for _, want := range []string{"Der Vertrag nennt Sie so.", "Art. 18 Abs. 1 lit. a", "Art. 18(1)(a)", "supervisory authority", "Aufsichtsbehörde", "English version", "(name)"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("refusal mail lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "Ada King") || m.MailID() != "r1-"+dsr.EventRectificationRefused || m.To != "ada@example.com" {
		t.Errorf("refusal mail %+v", m)
	}
	for _, f := range []func() dsr.Mail{func() dsr.Mail { return dsr.CompletionMail(r, "") }, func() dsr.Mail { return dsr.VerificationMail(r, "123456") }} {
		if m := f(); !strings.Contains(m.Text, "Berichtigung") || !strings.Contains(m.Text, "rectification") {
			t.Errorf("mail does not name the rectification:\n%s", m.Text)
		}
	}
}

// FuzzParseRectification: whatever a person sends, a rectification is
// refused with field errors that never echo the value, or accepted with a
// rectifiable attribute and a bounded value without control characters.
func FuzzParseRectification(f *testing.F) {
	reg := templateRegistry(f)
	f.Add("name", "Ada King", "", "")
	f.Add("name", "Ada\x00King", "billing", "x")
	f.Add("email", "ada@example.com", "marketing", "")
	f.Add("name", strings.Repeat("ß", dsr.MaxCorrectedLength+1), "newsletter", "\n")
	f.Fuzz(func(t *testing.T, attr, corrected, purpose, evidence string) {
		in := dsr.SubmissionInput{Type: ptr("rectification"), Email: ptr("ada@example.com"), Attribute: &attr, Corrected: &corrected, Evidence: &evidence}
		if purpose != "" {
			in.Purpose = &purpose
		}
		s, err := dsr.ParseSubmission(in, reg)
		if err != nil {
			de, ok := err.(*dsr.Error)
			if !ok || de.Code != dsr.EInvalid || len(de.Fields) == 0 {
				t.Fatalf("error %v", err)
			}
			for _, fe := range de.Fields {
				if len(corrected) > 3 && strings.Contains(fe.Reason, corrected) {
					t.Fatalf("%s echoes the value: %q", fe.Field, fe.Reason)
				}
			}
			return
		}
		c := s.Correction
		if c == nil || strings.ContainsFunc(c.Corrected, unicode.IsControl) || strings.TrimSpace(c.Corrected) == "" ||
			len([]rune(c.Corrected)) > dsr.MaxCorrectedLength {
			t.Fatalf("accepted %+v", c)
		}
		if plan, err := dsr.Plan(&dsr.Request{Type: dsr.TypeRectification, Rectification: s.Rectification()}, reg); err != nil || len(plan) == 0 {
			t.Fatalf("accepted, but plan %v, %v", plan, err)
		}
		rectifiable := false
		for _, p := range reg {
			rectifiable = rectifiable || p.Rectifies(c.Attribute) && (c.Purpose == "" || c.Purpose == p.Name)
		}
		if !rectifiable {
			t.Fatalf("accepted %q, rectifiable nowhere asked", c.Attribute)
		}
	})
}
