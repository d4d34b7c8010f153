package dsr

import (
	"errors"
	"net/mail"
	"strings"
)

// MaxEmailLength is the longest address accepted (RFC 5321 path limit).
const MaxEmailLength = 254

// NormalizeEmail trims s and lower-cases it whole, local part and domain, as
// api.md requires, and checks that it is one plain address (no display name,
// no comments). The error says what is wrong without echoing the input.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Invalid("invalid email", FieldError{Field: "email", Reason: "is required"})
	}
	if len(s) > MaxEmailLength {
		return "", Invalid("invalid email", FieldError{Field: "email", Reason: "is longer than 254 characters"})
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", Invalid("invalid email", FieldError{Field: "email", Reason: "is not a valid e-mail address"})
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") ||
		strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") || strings.ContainsAny(s, " \t\r\n") {
		return "", Invalid("invalid email", FieldError{Field: "email", Reason: "is not a valid e-mail address"})
	}
	return strings.ToLower(s), nil
}

// emailField checks a body's required "email" field: the normalized address,
// or the field errors to report.
func emailField(v *string) (string, []FieldError) {
	if v == nil {
		return "", []FieldError{{Field: "email", Reason: "is required"}}
	}
	email, err := NormalizeEmail(*v)
	if err != nil {
		var de *Error
		if errors.As(err, &de) && len(de.Fields) > 0 {
			return "", de.Fields
		}
		return "", []FieldError{{Field: "email", Reason: "is not a valid e-mail address"}}
	}
	return email, nil
}
