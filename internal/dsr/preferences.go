package dsr

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// MaxPreferenceChanges bounds the changes of one preferences request.
const MaxPreferenceChanges = 20

// Consent changes of a preferences request (docs/api.md).
const (
	// ConsentWithdraw withdraws the channel's consent (Art. 7(3)): the
	// records keep their data, the channel is no longer used.
	ConsentWithdraw = "withdrawn"
	// ConsentKeep keeps the channel's consent as it is ("post is fine"):
	// no record changes. It never gives a consent not held: new consent
	// is the CRM's opt-in, with its confirmation.
	ConsentKeep = "kept"
)

// PreferenceChange is one change of a preferences request: the consent of
// one channel of Purpose (Channel and Consent), or its Frequency, or both.
type PreferenceChange struct {
	Purpose   string  `json:"purpose"`
	Channel   Channel `json:"channel,omitempty"`
	Consent   string  `json:"consent,omitempty"`
	Frequency string  `json:"frequency,omitempty"`
}

// Withdraws reports whether c withdraws a channel's consent.
func (c PreferenceChange) Withdraws() bool { return c.Channel != "" && c.Consent == ConsentWithdraw }

// ChangeInput is one change as the person gave it: nil where left out.
type ChangeInput struct {
	Purpose   *string `json:"purpose"`
	Channel   *string `json:"channel"`
	Consent   *string `json:"consent"`
	Frequency *string `json:"frequency"`
}

// preferencesOf checks the changes of a preferences request against the
// registry, adding what is wrong to bad (fields "changes[i].channel").
func preferencesOf(in *[]ChangeInput, reg Registry, bad *fieldErrors) []PreferenceChange {
	switch {
	case in == nil:
		bad.add("changes", "is required for a preferences request")
		return nil
	case len(*in) == 0 || len(*in) > MaxPreferenceChanges:
		bad.add("changes", fmt.Sprintf("must hold 1 to %d changes", MaxPreferenceChanges))
		return nil
	}
	var out []PreferenceChange
	seen := map[string]bool{}
	for i, c := range *in {
		field := fmt.Sprintf("changes[%d]", i)
		ch, ok := changeOf(c, reg, field, bad)
		if !ok {
			continue
		}
		for _, k := range ch.keys() {
			if seen[k] {
				bad.add(field, "changes a channel or frequency an earlier change already changes")
				ok = false
			}
			seen[k] = true
		}
		if ok {
			out = append(out, ch)
		}
	}
	return out
}

// keys name what c changes, so that no two changes change the same.
func (c PreferenceChange) keys() []string {
	var k []string
	if c.Channel != "" {
		k = append(k, c.Purpose+"/channel/"+string(c.Channel))
	}
	if c.Frequency != "" {
		k = append(k, c.Purpose+"/frequency")
	}
	return k
}

// changeOf checks one change (field names it), adding what is wrong to bad.
func changeOf(c ChangeInput, reg Registry, field string, bad *fieldErrors) (PreferenceChange, bool) {
	n := len(*bad)
	if c.Purpose == nil {
		bad.add(field+".purpose", "is required")
		return PreferenceChange{}, false
	}
	p, ok := reg.Lookup(*c.Purpose)
	switch {
	case !ok:
		bad.add(field+".purpose", "is not a purpose of the registry: "+strings.Join(reg.Names(), ", "))
		return PreferenceChange{}, false
	case len(p.Channels) == 0 && p.Frequency == nil:
		bad.add(field+".purpose", "has no channels or frequency to change")
		return PreferenceChange{}, false
	case c.Channel == nil && c.Frequency == nil:
		bad.add(field, `needs "channel" with "consent", or "frequency"`)
		return PreferenceChange{}, false
	}
	out := PreferenceChange{Purpose: p.Name}
	if c.Channel != nil {
		out.Channel, out.Consent = channelChangeOf(p, c, field, bad)
	} else if c.Consent != nil {
		bad.add(field+".channel", `is required with "consent"`)
	}
	if c.Frequency != nil {
		switch {
		case p.Frequency == nil:
			bad.add(field+".frequency", "the purpose has no frequency")
		case !slices.Contains(p.Frequency.Values, *c.Frequency):
			bad.add(field+".frequency", "must be one of: "+strings.Join(p.Frequency.Values, ", "))
		default:
			out.Frequency = *c.Frequency
		}
	}
	return out, len(*bad) == n
}

// channelChangeOf checks a change's channel and consent against purpose p.
func channelChangeOf(p Purpose, c ChangeInput, field string, bad *fieldErrors) (Channel, string) {
	var names []string
	for _, ch := range p.ChannelList() {
		names = append(names, string(ch))
	}
	ch := Channel(*c.Channel)
	if !p.HasChannel(ch) {
		if len(names) == 0 {
			bad.add(field+".channel", "the purpose has no channels")
		} else {
			bad.add(field+".channel", "must be a channel of the purpose: "+strings.Join(names, ", "))
		}
	}
	switch {
	case c.Consent == nil:
		bad.add(field+".consent", `is required with "channel"`)
		return ch, ""
	case *c.Consent != ConsentWithdraw && *c.Consent != ConsentKeep:
		bad.add(field+".consent", `must be "withdrawn" or "kept"`)
	}
	return ch, *c.Consent
}

// planPreferences is the plan of a preferences request: the purposes its
// changes name, in registry order.
func planPreferences(r *Request, reg Registry) []string {
	var plan []string
	for _, p := range reg {
		if slices.ContainsFunc(r.Preferences, func(c PreferenceChange) bool { return c.Purpose == p.Name }) {
			plan = append(plan, p.Name)
		}
	}
	return plan
}

// SuppressedByWithdrawal is the reason of a channel's entry after its
// consent was withdrawn: the person may be written to on that channel
// again only on consent given after the withdrawal.
const SuppressedByWithdrawal = "consent_withdrawn"

// preferenceSuppressions are the entries a preferences request adds: one
// per channel whose consent it withdraws.
func preferenceSuppressions(r *Request, since time.Time) []Suppression {
	var out []Suppression
	for _, c := range r.Preferences {
		if c.Withdraws() {
			out = append(out, Suppression{SubjectKey: r.SubjectKey, Scope: c.Purpose, Channel: c.Channel,
				Reason: SuppressedByWithdrawal, Since: since, RequestID: r.ID})
		}
	}
	return out
}

// PreferenceUpdate is what a preferences request changes on each record of
// one purpose: the consent attributes to mark withdrawn At, and the
// frequency attribute to set (both empty: nothing changes).
type PreferenceUpdate struct {
	Withdraw       []string // attributes that take At as the withdrawal time
	FrequencyAttr  string
	FrequencyValue string
	At             time.Time
}

// Empty reports whether u changes nothing.
func (u PreferenceUpdate) Empty() bool { return len(u.Withdraw) == 0 && u.FrequencyAttr == "" }

// UpdateFor is what r's changes do to the records of purpose p, at.
func UpdateFor(r *Request, p Purpose, at time.Time) PreferenceUpdate {
	u := PreferenceUpdate{At: at.UTC()}
	for _, c := range r.Preferences {
		if c.Purpose != p.Name {
			continue
		}
		if c.Withdraws() {
			u.Withdraw = append(u.Withdraw, p.Channels[c.Channel].Withdrawn)
		}
		if c.Frequency != "" && p.Frequency != nil {
			u.FrequencyAttr, u.FrequencyValue = p.Frequency.Attribute, c.Frequency
		}
	}
	return u
}

// Holds reports whether record item of purpose p shows what r's changes
// of p ask: each withdrawn channel withdrawn (or never given), the
// frequency set. A read-back counts the records that do not.
func Holds(r *Request, p Purpose, item map[string]any) bool {
	for _, c := range r.Preferences {
		if c.Purpose != p.Name {
			continue
		}
		if c.Withdraws() && p.ConsentOf(item, c.Channel).State == ConsentGiven {
			return false
		}
		if c.Frequency != "" && p.Frequency != nil && item[p.Frequency.Attribute] != c.Frequency {
			return false
		}
	}
	return true
}

// changesKey is cs in one string, for a submission's replay derivation.
func changesKey(cs []PreferenceChange) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = strings.Join([]string{c.Purpose, string(c.Channel), c.Consent, c.Frequency}, "\x1d")
	}
	return strings.Join(parts, "\x1e")
}
