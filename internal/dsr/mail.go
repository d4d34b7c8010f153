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

var typeWords = map[Type]string{
	TypeAccess:    "a copy of your personal data (access)",
	TypeErasure:   "the erasure of your personal data",
	TypeObjection: "your objection to the use of your personal data",
}

// VerificationMail is the message that carries the one-time code of r.
func VerificationMail(r *Request, code string) Mail {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\nwe received a request for %s, made with this e-mail address.\n\n", typeWords[r.Type])
	fmt.Fprintf(&b, "Your verification code is: %s\n\n", code)
	fmt.Fprintf(&b, "It is valid for %d minutes and for %d attempts. Enter it on the page where you made the request.\n", int(CodeTTL.Minutes()), MaxCodeAttempts)
	fmt.Fprintf(&b, "If you did not make this request, ignore this message: nothing will happen.\n\nRequest: %s\n", r.ID)
	return Mail{To: r.Email, Subject: "Your verification code: " + code, Text: b.String(), RequestID: r.ID}
}

// Notification events: the mails that tell a person, without personal
// data, that their request is answered, failed or extended.
const (
	EventCompleted = "completed"
	eventFailed    = "failed"
	eventExtended  = "extended"
)

// resultWords names what a completed request of each type produced.
var resultWords = map[Type]string{
	TypeAccess:    "the copy of your personal data (a report, in JSON and as a web page)",
	TypeErasure:   "the certificate of the erasure",
	TypeObjection: "the answer to your objection (a certificate of what was done, and the reasons where we could not follow it)",
}

// statusPageLines tells the person where to see the request: the status
// page, with the status token shown once at submission (never in a mail).
func statusPageLines(b *strings.Builder, r *Request, statusPage string) {
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
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\nyour request for %s is answered: %s is ready.\n\n", typeWords[r.Type], resultWords[r.Type])
	statusPageLines(&b, r, statusPage)
	return Mail{To: r.Email, Subject: "Your request is answered", Text: b.String(), RequestID: r.ID, Event: EventCompleted}
}

// FailureMail tells the person that request r could not be completed for
// now, that the data protection officer looks into it, and where to see it.
// Its event names the failure by the request's trail position, so that a
// failure after a retry is told again and a redelivery is not.
func FailureMail(r *Request, statusPage string) Mail {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\nyour request for %s could not be completed for now because of a technical fault. ", typeWords[r.Type])
	b.WriteString("Our data protection officer has been told and will complete it within the deadline; you need not do anything.\n\n")
	statusPageLines(&b, r, statusPage)
	return Mail{To: r.Email, Subject: "Your request: a delay", Text: b.String(), RequestID: r.ID, Event: fmt.Sprintf("%s-%d", eventFailed, r.Trail.Seq)}
}

// NotifiedDetail is the detail of the audit step that records mail m sent.
func NotifiedDetail(m Mail) string {
	return "the person was told by e-mail (" + m.Event + "), without personal data, with a link to the status page"
}
