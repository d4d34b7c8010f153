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
