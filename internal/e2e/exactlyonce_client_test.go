//go:build integration

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/devstack"
	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
)

// person is one data subject of the exactly-once workload: their address,
// the records the CRM holds of them, what they ask, and how they behave at
// the web form.
type person struct {
	email  string
	typ    dsr.Type
	twice  bool                // submits twice (a double click): two requests, both verified
	wrong  int                 // wrong codes entered before the right one
	source string              // the loopback address their webForm connects from
	items  map[string][]string // purpose → the keys of their records
}

// people is the workload of a phase: n people, mixed as 3/8 access, 3/8
// erasure, 2/8 objection to direct marketing (which completes without a
// DPO); every tenth submits twice, every third other one enters one wrong
// code first (one, not more: the person's 3 wrong codes a day must leave
// room for a guess a fault keeps from being given back). Each comes from an
// address of their own, as people do, so that the per-client limit (20, then
// one every 15 s) is each one's own.
func people(phase string, index, n int) []*person {
	out := make([]*person, 0, n)
	for i := range n {
		p := &person{
			email:  fmt.Sprintf("p%03d.%s@fault-test.example", i, phase),
			twice:  i%10 == 9,
			source: fmt.Sprintf("127.%d.%d.%d", 10+index, i/250, i%250+1),
			items:  map[string][]string{},
		}
		switch i % 8 {
		case 0, 1, 2:
			p.typ = dsr.TypeAccess
		case 3, 4, 5:
			p.typ = dsr.TypeErasure
		default:
			p.typ = dsr.TypeObjection
		}
		if !p.twice && i%3 == 1 {
			p.wrong = 1
		}
		out = append(out, p)
	}
	return out
}

// seedPeople writes each person's records into the purpose tables with a
// client straight to the emulator, keyed as the stack keys them, and waits
// until the streams are read. An erasure's subject has no billing records:
// billing restricts rather than deletes (TestErasureEndToEnd checks that),
// and here an erased person must leave no row at all.
func seedPeople(t *testing.T, cfg aws.Config, stack *devstack.Stack, everyone []*person) {
	t.Helper()
	ctx := context.Background()
	ddb := dynamodb.NewFromConfig(cfg)
	keys, err := seed.KeyAttributes(ctx, ddb, stack.Registry)
	must(t, err)
	hasher, err := awsapp.LoadHasher(ctx, cfg, stack.Names["PepperSecret"].Ref)
	must(t, err)
	for _, p := range stack.Registry {
		var items []map[string]types.AttributeValue
		for i, who := range everyone {
			n := 1 + i%3
			switch {
			case who.typ == dsr.TypeErasure && p.Erasure != dsr.ActionDelete:
				continue
			case who.typ == dsr.TypeObjection:
				n = 1 + i%2
			}
			for j := range n {
				key := fmt.Sprintf("fx-%s-%s-%d", strings.SplitN(who.email, "@", 2)[0], p.Name, j)
				// The address as the CRM may have written it.
				id := []string{who.email, strings.ToUpper(who.email), " " + who.email + " "}[j%3]
				av, err := attributevalue.MarshalMap(map[string]any{keys[p.Name]: key, p.Identifier: id,
					p.SubjectKeyAttribute: hasher.Subject(who.email), "note": "fault test"})
				must(t, err)
				items = append(items, av)
				who.items[p.Name] = append(who.items[p.Name], key)
			}
		}
		must(t, dynamo.BatchPut(ctx, ddb, p.Table, items))
	}
	waitKeyed(t, stack)
}

// webForm is one person's web form in their browser: it answers with
// errors rather than failing the test (it runs on a goroutine of its own),
// and retries as a browser would: a 5xx or a lost connection a few times,
// a 429 after its Retry-After when that is short (the gateway's throttle;
// a limit's long wait is the answer).
type webForm struct {
	base string
	hc   *http.Client
	tr   *http.Transport
	api  *apiCounts
}

// apiCounts are the API's answers the browsers retried.
type apiCounts struct{ retried5xx, retriedLost, retried429 atomic.Int64 }

func newWebForm(base, source string, api *apiCounts) *webForm {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: dialer.DialContext}
	return &webForm{base: base, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}, tr: tr, api: api}
}

func (b *webForm) close() { b.tr.CloseIdleConnections() }

// answer is the API's answer to one call; err is a transport error (no
// answer).
type answer struct {
	status int
	body   []byte
	err    error
}

func (a answer) String() string {
	if a.err != nil {
		return "no answer: " + a.err.Error()
	}
	return fmt.Sprintf("%d %.300s", a.status, a.body)
}

func (b *webForm) once(ctx context.Context, method, path, token string, body any, header http.Header) (answer, time.Duration) {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, rd)
	if err != nil {
		return answer{err: err}, 0
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return answer{err: err}, 0
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return answer{status: resp.StatusCode, body: raw, err: err}, time.Duration(wait) * time.Second
}

// call sends one request (with header, if not nil), retried as a browser
// would; unsure counts the tries that got a 5xx or no answer, which may or
// may not have taken effect.
func (b *webForm) call(ctx context.Context, method, path, token string, body any, header http.Header) (a answer, unsure int) {
	for try := 0; ; try++ {
		var wait time.Duration
		a, wait = b.once(ctx, method, path, token, body, header)
		switch {
		case ctx.Err() != nil:
			return a, unsure
		case a.err != nil || a.status >= 500:
			if unsure++; unsure > 5 {
				return a, unsure
			}
			if a.err != nil {
				b.api.retriedLost.Add(1)
			} else {
				b.api.retried5xx.Add(1)
			}
			sleep(ctx, time.Duration(250<<min(unsure, 3))*time.Millisecond)
		case a.status == http.StatusTooManyRequests && wait <= 2*time.Second && try < 60:
			b.api.retried429.Add(1)
			sleep(ctx, max(wait, 500*time.Millisecond))
		default:
			return a, unsure
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// request is one submission a client got a 202 for, and what its client
// saw of it.
type request struct {
	p               *person
	id, token, code string
	wrongRefused    int            // wrong codes answered 400: each spent an attempt
	verifyUnsure    int            // verifications answered 5xx or not at all
	verified        bool           // the right code was answered 200
	status          string         // the last status the client saw
	links           map[string]int // link_issued detail ("report (json)") → links signed (200)
	linksUnsure     int
	report          *dsr.Report
	cert            *dsr.Certificate
	form            *webForm  // its person's browser
	polled          time.Time // when its status was last read
}

// codeFor waits (a few seconds at most) for the code e-mailed for request
// id to the normalized address, and returns it, or why there is none: at
// most mails messages (a retried submission e-mails the code again), all
// with the one code.
func codeFor(ctx context.Context, outbox, id, address string, mails int) (string, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(outbox, "*-"+id+"-*.eml"))
		if len(files) > mails {
			return "", fmt.Errorf("%d messages e-mailed for request %s, want %d at most", len(files), id, mails)
		}
		if len(files) > 0 {
			return oneCode(files, id, address)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return "", fmt.Errorf("no code e-mailed for request %s", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// oneCode is the code the messages for request id carry, all to address.
func oneCode(files []string, id, address string) (string, error) {
	codes := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		m := codeLine.FindSubmatch(raw)
		if err != nil || m == nil || !bytes.Contains(raw, []byte("To: "+address)) {
			return "", fmt.Errorf("a message for request %s has no code for %s (%v)", id, address, err)
		}
		codes[string(m[1])] = true
	}
	if len(codes) != 1 {
		return "", fmt.Errorf("the %d messages for request %s carry %d codes, want one", len(files), id, len(codes))
	}
	for code := range codes {
		return code, nil
	}
	return "", nil
}

// mailed reports whether a message was e-mailed for request id.
func mailed(outbox, id string) bool {
	files, _ := filepath.Glob(filepath.Join(outbox, "*-"+id+"-*.eml"))
	return len(files) > 0
}

// violations collects what the checks find, by check, from any goroutine.
type violations struct {
	mu      sync.Mutex
	byCheck map[string][]string
}

func (v *violations) add(check, format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.byCheck == nil {
		v.byCheck = map[string][]string{}
	}
	v.byCheck[check] = append(v.byCheck[check], fmt.Sprintf(format, args...))
}

func (v *violations) count(check string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.byCheck[check])
}
