package dsr

import (
	"fmt"
	"strings"
)

// Mail is one message to a person.
type Mail struct {
	To        string
	Subject   string
	Text      string
	RequestID string // for logs and file names; never the address
	// Event names what the mail tells of request RequestID ("completed",
	// "failed-7", "extended-2"; empty for a mail that may be sent again, as
	// the code is on a retried submission). RequestID and Event together
	// are the mail's id (MailID): a sender writes a mail of an id it has
	// written once not again, and a redelivery that sends it again sends
	// the same id.
	Event string
}

// MailID is the mail's idempotent id ("" for a mail without an event): the
// request id and the event.
func (m Mail) MailID() string {
	if m.Event == "" {
		return ""
	}
	return m.RequestID + "-" + m.Event
}

var typeWords = map[Type]Text{
	TypeAccess:        {LangDE: "Auskunft, eine Kopie Ihrer personenbezogenen Daten", LangEN: "a copy of your personal data (access)"},
	TypeErasure:       {LangDE: "Löschung Ihrer personenbezogenen Daten", LangEN: "the erasure of your personal data"},
	TypeObjection:     {LangDE: "Widerspruch gegen die Verwendung Ihrer personenbezogenen Daten", LangEN: "your objection to the use of your personal data"},
	TypeRectification: {LangDE: "Berichtigung Ihrer personenbezogenen Daten", LangEN: "the correction of your personal data (rectification)"},
	TypeRestriction:   {LangDE: "Einschränkung der Verarbeitung Ihrer personenbezogenen Daten", LangEN: "the restriction of the processing of your personal data"},
	TypePortability:   {LangDE: "Datenübertragbarkeit, die von Ihnen bereitgestellten Daten", LangEN: "the data you provided to us (portability)"},
	TypePreferences:   {LangDE: "Änderung Ihrer Einwilligungen und Einstellungen", LangEN: "a change of your consents and preferences"},
}

// localizedMail is the mail to r with subject and text in r's language, built
// by write per language: a German mail is followed by its English version
// (the person may forward it, and the English lines are what the local
// outbox's readers look for); an English one, or one of a request stored
// without a language, is English only. Subjects stay ASCII.
func localizedMail(r *Request, event string, subject Text, write func(b *strings.Builder, l Language)) Mail {
	var b strings.Builder
	write(&b, LangEN)
	m := Mail{To: r.Email, Subject: subject[LangEN], Text: b.String(), RequestID: r.ID, Event: event}
	if r.Language == LangDE {
		var de strings.Builder
		write(&de, LangDE)
		m.Subject = subject[LangDE] + " / " + subject[LangEN]
		m.Text = de.String() + "\n---- English version ----\n\n" + m.Text
	}
	return m
}

// VerificationMail is the message that carries the one-time code of r.
func VerificationMail(r *Request, code string) Mail {
	return localizedMail(r, "", Text{LangDE: "Ihr Code: " + code, LangEN: "Your verification code: " + code}, func(b *strings.Builder, l Language) {
		minutes, attempts := int(CodeTTL.Minutes()), MaxCodeAttempts
		if l == LangDE {
			fmt.Fprintf(b, "Guten Tag,\n\nwir haben mit dieser E-Mail-Adresse eine Anfrage erhalten: %s.\n\n", typeWords[r.Type].In(l))
			fmt.Fprintf(b, "Ihr Bestätigungscode lautet: %s\n\n", code)
			fmt.Fprintf(b, "Er gilt %d Minuten und für %d Versuche. Geben Sie ihn auf der Seite ein, auf der Sie die Anfrage gestellt haben.\n", minutes, attempts)
			fmt.Fprintf(b, "Wenn Sie diese Anfrage nicht gestellt haben, ignorieren Sie diese Nachricht: Es geschieht nichts.\n\nAnfrage: %s\n", r.ID)
			return
		}
		fmt.Fprintf(b, "Hello,\n\nwe received a request for %s, made with this e-mail address.\n\n", typeWords[r.Type].In(l))
		fmt.Fprintf(b, "Your verification code is: %s\n\n", code)
		fmt.Fprintf(b, "It is valid for %d minutes and for %d attempts. Enter it on the page where you made the request.\n", minutes, attempts)
		fmt.Fprintf(b, "If you did not make this request, ignore this message: nothing will happen.\n\nRequest: %s\n", r.ID)
	})
}

// Notification events: the mails that tell a person, without personal
// data, that their request is answered, failed or extended.
const (
	EventCompleted = "completed"
	eventFailed    = "failed"
	eventExtended  = "extended"
)

// resultWords names what a completed request of each type produced.
var resultWords = map[Type]Text{
	TypeAccess: {LangDE: "die Kopie Ihrer personenbezogenen Daten (ein Bericht, als JSON und als Webseite)",
		LangEN: "the copy of your personal data (a report, in JSON and as a web page)"},
	TypeErasure: {LangDE: "die Bestätigung der Löschung", LangEN: "the certificate of the erasure"},
	TypeObjection: {LangDE: "die Antwort auf Ihren Widerspruch (eine Bestätigung, was getan wurde, und die Gründe, wo wir ihm nicht folgen konnten)",
		LangEN: "the answer to your objection (a certificate of what was done, and the reasons where we could not follow it)"},
	TypeRectification: {LangDE: "die Antwort auf Ihre Bitte um Berichtigung (eine Bestätigung, was berichtigt wurde, oder die Gründe, warum nicht)",
		LangEN: "the answer to your request for correction (a certificate of what was corrected, or the reasons why not)"},
	TypeRestriction: {LangDE: "die Bestätigung der Einschränkung (was eingeschränkt ist, aus welchem Grund, und dass Sie vor der Aufhebung unterrichtet werden)",
		LangEN: "the certificate of the restriction (what is restricted, on which ground, and that you will be told before it is lifted)"},
	TypePortability: {LangDE: "der Export Ihrer Daten (als JSON und als CSV-Dateien)",
		LangEN: "the export of your data (in JSON and as CSV files)"},
	TypePreferences: {LangDE: "die Bestätigung der geänderten Einwilligungen und Einstellungen", LangEN: "the certificate of the changed consents and preferences"},
}

// statusPageLines tells the person where to see the request, in language
// l: the status page, with the status token shown once at submission
// (never in a mail).
func statusPageLines(b *strings.Builder, r *Request, statusPage string, l Language) {
	if l == LangDE {
		if statusPage == "" {
			statusPage = "das Datenschutzzentrum, in dem Sie die Anfrage gestellt haben"
		}
		fmt.Fprintf(b, "Sie finden sie auf der Statusseite: %s\n", statusPage)
		b.WriteString("Öffnen Sie sie in dem Browser, in dem Sie die Anfrage gestellt haben, oder mit dem Status-Token, das Ihnen damals angezeigt wurde. ")
		b.WriteString("Zu Ihrem Schutz enthält diese Nachricht keine personenbezogenen Daten und keinen Link auf das Ergebnis selbst.\n\n")
		fmt.Fprintf(b, "Anfrage: %s\n", r.ID)
		return
	}
	if statusPage == "" {
		statusPage = "the privacy center where you made the request"
	}
	fmt.Fprintf(b, "See it on the status page: %s\n", statusPage)
	b.WriteString("Open it in the browser where you made the request, or with the status token you were shown then. ")
	b.WriteString("For your protection this message holds no personal data and no link to the result itself.\n\n")
	fmt.Fprintf(b, "Request: %s\n", r.ID)
}

// CompletionMail tells the person that request r is answered and where to
// see the answer (the status page): no personal data, token, code or
// download link. Its event is EventCompleted: a request completes once.
func CompletionMail(r *Request, statusPage string) Mail {
	subject := Text{LangDE: "Ihre Anfrage ist beantwortet", LangEN: "Your request is answered"}
	return localizedMail(r, EventCompleted, subject, func(b *strings.Builder, l Language) {
		if l == LangDE {
			fmt.Fprintf(b, "Guten Tag,\n\nIhre Anfrage (%s) ist beantwortet: %s liegt bereit.\n\n", typeWords[r.Type].In(l), resultWords[r.Type].In(l))
		} else {
			fmt.Fprintf(b, "Hello,\n\nyour request for %s is answered: %s is ready.\n\n", typeWords[r.Type].In(l), resultWords[r.Type].In(l))
		}
		statusPageLines(b, r, statusPage, l)
	})
}

// FailureMail tells the person that request r could not be completed for
// now, that the data protection officer looks into it, and where to see it.
// Its event names the failure by the request's trail position, so that a
// failure after a retry is told again and a redelivery is not.
func FailureMail(r *Request, statusPage string) Mail {
	subject := Text{LangDE: "Ihre Anfrage: ein technisches Problem", LangEN: "Your request: a delay"}
	return localizedMail(r, fmt.Sprintf("%s-%d", eventFailed, r.Trail.Seq), subject, func(b *strings.Builder, l Language) {
		if l == LangDE {
			fmt.Fprintf(b, "Guten Tag,\n\nIhre Anfrage (%s) konnte wegen einer technischen Störung vorerst nicht abgeschlossen werden. ", typeWords[r.Type].In(l))
			b.WriteString("Unser Datenschutzbeauftragter ist informiert und schließt sie innerhalb der Frist ab; Sie müssen nichts tun.\n\n")
		} else {
			fmt.Fprintf(b, "Hello,\n\nyour request for %s could not be completed for now because of a technical fault. ", typeWords[r.Type].In(l))
			b.WriteString("Our data protection officer has been told and will complete it within the deadline; you need not do anything.\n\n")
		}
		statusPageLines(b, r, statusPage, l)
	})
}

// NotifiedDetail is the detail of the audit step that records mail m sent.
func NotifiedDetail(m Mail) string {
	return "the person was told by e-mail (" + m.Event + "), without personal data, with a link to the status page"
}
