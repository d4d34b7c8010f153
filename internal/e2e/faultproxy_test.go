//go:build integration

package e2e

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// faultKind is what the proxy does to one AWS call.
type faultKind string

const (
	faultNone faultKind = ""
	// faultServerError answers 500 in the protocol's own form, without
	// forwarding: InternalServerError (DynamoDB), InternalFailure (SQS),
	// InternalError (S3).
	faultServerError faultKind = "http_500"
	// faultThrottle answers the service's throttling error without
	// forwarding: DynamoDB's ThrottlingException or
	// ProvisionedThroughputExceededException, SQS's RequestThrottled, S3's
	// 503 SlowDown.
	faultThrottle faultKind = "throttle"
	// faultDelay forwards the call after a pause of 200 ms to 1.5 s.
	faultDelay faultKind = "delay"
	// faultDrop forwards the call, so that it takes effect, and then closes
	// the client's connection without an answer.
	faultDrop faultKind = "drop_after_forward"
)

// faultKinds are the kinds the proxy mixes, in equal shares.
var faultKinds = []faultKind{faultServerError, faultThrottle, faultDelay, faultDrop}

// faultProxy stands between the local stack's AWS clients and the emulator
// (AWS_ENDPOINT_URL) and faults a share of their calls, each one chosen by a
// seeded PRNG: which calls it hits depends on the order calls arrive in,
// what it does (the sequence of kinds and delays) does not. Presigned
// downloads (a person's browser, not an SDK) pass untouched.
type faultProxy struct {
	URL      string
	target   *url.URL
	upstream *http.Client
	server   *http.Server
	// tables isolate DynamoDB's transactions, which the emulator does not:
	// see forwardIsolated.
	tables tableLocks

	mu      sync.Mutex
	rng     *rand.Rand
	rate    float64                      // share of calls faulted; 0 while the stack starts
	forced  map[string][]faultKind       // "service.Operation" → the next calls' faults (TestFaultProxyRetriesEveryKind)
	calls   map[string]int               // by "service.Operation"
	faults  map[faultKind]map[string]int // kind → service → count
	writes  map[string]int               // S3 object path → PUTs the emulator answered 2xx
	busy    map[string]time.Duration     // by "service.Operation": the time the emulator took to answer
	pending map[string]faultedCall       // SDK invocation id → its last faulted attempt, until the next one arrives
	retries map[string]*retryCount       // "service.Operation kind" → what the SDK did after a fault
}

// faultedCall is an attempt the proxy faulted, waiting for the SDK's next.
type faultedCall struct {
	key           string // "service.Operation kind"
	attempt, last int    // amz-sdk-request: attempt=N; max=M
	at            time.Time
}

// retryCount is, per operation and kind, how many faulted attempts the SDK
// tried again, gave up after its last attempt, or did not retry (its
// context ended, or the SDK does not retry that answer).
type retryCount struct{ faulted, retried, exhausted, notRetried int }

func startFaultProxy(t *testing.T, target string, seed uint64) *faultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{
		URL: "http://" + ln.Addr().String(), target: u,
		upstream: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}},
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		forced:   map[string][]faultKind{}, calls: map[string]int{}, faults: map[faultKind]map[string]int{},
		writes: map[string]int{}, pending: map[string]faultedCall{}, retries: map[string]*retryCount{}, busy: map[string]time.Duration{},
	}
	p.server = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.server.Serve(ln) }()
	t.Cleanup(func() { _ = p.server.Close() })
	return p
}

// setRate sets the share of calls faulted from now on.
func (p *faultProxy) setRate(rate float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = rate
}

// force makes the next calls of op ("service.Operation") get kinds, one
// each, whatever the rate.
func (p *faultProxy) force(op string, kinds ...faultKind) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forced[op] = append(p.forced[op], kinds...)
}

// awsCall is what the proxy reads of a request: the service and operation,
// and the SDK's invocation and attempt.
type awsCall struct {
	service, op   string
	presigned     bool
	invocation    string
	attempt, last int
}

var (
	credentialScope = regexp.MustCompile(`Credential=[^/]+/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request`)
	sdkAttempt      = regexp.MustCompile(`attempt=(\d+); max=(\d+)`)
)

// identify names the service from X-Amz-Target (the JSON protocols:
// DynamoDB, DynamoDB Streams, SQS, Secrets Manager) or else from the SigV4
// credential scope (S3, whose operation the SDK names in x-id).
func identify(r *http.Request) awsCall {
	c := awsCall{service: "other", op: r.Method, invocation: r.Header.Get("Amz-Sdk-Invocation-Id")}
	if m := sdkAttempt.FindStringSubmatch(r.Header.Get("Amz-Sdk-Request")); m != nil {
		c.attempt, _ = strconv.Atoi(m[1])
		c.last, _ = strconv.Atoi(m[2])
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		prefix, op, _ := strings.Cut(target, ".")
		c.op = op
		switch {
		case strings.HasPrefix(prefix, "DynamoDBStreams_"):
			c.service = "dynamodbstreams"
		case strings.HasPrefix(prefix, "DynamoDB_"):
			c.service = "dynamodb"
		case prefix == "AmazonSQS":
			c.service = "sqs"
		default:
			c.service = strings.ToLower(prefix)
		}
		return c
	}
	q := r.URL.Query()
	if q.Get("X-Amz-Credential") != "" {
		// A person's download through a presigned link, not an SDK call.
		c.service, c.op, c.presigned = "download", r.Method, true
		return c
	}
	if m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		c.service = m[1]
		if c.service == "s3" {
			c.op = s3Operation(r)
		}
	}
	return c
}

// s3Operation names an S3 call (path style: /bucket/key) as the SDK does:
// by its x-id parameter, or else by its method, query and path.
func s3Operation(r *http.Request) string {
	q := r.URL.Query()
	object := strings.Contains(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case q.Get("x-id") != "":
		return q.Get("x-id")
	case q.Has("list-type"):
		return "ListObjectsV2"
	case q.Has("versioning"):
		return r.Method + " versioning"
	case q.Has("delete"):
		return "DeleteObjects"
	case r.Method == http.MethodHead && object:
		return "HeadObject"
	case object:
		return r.Method + " object"
	}
	return r.Method + " bucket"
}

// decide counts the call, notes what the SDK did after an earlier fault of
// the same invocation, and picks this call's fault.
func (p *faultProxy) decide(c awsCall) (faultKind, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	name := c.service + "." + c.op
	p.calls[name]++
	if prev, ok := p.pending[c.invocation]; ok && c.invocation != "" {
		p.retryCount(prev.key).retried++
		delete(p.pending, c.invocation)
	}
	kind := faultNone
	if f := p.forced[name]; len(f) > 0 {
		kind, p.forced[name] = f[0], f[1:]
	} else if !c.presigned && p.rate > 0 && p.rng.Float64() < p.rate {
		kind = faultKinds[p.rng.IntN(len(faultKinds))]
	}
	if kind == faultNone {
		return kind, 0
	}
	if p.faults[kind] == nil {
		p.faults[kind] = map[string]int{}
	}
	p.faults[kind][c.service]++
	delay := time.Duration(0)
	switch kind {
	case faultDelay:
		delay = 200*time.Millisecond + time.Duration(p.rng.Int64N(int64(1300*time.Millisecond)))
	default:
		key := name + " " + string(kind)
		p.retryCount(key).faulted++
		if c.invocation != "" {
			p.pending[c.invocation] = faultedCall{key: key, attempt: c.attempt, last: c.last, at: time.Now()}
		}
	}
	return kind, delay
}

func (p *faultProxy) retryCount(key string) *retryCount {
	if p.retries[key] == nil {
		p.retries[key] = &retryCount{}
	}
	return p.retries[key]
}

// ServeHTTP faults or forwards one call.
func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := identify(r)
	kind, delay := p.decide(c)
	switch kind {
	case faultServerError, faultThrottle:
		writeFault(w, c, kind, p.altThrottle())
		return
	case faultDelay:
		time.Sleep(delay)
	}
	in, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	began := time.Now()
	resp, body, err := p.forwardIsolated(r, c, in)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	p.mu.Lock()
	p.busy[c.service+"."+c.op] += time.Since(began)
	p.mu.Unlock()
	if c.service == "s3" && r.Method == http.MethodPut && resp.StatusCode/100 == 2 {
		p.mu.Lock()
		p.writes[r.URL.Path]++
		p.mu.Unlock()
	}
	if kind == faultDrop {
		dropConnection(w)
		return
	}
	for k, vs := range resp.Header {
		if !hopByHop[k] {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// altThrottle picks, for DynamoDB, which of its two throttling errors to
// answer.
func (p *faultProxy) altThrottle() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rng.IntN(2) == 0
}

var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true, "Proxy-Authorization": true,
	"Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Expect": true,
}

// forwardIsolated forwards a DynamoDB TransactWriteItems while no other
// call uses the tables it writes, and any other DynamoDB call while no
// transaction writes the tables it uses. moto copies each table a
// transaction writes before it starts and, when the transaction is canceled
// (a condition failed, as a retried one's does), puts the copies back:
// every write to those tables that another call made meanwhile, to any
// item, is lost. DynamoDB isolates a transaction to its own items; without
// this, the checks would report the emulator's lost writes as the
// pipeline's.
func (p *faultProxy) forwardIsolated(r *http.Request, c awsCall, in []byte) (*http.Response, []byte, error) {
	if c.service == "dynamodb" {
		defer p.tables.hold(dynamoTables(in), c.op == "TransactWriteItems")()
	}
	return p.forward(r, in)
}

// dynamoTables names the tables a DynamoDB call uses: its TableName, its
// batch's RequestItems, its transaction's items'.
func dynamoTables(body []byte) []string {
	var in struct {
		TableName     string
		RequestItems  map[string]json.RawMessage
		TransactItems []map[string]struct{ TableName string }
	}
	_ = json.Unmarshal(body, &in)
	tables := slices.Collect(maps.Keys(in.RequestItems))
	if in.TableName != "" {
		tables = append(tables, in.TableName)
	}
	for _, item := range in.TransactItems {
		for _, op := range item {
			tables = append(tables, op.TableName)
		}
	}
	return tables
}

// tableLocks are a lock per DynamoDB table.
type tableLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.RWMutex
}

// hold locks tables, exclusively or shared, in the order of their names (so
// that two calls never wait for each other), and returns their release.
func (l *tableLocks) hold(tables []string, exclusive bool) (release func()) {
	slices.Sort(tables)
	tables = slices.Compact(tables)
	held := make([]*sync.RWMutex, 0, len(tables))
	for _, t := range tables {
		l.mu.Lock()
		if l.locks == nil {
			l.locks = map[string]*sync.RWMutex{}
		}
		if l.locks[t] == nil {
			l.locks[t] = &sync.RWMutex{}
		}
		m := l.locks[t]
		l.mu.Unlock()
		if exclusive {
			m.Lock()
		} else {
			m.RLock()
		}
		held = append(held, m)
	}
	return func() {
		for _, m := range held {
			if exclusive {
				m.Unlock()
			} else {
				m.RUnlock()
			}
		}
	}
}

// forward sends r with body in to the emulator as it came (its Host too)
// and reads the whole answer.
func (p *faultProxy) forward(r *http.Request, in []byte) (*http.Response, []byte, error) {
	u := *p.target
	u.Path, u.RawPath, u.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(in))
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range r.Header {
		if !hopByHop[k] {
			out.Header[k] = vs
		}
	}
	out.Host = r.Host
	resp, err := p.upstream.Do(out)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// dropConnection closes the client's connection without an answer: the
// call took effect, and the client cannot know.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("fault proxy: the connection cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// writeFault answers a 500 or a throttling error as the service would.
func writeFault(w http.ResponseWriter, c awsCall, kind faultKind, alt bool) {
	status, body := http.StatusInternalServerError, ""
	switch c.service {
	case "dynamodb", "dynamodbstreams":
		code := "InternalServerError"
		if kind == faultThrottle {
			status, code = http.StatusBadRequest, "ThrottlingException"
			if alt && c.service == "dynamodb" {
				code = "ProvisionedThroughputExceededException"
			}
		}
		body = fmt.Sprintf(`{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":"injected by the fault proxy"}`, code)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		// DynamoDB checksums every answer; the SDK checks it.
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10))
	case "sqs":
		// SQS speaks JSON and names the error as its query protocol did, in
		// x-amzn-query-error, which the SDK's error code comes from.
		code, fault := "InternalFailure", "Receiver"
		if kind == faultThrottle {
			status, code, fault = http.StatusBadRequest, "RequestThrottled", "Sender"
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("x-amzn-query-error", code+";"+fault)
		body = fmt.Sprintf(`{"__type":"com.amazonaws.sqs#%s","message":"injected by the fault proxy"}`, code)
	case "s3":
		code, msg := "InternalError", "We encountered an internal error. Please try again."
		if kind == faultThrottle {
			status, code, msg = http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate."
		}
		w.Header().Set("Content-Type", "application/xml")
		body = fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>FAULT</RequestId><HostId>FAULT</HostId></Error>`, code, msg)
	default: // Secrets Manager and the other JSON services
		code := "InternalFailure"
		if kind == faultThrottle {
			status, code = http.StatusBadRequest, "ThrottlingException"
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		body = fmt.Sprintf(`{"__type":"%s","message":"injected by the fault proxy"}`, code)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// proxyFigures is a copy of the proxy's counts.
type proxyFigures struct {
	calls   map[string]int // by service
	faults  map[faultKind]map[string]int
	retries map[string]retryCount
	busy    []string // the operations the emulator took longest to answer, in all
}

// figures copies the counts, and closes the retry accounting: a faulted
// attempt whose invocation did not come back within 5 s (the SDK's backoff
// is 2 s at most for the attempts the stack makes) was the SDK's last
// (exhausted) or was not retried.
func (p *faultProxy) figures() proxyFigures {
	p.mu.Lock()
	defer p.mu.Unlock()
	for inv, prev := range p.pending {
		if time.Since(prev.at) < 5*time.Second {
			continue
		}
		if prev.last > 0 && prev.attempt >= prev.last {
			p.retryCount(prev.key).exhausted++
		} else {
			p.retryCount(prev.key).notRetried++
		}
		delete(p.pending, inv)
	}
	f := proxyFigures{calls: map[string]int{}, faults: map[faultKind]map[string]int{}, retries: map[string]retryCount{}}
	for op, n := range p.calls {
		f.calls[op[:strings.IndexByte(op, '.')]] += n
	}
	for k, m := range p.faults {
		f.faults[k] = map[string]int{}
		for s, n := range m {
			f.faults[k][s] = n
		}
	}
	for k, r := range p.retries {
		f.retries[k] = *r
	}
	ops := slices.SortedFunc(maps.Keys(p.busy), func(a, b string) int { return cmp.Compare(p.busy[b], p.busy[a]) })
	for _, op := range ops[:min(len(ops), 4)] {
		f.busy = append(f.busy, fmt.Sprintf("%s %s in %d (%s each)", op, p.busy[op].Round(time.Second), p.calls[op], (p.busy[op]/time.Duration(max(p.calls[op], 1))).Round(time.Millisecond)))
	}
	return f
}

// retriesOf is what the SDK did so far after the faults of kind on op
// ("service.Operation").
func (p *faultProxy) retriesOf(op string, kind faultKind) retryCount {
	p.mu.Lock()
	defer p.mu.Unlock()
	return *p.retryCount(op + " " + string(kind))
}

// writesOf is how many PUTs of the object at path the emulator took.
func (p *faultProxy) writesOf(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writes[path]
}

// reset forgets the counts (not the PRNG's place).
func (p *faultProxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls, p.faults = map[string]int{}, map[faultKind]map[string]int{}
	p.pending, p.retries, p.busy = map[string]faultedCall{}, map[string]*retryCount{}, map[string]time.Duration{}
}

// logFigures logs the calls and faults by service and kind, and the SDK's
// answers to the faults.
func (f proxyFigures) log(t *testing.T, label string) {
	t.Helper()
	total, faulted := 0, 0
	for _, n := range f.calls {
		total += n
	}
	byKind := map[string]int{}
	for k, m := range f.faults {
		for _, n := range m {
			byKind[string(k)] += n
			faulted += n
		}
	}
	t.Logf("%s: AWS calls seen by the proxy %d %v; faults injected %d (%.1f %%) by kind %v", label, total, f.calls, faulted, 100*float64(faulted)/float64(max(total, 1)), byKind)
	for _, k := range faultKinds {
		if len(f.faults[k]) > 0 {
			t.Logf("%s:   %s by service %v", label, k, f.faults[k])
		}
	}
	var notRetried []string
	sum := retryCount{}
	for _, k := range sortedRetryKeys(f.retries) {
		r := f.retries[k]
		sum.faulted, sum.retried, sum.exhausted, sum.notRetried = sum.faulted+r.faulted, sum.retried+r.retried, sum.exhausted+r.exhausted, sum.notRetried+r.notRetried
		if r.notRetried > 0 {
			notRetried = append(notRetried, fmt.Sprintf("%s ×%d", k, r.notRetried))
		}
	}
	t.Logf("%s: faulted attempts (500, throttle, drop) %d: retried by the SDK %d, its last attempt %d, not retried %d %v",
		label, sum.faulted, sum.retried, sum.exhausted, sum.notRetried, notRetried)
	t.Logf("%s: the emulator's time, the longest in all: %v", label, f.busy)
}

func sortedRetryKeys(m map[string]retryCount) []string {
	k := make([]string, 0, len(m))
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}
