package dsr_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/privacyops/dsr/internal/dsr"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name, in, want string // want "": refused
	}{
		{"case of ASCII letters", "Ada@Example.com", "ada@example.com"},
		{"white space at both ends", "  ada@example.com\t", "ada@example.com"},
		{"no-break space at the end", "ada@example.com\u00a0", "ada@example.com"},
		{"plus, dots, subdomains", "ADA.LOVELACE+dsr@EXAMPLE.CO.UK", "ada.lovelace+dsr@example.co.uk"},
		{"every atext special", "a!#$%&'*+-/=?^_`{|}~z@example.com", "a!#$%&'*+-/=?^_`{|}~z@example.com"},
		{"IDN domain to its A-label", "ada@exämple.com", "ada@xn--exmple-cua.com"},
		{"A-label is the same person", "ada@xn--exmple-cua.com", "ada@xn--exmple-cua.com"},
		{"A-label in upper case", "ada@XN--EXMPLE-CUA.COM", "ada@xn--exmple-cua.com"},
		{"upper-case IDN domain", "ada@EXÄMPLE.com", "ada@xn--exmple-cua.com"},
		{"decomposed umlaut in the domain", "ada@exa\u0308mple.com", "ada@xn--exmple-cua.com"},
		{"full-width domain (UTS 46 mapping)", "ada@ｅｘａｍｐｌｅ．ｃｏｍ", "ada@example.com"},
		{"lower-case non-ASCII local part", "jürgen@example.com", "jürgen@example.com"},
		{"decomposed lower-case local part, to NFC", "ju\u0308rgen@example.com", "jürgen@example.com"},
		{"CJK local part", "用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"},

		{"empty", "", ""},
		{"only spaces", "   ", ""},
		{"no @", "ada", ""},
		{"nothing after @", "ada@", ""},
		{"nothing before @", "@example.com", ""},
		{"single-label domain", "ada@example", ""},
		{"display name", "Ada <ada@example.com>", ""},
		{"comment", "ada(x)@example.com", ""},
		{"quoted local part", `"ada lovelace"@example.com`, ""},
		{"two dots in the domain", "ada@example..com", ""},
		{"trailing dot in the domain", "ada@example.com.", ""},
		{"two @", "ada@@example.com", ""},
		{"@ in the local part", "a@da@example.com", ""},
		{"space inside", "ada @example.com", ""},
		{"leading dot in the local part", ".ada@example.com", ""},
		{"trailing dot in the local part", "ada.@example.com", ""},
		{"two dots in the local part", "ada..lovelace@example.com", ""},
		{"local part over 64 bytes", strings.Repeat("a", 65) + "@example.com", ""},
		{"address over 254 bytes", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + ".eee.com", ""},
		{"label over 63 bytes", "a@" + strings.Repeat("b", 64) + ".com", ""},
		{"IPv4 literal", "ada@[127.0.0.1]", ""},
		{"IPv6 literal", "ada@[IPv6:::1]", ""},
		{"bare IPv4 address", "ada@127.0.0.1", ""},
		{"leading hyphen in a label", "ada@-example.com", ""},
		{"trailing hyphen in a label", "ada@example-.com", ""},
		{"hyphens at 3 and 4", "ada@ex--ample.com", ""},
		{"invalid A-label", "ada@xn--zz.com", ""},
		{"underscore in the domain", "ada@exa_mple.com", ""},
		{"zero-width space in the local part", "a\u200bda@example.com", ""},
		{"zero-width space in the domain", "ada@exa\u200bmple.com", ""},
		{"leading zero-width space", "\u200bada@example.com", ""},
		{"zero-width joiner", "ada@exa\u200dmple.com", ""},
		{"soft hyphen", "ada@exam\u00adple.com", ""},
		{"byte-order mark", "\ufeffada@example.com", ""},
		{"right-to-left override", "ada\u202e@example.com", ""},
		{"Hangul filler", "ada\u3164@example.com", ""},
		{"variation selector", "ada\ufe0f@example.com", ""},
		{"NUL", "ada\x00@example.com", ""},
		{"newline inside", "ada\n@example.com", ""},
		{"private-use character", "ada\ue000@example.com", ""},
		{"invalid UTF-8", "ad\xffa@example.com", ""},
		{"Kelvin sign (folds to k)", "\u212ada@example.com", ""},
		{"upper-case umlaut in the local part", "Jürgen@example.com", "jürgen@example.com"},
		{"upper-case non-ASCII letter", "JÜRGEN@example.com", ""},
		{"decomposed upper-case umlaut", "JU\u0308RGEN@example.com", ""},
		{"sharp s (folds to ss)", "straße@example.com", ""},
		{"full-width letter in the local part", "\uff41da@example.com", ""},
		{"ligature in the local part", "e\ufb00ort@example.com", ""},
		{"Braille blank", "ada\u2800@example.com", ""},
		{"final sigma (folds to σ)", "ας@example.com", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dsr.NormalizeEmail(tc.in)
			if tc.want != "" {
				if err != nil || got != tc.want {
					t.Fatalf("NormalizeEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
				}
				if again, err := dsr.NormalizeEmail(got); err != nil || again != got {
					t.Errorf("the result is not a fixed point: %q, %v", again, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("NormalizeEmail(%q) = %q, want an error", tc.in, got)
			}
			de, ok := err.(*dsr.Error)
			if !ok || de.Code != dsr.EInvalid || len(de.Fields) != 1 || de.Fields[0].Field != "email" {
				t.Fatalf("error %#v, want one EInvalid field error on email", err)
			}
			if in := strings.TrimSpace(tc.in); in != "" && strings.Contains(de.Fields[0].Reason+de.Message, in) {
				t.Errorf("the error echoes the input: %v", de.Fields[0].Reason)
			}
		})
	}
}

// The rule gives one identity for what names one mailbox: the subject key
// (and so the suppression list) cannot tell the forms apart.
func TestNormalizeEmailOneIdentity(t *testing.T) {
	h, err := dsr.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, in := range []string{"ada@exämple.com", "Ada@EXÄMPLE.com", "ada@xn--exmple-cua.com", " ADA@XN--EXMPLE-CUA.COM ", "ada@exa\u0308mple.com"} {
		email, err := dsr.NormalizeEmail(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		keys = append(keys, h.Subject(email))
	}
	for i, k := range keys {
		if k != keys[0] {
			t.Errorf("form %d has another subject key", i)
		}
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"Ada@Example.com", "ada@exämple.com", "ada@[127.0.0.1]", "\u212ada@example.com", "a\u200bda@example.com", "ada@-example.com", "用户@例子.广告"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := dsr.NormalizeEmail(s)
		if err != nil {
			if dsr.ErrorCodeOf(err) != dsr.EInvalid {
				t.Fatalf("error code %q", dsr.ErrorCodeOf(err))
			}
			return
		}
		if again, err := dsr.NormalizeEmail(got); err != nil || again != got {
			t.Fatalf("%q normalizes to %q, which normalizes to %q, %v", s, got, again, err)
		}
		if len(got) > dsr.MaxEmailLength || strings.Count(got, "@") != 1 || strings.ContainsAny(got, " \t\r\n[]") {
			t.Fatalf("accepted %q", got)
		}
		for _, r := range got[strings.IndexByte(got, '@'):] {
			if r >= 0x80 || (r >= 'A' && r <= 'Z') {
				t.Fatalf("domain of %q is not lower-case A-labels", got)
			}
		}
	})
}

func TestMailbox(t *testing.T) {
	for in, want := range map[string]string{
		"ada+shop@example.com": "ada@example.com", "ada@example.com": "ada@example.com",
		"+ada@example.com": "+ada@example.com", "ada+a+b@example.com": "ada@example.com",
	} {
		if got := dsr.Mailbox(in); got != want {
			t.Errorf("Mailbox(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEarlierForms(t *testing.T) {
	for in, want := range map[string][]string{
		"ada@xn--exmple-cua.com": {"ada@exämple.com"}, "ada@example.com": nil, "ada@xn--zz.com": nil,
	} {
		if got := dsr.EarlierForms(in); !slices.Equal(got, want) {
			t.Errorf("EarlierForms(%q) = %q, want %q", in, got, want)
		}
	}
}
