package dsr

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// MaxEmailLength is the longest address accepted, in bytes once normalized
// (RFC 5321's path limit).
const MaxEmailLength = 254

// maxLocalLength and maxLabelLength are RFC 5321's and RFC 1035's limits, in bytes.
const (
	maxLocalLength = 64
	maxLabelLength = 63
	maxDomainBytes = 253
)

// atextSpecials are the characters besides letters and digits that RFC 5322
// allows in an atom of a local part.
const atextSpecials = "!#$%&'*+-/=?^_`{|}~"

// fold is Unicode full case folding; a local part whose non-ASCII characters
// it would change is refused (NormalizeEmail).
var fold = cases.Fold()

// NormalizeEmail applies the one address rule, which gives a request's
// identity, the recipient of its code and its subject key alike, so that the
// code is always sent to exactly the address that becomes the identity:
//
//   - white space at both ends is trimmed; control, format, invisible
//     (zero-width, fillers, blanks, variation selectors), private-use and
//     unassigned characters, and white space inside, are refused;
//   - the local part (before the last "@") is a dot-atom of RFC 5322 (letters,
//     digits, !#$%&'*+-/=?^_`{|}~ and characters outside ASCII, no quoted
//     strings or comments, dots only between atoms), at most 64 bytes, in
//     Unicode normalization form C and without compatibility variants
//     (full-width letters, ligatures); its ASCII letters are lower-cased, and a
//     character outside ASCII that case folding would change (an upper-case
//     Ä, the Kelvin sign K, ß), as typed or once normalized, is refused, since
//     it cannot be told which mailbox it names;
//   - the domain is converted to A-labels with IDNA's lookup profile (UTS
//     46: mapped, lower-cased, hyphens and joiners checked), so exämple.com
//     and xn--exmple-cua.com are one person; it needs two labels or more, of
//     letters, digits and inner hyphens, 63 bytes each, 253 in all, and a
//     top-level label that is not all digits (no IP addresses, no [literals]);
//   - the whole address is at most 254 bytes.
//
// The error names the field "email" and says what is wrong without echoing
// the input.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", emailInvalid("is required")
	case len(s) > 4*MaxEmailLength:
		return "", emailInvalid("is longer than 254 characters")
	case !utf8.ValidString(s):
		return "", emailInvalid("is not valid UTF-8")
	}
	for _, r := range s {
		if invisible(r) {
			return "", emailInvalid("contains a space, control or invisible character")
		}
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "", emailInvalid(`is not a valid e-mail address: it has no "@"`)
	}
	local, err := normalizeLocalPart(s[:at])
	if err != nil {
		return "", err
	}
	domain, err := normalizeDomain(s[at+1:])
	if err != nil {
		return "", err
	}
	addr := local + "@" + domain
	if len(addr) > MaxEmailLength {
		return "", emailInvalid("is longer than 254 characters")
	}
	return addr, nil
}

func emailInvalid(reason string) error {
	return Invalid("invalid email", FieldError{Field: "email", Reason: reason})
}

// invisible reports whether r may not appear in an address: anything that
// is not a visible character, or renders as nothing.
func invisible(r rune) bool {
	return !unicode.IsGraphic(r) || unicode.Is(unicode.Zs, r) || r == '\u2800' || // Braille blank
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) || unicode.Is(unicode.Variation_Selector, r)
}

// normalizeLocalPart checks a dot-atom local part as typed (so that a Kelvin
// sign, which normalization form C turns into an ASCII K, is refused rather
// than lower-cased), then puts it in form C, checks it again and lower-cases
// its ASCII letters.
func normalizeLocalPart(raw string) (string, error) {
	if _, err := lowerLocalPart(raw); err != nil {
		return "", err
	}
	nfc := norm.NFC.String(raw)
	if norm.NFKC.String(nfc) != nfc {
		// A full-width "ａ", a ligature "ﬀ": it looks like another address.
		return "", emailInvalid(`has a character before the "@" that is a variant of another (full-width letters, ligatures, superscripts); please type it plainly`)
	}
	return lowerLocalPart(nfc)
}

func lowerLocalPart(local string) (string, error) {
	if local == "" {
		return "", emailInvalid(`is not a valid e-mail address: nothing before the "@"`)
	}
	if len(local) > maxLocalLength {
		return "", emailInvalid(`is not a valid e-mail address: the part before the "@" is longer than 64 bytes`)
	}
	for _, atom := range strings.Split(local, ".") {
		if atom == "" {
			return "", emailInvalid(`is not a valid e-mail address: a dot at the start or end of the part before the "@", or two in a row`)
		}
	}
	var b strings.Builder
	for _, r := range local {
		switch {
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + ('a' - 'A'))
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', strings.ContainsRune(atextSpecials, r):
			b.WriteRune(r)
		case r < utf8.RuneSelf:
			return "", emailInvalid(`is not a valid e-mail address: the part before the "@" may hold letters, digits, dots and !#$%&'*+-/=?^_` + "`" + `{|}~ only`)
		case fold.String(string(r)) != string(r):
			return "", emailInvalid(`has a character before the "@" whose upper or lower case is ambiguous (such as Ä, ß or the Kelvin sign); please type it in lower case, or use another address`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

// normalizeDomain converts a domain to A-labels and checks it is a host name
// of two labels or more.
func normalizeDomain(domain string) (string, error) {
	bad := func(why string) error { return emailInvalid("is not a valid e-mail address: " + why) }
	if domain == "" {
		return "", bad(`nothing after the "@"`)
	}
	if strings.HasPrefix(domain, "[") {
		return "", bad("an address at an IP literal is not accepted")
	}
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil {
		return "", bad("the domain is not a valid host name (letters, digits and hyphens inside labels)")
	}
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return "", bad("the domain needs a dot, as in example.com")
	}
	for _, l := range labels {
		if l == "" || len(l) > maxLabelLength {
			return "", bad("the domain has an empty label or one longer than 63 characters")
		}
	}
	if len(ascii) > maxDomainBytes {
		return "", bad("the domain is longer than 253 characters")
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", bad("an address at an IP address is not accepted")
	}
	return ascii, nil
}

// Mailbox is the inbox a normalized address delivers to, as far as the
// address itself tells: without a sub-address ("+tag") in the local part.
// The per-person limits count by it, so that ada+1@ and ada+2@ cannot mail
// one inbox twice as often; the identity stays the whole address.
func Mailbox(normalized string) string {
	local, domain, ok := strings.Cut(normalized, "@")
	if i := strings.IndexByte(local, '+'); ok && i > 0 {
		return local[:i] + "@" + domain
	}
	return normalized
}

// EarlierForms are the forms the address rule before this one (the whole
// address lower-cased, an internationalized domain kept in Unicode) gave the
// normalized address, where they differ from it: keys written under that
// rule (a suppression entry) are looked up under these too, so that nobody
// who objected or was erased drops off the list when the rule changed.
func EarlierForms(normalized string) []string {
	local, domain, ok := strings.Cut(normalized, "@")
	if !ok || !strings.Contains(domain, "xn--") {
		return nil
	}
	u, err := idna.Lookup.ToUnicode(domain)
	if err != nil || u == domain {
		return nil
	}
	return []string{local + "@" + strings.ToLower(u)}
}

// emailField checks an input's required "email" field: the normalized address,
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
