package dsr

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Channel is a way of advertising to a person. German practice asks a
// separate consent for each (§7 UWG): e-mail, post, phone, SMS.
type Channel string

// Channels of the registry.
const (
	ChannelEmail Channel = "email"
	ChannelPost  Channel = "post"
	ChannelPhone Channel = "phone"
	ChannelSMS   Channel = "sms"
)

// KnownChannels are the channels a purpose may declare, in the order a
// report lists them.
var KnownChannels = []Channel{ChannelEmail, ChannelPost, ChannelPhone, ChannelSMS}

// ChannelConsent names the attributes of a purpose's records that hold a
// channel's consent: Consent the time it was given, Withdrawn the time it
// was withdrawn (each an RFC 3339 time, or absent). A consent is given
// while Consent is set and Withdrawn is not later.
type ChannelConsent struct {
	Consent   string `yaml:"consent" json:"consent"`
	Withdrawn string `yaml:"withdrawn" json:"withdrawn"`
}

// Frequency names the attribute of a purpose's records that holds how
// often the person is written to, and the values it may take.
type Frequency struct {
	Attribute string   `yaml:"attribute" json:"attribute"`
	Values    []string `yaml:"values" json:"values"`
}

var frequencyValue = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// HasChannel reports whether p declares channel c.
func (p Purpose) HasChannel(c Channel) bool {
	_, ok := p.Channels[c]
	return ok
}

// ChannelList is p's channels in the order of KnownChannels.
func (p Purpose) ChannelList() []Channel {
	var out []Channel
	for _, c := range KnownChannels {
		if p.HasChannel(c) {
			out = append(out, c)
		}
	}
	return out
}

// checkChannels checks Channels and Frequency: known channels, only for a
// purpose whose legal basis is consent, each attribute named once and none
// of them the identifier or the subject key; a frequency with at least one
// value, each once.
func (p Purpose) checkChannels() error {
	if len(p.Channels) > 0 && p.Basis() != BasisConsent {
		return errors.New("channels apply only to a purpose whose legal basis is consent")
	}
	seen := map[string]bool{p.Identifier: true, p.SubjectKeyAttribute: true}
	attr := func(what, a string) error {
		switch {
		case a == "" || len(a) > 255:
			return fmt.Errorf("%s: an attribute name must have 1 to 255 characters", what)
		case seen[a]:
			return fmt.Errorf("%s: %q is named twice, or is the identifier or subject key", what, a)
		}
		seen[a] = true
		return nil
	}
	for c, cc := range p.Channels {
		if !slices.Contains(KnownChannels, c) {
			return fmt.Errorf("channels: %q is not a channel (email, post, phone, sms)", c)
		}
		if err := attr("channels."+string(c)+".consent", cc.Consent); err != nil {
			return err
		}
		if err := attr("channels."+string(c)+".withdrawn", cc.Withdrawn); err != nil {
			return err
		}
	}
	if p.Frequency == nil {
		return nil
	}
	if err := attr("frequency.attribute", p.Frequency.Attribute); err != nil {
		return err
	}
	if len(p.Frequency.Values) == 0 {
		return errors.New("frequency: values must name at least one value")
	}
	for i, v := range p.Frequency.Values {
		if !frequencyValue.MatchString(v) || slices.Contains(p.Frequency.Values[:i], v) {
			return fmt.Errorf("frequency: value %d must match %s and be named once", i+1, frequencyValue)
		}
	}
	return nil
}

// Consent states of a channel (docs/api.md, the access report).
const (
	ConsentGiven     = "given"
	ConsentWithdrawn = "withdrawn"
	ConsentNone      = "none"
)

// ChannelState is a channel's consent as one record holds it: given,
// withdrawn or none, and since when (nil: none, or no readable time).
type ChannelState struct {
	Channel Channel    `json:"channel"`
	State   string     `json:"state"`
	Since   *time.Time `json:"since,omitempty"`
}

// ConsentOf reads channel c's consent from item, as the registry's
// attributes of c hold it: withdrawn where the withdrawal is not earlier
// than the consent, given where a consent is held, none otherwise.
func (p Purpose) ConsentOf(item map[string]any, c Channel) ChannelState {
	cc := p.Channels[c]
	given, hasGiven := timeAttribute(item, cc.Consent)
	withdrawn, hasWithdrawn := timeAttribute(item, cc.Withdrawn)
	switch {
	case hasWithdrawn && (!hasGiven || !withdrawn.Before(given)):
		return ChannelState{Channel: c, State: ConsentWithdrawn, Since: &withdrawn}
	case hasGiven:
		return ChannelState{Channel: c, State: ConsentGiven, Since: &given}
	}
	return ChannelState{Channel: c, State: ConsentNone}
}

// ConsentsOf is the consent of each of p's channels in item, in the order
// of KnownChannels; nil for a purpose without channels.
func (p Purpose) ConsentsOf(item map[string]any) []ChannelState {
	var out []ChannelState
	for _, c := range p.ChannelList() {
		out = append(out, p.ConsentOf(item, c))
	}
	return out
}

// timeAttribute reads attribute name of item as an RFC 3339 time.
func timeAttribute(item map[string]any, name string) (time.Time, bool) {
	s, ok := item[name].(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// SuppressedOn decides a check for channel c of purpose p: the entries of
// the purpose as a whole apply, and those of c; an entry of another channel
// does not ("no more e-mails, post is fine"). A check that names no
// channel cannot promise any: every channel's entry applies too, and the
// answer names the withdrawn channels (Channels), so that a CRM that does
// not ask per channel never writes by a channel the person closed.
func SuppressedOn(entries []Suppression, p Purpose, c Channel, consentAt time.Time) SuppressionStatus {
	var apply, whole []Suppression
	var withdrawn []Channel
	for _, e := range entries {
		switch {
		case e.Channel == "":
			apply, whole = append(apply, e), append(whole, e)
		case c == "" || e.Channel == c:
			if c == "" && !slices.Contains(withdrawn, e.Channel) {
				withdrawn = append(withdrawn, e.Channel)
			}
			e.Channel = "" // for this channel, as if for the whole purpose
			apply = append(apply, e)
		}
	}
	st := Suppressed(apply, p, consentAt)
	if st.Suppressed && c == "" && len(withdrawn) > 0 && !Suppressed(whole, p, consentAt).Suppressed {
		slices.Sort(withdrawn)
		st.Channels = withdrawn
	}
	return st
}

// afterWithdrawal is what a withdrawn channel consent (entry e) allows: a
// consent given after the withdrawal makes the channel usable again, for
// new data; before it, the channel waits for new consent.
func afterWithdrawal(e Suppression, consentAt time.Time) SuppressionEffect {
	if consentAt.After(e.Since) {
		return EffectNewDataOnly
	}
	return EffectUntilNewConsent
}
