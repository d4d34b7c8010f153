package dsr_test

import (
	"testing"

	"github.com/privacyops/dsr/internal/dsr"
)

func FuzzOpenCursor(f *testing.F) {
	h, err := dsr.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(h.SealCursor("list", `{"s":1}`), "list")
	f.Add("e30.AAAA", "list")
	f.Fuzz(func(t *testing.T, sealed, scope string) {
		raw, err := h.OpenCursor("cursor", scope, sealed)
		if err != nil {
			if dsr.ErrorCodeOf(err) != dsr.EInvalid {
				t.Fatalf("error code %q", dsr.ErrorCodeOf(err))
			}
			return
		}
		if again, err := h.OpenCursor("cursor", scope, h.SealCursor(scope, raw)); err != nil || again != raw {
			t.Fatalf("resealed cursor opens to %q, %v; want %q", again, err, raw)
		}
		if _, err := h.OpenCursor("cursor", scope+"\x01", sealed); err == nil {
			t.Fatalf("cursor %q of scope %q opens for another scope", sealed, scope)
		}
	})
}
