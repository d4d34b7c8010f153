package memstore

import (
	"context"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// SetPreferences is the in-memory form of dynamo.Contacts.SetPreferences:
// it sets u's attributes on the items of refs that still hold s's subject
// key, and returns how many it changed.
func (c *Contacts) SetPreferences(_ context.Context, p dsr.Purpose, s dsr.Subject, refs []string, u dsr.PreferenceUpdate) (int, error) {
	if u.Empty() || len(refs) == 0 {
		return 0, nil
	}
	changed := 0
	err := c.eachRef("SetPreferences", p, refs, func(t *contactTable, v string) {
		item, ok := t.items[v]
		if !ok || item[p.SubjectKeyAttribute] != s.Key {
			return
		}
		for _, a := range u.Withdraw {
			item[a] = u.At.UTC().Format(time.RFC3339)
		}
		if u.FrequencyAttr != "" {
			item[u.FrequencyAttr] = u.FrequencyValue
		}
		changed++
	})
	return changed, err
}
