package dsr

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxGroundsLength is the longest objection grounds accepted, in characters.
const MaxGroundsLength = 2000

// ScopeDirectMarketing objects to every purpose flagged direct marketing.
const ScopeDirectMarketing = "direct_marketing"

// Submission is a validated submission: what a person asks for.
type Submission struct {
	Type     Type
	Email    string // normalized
	Scope    string
	Purposes []string
	Grounds  string
	// Correction is what a rectification asks (nil for other types).
	Correction *Correction
	Ground     string // restriction: Art. 18(1)
	// Format and TransmitTo (portability): see Request.
	Format     string
	TransmitTo string
	// Changes of a preferences request.
	Changes []PreferenceChange
	// Language the person asked to be answered in; "" where not given
	// (the API then takes it from Accept-Language, or the default).
	Language Language
}

// SubmissionInput is a submission as the person gave it: nil where a
// field is left out.
type SubmissionInput struct {
	Type     *string
	Email    *string
	Scope    *string
	Purposes *[]string
	Grounds  *string
	Ground   *string
	Reason   *string
	Language *string
	// A rectification's members (rectification.go).
	Attribute *string
	Corrected *string
	Purpose   *string
	Evidence  *string
	// Format and TransmitTo: portability only.
	Format     *string
	TransmitTo *string
	Changes    *[]ChangeInput
}

// ParseSubmission validates a submission against the registry: missing or
// bad values are an EInvalid error ("the submission is invalid") whose
// fields, sorted, say what is wrong, never echoing values.
func ParseSubmission(in SubmissionInput, reg Registry) (Submission, error) {
	return ParseSubmissionFor(in, reg, ReceiverPolicy{})
}

// ParseSubmissionFor is ParseSubmission with the deployment's policy for
// the receiving endpoints of portability exports.
func ParseSubmissionFor(in SubmissionInput, reg Registry, pol ReceiverPolicy) (Submission, error) {
	var s Submission
	var bad fieldErrors
	switch {
	case in.Type == nil:
		bad.add("type", "is required")
	case slices.Contains(Types, Type(*in.Type)):
		s.Type = Type(*in.Type)
	default:
		bad.add("type", "must be one of "+typeList())
	}
	email, errs := emailField(in.Email)
	s.Email, bad = email, append(bad, errs...)
	switch {
	case s.Type == TypeObjection:
		s.Scope, s.Purposes, s.Grounds = objectionOf(in, reg, &bad)
		restrictionFieldsOnly(in, &bad)
	case s.Type == TypeRestriction:
		s.Ground, s.Purposes, s.Grounds = restrictionOf(in, reg, &bad)
	case s.Type == TypePreferences:
		s.Changes = preferencesOf(in.Changes, reg, &bad)
		fallthrough
	case s.Type != "":
		restrictionFieldsOnly(in, &bad)
		for name, set := range map[string]bool{"scope": in.Scope != nil, "grounds": in.Grounds != nil} {
			if set {
				bad.add(name, "is only allowed for objections")
			}
		}
		if in.Purposes != nil {
			bad.add("purposes", "is only allowed for objections and restrictions")
		}
	}
	s.Correction = rectificationOf(s.Type, in, reg, &bad)
	s.Format, s.TransmitTo = portabilityOf(in, s.Type, reg, pol, &bad)
	if in.Changes != nil && s.Type != TypePreferences && s.Type != "" {
		bad.add("changes", "is only allowed for preferences")
	}
	if in.Language != nil {
		l, ok := ParseLanguage(*in.Language)
		if !ok {
			bad.add("language", `must be "de" or "en"`)
		}
		s.Language = l
	}
	if len(bad) > 0 {
		slices.SortStableFunc(bad, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
		return Submission{}, Invalid("the submission is invalid", bad...)
	}
	return s, nil
}

// objectionOf is what an objection objects to (a scope, or purposes of the
// registry) and its grounds, adding what is wrong with them to bad.
func objectionOf(in SubmissionInput, reg Registry, bad *fieldErrors) (scope string, purposes []string, grounds string) {
	switch {
	case in.Scope != nil && in.Purposes != nil:
		bad.add("scope", `give either "scope" or "purposes", not both`)
	case in.Scope != nil:
		if *in.Scope != ScopeDirectMarketing {
			bad.add("scope", `must be "direct_marketing"`)
		}
		scope = *in.Scope
	case in.Purposes != nil:
		purposes = objectedPurposes(*in.Purposes, reg, bad)
	default:
		bad.add("scope", `an objection needs "scope": "direct_marketing" or "purposes"`)
	}
	if in.Grounds != nil {
		if utf8.RuneCountInString(*in.Grounds) > MaxGroundsLength {
			bad.add("grounds", fmt.Sprintf("is longer than %d characters", MaxGroundsLength))
		}
		grounds = *in.Grounds
	}
	return scope, purposes, grounds
}

// objectedPurposes are the purposes names objects to, once each, adding to
// bad those that are not purposes of the registry. A purpose where Art. 21
// does not apply is kept: that part of the objection is answered with the
// reasons (RefusalFor), and the other parts proceed.
func objectedPurposes(names []string, reg Registry, bad *fieldErrors) []string {
	if len(names) == 0 {
		bad.add("purposes", "must name at least one purpose")
	}
	var out []string
	seen := map[string]bool{}
	for i, p := range names {
		if purpose, ok := reg.Lookup(p); !ok {
			bad.add(fmt.Sprintf("purposes[%d]", i), "is not a purpose of the registry: "+strings.Join(reg.Names(), ", "))
		} else if !seen[purpose.Name] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// VerificationInput is a verification as the person gave it: nil where a
// field is left out.
type VerificationInput struct {
	Code *string
}

// ParseVerify validates a verification: its code, as given.
func ParseVerify(in VerificationInput) (string, error) {
	if in.Code == nil {
		return "", Invalid("the verification is invalid", FieldError{Field: "code", Reason: "is required"})
	}
	c := *in.Code
	if len(c) != CodeDigits || strings.Trim(c, "0123456789") != "" {
		return "", Invalid("the verification is invalid", FieldError{Field: "code", Reason: "must be 6 digits"})
	}
	return c, nil
}
