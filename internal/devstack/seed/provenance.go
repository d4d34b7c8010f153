package seed

import (
	"context"
	"fmt"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// ProvenanceStore keeps provenance entries.
type ProvenanceStore interface {
	Put(ctx context.Context, e dsr.ProvenanceEntry) (bool, error)
}

// Subjecter keys a normalized address (the pepper's HMAC).
type Subjecter interface {
	Subject(normalized string) string
}

// ProvenanceEvents are the demo provenance events of docs/api.md, relative to
// now: ada's sources and recipients in every purpose (one recipient in a
// third country under standard contractual clauses), grace's in
// customer_care and billing, and one entry of ada's that expired three days
// ago, which the retention job deletes. Purposes not in reg are left out.
func ProvenanceEvents(reg dsr.Registry, now time.Time) map[string][]dsr.ProvenanceEvent {
	day := func(months, days int) time.Time {
		return time.Date(now.Year(), now.Month(), now.Day(), 10, 0, 0, 0, time.UTC).AddDate(0, months, days)
	}
	collected := func(purpose, source string, at time.Time) dsr.ProvenanceEvent {
		return dsr.ProvenanceEvent{Purpose: purpose, Event: dsr.EventCollected, Source: source, At: at}
	}
	disclosed := func(purpose, recipient, country, safeguard, basis string, at time.Time) dsr.ProvenanceEvent {
		return dsr.ProvenanceEvent{Purpose: purpose, Event: dsr.EventDisclosed, Recipient: recipient, Country: country, Safeguard: safeguard,
			TransferBasis: basis, At: at}
	}
	all := map[string][]dsr.ProvenanceEvent{
		Ada: {
			collected("marketing", "trade fair 2026", day(-8, 0)),
			disclosed("marketing", "Example Print GmbH", "DE", "", dsr.TransferEEA, day(-7, 0)),
			collected("newsletter", "newsletter sign-up form", day(-14, 0)),
			disclosed("newsletter", "Mailer Inc.", "US", "scc", dsr.TransferSafeguard, day(-14, 1)),
			collected("customer_care", "support hotline", day(-3, 0)),
			collected("billing", "online shop checkout", day(-20, 0)),
			disclosed("billing", "Tax Advisers LLP", "GB", "", dsr.TransferAdequacy, day(-2, 0)),
			// Two years and three days ago: past its retention, still stored
			// until the retention job runs.
			collected("marketing", "trade fair 2024", day(-24, -3)),
		},
		Grace: {
			collected("customer_care", "support e-mail", day(-5, 0)),
			collected("billing", "online shop checkout", day(-5, 0)),
			disclosed("billing", "Collections Partner SARL", "FR", "", dsr.TransferEEA, day(-1, 0)),
		},
	}
	for email, evs := range all {
		kept := evs[:0]
		for _, ev := range evs {
			if _, ok := reg.Lookup(ev.Purpose); ok {
				ev.Email = email
				kept = append(kept, ev)
			}
		}
		all[email] = kept
	}
	return all
}

// Provenance stores the demo provenance events, each kept its purpose's
// years (years where the registry derives none), and returns how many
// entries it stored for each subject.
func Provenance(ctx context.Context, store ProvenanceStore, keys Subjecter, reg dsr.Registry, years int, now time.Time) (map[string]int, error) {
	out := map[string]int{}
	for email, evs := range ProvenanceEvents(reg, now) {
		for _, ev := range evs {
			if _, err := store.Put(ctx, dsr.NewProvenanceEntry(ev, keys.Subject(email), reg.ProvenanceYears(ev.Purpose, years))); err != nil {
				return nil, fmt.Errorf("seed provenance: %w", err)
			}
			out[email]++
		}
	}
	return out, nil
}
