package intake_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/intake"
)

// mailsTo counts the codes e-mailed to address.
func (e *env) mailsTo(address string) int {
	n := 0
	for _, m := range e.mailer.Mails {
		if m.To == address {
			n++
		}
	}
	return n
}

func (e *env) submitFor(t *testing.T, email string) (int, map[string]any, map[string]string) {
	t.Helper()
	status, m, resp := e.call(t, intake.RouteSubmit, "", "", `{"type":"erasure","email":"`+email+`"}`, nil)
	return status, m, resp.Headers
}

// retryAfter is a 429's Retry-After, in seconds.
func retryAfter(t *testing.T, h map[string]string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(h["Retry-After"] + "s")
	if err != nil {
		t.Fatalf("Retry-After %q: %v", h["Retry-After"], err)
	}
	return d
}

// A loop of 200 submissions for one address: its open requests, then its
// codes of the day, run out; the address gets at most the day's codes, and
// another person is unaffected.
func TestSubmissionsPerPerson(t *testing.T) {
	e := newEnvWith(t, dsr.Limits{OpenPerPerson: 3, CodesPerDay: 5, WrongCodesPerDay: 3, Client: dsr.Rate{Burst: 1000, Every: time.Millisecond}})
	statuses := map[int]int{}
	var first429 map[string]string
	for i := range 200 {
		if i == 100 {
			e.now = e.now.Add(16 * time.Minute) // the first three codes expired
		}
		status, m, h := e.submitFor(t, "Ada@Example.com")
		statuses[status]++
		if status == 429 && first429 == nil {
			first429 = h
			if !strings.Contains(m["detail"].(string), "waiting for their code") {
				t.Errorf("first refusal: %v", m)
			}
		}
	}
	if diff := cmp.Diff(map[int]int{202: 5, 429: 195}, statuses); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if got := retryAfter(t, first429); got <= 0 || got > dsr.CodeTTL {
		t.Errorf("Retry-After %v while codes are open, want at most the code's 15 minutes", got)
	}
	if n := e.mailsTo("ada@example.com"); n != 5 {
		t.Errorf("%d codes e-mailed to the address, want the day's 5", n)
	}
	status, m, h := e.submitFor(t, "ada@example.com")
	midnight := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	if status != 429 || !strings.Contains(m["detail"].(string), "tomorrow") || retryAfter(t, h) != midnight.Sub(e.now) {
		t.Errorf("after the day's codes: %d %v, Retry-After %v; want 429 until midnight UTC (%v)", status, m, h["Retry-After"], midnight.Sub(e.now))
	}
	if status, _, _ := e.submitFor(t, "grace@example.com"); status != 202 {
		t.Errorf("another person: %d, want 202", status)
	}
	e.now = midnight.Add(time.Second)
	if status, _, _ := e.submitFor(t, "ada@example.com"); status != 202 {
		t.Errorf("the next day: %d, want 202", status)
	}
	if got := strings.Count(e.metrics.String(), `"LimitReached":1`); got != 196 {
		t.Errorf("%d LimitReached metrics, want one per refusal (196)", got)
	}
}

// 50 wrong codes spread over the person's requests spend the day's budget;
// then the right code, and new requests, wait for the next day. The DPO's
// digest counts the person once.
func TestWrongCodeBudget(t *testing.T) {
	l := dsr.DefaultLimits
	l.Client = dsr.Rate{Burst: 1000, Every: time.Millisecond} // one client for all: not what this test is about
	e := newEnvWith(t, l)
	type req struct{ id, token, code string }
	var reqs []req
	for range dsr.DefaultLimits.OpenPerPerson {
		id, token, code := e.submit(t)
		reqs = append(reqs, req{id, token, code})
	}
	statuses := map[int]int{}
	for i := range 50 {
		r := reqs[i%len(reqs)]
		status, _, _ := e.call(t, intake.RouteVerify, r.id, r.token, `{"code":"`+wrongCode(r.code)+`"}`, nil)
		statuses[status]++
	}
	if diff := cmp.Diff(map[int]int{400: dsr.DefaultLimits.WrongCodesPerDay, 429: 50 - dsr.DefaultLimits.WrongCodesPerDay}, statuses); diff != "" {
		t.Errorf("answers to 50 wrong codes (-want +got):\n%s", diff)
	}
	status, m, resp := e.call(t, intake.RouteVerify, reqs[0].id, reqs[0].token, `{"code":"`+reqs[0].code+`"}`, nil)
	if status != 429 || resp.Headers["Retry-After"] == "" || !strings.Contains(m["detail"].(string), "wrong codes") {
		t.Fatalf("the right code after the budget: %d %v", status, m)
	}
	if len(e.queue.Requests()) != 0 {
		t.Fatal("a request was verified")
	}
	if status, _, _ := e.submitFor(t, "ada@example.com"); status != 429 {
		t.Errorf("a new request after the budget: %d, want 429", status)
	}
	d, _ := e.limits.Digest(t.Context(), "2027-01-31")
	if diff := cmp.Diff(map[string]int{dsr.LimitWrongCodes: 1}, d.People); diff != "" {
		t.Errorf("the DPO's digest (-want +got):\n%s", diff)
	}
	// The next day: a new request verifies with its right code.
	e.now = time.Date(2027, 2, 1, 0, 0, 1, 0, time.UTC)
	id, token, code := e.submit(t)
	if status, m, _ := e.call(t, intake.RouteVerify, id, token, `{"code":"`+code+`"}`, nil); status != 200 || m["status"] != "queued" {
		t.Errorf("the next day: %d %v", status, m)
	}
}

// A person who mistypes the code twice verifies with the third try, and
// the right code gives its guess back.
func TestTwoTyposDoNotLockOut(t *testing.T) {
	e := newEnv(t)
	id, token, code := e.submit(t)
	for i := range 2 {
		if status, _, _ := e.call(t, intake.RouteVerify, id, token, `{"code":"`+wrongCode(code)+`"}`, nil); status != 400 {
			t.Fatalf("typo %d: %d", i+1, status)
		}
	}
	if status, m, _ := e.call(t, intake.RouteVerify, id, token, `{"code":"`+code+`"}`, nil); status != 200 || m["status"] != "queued" {
		t.Fatalf("third try: %d %v", status, m)
	}
	q := e.limits.Quota(e.h.Service.Hasher.Subject("ada@example.com"))
	if q.Wrong != 2 || len(q.Pending) != 0 {
		t.Errorf("quota %+v, want the 2 typos counted and no request open", q)
	}
}

func TestClientLimit(t *testing.T) {
	e := newEnv(t)
	burst := dsr.DefaultLimits.Client.Burst
	statuses := map[int]int{}
	for i := range burst + 5 {
		// Invalid bodies count too: every write does.
		status, _, _ := e.call(t, intake.RouteSubmit, "", "", `{"type":"access","email":"person`+string(rune('a'+i%26))+`@example.com","x":1}`, nil)
		statuses[status]++
	}
	if diff := cmp.Diff(map[int]int{400: burst, 429: 5}, statuses); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	status, m, resp := e.call(t, intake.RouteSubmit, "", "", `{"type":"access","email":"ada@example.com"}`, nil)
	if status != 429 || retryAfter(t, resp.Headers) != dsr.DefaultLimits.Client.Every || !strings.Contains(m["detail"].(string), "network") {
		t.Errorf("over the burst: %d %v %v", status, m, resp.Headers)
	}
	e.client = "203.0.113.9"
	if status, _, _ := e.submitFor(t, "ada@example.com"); status != 202 {
		t.Errorf("another client: %d", status)
	}
	e.client = "198.51.100.7"
	e.now = e.now.Add(dsr.DefaultLimits.Client.Every)
	if status, _, _ := e.submitFor(t, "grace@example.com"); status != 202 {
		t.Errorf("one interval later: %d", status)
	}
	// Status polls do not count.
	e.now = e.now.Add(time.Millisecond)
	for range 3 * burst {
		if status, _, _ := e.call(t, intake.RouteStatus, "01JD0000000000000000000000", "x", "", nil); status != 404 {
			t.Fatalf("poll: %d", status)
		}
	}
}

func TestClientAddress(t *testing.T) {
	for _, tc := range []struct {
		name, header, source, value string
		sameAs                      string // another source the bucket is shared with
	}{
		{name: "IPv4 source", source: "198.51.100.7", sameAs: "198.51.100.7"},
		{name: "IPv6 /64", source: "2001:db8:1:2:aaaa::1", sameAs: "2001:db8:1:2:bbbb::2"},
		{name: "IPv4-mapped", source: "::ffff:198.51.100.7", sameAs: "198.51.100.7"},
		{name: "CloudFront header", header: "CloudFront-Viewer-Address", source: "130.176.0.1", value: "198.51.100.7:46532", sameAs: "198.51.100.7"},
		{name: "CloudFront header, IPv6", header: "CloudFront-Viewer-Address", source: "130.176.0.1", value: "2001:db8:1:2::7:46532", sameAs: "2001:db8:1:2::1"},
		{name: "CloudFront header, compressed IPv6 with its port", header: "CloudFront-Viewer-Address", source: "130.176.0.1", value: "2001::a:b:c:d:e:4653", sameAs: "2001:0:0:a::9"},
		{name: "an unreadable header falls back to the source", header: "CloudFront-Viewer-Address", source: "198.51.100.7", value: "nonsense", sameAs: "198.51.100.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, dsr.Limits{OpenPerPerson: 9, CodesPerDay: 9, WrongCodesPerDay: 3, Client: dsr.Rate{Burst: 1, Every: time.Hour}})
			e.h.ClientAddressHeader = tc.header
			e.client = tc.source
			body := `{"type":"access","email":"ada@example.com"}`
			req := func(source, value string) int {
				e.client = source
				st, _, _ := e.callWith(t, intake.RouteSubmit, body, map[string]string{"content-type": "application/json", strings.ToLower(tc.header): value})
				return st
			}
			if st := req(tc.source, tc.value); st != 202 {
				t.Fatalf("first: %d", st)
			}
			if st := req(tc.sameAs, ""); st != 429 {
				t.Errorf("%s shares the bucket: %d, want 429", tc.sameAs, st)
			}
		})
	}
}

func TestLinksPerHour(t *testing.T) {
	e := newEnv(t)
	id, token, code := e.submit(t)
	e.call(t, intake.RouteVerify, id, token, `{"code":"`+code+`"}`, nil)
	ctx := t.Context()
	res := &dsr.Result{ReportJSONKey: "reports/" + id + "/report.json", ReportHTMLKey: "reports/" + id + "/report.html"}
	_ = e.store.Transition(ctx, id, dsr.StatusQueued, dsr.StatusInProgress, e.now, dsr.Changes{PlannedPurposes: []string{"marketing"}}, dsrtest.StepTo(dsr.StatusInProgress))
	_ = e.store.Transition(ctx, id, dsr.StatusInProgress, dsr.StatusCompleted, e.now, dsr.Changes{CompletedAt: e.now, Result: res}, dsrtest.StepTo(dsr.StatusCompleted))
	e.links.objects[id+"/report.json"] = true
	e.now = time.Date(2027, 1, 31, 9, 40, 0, 0, time.UTC)
	for i := range dsr.DefaultLimits.LinksPerHour {
		if status, _, _ := e.call(t, intake.RouteReport, id, token, "", nil); status != 200 {
			t.Fatalf("link %d: %d", i+1, status)
		}
	}
	status, _, resp := e.call(t, intake.RouteReport, id, token, "", nil)
	if status != 429 || retryAfter(t, resp.Headers) != 20*time.Minute {
		t.Errorf("one more link: %d, Retry-After %s; want 429 until the hour ends (1200)", status, resp.Headers["Retry-After"])
	}
	if n := len(e.audit.Actions(id)); n != 4+dsr.DefaultLimits.LinksPerHour {
		t.Errorf("%d audit entries, want received, verified, the test's two and one per link signed", n)
	}
	e.now = e.now.Add(20 * time.Minute)
	if status, _, _ := e.call(t, intake.RouteReport, id, token, "", nil); status != 200 {
		t.Errorf("the next hour: %d", status)
	}
}

func TestContentType(t *testing.T) {
	for _, tc := range []struct {
		contentType string
		status      int
	}{
		{"application/json", 202},
		{"application/json; charset=utf-8", 202},
		{"Application/JSON; charset=UTF-8", 202},
		{"", 415},
		{"text/plain", 415},
		{"text/plain;charset=UTF-8", 415},
		{"application/x-www-form-urlencoded", 415},
		{"multipart/form-data; boundary=x", 415},
		{"application/json; charset=latin1", 415},
		{"application/json; boundary=x", 415},
		{"application/merge-patch+json", 415},
	} {
		t.Run(tc.contentType, func(t *testing.T) {
			e := newEnv(t)
			status, m, _ := e.callWith(t, intake.RouteSubmit, `{"type":"access","email":"ada@example.com"}`, map[string]string{"content-type": tc.contentType})
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, m)
			}
			if status == 415 && len(e.mailer.Mails) != 0 {
				t.Error("a code was sent")
			}
		})
	}
}

func TestQueryParameters(t *testing.T) {
	e := newEnv(t)
	id, token, _ := e.submit(t)
	long := strings.Repeat("q", 3000)
	for _, tc := range []struct {
		name, route string
		query       map[string]string
		field       string
	}{
		{"unknown parameter on the status", intake.RouteStatus, map[string]string{"verbose": "1"}, "verbose"},
		{"a long name is cut to 64 characters", intake.RouteStatus, map[string]string{long: "ada@example.com"}, long[:64]},
		{"empty format", intake.RouteReport, map[string]string{"format": ""}, "format"},
		{"unknown parameter on the report", intake.RouteReport, map[string]string{"format": "json", "download": "1"}, "download"},
		{"a parameter on a submission", intake.RouteSubmit, map[string]string{"type": "access"}, "type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, m, resp := e.call(t, tc.route, id, token, `{"type":"access","email":"grace@example.com"}`, tc.query)
			if status != 400 || strings.Contains(resp.Body, "ada@example.com") || strings.Contains(resp.Body, long[:65]) {
				t.Fatalf("%d %s", status, resp.Body)
			}
			errs := m["errors"].([]any)
			if len(errs) != 1 || errs[0].(map[string]any)["field"] != tc.field {
				t.Errorf("errors %v, want the field %.70q", errs, tc.field)
			}
		})
	}
}

// Wrong codes fired at once at all of a person's requests: the day's budget
// is spent before any code is compared, so only that many are compared.
func TestParallelGuessesPerPerson(t *testing.T) {
	l := dsr.DefaultLimits
	l.Client = dsr.Rate{Burst: 1000, Every: time.Millisecond}
	e := newEnvWith(t, l)
	type req struct{ id, token, code string }
	var reqs []req
	for range l.OpenPerPerson {
		id, token, code := e.submit(t)
		reqs = append(reqs, req{id, token, code})
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 60 {
		r := reqs[i%len(reqs)]
		wg.Go(func() {
			resp, _ := e.h.Handle(t.Context(), events.APIGatewayV2HTTPRequest{
				RouteKey: intake.RouteVerify, PathParameters: map[string]string{"id": r.id},
				Headers: map[string]string{"authorization": "Bearer " + r.token, "content-type": "application/json"},
				Body:    `{"code":"` + wrongCode(r.code) + `"}`,
			})
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if diff := cmp.Diff(map[int]int{400: l.WrongCodesPerDay, 429: 60 - l.WrongCodesPerDay}, statuses); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	attempts := 0
	for _, r := range reqs {
		got, _ := e.store.Get(t.Context(), r.id)
		attempts += got.CodeAttempts
	}
	if attempts != l.WrongCodesPerDay {
		t.Errorf("%d codes compared, want %d", attempts, l.WrongCodesPerDay)
	}
}

// Sub-addresses of one inbox share its quota: ada+1@ and ada+2@ cannot mail
// it more often than ada@, though each is its own identity.
func TestSubAddressesShareTheQuota(t *testing.T) {
	e := newEnvWith(t, dsr.Limits{OpenPerPerson: 3, CodesPerDay: 5, WrongCodesPerDay: 3, Client: dsr.Rate{Burst: 100, Every: time.Millisecond}})
	statuses := map[int]int{}
	for i := range 10 {
		status, _, _ := e.submitFor(t, "ada+"+string(rune('a'+i))+"@example.com")
		statuses[status]++
	}
	if diff := cmp.Diff(map[int]int{202: 3, 429: 7}, statuses); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	for _, m := range e.mailer.Mails {
		if !strings.HasPrefix(m.To, "ada+") {
			t.Errorf("a code went to %q, not to the address typed", m.To)
		}
	}
}
