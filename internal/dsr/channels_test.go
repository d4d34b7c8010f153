package dsr_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
)

// channelBase is a consent purpose to which the cases add channels.
const channelBase = "- purpose: p\n  table: t\n  subjectIndex: i\n  identifier: email\n  subjectKeyAttribute: sk\n  title: {de: t, en: t}\n  description: {de: d, en: d}\n  categories: {de: [c], en: [c]}\n  automatedDecisions: none\n  legalBasis: consent\n  retention: {de: r, en: r}\n  erasure: delete\n  objection: delete\n"

// TestParseRegistryChannels: channels are known channels with two
// attributes each, named once, for consent purposes only; a frequency
// names its attribute and values. Typos fail at start.
func TestParseRegistryChannels(t *testing.T) {
	tests := []struct {
		name, add string
		base      string
		wantErr   string // "" : accepted
	}{
		{"email and post", "  channels:\n    email: {consent: ec, withdrawn: ew}\n    post: {consent: pc, withdrawn: pw}\n", channelBase, ""},
		{"a frequency", "  channels: {email: {consent: ec, withdrawn: ew}}\n  frequency: {attribute: f, values: [weekly, monthly]}\n", channelBase, ""},
		{"a frequency alone", "  frequency: {attribute: f, values: [daily]}\n", channelBase, ""},
		{"an unknown channel", "  channels: {fax: {consent: fc, withdrawn: fw}}\n", channelBase, `"fax" is not a channel`},
		{"a typo in a channel's key", "  channels: {email: {consnet: ec, withdrawn: ew}}\n", channelBase, "consnet"},
		{"no withdrawn attribute", "  channels: {email: {consent: ec}}\n", channelBase, "channels.email.withdrawn"},
		{"one attribute for two channels", "  channels: {email: {consent: c, withdrawn: ew}, post: {consent: c, withdrawn: pw}}\n", channelBase, "named twice"},
		{"the identifier as consent", "  channels: {email: {consent: email, withdrawn: ew}}\n", channelBase, "named twice"},
		{"channels of a contract purpose", "  channels: {email: {consent: ec, withdrawn: ew}}\n", strings.Replace(channelBase, "legalBasis: consent", "legalBasis: contract", 1), "legal basis is consent"},
		{"a frequency without values", "  frequency: {attribute: f, values: []}\n", channelBase, "at least one value"},
		{"a frequency value twice", "  frequency: {attribute: f, values: [weekly, weekly]}\n", channelBase, "named once"},
		{"a frequency value not a word", "  frequency: {attribute: f, values: [Every Day]}\n", channelBase, "value 1"},
		{"the frequency on a consent attribute", "  channels: {email: {consent: f, withdrawn: ew}}\n  frequency: {attribute: f, values: [weekly]}\n", channelBase, "named twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dsr.ParseRegistry([]byte(tt.base + tt.add))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}

// TestTemplateRegistryChannels: the demo splits advertising into an e-mail
// and a postal consent (§7 UWG); the newsletter is e-mail, weekly or monthly.
func TestTemplateRegistryChannels(t *testing.T) {
	reg := templateRegistry(t)
	want := map[string][]dsr.Channel{"marketing": {dsr.ChannelEmail, dsr.ChannelPost}, "newsletter": {dsr.ChannelEmail}}
	for _, p := range reg {
		if diff := cmp.Diff(want[p.Name], p.ChannelList()); diff != "" {
			t.Errorf("%s's channels (-want +got):\n%s", p.Name, diff)
		}
	}
	nl, _ := reg.Lookup("newsletter")
	if nl.Frequency == nil || nl.Frequency.Attribute != "frequency" || !cmp.Equal(nl.Frequency.Values, []string{"weekly", "monthly"}) {
		t.Errorf("newsletter's frequency: %+v", nl.Frequency)
	}
}

// TestConsentOf: a channel is withdrawn where the withdrawal is not
// earlier than the consent, given where a consent is held, else none.
func TestConsentOf(t *testing.T) {
	p, _ := dsrtest.Registry(t).Lookup("marketing")
	at := func(s string) *time.Time { v, _ := time.Parse(time.RFC3339, s); return &v }
	tests := []struct {
		name string
		item map[string]any
		want dsr.ChannelState
	}{
		{"given", map[string]any{"emailConsentAt": "2025-03-14T09:30:00Z"}, dsr.ChannelState{Channel: dsr.ChannelEmail, State: dsr.ConsentGiven, Since: at("2025-03-14T09:30:00Z")}},
		{"withdrawn after", map[string]any{"emailConsentAt": "2025-03-14T09:30:00Z", "emailWithdrawnAt": "2026-12-02T18:00:00Z"},
			dsr.ChannelState{Channel: dsr.ChannelEmail, State: dsr.ConsentWithdrawn, Since: at("2026-12-02T18:00:00Z")}},
		{"given again after a withdrawal", map[string]any{"emailConsentAt": "2027-01-01T00:00:00Z", "emailWithdrawnAt": "2026-12-02T18:00:00Z"},
			dsr.ChannelState{Channel: dsr.ChannelEmail, State: dsr.ConsentGiven, Since: at("2027-01-01T00:00:00Z")}},
		{"withdrawn, never given", map[string]any{"emailWithdrawnAt": "2026-12-02T18:00:00Z"}, dsr.ChannelState{Channel: dsr.ChannelEmail, State: dsr.ConsentWithdrawn, Since: at("2026-12-02T18:00:00Z")}},
		{"none", map[string]any{"postConsentAt": "2025-03-14T09:30:00Z"}, dsr.ChannelState{Channel: dsr.ChannelEmail, State: dsr.ConsentNone}},
		{"not a time", map[string]any{"emailConsentAt": "yesterday"}, dsr.ChannelState{Channel: dsr.ChannelEmail, State: dsr.ConsentNone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, p.ConsentOf(tt.item, dsr.ChannelEmail)); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func str(s string) *string { return &s }

// TestParsePreferences: a preferences request's changes name a purpose
// with channels or a frequency, a channel of it with "withdrawn" or
// "kept", a frequency among its values; every fault names its field.
func TestParsePreferences(t *testing.T) {
	reg := dsrtest.Registry(t)
	ch := func(purpose, channel, consent, frequency string) dsr.ChangeInput {
		var c dsr.ChangeInput
		for _, f := range []struct {
			v string
			p **string
		}{{purpose, &c.Purpose}, {channel, &c.Channel}, {consent, &c.Consent}, {frequency, &c.Frequency}} {
			if f.v != "" {
				*f.p = str(f.v)
			}
		}
		return c
	}
	tests := []struct {
		name    string
		changes *[]dsr.ChangeInput
		typ     string
		want    []dsr.PreferenceChange
		fields  []string
	}{
		{"no more e-mails, post is fine", &[]dsr.ChangeInput{ch("marketing", "email", "withdrawn", ""), ch("marketing", "post", "kept", "")}, "preferences",
			[]dsr.PreferenceChange{{Purpose: "marketing", Channel: "email", Consent: "withdrawn"}, {Purpose: "marketing", Channel: "post", Consent: "kept"}}, nil},
		{"monthly instead of weekly", &[]dsr.ChangeInput{ch("marketing", "", "", "monthly")}, "preferences",
			[]dsr.PreferenceChange{{Purpose: "marketing", Frequency: "monthly"}}, nil},
		{"both in one change", &[]dsr.ChangeInput{ch("marketing", "email", "kept", "weekly")}, "preferences",
			[]dsr.PreferenceChange{{Purpose: "marketing", Channel: "email", Consent: "kept", Frequency: "weekly"}}, nil},
		{"no changes", nil, "preferences", nil, []string{"changes"}},
		{"empty changes", &[]dsr.ChangeInput{}, "preferences", nil, []string{"changes"}},
		{"changes for an access request", &[]dsr.ChangeInput{ch("marketing", "", "", "monthly")}, "access", nil, []string{"changes"}},
		{"no purpose", &[]dsr.ChangeInput{ch("", "email", "withdrawn", "")}, "preferences", nil, []string{"changes[0].purpose"}},
		{"unknown purpose", &[]dsr.ChangeInput{ch("lottery", "email", "withdrawn", "")}, "preferences", nil, []string{"changes[0].purpose"}},
		{"a purpose without channels", &[]dsr.ChangeInput{ch("billing", "email", "withdrawn", "")}, "preferences", nil, []string{"changes[0].purpose"}},
		{"a channel the purpose lacks", &[]dsr.ChangeInput{ch("marketing", "sms", "withdrawn", "")}, "preferences", nil, []string{"changes[0].channel"}},
		{"a channel without consent", &[]dsr.ChangeInput{ch("marketing", "email", "", "")}, "preferences", nil, []string{"changes[0].consent"}},
		{"consent without a channel", &[]dsr.ChangeInput{ch("marketing", "", "withdrawn", "")}, "preferences", nil, []string{"changes[0]"}},
		{"consent without a channel, with a frequency", &[]dsr.ChangeInput{ch("marketing", "", "withdrawn", "weekly")}, "preferences", nil, []string{"changes[0].channel"}},
		{"a bad consent", &[]dsr.ChangeInput{ch("marketing", "email", "given", "")}, "preferences", nil, []string{"changes[0].consent"}},
		{"a bad frequency", &[]dsr.ChangeInput{ch("marketing", "", "", "daily")}, "preferences", nil, []string{"changes[0].frequency"}},
		{"nothing to change", &[]dsr.ChangeInput{ch("marketing", "", "", "")}, "preferences", nil, []string{"changes[0]"}},
		{"the same channel twice", &[]dsr.ChangeInput{ch("marketing", "email", "withdrawn", ""), ch("marketing", "email", "kept", "")}, "preferences", nil, []string{"changes[1]"}},
		{"faults of two changes", &[]dsr.ChangeInput{ch("marketing", "fax", "withdrawn", ""), ch("marketing", "", "", "hourly")}, "preferences", nil,
			[]string{"changes[0].channel", "changes[1].frequency"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := dsr.ParseSubmission(dsr.SubmissionInput{Type: str(tt.typ), Email: str("ada@example.com"), Changes: tt.changes}, reg)
			if tt.fields == nil {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, s.Changes); diff != "" {
					t.Error(diff)
				}
				return
			}
			if diff := cmp.Diff(tt.fields, fieldsOf(err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPreferencesPlanAndSuppressions: a preferences request acts on the
// purposes its changes name, and suppresses each withdrawn channel alone.
func TestPreferencesPlanAndSuppressions(t *testing.T) {
	reg := dsrtest.Registry(t)
	since := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	r := &dsr.Request{ID: "R", Type: dsr.TypePreferences, SubjectKey: "k", Preferences: []dsr.PreferenceChange{
		{Purpose: "marketing", Channel: "email", Consent: "withdrawn"}, {Purpose: "marketing", Channel: "post", Consent: "kept"}, {Purpose: "marketing", Frequency: "monthly"}}}
	plan, err := dsr.Plan(r, reg)
	if err != nil || !cmp.Equal(plan, []string{"marketing"}) {
		t.Errorf("plan %v, %v", plan, err)
	}
	want := []dsr.Suppression{{SubjectKey: "k", Scope: "marketing", Channel: "email", Reason: dsr.SuppressedByWithdrawal, Since: since, RequestID: "R"}}
	if diff := cmp.Diff(want, dsr.SuppressionsFor(r, plan, since)); diff != "" {
		t.Error(diff)
	}
	p, _ := reg.Lookup("marketing")
	u := dsr.UpdateFor(r, p, since)
	if diff := cmp.Diff(dsr.PreferenceUpdate{Withdraw: []string{"emailWithdrawnAt"}, FrequencyAttr: "frequency", FrequencyValue: "monthly", At: since}, u); diff != "" {
		t.Error(diff)
	}
	for _, tt := range []struct {
		item map[string]any
		want bool
	}{
		{map[string]any{"emailConsentAt": "2025-01-01T00:00:00Z", "frequency": "weekly"}, false},
		{map[string]any{"emailConsentAt": "2025-01-01T00:00:00Z", "emailWithdrawnAt": "2026-12-02T18:00:00Z", "frequency": "weekly"}, false},
		{map[string]any{"emailConsentAt": "2025-01-01T00:00:00Z", "emailWithdrawnAt": "2026-12-02T18:00:00Z", "frequency": "monthly"}, true},
		{map[string]any{"postConsentAt": "2025-01-01T00:00:00Z", "frequency": "monthly"}, true},
	} {
		if got := dsr.Holds(r, p, tt.item); got != tt.want {
			t.Errorf("Holds(%v) = %v, want %v", tt.item, got, tt.want)
		}
	}
}

// TestSuppressedOn: a withdrawn channel is suppressed until new consent,
// another channel of the purpose is not, and a check without a channel
// cannot promise any: a withdrawn channel suppresses it too.
func TestSuppressedOn(t *testing.T) {
	p, _ := dsrtest.Registry(t).Lookup("marketing")
	since := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	email := dsr.Suppression{SubjectKey: "k", Scope: "marketing", Channel: dsr.ChannelEmail, Reason: dsr.SuppressedByWithdrawal, Since: since, RequestID: "P"}
	objection := dsr.Suppression{SubjectKey: "k", Scope: "marketing", Reason: dsr.SuppressedByObjection, Since: since, RequestID: "O"}
	tests := []struct {
		name      string
		entries   []dsr.Suppression
		channel   dsr.Channel
		consentAt time.Time
		want      dsr.SuppressionEffect
	}{
		{"the withdrawn channel", []dsr.Suppression{email}, dsr.ChannelEmail, time.Time{}, dsr.EffectUntilNewConsent},
		{"the withdrawn channel, consent from before", []dsr.Suppression{email}, dsr.ChannelEmail, since.Add(-time.Hour), dsr.EffectUntilNewConsent},
		{"the withdrawn channel, consent given again", []dsr.Suppression{email}, dsr.ChannelEmail, since.Add(time.Hour), dsr.EffectNewDataOnly},
		{"another channel", []dsr.Suppression{email}, dsr.ChannelPost, time.Time{}, ""},
		{"no channel asked", []dsr.Suppression{email}, "", time.Time{}, dsr.EffectUntilNewConsent},
		{"no channel asked, consent given again", []dsr.Suppression{email}, "", since.Add(time.Hour), dsr.EffectNewDataOnly},
		{"an objection covers every channel", []dsr.Suppression{email, objection}, dsr.ChannelPost, time.Time{}, dsr.EffectBlocked},
		{"an objection, no channel asked", []dsr.Suppression{email, objection}, "", time.Time{}, dsr.EffectBlocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dsr.SuppressedOn(tt.entries, p, tt.channel, tt.consentAt)
			wantSuppressed := tt.want == dsr.EffectUntilNewConsent || tt.want == dsr.EffectBlocked
			if got.Effect != tt.want || got.Suppressed != wantSuppressed {
				t.Errorf("got %+v, want effect %q", got, tt.want)
			}
			if named := tt.channel == "" && wantSuppressed && tt.want == dsr.EffectUntilNewConsent; named != (len(got.Channels) == 1 && got.Channels[0] == dsr.ChannelEmail) {
				t.Errorf("got channels %v, want them named only when a check without a channel is suppressed by one", got.Channels)
			}
		})
	}
}

// TestParseSuppressionCheckChannel: a check's channel must be one of the
// purpose's channels.
func TestParseSuppressionCheckChannel(t *testing.T) {
	reg := dsrtest.Registry(t)
	for _, tt := range []struct {
		purpose, channel string
		ok               bool
	}{{"marketing", "email", true}, {"marketing", "post", true}, {"marketing", "sms", false}, {"billing", "email", false}} {
		c, err := dsr.ParseSuppressionCheck(dsr.SuppressionCheckInput{Email: str("ada@example.com"), Purpose: str(tt.purpose), Channel: str(tt.channel)}, reg)
		switch {
		case tt.ok && (err != nil || c.Channel != dsr.Channel(tt.channel)):
			t.Errorf("%s/%s: %+v, %v", tt.purpose, tt.channel, c, err)
		case !tt.ok && !cmp.Equal(fieldsOf(err), []string{"channel"}):
			t.Errorf("%s/%s: %v, want channel refused", tt.purpose, tt.channel, err)
		}
	}
}
