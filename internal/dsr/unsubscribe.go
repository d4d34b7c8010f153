package dsr

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Unsubscribe is what a one-click unsubscribe token (RFC 8058) carries:
// whose consent of which purpose and channel it withdraws, and when the
// pipeline issued it. No address: the subject key finds the records.
type Unsubscribe struct {
	SubjectKey string
	Purpose    string
	Channel    Channel
	IssuedAt   time.Time
}

// UnsubscribeTokenTTL is how long a token works after it is issued: the
// CRM issues one per mail, and a person may unsubscribe from a mail of
// last year.
const UnsubscribeTokenTTL = 2 * 365 * 24 * time.Hour

// unsubscribeSkew is how far in the future an issue time may lie (clocks).
const unsubscribeSkew = 5 * time.Minute

// MaxUnsubscribeTokenLength bounds a token before it is looked at.
const MaxUnsubscribeTokenLength = 400

const unsubscribeVersion = "u1"

var subjectKeyForm = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ErrBadUnsubscribe is the one answer to a token that is forged, altered,
// malformed or for a channel the registry no longer has: it says nothing
// of which.
var ErrBadUnsubscribe = Errorf(ENotFound, "this unsubscribe link is not valid")

// UnsubscribeToken signs u: its fields in one line, base64url, a dot, and
// the pepper's HMAC-SHA256 of that (domain-separated from the pepper's
// other uses), base64url.
func (h *Hasher) UnsubscribeToken(u Unsubscribe) string {
	line := strings.Join([]string{unsubscribeVersion, u.SubjectKey, u.Purpose, string(u.Channel), strconv.FormatInt(u.IssuedAt.Unix(), 10)}, "|")
	payload := base64.RawURLEncoding.EncodeToString([]byte(line))
	return payload + "." + base64.RawURLEncoding.EncodeToString(h.unsubscribeMAC(payload))
}

func (h *Hasher) unsubscribeMAC(payload string) []byte {
	mac := hmac.New(sha256.New, h.pepper)
	mac.Write([]byte("unsubscribe\x00" + payload))
	return mac.Sum(nil)
}

// ParseUnsubscribeToken checks token at now: its signature first (in
// constant time), then its fields, its age and that the registry still has
// its purpose and channel. Every failure but age is ErrBadUnsubscribe.
func (h *Hasher) ParseUnsubscribeToken(token string, reg Registry, now time.Time) (Unsubscribe, error) {
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > MaxUnsubscribeTokenLength {
		return Unsubscribe{}, ErrBadUnsubscribe
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, h.unsubscribeMAC(payload)) {
		return Unsubscribe{}, ErrBadUnsubscribe
	}
	line, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return Unsubscribe{}, ErrBadUnsubscribe
	}
	f := strings.Split(string(line), "|")
	if len(f) != 5 || f[0] != unsubscribeVersion || !subjectKeyForm.MatchString(f[1]) {
		return Unsubscribe{}, ErrBadUnsubscribe
	}
	secs, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil {
		return Unsubscribe{}, ErrBadUnsubscribe
	}
	u := Unsubscribe{SubjectKey: f[1], Purpose: f[2], Channel: Channel(f[3]), IssuedAt: time.Unix(secs, 0).UTC()}
	if p, ok := reg.Lookup(u.Purpose); !ok || !p.HasChannel(u.Channel) || u.IssuedAt.After(now.Add(unsubscribeSkew)) {
		return Unsubscribe{}, ErrBadUnsubscribe
	}
	if now.Sub(u.IssuedAt) > UnsubscribeTokenTTL {
		return Unsubscribe{}, Errorf(EGone, "this unsubscribe link has expired; the privacy center takes a preferences request")
	}
	return u, nil
}

// OneClickEntropy is the entropy of the id of the preferences request
// token makes (a ULID of the token's issue time, built by the caller): the
// same for every POST of the same token, so a repeated click is the same
// request.
func (h *Hasher) OneClickEntropy(token string) []byte {
	mac := hmac.New(sha256.New, h.pepper)
	mac.Write([]byte("unsubscribe-id\x00" + token))
	return mac.Sum(nil)[:10]
}

// OneClickRequest is the preferences request a one-click unsubscribe u
// makes at now, with id (from OneClickEntropy): verified by the token's signature (no code:
// the person holds the link the mail carried), queued, withdrawing the
// consent of u's channel of u's purpose; due as policy says.
func OneClickRequest(id string, u Unsubscribe, l Language, policy DeadlinePolicy, now time.Time) *Request {
	return &Request{
		ID: id, Type: TypePreferences, Status: StatusQueued, SubjectKey: u.SubjectKey, OneClick: true, Language: l,
		Preferences: []PreferenceChange{{Purpose: u.Purpose, Channel: u.Channel, Consent: ConsentWithdraw}},
		ReceivedAt:  now, VerifiedAt: now, DueAt: policy.Due(now, 1), UpdatedAt: now,
	}
}

// OneClickSteps are the trail's first steps of one-click request r: the
// person asked by the link's one-click POST, verified by its signature.
func OneClickSteps(r *Request) []Step {
	c := r.Preferences[0]
	return []Step{
		{Actor: ActorSubject + ":one-click", Action: AuditReceived, At: r.ReceivedAt,
			Detail: fmt.Sprintf("preferences request by one-click unsubscribe (RFC 8058): withdraw %s of %s", c.Channel, c.Purpose)},
		{Actor: ActorSubject + ":one-click", Action: AuditVerified, At: r.ReceivedAt, Detail: "the unsubscribe link's signature verified (no code); queued"},
	}
}

// UnsubscribeIssue is a validated request of the CRM for a token: the
// person (normalized address), purpose and channel of the mail it sends.
type UnsubscribeIssue struct {
	Email   string
	Purpose string
	Channel Channel
}

// UnsubscribeIssueInput is the CRM's request as given: nil where left out.
type UnsubscribeIssueInput struct {
	Email   *string
	Purpose *string
	Channel *string
}

// ParseUnsubscribeIssue validates a token request against the registry:
// the purpose must declare the channel.
func ParseUnsubscribeIssue(in UnsubscribeIssueInput, reg Registry) (UnsubscribeIssue, error) {
	var out UnsubscribeIssue
	email, bad := emailField(in.Email)
	out.Email = email
	fields := fieldErrors(bad)
	var p Purpose
	switch ok := false; {
	case in.Purpose == nil:
		fields.add("purpose", "is required")
	default:
		if p, ok = reg.Lookup(*in.Purpose); !ok {
			fields.add("purpose", "is not a purpose of the registry")
		} else if len(p.Channels) == 0 {
			fields.add("purpose", "has no channels")
		}
		out.Purpose = *in.Purpose
	}
	switch {
	case in.Channel == nil:
		fields.add("channel", "is required")
	case len(p.Channels) > 0 && !p.HasChannel(Channel(*in.Channel)):
		fields.add("channel", "is not a channel of the purpose")
	default:
		out.Channel = Channel(*in.Channel)
	}
	if len(fields) > 0 {
		return UnsubscribeIssue{}, Invalid("the token request is invalid", fields...)
	}
	return out, nil
}
