package dsr

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxBodyBytes is the largest request body accepted (docs/api.md: 16 KiB).
const MaxBodyBytes = 16 << 10

// MaxGroundsLength is the longest objection grounds accepted, in characters.
const MaxGroundsLength = 2000

// ScopeDirectMarketing objects to every purpose flagged direct marketing.
const ScopeDirectMarketing = "direct_marketing"

// Submission is a validated POST /v1/requests body.
type Submission struct {
	Type     Type
	Email    string // normalized
	Scope    string
	Purposes []string
	Grounds  string
}

type submissionBody struct {
	Type     *string   `json:"type"`
	Email    *string   `json:"email"`
	Scope    *string   `json:"scope"`
	Purposes *[]string `json:"purposes"`
	Grounds  *string   `json:"grounds"`
}

// ParseSubmission decodes and validates a submission against the registry:
// malformed JSON, unknown fields, missing or bad values and oversized bodies
// are EInvalid errors whose fields say what is wrong, never echoing values.
func ParseSubmission(body []byte, reg Registry) (Submission, error) {
	var b submissionBody
	if err := DecodeStrict(body, &b); err != nil {
		return Submission{}, err
	}
	var s Submission
	var fields []FieldError
	bad := func(field, reason string) { fields = append(fields, FieldError{Field: field, Reason: reason}) }

	switch {
	case b.Type == nil:
		bad("type", "is required")
	case Type(*b.Type) == TypeAccess || Type(*b.Type) == TypeErasure || Type(*b.Type) == TypeObjection:
		s.Type = Type(*b.Type)
	default:
		bad("type", `must be one of "access", "erasure", "objection"`)
	}
	email, errs := emailField(b.Email)
	s.Email, fields = email, append(fields, errs...)

	if s.Type == TypeObjection {
		switch {
		case b.Scope != nil && b.Purposes != nil:
			bad("scope", `give either "scope" or "purposes", not both`)
		case b.Scope != nil:
			if *b.Scope != ScopeDirectMarketing {
				bad("scope", `must be "direct_marketing"`)
			}
			s.Scope = *b.Scope
		case b.Purposes != nil:
			if len(*b.Purposes) == 0 {
				bad("purposes", "must name at least one purpose")
			}
			seen := map[string]bool{}
			for i, p := range *b.Purposes {
				if purpose, ok := reg.Lookup(p); !ok {
					bad(fmt.Sprintf("purposes[%d]", i), "is not a purpose of the registry: "+strings.Join(reg.Names(), ", "))
				} else if purpose.Objection == ActionNone {
					bad(fmt.Sprintf("purposes[%d]", i), "cannot be objected to: it rests on "+purpose.LegalBasis+
						" (Art. 21 covers processing for legitimate interests or a public task, and direct marketing)")
				} else if !seen[p] {
					seen[p] = true
					s.Purposes = append(s.Purposes, p)
				}
			}
		default:
			bad("scope", `an objection needs "scope": "direct_marketing" or "purposes"`)
		}
		if b.Grounds != nil {
			if utf8.RuneCountInString(*b.Grounds) > MaxGroundsLength {
				bad("grounds", fmt.Sprintf("is longer than %d characters", MaxGroundsLength))
			}
			s.Grounds = *b.Grounds
		}
	} else if s.Type != "" {
		for name, set := range map[string]bool{"scope": b.Scope != nil, "purposes": b.Purposes != nil, "grounds": b.Grounds != nil} {
			if set {
				bad(name, "is only allowed for objections")
			}
		}
	}
	if len(fields) > 0 {
		slices.SortStableFunc(fields, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
		return Submission{}, Invalid("the request body is invalid", fields...)
	}
	return s, nil
}

// ParseVerify decodes and validates a verification body.
func ParseVerify(body []byte) (string, error) {
	var b struct {
		Code *string `json:"code"`
	}
	if err := DecodeStrict(body, &b); err != nil {
		return "", err
	}
	if b.Code == nil {
		return "", Invalid("the request body is invalid", FieldError{Field: "code", Reason: "is required"})
	}
	c := *b.Code
	if len(c) != CodeDigits || strings.Trim(c, "0123456789") != "" {
		return "", Invalid("the request body is invalid", FieldError{Field: "code", Reason: "must be 6 digits"})
	}
	return c, nil
}
