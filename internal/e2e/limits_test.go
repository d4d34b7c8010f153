//go:build integration

package e2e

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
)

// from is a client of the API whose connections come from source, another
// address of the loopback network: another client to the per-client limit.
func from(t *testing.T, base, source string) *client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 5 * time.Second}
	return &client{t: t, base: base, http: &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}}
}

// outboxCount counts the messages in the outbox addressed to address.
func outboxCount(t *testing.T, dir, address string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.Contains(readFile(t, f), "\r\nTo: "+address+"\r\n") {
			n++
		}
	}
	return n
}

// TestSubmissionFloodForOnePerson: a loop of 200 submissions for one address
// ends in 429 once the person's open requests are taken (and the client's
// bucket is empty); the address gets no more codes than the limit, and
// another person, from another client, is unaffected.
func TestSubmissionFloodForOnePerson(t *testing.T) {
	stack, outbox := startStack(t, awsConfig(t), nil)
	c := &client{t: t, base: stack.URL}
	statuses := map[int]int{}
	for range 200 {
		s, h, b := c.do("POST", "/v1/requests", "", map[string]string{"type": "erasure", "email": "Victim@Example.com"}, nil)
		statuses[s]++
		if s == http.StatusTooManyRequests && (h.Get("Retry-After") == "" || h.Get("Content-Type") != "application/problem+json") {
			t.Fatalf("429 without Retry-After or problem: %v %s", h, b)
		}
	}
	t.Logf("200 submissions for one address: %v", statuses)
	if statuses[http.StatusAccepted] != dsr.DefaultLimits.OpenPerPerson || statuses[http.StatusTooManyRequests] != 200-dsr.DefaultLimits.OpenPerPerson {
		t.Errorf("answers %v; want %d accepted and the rest 429", statuses, dsr.DefaultLimits.OpenPerPerson)
	}
	if n := outboxCount(t, outbox, "victim@example.com"); n != dsr.DefaultLimits.OpenPerPerson || n > dsr.DefaultLimits.CodesPerDay {
		t.Errorf("%d codes e-mailed to the address, want %d (the day's limit is %d)", n, dsr.DefaultLimits.OpenPerPerson, dsr.DefaultLimits.CodesPerDay)
	}
	time.Sleep(1100 * time.Millisecond) // the gateway's own throttle (20/s) passes
	other := from(t, stack.URL, "127.0.0.2")
	var sub submitted
	if s, _, b := other.do("POST", "/v1/requests", "", map[string]string{"type": "access", "email": "grace@example.com"}, &sub); s != http.StatusAccepted {
		t.Fatalf("another person from another client: %d %s", s, b)
	}
	code := codeFromOutboxFor(t, outbox, sub.ID, "grace@example.com")
	if s, _, b := other.do("POST", "/v1/requests/"+sub.ID+"/verify", sub.StatusToken, map[string]string{"code": code}, nil); s != http.StatusOK {
		t.Errorf("their verification: %d %s", s, b)
	}
}

// TestWrongCodesThroughTheAPI: 50 wrong codes spread over a person's open
// requests spend the day's budget; then the right code is refused until the
// next UTC day, and so are new requests.
func TestWrongCodesThroughTheAPI(t *testing.T) {
	// One client sends all 53 writes here: the client's bucket is not what
	// this test is about.
	stack, outbox := startStack(t, awsConfig(t), map[string]string{"CLIENT_LIMIT_BURST": "1000", "CLIENT_LIMIT_INTERVAL": "1ms"})
	// The budget is a UTC day's: not one that ends while the test runs.
	if now := time.Now().UTC(); now.Hour() == 23 && now.Minute() == 59 {
		time.Sleep(time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 1, 0, time.UTC).Sub(now))
	}
	c := &client{t: t, base: stack.URL}
	var subs []submitted
	for range dsr.DefaultLimits.OpenPerPerson {
		var sub submitted
		if s, _, b := c.do("POST", "/v1/requests", "", map[string]string{"type": "access", "email": "ada@example.com"}, &sub); s != http.StatusAccepted {
			t.Fatalf("submit: %d %s", s, b)
		}
		subs = append(subs, sub)
	}
	codes := map[string]string{}
	for _, sub := range subs {
		codes[sub.ID] = codeFromOutbox(t, outbox, sub.ID)
	}
	statuses := map[int]int{}
	for i := range 50 {
		sub := subs[i%len(subs)]
		wrong := strconv.Itoa(100000 + (mustAtoi(t, codes[sub.ID])+1)%900000)
		s, _, _ := c.do("POST", "/v1/requests/"+sub.ID+"/verify", sub.StatusToken, map[string]string{"code": wrong}, nil)
		statuses[s]++
		time.Sleep(60 * time.Millisecond) // under the gateway's 20/s
	}
	want := map[int]int{http.StatusBadRequest: dsr.DefaultLimits.WrongCodesPerDay, http.StatusTooManyRequests: 50 - dsr.DefaultLimits.WrongCodesPerDay}
	if diff := cmp.Diff(want, statuses); diff != "" {
		t.Errorf("answers to 50 wrong codes (-want +got):\n%s", diff)
	}
	s, h, b := c.do("POST", "/v1/requests/"+subs[0].ID+"/verify", subs[0].StatusToken, map[string]string{"code": codes[subs[0].ID]}, nil)
	now := time.Now().UTC()
	midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
	wait, _ := strconv.Atoi(h.Get("Retry-After"))
	if s != http.StatusTooManyRequests || wait < int(midnight.Sub(now).Seconds())-5 || wait > int(midnight.Sub(now).Seconds())+5 {
		t.Errorf("the right code after the budget: %d Retry-After %q %s; want 429 until midnight UTC (%.0f s)", s, h.Get("Retry-After"), b, midnight.Sub(now).Seconds())
	}
	var v view
	if c.do("GET", "/v1/requests/"+subs[0].ID, subs[0].StatusToken, nil, &v); v.Status != "awaiting_verification" {
		t.Errorf("the request is %s, want still awaiting verification", v.Status)
	}
	if s, _, _ := c.do("POST", "/v1/requests", "", map[string]string{"type": "access", "email": "ADA@example.com"}, nil); s != http.StatusTooManyRequests {
		t.Errorf("a new request for the person: %d, want 429", s)
	}
}

// TestStrictInputThroughTheAPI: what a page on another site, or a sloppy
// client, sends is refused with the right status, and nothing is written.
func TestStrictInputThroughTheAPI(t *testing.T) {
	stack, outbox := startStack(t, awsConfig(t), nil)
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
	}{
		{"a cross-site text/plain post", "text/plain", `{"type":"erasure","email":"ada@example.com"}`, 415},
		{"a form post", "application/x-www-form-urlencoded", `type=erasure&email=ada%40example.com`, 415},
		{"the last duplicate does not win", "application/json", `{"type":"access","type":"erasure","email":"ada@example.com"}`, 400},
		{"names in another case", "application/json", `{"Type":"access","EMAIL":"ada@example.com"}`, 400},
		{"null", "application/json", `{"type":"access","email":null}`, 400},
		{"an array", "application/json", `[]`, 400},
		{"an IP literal", "application/json", `{"type":"access","email":"ada@[127.0.0.1]"}`, 400},
		{"a zero-width space", "application/json", "{\"type\":\"access\",\"email\":\"ada\u200b@example.com\"}", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, stack.URL+"/v1/requests", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tc.contentType)
			req.Header.Set("Origin", "https://evil.example")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw := readAll(t, resp)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/problem+json" ||
				strings.Contains(raw, "want dsr.") || strings.Contains(raw, "ada@") {
				t.Errorf("%d %s", resp.StatusCode, raw)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("a foreign origin was allowed: %v", resp.Header)
			}
		})
	}
	if files, _ := dirEntries(outbox); len(files) != 0 {
		t.Errorf("%d e-mails sent", len(files))
	}
	c := &client{t: t, base: stack.URL}
	if s, _, b := c.do("GET", "/v1/requests/01JD0000000000000000000000?"+strings.Repeat("x", 3000)+"=ada@example.com", "x", nil, nil); s != 400 ||
		strings.Contains(string(b), strings.Repeat("x", 65)) || strings.Contains(string(b), "ada@") {
		t.Errorf("an unknown query parameter: %d %s", s, b)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
