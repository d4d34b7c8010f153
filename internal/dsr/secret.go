package dsr

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Verification limits of docs/api.md.
const (
	CodeDigits      = 6
	CodeTTL         = 15 * time.Minute
	MaxCodeAttempts = 5
)

// NewStatusToken returns a fresh status token of 256 random bits, shown once
// to the person, and the hash that is stored in its place.
func NewStatusToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("status token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken returns the stored form of a status token. A plain SHA-256 is
// enough: the token has 256 bits of entropy.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenMatches reports in constant time whether token hashes to hash.
func TokenMatches(token, hash string) bool {
	if token == "" || hash == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(HashToken(token)), []byte(hash)) == 1
}

// NewCode returns a uniformly drawn code of CodeDigits decimal digits.
func NewCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("verification code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// Hasher makes the keyed hashes of codes (and, later, of subject identifiers
// for the suppression list) with a secret pepper, so that a leaked table does
// not give away a code by brute force over its million values.
type Hasher struct{ pepper []byte }

// NewHasher returns a Hasher keyed with pepper, which must not be empty.
func NewHasher(pepper []byte) (*Hasher, error) {
	if len(pepper) < 16 {
		return nil, fmt.Errorf("pepper: want at least 16 bytes, got %d", len(pepper))
	}
	return &Hasher{pepper: append([]byte(nil), pepper...)}, nil
}

// Code returns the stored form of a verification code of request id.
func (h *Hasher) Code(id, code string) string {
	mac := hmac.New(sha256.New, h.pepper)
	mac.Write([]byte("code\x00" + id + "\x00" + code))
	return hex.EncodeToString(mac.Sum(nil))
}

// CodeMatches reports in constant time whether code is the code of request id.
func (h *Hasher) CodeMatches(id, code, hash string) bool {
	return hash != "" && hmac.Equal([]byte(h.Code(id, code)), []byte(hash))
}

// Subject returns the keyed hash of a normalized identifier.
func (h *Hasher) Subject(normalized string) string {
	mac := hmac.New(sha256.New, h.pepper)
	mac.Write([]byte("subject\x00" + normalized))
	return hex.EncodeToString(mac.Sum(nil))
}

// Client returns the keyed hash of a client's address, the key of its
// per-client limit: the address itself is never stored.
func (h *Hasher) Client(address string) string {
	mac := hmac.New(sha256.New, h.pepper)
	mac.Write([]byte("client\x00" + address))
	return hex.EncodeToString(mac.Sum(nil))
}

// Canary returns the value the suppression table's canary entry holds for
// this pepper: a function started with another pepper than the one the
// table was written with sees another value, and refuses to run (every
// suppression would silently stop matching).
func (h *Hasher) Canary() string {
	mac := hmac.New(sha256.New, h.pepper)
	mac.Write([]byte("canary\x00the pepper the suppression list is keyed with"))
	return hex.EncodeToString(mac.Sum(nil))
}

// SealCursor authenticates an opaque position raw for scope (a list's
// filters, a request's trail): only the pepper's holder makes a cursor that
// OpenCursor takes back, so a forged or foreign cursor never reaches a
// database.
func (h *Hasher) SealCursor(scope, raw string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(raw)) + "." + base64.RawURLEncoding.EncodeToString(h.cursorMAC(scope, raw))
}

// OpenCursor returns the position a cursor sealed for scope holds, or an
// EInvalid error naming the field "cursor" for anything else.
func (h *Hasher) OpenCursor(field, scope, sealed string) (string, error) {
	bad := Invalid("the query is invalid", FieldError{Field: field, Reason: "is not a cursor of this list; start again without it"})
	body, tag, ok := strings.Cut(sealed, ".")
	if !ok {
		return "", bad
	}
	raw, err1 := base64.RawURLEncoding.DecodeString(body)
	mac, err2 := base64.RawURLEncoding.DecodeString(tag)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, h.cursorMAC(scope, string(raw))) {
		return "", bad
	}
	return string(raw), nil
}

func (h *Hasher) cursorMAC(scope, raw string) []byte {
	mac := hmac.New(sha256.New, h.pepper)
	mac.Write([]byte("cursor\x00" + scope + "\x00" + raw))
	return mac.Sum(nil)[:16]
}

// Idempotency keys of docs/api.md: a value the client draws at random for
// one submission and sends again only when it retries that submission.
const (
	minIdempotencyKey = 16
	maxIdempotencyKey = 128
	// ReplayWindow is how long a retried submission finds its request:
	// the hour its request id is derived for, and the first
	// ReplayGrace of the next.
	ReplayWindow = time.Hour
	ReplayGrace  = 15 * time.Minute
)

// ParseIdempotencyKey checks the Idempotency-Key header's value: empty (no
// key), or 16 to 128 characters of letters, digits and "-._~:".
func ParseIdempotencyKey(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	ok := len(v) >= minIdempotencyKey && len(v) <= maxIdempotencyKey
	for _, c := range v {
		ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~:", c))
	}
	if !ok {
		return "", Invalid("the Idempotency-Key header is invalid", FieldError{Field: "Idempotency-Key",
			Reason: fmt.Sprintf("must be %d to %d letters, digits or -._~: (a random value, e.g. a UUID)", minIdempotencyKey, maxIdempotencyKey)})
	}
	return v, nil
}

// Replay is what a submission made with an idempotency key derives from
// the key, the client's address and the submission: the randomness of its
// request id (whose time is the hour it was made in), its status token and
// its code. A call retried after its answer was lost derives the same, and
// finds its own request; anyone else, without the key, derives other values.
type Replay struct {
	IDEntropy []byte // 10 bytes: the random part of a ULID
	Token     string
	TokenHash string
	Code      string
}

// Replay derives the secrets of submission s made with key from client.
func (h *Hasher) Replay(key, client string, s Submission) Replay {
	derive := func(what string) []byte {
		mac := hmac.New(sha256.New, h.pepper)
		fields := []string{"submission", what, key, client, string(s.Type), s.Email, s.Scope, strings.Join(s.Purposes, "\x1e"), s.Grounds}
		if s.Type == TypePortability { // another format or endpoint is another submission
			fields = append(fields, s.Format, s.TransmitTo)
		}
		if len(s.Changes) > 0 { // preferences: what they change is part of what was submitted
			fields = append(fields, changesKey(s.Changes))
		}
		mac.Write([]byte(strings.Join(fields, "\x1f")))
		return mac.Sum(nil)
	}
	token := base64.RawURLEncoding.EncodeToString(derive("token"))
	code := new(big.Int).Mod(new(big.Int).SetBytes(derive("code")), big.NewInt(1_000_000))
	return Replay{IDEntropy: derive("id")[:10], Token: token, TokenHash: HashToken(token), Code: fmt.Sprintf("%06d", code.Int64())}
}

// ReplayHours are the hours whose request id a submission made at now with
// an idempotency key may have: this hour's, and in its first ReplayGrace
// the hour before's.
func ReplayHours(now time.Time) []time.Time {
	hour := now.UTC().Truncate(ReplayWindow)
	if now.Sub(hour) < ReplayGrace {
		return []time.Time{hour, hour.Add(-ReplayWindow)}
	}
	return []time.Time{hour}
}
