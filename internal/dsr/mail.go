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
