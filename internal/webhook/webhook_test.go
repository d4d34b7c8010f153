package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

var key = []byte("test-key")

func fixedKey(context.Context) ([]byte, error) { return key, nil }

// receiver answers each POST with the next of statuses (the last one
// again once they run out) and records what it got.
type receiver struct {
	mu         sync.Mutex
	statuses   []int
	deliveries []string
	signatures []string
	bodies     []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.deliveries = append(rc.deliveries, r.Header.Get(HeaderDelivery))
	rc.signatures = append(rc.signatures, r.Header.Get(HeaderSignature))
	rc.bodies = append(rc.bodies, string(b))
	status := rc.statuses[min(len(rc.deliveries), len(rc.statuses))-1]
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		status = http.StatusBadRequest
	}
	w.WriteHeader(status)
}

func sender(now time.Time) *Sender {
	return &Sender{Key: fixedKey, LoopbackAllowed: true, Backoff: time.Millisecond, Now: func() time.Time { return now }}
}

// TestSend: delivered on a 2xx, retried on 5xx, 429 and network errors up
// to the attempts, not on another 4xx; every attempt carries the same
// delivery id and a signature over the timestamp, the id and the body.
func TestSend(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name     string
		statuses []int
		want     dsr.Transmission
	}{
		{"first time", []int{202}, dsr.Transmission{Status: dsr.TransmissionDelivered, HTTPStatus: 202, Attempts: 1, At: now}},
		{"after a 503 and a 429", []int{503, 429, 200}, dsr.Transmission{Status: dsr.TransmissionDelivered, HTTPStatus: 200, Attempts: 3, At: now}},
		{"5xx every time", []int{500}, dsr.Transmission{Status: dsr.TransmissionFailed, HTTPStatus: 500, Attempts: 3, At: now}},
		{"refused", []int{403}, dsr.Transmission{Status: dsr.TransmissionFailed, HTTPStatus: 403, Attempts: 1, At: now}},
		{"a redirect is not followed", []int{302}, dsr.Transmission{Status: dsr.TransmissionFailed, HTTPStatus: 302, Attempts: 1, At: now}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := &receiver{statuses: tc.statuses}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			got, err := sender(now).Send(context.Background(), srv.URL+"/inbox", "01JDREQ", []byte(`{"a":1}`))
			if err != nil || got != tc.want {
				t.Fatalf("Send = %+v, %v; want %+v", got, err, tc.want)
			}
			mac := hmac.New(sha256.New, key)
			mac.Write([]byte("1800000000.01JDREQ.{\"a\":1}"))
			wantSig := "t=1800000000,v1=" + hex.EncodeToString(mac.Sum(nil))
			for i := range rc.deliveries {
				if rc.deliveries[i] != "01JDREQ" || rc.signatures[i] != wantSig || rc.bodies[i] != `{"a":1}` {
					t.Errorf("attempt %d: delivery %q, signature %q, body %q", i+1, rc.deliveries[i], rc.signatures[i], rc.bodies[i])
				}
			}
		})
	}
}

// TestSendUnreachable: no answer at all is retried, then failed with no
// status.
func TestSendUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	got, err := sender(time.Unix(0, 0)).Send(context.Background(), url, "01JDREQ", []byte(`{}`))
	if err != nil || got.Status != dsr.TransmissionFailed || got.HTTPStatus != 0 || got.Attempts != 3 {
		t.Fatalf("Send = %+v, %v", got, err)
	}
}

// TestSendRefusesLoopbackByDefault: without the deployment's leave, a name
// that resolves to loopback is never connected to.
func TestSendRefusesLoopbackByDefault(t *testing.T) {
	rc := &receiver{statuses: []int{200}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s := &Sender{Key: fixedKey, Backoff: time.Millisecond}
	got, err := s.Send(context.Background(), strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), "01JDREQ", []byte(`{}`))
	if err != nil || got.Status != dsr.TransmissionFailed || len(rc.deliveries) != 0 {
		t.Fatalf("Send = %+v, %v; %d deliveries", got, err, len(rc.deliveries))
	}
}

// TestCheckAddress: only public unicast addresses are dialled.
func TestCheckAddress(t *testing.T) {
	tests := []struct {
		addr     string
		loopback bool
		ok       bool
	}{
		{"93.184.215.14:443", false, true},
		{"[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443", false, true},
		{"127.0.0.1:443", false, false},
		{"127.0.0.1:443", true, true},
		{"[::1]:443", true, true},
		{"10.1.2.3:443", true, false},
		{"172.16.0.1:443", false, false},
		{"192.168.1.1:443", false, false},
		{"169.254.169.254:80", false, false},
		{"100.100.100.200:80", false, false},
		{"0.0.0.0:80", false, false},
		{"[fd00::1]:443", false, false},
		{"[fe80::1]:443", false, false},
		{"[::ffff:10.0.0.1]:443", false, false},
		{"[64:ff9b::a00:1]:443", false, false},
		{"224.0.0.1:443", false, false},
		{"not an address", false, false},
	}
	for _, tc := range tests {
		if err := checkAddress(tc.addr, tc.loopback); (err == nil) != tc.ok {
			t.Errorf("checkAddress(%q, loopback %v) = %v, want ok %v", tc.addr, tc.loopback, err, tc.ok)
		}
	}
}
