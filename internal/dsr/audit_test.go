package dsr_test

import (
	"strings"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

func trail(n int) []dsr.AuditEntry {
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	var out []dsr.AuditEntry
	var prev *dsr.AuditEntry
	for i := range n {
		e := dsr.NextAuditEntry(prev, dsr.Step{RequestID: "R1", Actor: dsr.SystemActor("worker"), Action: dsr.AuditPurposeDone, Detail: "purpose marketing", At: at.Add(time.Duration(i) * time.Second)})
		out = append(out, e)
		prev = &out[len(out)-1]
	}
	return out
}

func TestVerifyAuditChain(t *testing.T) {
	tests := []struct {
		name   string
		tamper func([]dsr.AuditEntry) []dsr.AuditEntry
		broken int
		reason string
	}{
		{"intact", func(e []dsr.AuditEntry) []dsr.AuditEntry { return e }, 0, ""},
		{"a detail changed", func(e []dsr.AuditEntry) []dsr.AuditEntry { e[2].Detail = "purpose billing"; return e }, 3, "changed after it was written"},
		{"a time changed", func(e []dsr.AuditEntry) []dsr.AuditEntry { e[1].At = e[1].At.Add(time.Hour); return e }, 2, "changed"},
		{"changed and rehashed", func(e []dsr.AuditEntry) []dsr.AuditEntry {
			e[1].Actor = "dpo-evil"
			e[1].Hash = e[1].ComputeHash()
			return e
		}, 3, "does not follow"},
		{"one removed", func(e []dsr.AuditEntry) []dsr.AuditEntry { return append(e[:1], e[2:]...) }, 2, "numbered 3"},
		{"two swapped", func(e []dsr.AuditEntry) []dsr.AuditEntry { e[1], e[2] = e[2], e[1]; return e }, 2, "numbered 3"},
		{"swapped and renumbered", func(e []dsr.AuditEntry) []dsr.AuditEntry {
			e[1], e[2] = e[2], e[1]
			e[1].Seq, e[2].Seq = 2, 3
			return e
		}, 2, "does not follow"},
		{"another request's entry", func(e []dsr.AuditEntry) []dsr.AuditEntry { e[0].RequestID = "R2"; return e }, 1, "another request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := dsr.VerifyAuditChain("R1", tc.tamper(trail(4)))
			if got.Intact != (tc.broken == 0) || got.Broken != tc.broken || !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("VerifyAuditChain = %+v, want broken at %d (%q)", got, tc.broken, tc.reason)
			}
		})
	}
}
