//go:build integration

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/privacyops/dsr/internal/devstack"
	"github.com/privacyops/dsr/internal/devstack/samtemplate"
	"github.com/privacyops/dsr/internal/dsr"
)

// faultEnv is a local stack whose functions and pollers reach the emulator
// through the fault proxy, and a configuration straight to the emulator for
// the tests' own seeding and checks.
type faultEnv struct {
	t       *testing.T
	proxy   *faultProxy
	stack   *devstack.Stack
	outbox  string
	clean   aws.Config
	checker *checker
}

// faultSeed is the proxy's PRNG seed: DSR_FAULT_SEED, default 14.
func faultSeed(t *testing.T) uint64 {
	seed := uint64(14)
	if v := os.Getenv("DSR_FAULT_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		must(t, err)
		seed = n
	}
	return seed
}

func newFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	clean := awsConfig(t)
	seed := faultSeed(t)
	proxy := startFaultProxy(t, aws.ToString(clean.BaseEndpoint), seed)
	t.Logf("fault proxy %s, PRNG seed %d (DSR_FAULT_SEED)", proxy.URL, seed)
	viaProxy := clean.Copy()
	viaProxy.BaseEndpoint = aws.String(proxy.URL)
	// The stack starts (provisioning, seeding, the backfill) without faults.
	// Its functions log warnings and errors only: a few hundred requests'
	// info lines would bury the test's own.
	stack, outbox := startStackWith(t, viaProxy, nil, func(o *devstack.Options) {
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		// The proxy isolates each transaction's forwarding to the emulator;
		// the stack's own lock would hold every call through the delays.
		o.TransactionsIsolated = true
	})
	setVisibilityToTimeout(t, clean, stack)
	return &faultEnv{t: t, proxy: proxy, stack: stack, outbox: outbox, clean: clean, checker: newChecker(t, clean, stack, outbox, proxy)}
}

// setVisibilityToTimeout sets each consumed queue's visibility timeout to
// its consumer's function timeout, the least Lambda accepts: the template's
// (six times the timeout, as AWS advises) would make a message whose batch
// failed, or whose receive was answered into a dropped connection, wait
// minutes to be delivered again.
func setVisibilityToTimeout(t *testing.T, cfg aws.Config, stack *devstack.Stack) {
	t.Helper()
	client := sqs.NewFromConfig(cfg)
	for _, fn := range stack.Functions {
		for _, ev := range fn.Events {
			if ev.Type != samtemplate.EventSQS || !ev.Enabled {
				continue
			}
			q := stack.QueueURL(ev.QueueLogicalID)
			_, err := client.SetQueueAttributes(context.Background(), &sqs.SetQueueAttributesInput{QueueUrl: &q,
				Attributes: map[string]string{string(sqstypes.QueueAttributeNameVisibilityTimeout): strconv.Itoa(int(fn.Timeout.Seconds()))}})
			must(t, err)
		}
	}
	// A receive under way (the pollers long-poll for 1 s) keeps the old one.
	time.Sleep(1500 * time.Millisecond)
}

// phaseSpec is what a phase runs: its people, the share of the stack's AWS
// calls faulted, how many requests may be under way at once (submitted and
// not ended: the time from verification to completion then measures the
// pipeline at that load, not a backlog), and how long it may take.
type phaseSpec struct {
	name     string
	people   []*person
	rate     float64
	inFlight int
	limit    time.Duration
}

// phase is one run of a workload through the public API, and what its
// clients saw.
type phase struct {
	phaseSpec
	env      *faultEnv
	api      apiCounts
	v        violations
	verified atomic.Int64 // right codes answered 200

	done    <-chan struct{} // closed when every client is done
	waiting chan *request   // verified requests, to be watched until they end
	slots   chan struct{}   // one per request under way
	open    sync.WaitGroup  // verified requests not yet ended

	mu       sync.Mutex
	requests []*request
	elapsed  time.Duration
	proxy    proxyFigures
}

// runPhase runs a phase (startPhase) and waits for its end.
func (e *faultEnv) runPhase(spec phaseSpec) *phase {
	ph := e.startPhase(spec)
	ph.wait()
	return ph
}

// How many people are at the web form at once (submitting, verifying), and
// how many goroutines poll the status of the verified requests, as their
// people come back for the result, each request at most once a second.
const (
	exactlyOnceClients  = 8
	exactlyOnceWatchers = 3
)

// startPhase starts the workload: its people at the form,
// exactlyOnceClients at a time, then their verified requests watched until
// each ends and its result fetched. wait waits until every client is done.
func (e *faultEnv) startPhase(spec phaseSpec) *phase {
	ph := &phase{phaseSpec: spec, env: e, waiting: make(chan *request, 2*len(spec.people)+1), slots: make(chan struct{}, spec.inFlight)}
	e.proxy.reset()
	e.proxy.setRate(spec.rate)
	ctx, cancel := context.WithTimeout(context.Background(), spec.limit)
	start := time.Now()
	forms, watchers := ph.goForms(ctx), ph.goWatchers(ctx)
	done := make(chan struct{})
	ph.done = done
	go func() {
		defer close(done)
		defer cancel()
		forms.Wait()
		ph.open.Wait()
		close(ph.waiting)
		watchers.Wait()
		e.proxy.setRate(0)
		ph.mu.Lock()
		ph.elapsed, ph.proxy = time.Since(start), e.proxy.figures()
		ph.mu.Unlock()
	}()
	return ph
}

func (ph *phase) wait() { <-ph.done }

// goForms serves the phase's people at the form, exactlyOnceClients at a
// time; the wait group ends when all have been.
func (ph *phase) goForms(ctx context.Context) *sync.WaitGroup {
	work := make(chan *person)
	var wg sync.WaitGroup
	for range exactlyOnceClients {
		wg.Go(func() {
			for p := range work {
				ph.serve(ctx, p)
			}
		})
	}
	wg.Go(func() {
		defer close(work)
		for _, p := range ph.people {
			select {
			case work <- p:
			case <-ctx.Done():
				ph.v.add("lost", "%s never got to submit: the phase ran out of time (%s)", p.email, ph.limit)
			}
		}
	})
	return &wg
}

// goWatchers polls the verified requests (ph.waiting) until each ends.
func (ph *phase) goWatchers(ctx context.Context) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range exactlyOnceWatchers {
		wg.Go(func() {
			for q := range ph.waiting {
				ph.watch(ctx, q)
			}
		})
	}
	return &wg
}

// serve is one person at the web form: submit (twice, for some), read the
// code, verify (after a wrong code, for some) and again; then their
// verified requests are watched.
func (ph *phase) serve(ctx context.Context, p *person) {
	form := newWebForm(ph.env.stack.URL, p.source, &ph.api)
	var mine []*request
	for range 1 + boolInt(p.twice) {
		select {
		case ph.slots <- struct{}{}:
		case <-ctx.Done():
			ph.v.add("lost", "%s never got to submit: the phase ran out of time (%s)", p.email, ph.limit)
			continue
		}
		if q := ph.submit(ctx, form, p); q != nil {
			mine = append(mine, q)
		} else {
			<-ph.slots
		}
	}
	for _, q := range mine {
		ph.verify(ctx, form, q)
	}
	watched := false
	for _, q := range mine {
		if !q.verified {
			<-ph.slots
			continue
		}
		q.form, watched = form, true
		ph.open.Add(1)
		ph.waiting <- q
	}
	if !watched {
		form.close()
	}
}

// watch polls request q (at most once a second): one that ended has its
// result fetched, one still under way waits its turn again.
func (ph *phase) watch(ctx context.Context, q *request) {
	sleep(ctx, time.Until(q.polled.Add(time.Second)))
	q.polled = time.Now()
	if ctx.Err() == nil && !ph.poll(ctx, q) {
		ph.waiting <- q
		return
	}
	<-ph.slots
	ph.fetch(ctx, q.form, q)
	q.form.close()
	ph.open.Done()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (ph *phase) submit(ctx context.Context, b *webForm, p *person) *request {
	body := map[string]any{"type": p.typ, "email": p.email}
	if p.typ == dsr.TypeObjection {
		body["scope"] = dsr.ScopeDirectMarketing
	}
	// A key of its own for each submission, sent again with its retries
	// (docs/api.md, "Retrying a submission").
	key := http.Header{"Idempotency-Key": {rand.Text()}}
	a, unsure := b.call(ctx, http.MethodPost, "/v1/requests", "", body, key)
	var sub submitted
	if a.status != http.StatusAccepted || json.Unmarshal(a.body, &sub) != nil {
		ph.v.add("client", "%s submitting %s: %s, want 202", p.email, p.typ, a)
		return nil
	}
	q := &request{p: p, id: sub.ID, token: sub.StatusToken, links: map[string]int{}}
	ph.mu.Lock()
	ph.requests = append(ph.requests, q)
	ph.mu.Unlock()
	// A retry finds the request and e-mails its code again.
	code, err := codeFor(ctx, ph.env.outbox, q.id, p.email, 1+unsure)
	if err != nil {
		ph.v.add("client", "request %s (%s): %v", q.id, p.email, err)
	}
	q.code = code
	return q
}

func (ph *phase) verify(ctx context.Context, b *webForm, q *request) {
	if q.code == "" {
		return
	}
	path := "/v1/requests/" + q.id + "/verify"
	right, _ := strconv.Atoi(q.code)
	for k := range q.p.wrong {
		a, unsure := b.call(ctx, http.MethodPost, path, q.token, map[string]string{"code": fmt.Sprintf("%06d", (right+1+k)%1_000_000)}, nil)
		q.verifyUnsure += unsure
		if a.status != http.StatusBadRequest {
			ph.v.add("client", "request %s: a wrong code answered %s, want 400", q.id, a)
			continue
		}
		q.wrongRefused++
	}
	a, unsure := b.call(ctx, http.MethodPost, path, q.token, map[string]string{"code": q.code}, nil)
	q.verifyUnsure += unsure
	var v view
	if a.status != http.StatusOK || json.Unmarshal(a.body, &v) != nil {
		ph.v.add("client", "request %s: the right code answered %s, want 200", q.id, a)
		return
	}
	if v.Status == string(dsr.StatusAwaitingVerification) {
		ph.v.add("client", "request %s: the right code answered 200 with the request still %s, want it queued", q.id, v.Status)
	}
	q.verified = true
	ph.verified.Add(1)
	// A second click: harmless (200), and the request is not queued again.
	if a, _ := b.call(ctx, http.MethodPost, path, q.token, map[string]string{"code": q.code}, nil); a.status != http.StatusOK {
		ph.v.add("client", "request %s: verifying again with the right code answered %s, want 200", q.id, a)
	}
}

// poll reads the request's status once and reports whether it ended.
func (ph *phase) poll(ctx context.Context, q *request) bool {
	a, _ := q.form.call(ctx, http.MethodGet, "/v1/requests/"+q.id, q.token, nil, nil)
	var v view
	if a.status != http.StatusOK || json.Unmarshal(a.body, &v) != nil {
		return false
	}
	q.status = v.Status
	switch dsr.Status(v.Status) {
	case dsr.StatusCompleted, dsr.StatusFailed, dsr.StatusExpired, dsr.StatusRejected:
		return true
	}
	return false
}

// fetch downloads a completed request's report (both formats) or
// certificate through links, as the person would.
func (ph *phase) fetch(ctx context.Context, b *webForm, q *request) {
	if q.status != string(dsr.StatusCompleted) {
		return
	}
	if q.p.typ != dsr.TypeAccess {
		var cert dsr.Certificate
		if raw := ph.link(ctx, b, q, "/certificate", "certificate (json)"); raw != nil && ph.decode(q, raw, &cert) {
			q.cert = &cert
		}
		return
	}
	var rep dsr.Report
	if raw := ph.link(ctx, b, q, "/report?format=json", "report (json)"); raw != nil && ph.decode(q, raw, &rep) {
		q.report = &rep
	}
	if page := ph.link(ctx, b, q, "/report?format=html", "report (html)"); page != nil && !strings.Contains(string(page), q.p.email) {
		ph.v.add("report", "request %s: the HTML report does not name %s", q.id, q.p.email)
	}
}

func (ph *phase) decode(q *request, raw []byte, into any) bool {
	if err := json.Unmarshal(raw, into); err != nil {
		ph.v.add("report", "request %s: the downloaded document is not JSON: %v", q.id, err)
		return false
	}
	return true
}

// link asks for a link to a document (step names its link_issued step) and
// downloads it.
func (ph *phase) link(ctx context.Context, b *webForm, q *request, suffix, step string) []byte {
	a, unsure := b.call(ctx, http.MethodGet, "/v1/requests/"+q.id+suffix, q.token, nil, nil)
	q.linksUnsure += unsure
	var l link
	if a.status != http.StatusOK || json.Unmarshal(a.body, &l) != nil {
		ph.v.add("client", "request %s: its %s link answered %s, want 200", q.id, step, a)
		return nil
	}
	q.links[step]++
	raw, err := fetchURL(ctx, l.URL)
	if err != nil {
		ph.v.add("client", "request %s: downloading its %s: %v", q.id, step, err)
	}
	return raw
}

// fetchURL downloads a presigned link, trying three times.
func fetchURL(ctx context.Context, url string) ([]byte, error) {
	var err error
	for try := range 3 {
		sleep(ctx, time.Duration(try)*500*time.Millisecond)
		var req *http.Request
		if req, err = http.NewRequestWithContext(ctx, http.MethodGet, url, nil); err != nil {
			return nil, err
		}
		var resp *http.Response
		if resp, err = http.DefaultClient.Do(req); err != nil {
			continue
		}
		raw, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr == nil && resp.StatusCode == http.StatusOK {
			return raw, nil
		}
		err = fmt.Errorf("%d %v %.200s", resp.StatusCode, rerr, raw)
	}
	return nil, err
}

// seed writes everyone's records and returns the census after it.
func (e *faultEnv) seed(everyone []*person) census {
	seedPeople(e.t, e.clean, e.stack, everyone)
	return takeCensus(e.t, e.clean, e.stack.Registry)
}

// maxShown is how many violations of one check a test prints in full.
const maxShown = 30

// report fails the test with every violation found, by check.
func (v *violations) report(t *testing.T, label string) {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, check := range slices.Sorted(maps.Keys(v.byCheck)) {
		msgs := slices.Sorted(slices.Values(v.byCheck[check]))
		for i, m := range msgs {
			if i == maxShown {
				t.Errorf("%s [%s]: … and %d more", label, check, len(msgs)-maxShown)
				break
			}
			t.Errorf("%s [%s]: %s", label, check, m)
		}
	}
}

// logFigures logs what the phase did and found.
func (ph *phase) logFigures(t *testing.T, f phaseFigures) {
	t.Helper()
	t.Logf("%s: %d people, %d requests answered 202, clients done in %s; API answers the clients retried: %d 5xx, %d without answer, %d 429",
		ph.name, len(ph.people), f.requests, ph.elapsed.Round(time.Second), ph.api.retried5xx.Load(), ph.api.retriedLost.Load(), ph.api.retried429.Load())
	ph.proxy.log(t, ph.name)
	t.Logf("%s: terminal by status %v; lost %d; orphans %d", ph.name, f.byStatus, f.lost, f.orphans)
	t.Logf("%s: audit steps missing %d (in %d trails), recorded more than once %d (in %d trails); trails out of order %d; trails the integrity check finds broken %d",
		ph.name, f.missingSteps, f.missingIn, f.doubledSteps, f.doubledIn, f.outOfOrder, f.integrityBroken)
	t.Logf("%s: attempts counted otherwise than spent %d; wrong objects %d; wrong reports or certificates %d; unexpected answers %d",
		ph.name, f.attempts, f.objects, f.results, f.clients)
	p50, p95 := percentiles(f.verifyToCompleted)
	t.Logf("%s: verify → completed (stored times) p50 %s, p95 %s over %d completed requests", ph.name, p50, p95, len(f.verifyToCompleted))
}

// percentiles are the median and the 95th percentile of d.
func percentiles(d []time.Duration) (p50, p95 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	s := slices.Sorted(slices.Values(d))
	return s[(len(s)-1)*50/100].Round(time.Millisecond), s[(len(s)-1)*95/100].Round(time.Millisecond)
}

// faultPeople is how many people the fault phase has: DSR_FAULT_PEOPLE,
// default 182 (with those who submit twice, 200 requests).
func faultPeople(t *testing.T) int {
	n := 182
	if v := os.Getenv("DSR_FAULT_PEOPLE"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		must(t, err)
	}
	return n
}

// faultRate is the share of the stack's AWS calls the proxy faults.
const faultRate = 0.10

// TestExactlyOnceUnderFaults drives 200 requests (access, erasure,
// objection to direct marketing; some submitted twice, some after a wrong
// code; every right code sent twice) through the public API of one stack
// while the fault proxy faults 10 % of its AWS calls, after a smaller run
// without faults on the same stack, and holds what the stack stored to what
// the clients were answered: every request answered 202 completed, no
// request stored that no client was answered, each report exactly its
// person's records, erased people gone from every contact table and nobody
// else's rows changed, each document written once, every audit trail
// complete, in order, each step once, and so by the pipeline's own
// integrity check, and each attempt counted once. Figures are logged, never
// asserted. The phases' time limits are generous: the emulator's
// transactions take most of the time (README, "Exactly once under faults").
func TestExactlyOnceUnderFaults(t *testing.T) {
	e := newFaultEnv(t)
	quiet, faulted := people("clean", 0, 20), people("faults", 1, faultPeople(t))
	before := e.seed(append(slices.Clone(quiet), faulted...))
	calm := e.runPhase(phaseSpec{name: "without faults", people: quiet, inFlight: 12, limit: 3 * time.Minute})
	stormy := e.runPhase(phaseSpec{name: "with faults", people: faulted, rate: faultRate, inFlight: 12, limit: 10 * time.Minute})
	after := takeCensus(t, e.clean, e.stack.Registry)
	fc, ff := e.checker.check(calm), e.checker.check(stormy)
	calm.logFigures(t, fc)
	stormy.logFigures(t, ff)
	c50, c95 := percentiles(fc.verifyToCompleted)
	f50, f95 := percentiles(ff.verifyToCompleted)
	if c50 > 0 && c95 > 0 {
		t.Logf("verify → completed with faults / without: p50 ×%.1f, p95 ×%.1f", f50.Seconds()/c50.Seconds(), f95.Seconds()/c95.Seconds())
	}
	var rows violations
	checkRows(&rows, before, after, append(slices.Clone(quiet), faulted...), e.stack.Registry)
	e.logStackErrors()
	calm.v.report(t, calm.name)
	stormy.v.report(t, stormy.name)
	rows.report(t, "contact tables")
}

// TestExactlyOnceAfterKill stops every consumer of one stack (its SQS
// pollers and stream readers) while requests are in flight, as a crash of
// every function instance would, starts them again 3 s later, and holds the
// outcome to the checks of TestExactlyOnceUnderFaults. The messages the
// stopped consumers had received come back after their visibility timeout
// (a minute for the worker's): this test takes that long at least.
func TestExactlyOnceAfterKill(t *testing.T) {
	e := newFaultEnv(t)
	everyone := people("kill", 2, 48)
	before := e.seed(everyone)
	// Up to 32 requests under way at once: many are in flight at the kill.
	ph := e.startPhase(phaseSpec{name: "after the kill", people: everyone, inFlight: 32, limit: 5 * time.Minute})
	e.kill(ph, len(everyone)/3)
	ph.wait()
	after := takeCensus(t, e.clean, e.stack.Registry)
	f := e.checker.check(ph)
	ph.logFigures(t, f)
	var rows violations
	checkRows(&rows, before, after, everyone, e.stack.Registry)
	e.logStackErrors()
	ph.v.report(t, ph.name)
	rows.report(t, "contact tables")
}

// kill stops the stack's consumers once n right codes were answered, counts
// the requests then in flight, and starts the consumers again 3 s later.
func (e *faultEnv) kill(ph *phase, n int) {
	for ph.verified.Load() < int64(n) {
		select {
		case <-ph.done:
			e.t.Errorf("the workload ended before %d requests were verified", n)
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	e.stack.StopConsumers()
	stopped, verified := time.Now(), ph.verified.Load()
	queued, inProgress := e.checker.inFlight(ph)
	time.Sleep(3 * time.Second)
	if err := e.stack.StartConsumers(); err != nil {
		e.t.Errorf("start the consumers again: %v", err)
	}
	e.t.Logf("after the kill: consumers stopped once %d requests were verified; then %d queued and %d in progress; started again %s later",
		verified, queued, inProgress, time.Since(stopped).Round(time.Millisecond))
}

// logStackErrors logs what the stack's loops reported (a stream reader
// that could not start, for one).
func (e *faultEnv) logStackErrors() {
	for {
		select {
		case err := <-e.stack.Errors():
			e.t.Logf("the local stack reported: %v", err)
		default:
			return
		}
	}
}
