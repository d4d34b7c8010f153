// Package webhook sends a portability export to the receiving controller's
// endpoint the person named (Art. 20(2)): one HTTP POST of the JSON export,
// signed with HMAC-SHA256, retried a bounded number of times with backoff,
// and never to an address that is not public (unless the deployment allows
// loopback, for the local stack). docs/api.md "Direct transmission" is the
// receiver's contract:
//
//	Content-Type: application/json
//	X-DSR-Delivery: <request id>         the same on every attempt: deduplicate on it
//	X-DSR-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<delivery>.<body>")>
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// Headers of a delivery.
const (
	HeaderDelivery  = "X-DSR-Delivery"
	HeaderSignature = "X-DSR-Signature"
)

// Sender posts exports. Its zero Attempts, Backoff and Timeout take the
// defaults (3 attempts, 1 s doubling, 10 s each).
type Sender struct {
	// Key returns the key that signs every delivery (the receiver holds the
	// same key), loaded when the first export is sent.
	Key func(ctx context.Context) ([]byte, error)
	// Client posts; nil: a client built by NewClient with LoopbackAllowed.
	Client          *http.Client
	LoopbackAllowed bool
	Attempts        int
	Backoff         time.Duration
	Timeout         time.Duration
	Now             func() time.Time
}

// Signature is the X-DSR-Signature value of body delivered as delivery at t.
func Signature(key []byte, t time.Time, delivery string, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(ts + "." + delivery + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Send posts body to endpoint as delivery (the request id), attempt after
// attempt while the answer is a network error, 408, 429 or 5xx, and returns
// the outcome: delivered on a 2xx answer, failed otherwise. It fails only
// for a context that ends; the outcome of a transmission that did not
// succeed is a Transmission, not an error.
func (s *Sender) Send(ctx context.Context, endpoint, delivery string, body []byte) (dsr.Transmission, error) {
	attempts, backoff := cmpOr(s.Attempts, 3), cmpOr(s.Backoff, time.Second)
	var t dsr.Transmission
	for t.Attempts < attempts {
		if t.Attempts > 0 {
			select {
			case <-ctx.Done():
				return t, ctx.Err()
			case <-time.After(backoff << (t.Attempts - 1)):
			}
		}
		t.Attempts++
		status, err := s.post(ctx, endpoint, delivery, body)
		t.HTTPStatus, t.At = status, s.now()
		if ctx.Err() != nil {
			return t, ctx.Err()
		}
		if err == nil && status >= 200 && status < 300 {
			t.Status = dsr.TransmissionDelivered
			return t, nil
		}
		if err == nil && !retryable(status) {
			break
		}
	}
	t.Status = dsr.TransmissionFailed
	return t, nil
}

// post makes one attempt and returns the answer's status.
func (s *Sender) post(ctx context.Context, endpoint, delivery string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, cmpOr(s.Timeout, 10*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderDelivery, delivery)
	key, err := s.Key(ctx)
	if err != nil {
		return 0, err
	}
	req.Header.Set(HeaderSignature, Signature(key, s.now(), delivery, body))
	c := s.Client
	if c == nil {
		c = NewClient(s.LoopbackAllowed)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func retryable(status int) bool {
	return status == 0 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// NewClient is the client that posts exports: no proxy from the
// environment, no redirect followed (a 3xx is an answer, not delivered),
// and a dialer that connects only to public addresses, whatever the name
// resolves to (loopback too when loopback is true).
func NewClient(loopback bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		return checkAddress(address, loopback)
	}}
	return &http.Client{
		Transport: &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: 5 * time.Second, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// errNotPublic refuses a connection to an address that is not public.
var errNotPublic = errors.New("webhook: the endpoint resolves to an address that is not public")

// checkAddress refuses address (ip:port) unless it is a public unicast
// address, or loopback where loopback is allowed.
func checkAddress(address string, loopback bool) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	a := ap.Addr().Unmap()
	switch {
	case a.IsLoopback():
		if loopback {
			return nil
		}
		return errNotPublic
	case !a.IsGlobalUnicast(), a.IsPrivate(), sharedOrReserved(a):
		return errNotPublic
	}
	return nil
}

// special are ranges IsPrivate leaves out that are not public: carrier-grade
// NAT (where cloud metadata also lives on some providers), benchmarking,
// IPv6 unique-local/NAT64 translation and documentation.
var special = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("2001:db8::/32"),
}

func sharedOrReserved(a netip.Addr) bool {
	for _, p := range special {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
