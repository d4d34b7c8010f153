package dsr_test

import (
	"strings"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// TestNoticesHoldNoPersonalData: the mails that tell a person their request
// is answered, failed or extended (Art. 12(3)) name the request and link to
// the status page, and hold no address, token, code or document link in the
// body; each has its own mail id, which a redelivery repeats.
func TestNoticesHoldNoPersonalData(t *testing.T) {
	const page = "https://privacy.example/privacy/"
	due := time.Date(2027, 2, 28, 22, 59, 59, 0, time.UTC)
	r := &dsr.Request{ID: "01JDREQ", Type: dsr.TypeAccess, Email: "ada@example.com", TokenHash: "tokenhash", CodeHash: "codehash",
		DueAt: time.Date(2026, 12, 31, 22, 59, 59, 0, time.UTC), Trail: dsr.AuditHead{Seq: 7},
		Result: &dsr.Result{ReportJSONKey: "reports/01JDREQ/report.json"}}
	tests := []struct {
		name string
		mail dsr.Mail
		id   string
		want []string
	}{
		{"completed", dsr.CompletionMail(r, page), "01JDREQ-completed", []string{"is answered", "report"}},
		{"failed", dsr.FailureMail(r, page), "01JDREQ-failed-7", []string{"could not be completed for now", "data protection officer"}},
		{"extended", dsr.ExtensionMail(r, due, "Records in four systems.", time.UTC, page), "01JDREQ-extended-20270228", []string{"28 February 2027", "Art. 12(3)", "four systems"}},
		{"without a configured page", dsr.CompletionMail(r, ""), "01JDREQ-completed", []string{"the privacy center where you made the request"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.mail
			if m.To != r.Email || m.MailID() != tc.id {
				t.Errorf("to %q, id %q; want %q, %q", m.To, m.MailID(), r.Email, tc.id)
			}
			for _, w := range append(tc.want, "Request: 01JDREQ", "status token") {
				if !strings.Contains(m.Text, w) {
					t.Errorf("body lacks %q:\n%s", w, m.Text)
				}
			}
			if tc.name != "without a configured page" && !strings.Contains(m.Text, page) {
				t.Errorf("body lacks the status page:\n%s", m.Text)
			}
			for _, bad := range []string{"ada@", "example.com", "tokenhash", "codehash", "reports/", "X-Amz"} {
				if strings.Contains(m.Text+m.Subject, bad) {
					t.Errorf("mail holds %q:\n%s", bad, m.Text)
				}
			}
		})
	}
	if other := dsr.FailureMail(&dsr.Request{ID: "01JDREQ", Trail: dsr.AuditHead{Seq: 12}}, page); other.MailID() == tests[1].mail.MailID() {
		t.Error("a failure after a retry has the id of the first failure's mail")
	}
	if (dsr.Mail{RequestID: "01JDREQ"}).MailID() != "" {
		t.Error("a mail without an event has an id")
	}
}

// TestNoticesInTheRequestsLanguage: the code and the notices are in the
// request's language; a German one is followed by its English version, an
// English one (or one of a request stored without a language) is English
// only. Subjects stay ASCII (headers need no encoding).
func TestNoticesInTheRequestsLanguage(t *testing.T) {
	const page = "https://privacy.example/privacy/"
	due := time.Date(2027, 2, 28, 22, 59, 59, 0, time.UTC)
	care := dsr.Purpose{Name: "customer_care", Title: dsr.Text{dsr.LangDE: "Kundenbetreuung", dsr.LangEN: "Customer care"}}
	mails := func(r *dsr.Request) map[string]dsr.Mail {
		return map[string]dsr.Mail{
			"code":      dsr.VerificationMail(r, "123456"),
			"completed": dsr.CompletionMail(r, page),
			"failed":    dsr.FailureMail(r, page),
			"extended":  dsr.ExtensionMail(r, due, "Records in four systems.", time.UTC, page),
			"rejected":  dsr.RejectionMail(r, dsr.Rejection{Reason: dsr.RejectExcessive, Detail: "Twelve requests this month."}),
			"decision":  dsr.DecisionMail(r, dsr.Decision{Purpose: "customer_care", Outcome: dsr.DecisionOverridden, Grounds: "An open warranty claim."}, care),
		}
	}
	german := map[string][]string{
		"code":      {"Ihr Bestätigungscode lautet: 123456", "Auskunft", "Anfrage: 01JDREQ"},
		"completed": {"ist beantwortet", "als JSON und als Webseite", "Status-Token", "Anfrage: 01JDREQ"},
		"failed":    {"technischen Störung", "Datenschutzbeauftragter", "Statusseite: " + page},
		"extended":  {"spätestens am 28. Februar 2027", "Art. 12 Abs. 3 DSGVO", "four systems"},
		"rejected":  {"nicht tätig", "exzessiv", "Art. 12 Abs. 5 DSGVO", "Aufsichtsbehörde", "Twelve requests"},
		"decision":  {"„Kundenbetreuung“", "zwingende schutzwürdige Gründe", "Aufsichtsbehörde", "warranty"},
	}
	english := map[string]string{"code": "Your verification code is: 123456", "completed": "is answered", "failed": "could not be completed for now",
		"extended": "28 February 2027", "rejected": "we consider it excessive", "decision": `the purpose "Customer care"`}
	de := &dsr.Request{ID: "01JDREQ", Type: dsr.TypeAccess, Email: "ada@example.com", Language: dsr.LangDE}
	for name, m := range mails(de) {
		text, en, found := strings.Cut(m.Text, "---- English version ----")
		if !found || !strings.Contains(en, english[name]) || strings.Contains(en, "Guten Tag") {
			t.Errorf("%s (de): no English version after the German:\n%s", name, m.Text)
		}
		for _, w := range german[name] {
			if !strings.Contains(text, w) {
				t.Errorf("%s (de): lacks %q:\n%s", name, w, text)
			}
		}
		if !strings.Contains(m.Subject, " / ") || strings.ContainsFunc(m.Subject, func(r rune) bool { return r > 127 }) {
			t.Errorf("%s (de): subject %q, want German / English in ASCII", name, m.Subject)
		}
		if strings.Contains(m.Text, "customer_care") {
			t.Errorf("%s (de): names the purpose by its registry name:\n%s", name, m.Text)
		}
	}
	for _, l := range []dsr.Language{dsr.LangEN, ""} {
		en := &dsr.Request{ID: "01JDREQ", Type: dsr.TypeAccess, Email: "ada@example.com", Language: l}
		for name, m := range mails(en) {
			if !strings.Contains(m.Text, english[name]) || strings.Contains(m.Text, "Guten Tag") || strings.Contains(m.Subject, " / ") {
				t.Errorf("%s (%q): not English only:\n%s", name, l, m.Text)
			}
		}
	}
	if a, b := dsr.CompletionMail(de, page), dsr.CompletionMail(&dsr.Request{ID: "01JDREQ", Type: dsr.TypeAccess}, page); a.MailID() != b.MailID() {
		t.Error("the language changes the mail's id")
	}
}
