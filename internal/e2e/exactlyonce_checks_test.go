//go:build integration

package e2e

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/devstack"
	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
)

// checker reads what the stack stored, with clients straight to the
// emulator, and holds it to what the clients were answered.
type checker struct {
	t        *testing.T
	stack    *devstack.Stack
	outbox   string
	proxy    *faultProxy
	ddb      *dynamodb.Client
	requests *dynamo.Requests
	audit    *dynamo.Audit
	s3       *s3.Client
	bucket   string
	hasher   *dsr.Hasher
	keys     map[string]string // purpose → its table's key attribute
}

func newChecker(t *testing.T, cfg aws.Config, stack *devstack.Stack, outbox string, proxy *faultProxy) *checker {
	t.Helper()
	ddb := dynamodb.NewFromConfig(cfg)
	hasher, err := awsapp.LoadHasher(context.Background(), cfg, stack.Names["PepperSecret"].Ref)
	must(t, err)
	keys, err := seed.KeyAttributes(context.Background(), ddb, stack.Registry)
	must(t, err)
	return &checker{
		t: t, stack: stack, outbox: outbox, proxy: proxy, ddb: ddb, hasher: hasher, keys: keys,
		requests: &dynamo.Requests{Client: ddb, Table: stack.Names["RequestsTable"].Ref},
		audit:    &dynamo.Audit{Client: ddb, Table: stack.Names["AuditTable"].Ref},
		s3:       s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		bucket:   stack.Names["ReportsBucket"].Ref,
	}
}

// phaseFigures are a phase's outcome, as the test logs it.
type phaseFigures struct {
	requests                    int
	byStatus                    map[dsr.Status]int
	lost, orphans               int
	missingSteps, missingIn     int // steps missing, and in how many trails
	doubledSteps, doubledIn     int // steps recorded more than once, and in how many trails
	outOfOrder, integrityBroken int
	attempts                    int // requests whose stored attempts are not the client's
	verifyToCompleted           []time.Duration
	objects, results, clients   int
}

// check holds everything the phase's requests left to their clients'
// answers, and returns the figures.
func (c *checker) check(ph *phase) phaseFigures {
	f := phaseFigures{requests: len(ph.requests), byStatus: map[dsr.Status]int{}}
	ctx := context.Background()
	for _, q := range ph.requests {
		r, err := c.requests.Get(ctx, q.id)
		if err != nil {
			ph.v.add("lost", "request %s (%s of %s) was answered 202 and is not stored: %v", q.id, q.p.typ, q.p.email, err)
			continue
		}
		c.checkTerminal(ph, q, r, &f)
		c.checkAttempts(ph, q, r)
		if r.Status != dsr.StatusCompleted {
			continue
		}
		c.checkResult(ph, q)
		c.checkObjects(ctx, ph, q, r)
		c.checkTrail(ctx, ph, q, r, &f)
	}
	f.orphans = c.checkOrphans(ctx, ph)
	f.lost = ph.v.count("lost")
	f.attempts, f.objects, f.results, f.clients = ph.v.count("attempts"), ph.v.count("objects"), ph.v.count("report"), ph.v.count("client")
	return f
}

func (c *checker) checkTerminal(ph *phase, q *request, r *dsr.Request, f *phaseFigures) {
	f.byStatus[r.Status]++
	switch r.Status {
	case dsr.StatusCompleted:
		if !r.VerifiedAt.IsZero() && !r.CompletedAt.IsZero() {
			f.verifyToCompleted = append(f.verifyToCompleted, r.CompletedAt.Sub(r.VerifiedAt))
		}
	case dsr.StatusAwaitingVerification, dsr.StatusQueued, dsr.StatusInProgress:
		ph.v.add("lost", "request %s (%s of %s) was answered 202 and is still %s (its client saw %q)", q.id, q.p.typ, q.p.email, r.Status, q.status)
	default:
		ph.v.add("lost", "request %s (%s of %s) ended %s, not completed: %s", q.id, q.p.typ, q.p.email, r.Status, r.FailureReason)
	}
}

// checkAttempts: each verification that reached the comparison of codes
// spent one attempt, and no other did. A wrong code answered 400 and the
// right code that verified did; one answered 5xx or not at all may have,
// so with such answers the stored count may lie in a range.
func (c *checker) checkAttempts(ph *phase, q *request, r *dsr.Request) {
	if !q.verified {
		return
	}
	least := q.wrongRefused + 1
	if r.CodeAttempts < least || r.CodeAttempts > least+q.verifyUnsure {
		ph.v.add("attempts", "request %s: %d verification attempts stored; its client's verifications that reached the comparison: %d (and %d answered 5xx or not at all)",
			q.id, r.CodeAttempts, least, q.verifyUnsure)
	}
}

// checkOrphans finds the requests stored for the phase's people that no
// client got a 202 for, and those awaiting a code that was never e-mailed.
func (c *checker) checkOrphans(ctx context.Context, ph *phase) int {
	whose := map[string]*person{}
	for _, p := range ph.people {
		whose[c.hasher.Subject(p.email)] = p
	}
	answered := map[string]bool{}
	for _, q := range ph.requests {
		answered[q.id] = true
	}
	n := 0
	pages := dynamodb.NewScanPaginator(c.ddb, &dynamodb.ScanInput{TableName: &c.requests.Table, ConsistentRead: aws.Bool(true)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		must(c.t, err)
		for _, item := range out.Items {
			var it struct {
				ID         string `dynamodbav:"id"`
				Status     string `dynamodbav:"status"`
				SubjectKey string `dynamodbav:"subjectKey"`
				Type       string `dynamodbav:"type"`
			}
			must(c.t, attributevalue.UnmarshalMap(item, &it))
			p := whose[it.SubjectKey]
			if p == nil {
				continue
			}
			mail := mailed(c.outbox, it.ID)
			switch {
			case !answered[it.ID]:
				n++
				ph.v.add("orphan", "request %s (%s of %s, %s): stored, but no client got a 202 for it (code e-mailed: %v)", it.ID, it.Type, p.email, it.Status, mail)
			case it.Status == string(dsr.StatusAwaitingVerification) && !mail:
				n++
				ph.v.add("orphan", "request %s (%s of %s): awaiting verification, and no code was e-mailed", it.ID, it.Type, p.email)
			}
		}
	}
	return n
}

// checkResult: each access report holds exactly its subject's records;
// each certificate of a person who asked once counts every record once.
func (c *checker) checkResult(ph *phase, q *request) {
	switch {
	case q.p.typ == dsr.TypeAccess && q.report != nil:
		c.checkReportOf(ph, q)
	case q.p.typ != dsr.TypeAccess && q.cert != nil && !q.p.twice:
		// Two erasures of one person share the deletes: only a lone one's
		// counts are exact.
		c.checkCertificateOf(ph, q)
	case q.report == nil && q.cert == nil:
		ph.v.add("report", "request %s (%s of %s) completed, and its client got no report or certificate", q.id, q.p.typ, q.p.email)
	}
}

func (c *checker) checkReportOf(ph *phase, q *request) {
	rep := q.report
	if rep.RequestID != q.id || rep.Subject.Email != q.p.email || len(rep.Purposes) != len(c.stack.Registry) {
		ph.v.add("report", "request %s: report of %s for %s with %d purposes, want %s's with %d", q.id, rep.RequestID, rep.Subject.Email, len(rep.Purposes), q.p.email, len(c.stack.Registry))
		return
	}
	for i, p := range c.stack.Registry {
		var got []string
		for _, rec := range rep.Purposes[i].Records {
			got = append(got, fmt.Sprint(rec.Item[c.keys[p.Name]]))
		}
		sort.Strings(got)
		want := slices.Sorted(slices.Values(q.p.items[p.Name]))
		if rep.Purposes[i].Purpose != p.Name || !slices.Equal(got, want) || rep.Purposes[i].RecordsFound != len(want) {
			ph.v.add("report", "request %s: report purpose %d (%s) holds %v (%d found), want exactly %s's %s records %v",
				q.id, i, rep.Purposes[i].Purpose, got, rep.Purposes[i].RecordsFound, q.p.email, p.Name, want)
		}
	}
}

// checkCertificateOf: an erasure's certificate lists every purpose, an
// objection's to direct marketing those purposes; each counts the person's
// records there, all deleted (an erasure's subject has none in the
// purposes that restrict), read back.
func (c *checker) checkCertificateOf(ph *phase, q *request) {
	o := outcomesByPurpose(*q.cert)
	for _, p := range c.stack.Registry {
		want, planned := len(q.p.items[p.Name]), q.p.typ == dsr.TypeErasure || p.DirectMarketing
		got, listed := o[p.Name]
		switch {
		case listed != planned:
			ph.v.add("report", "request %s: the certificate lists purpose %s: %v, want %v", q.id, p.Name, listed, planned)
		case listed && (got.RecordsFound != want || got.ItemsDeleted != want || !got.Verified):
			ph.v.add("report", "request %s: the certificate's %s: %d found, %d deleted, verified %v; want %d of %s's records, deleted and verified",
				q.id, p.Name, got.RecordsFound, got.ItemsDeleted, got.Verified, want, q.p.email)
		}
	}
}

// partKey is a chunk of a purpose's part, as internal/s3reports keys it.
var partKey = regexp.MustCompile(`^reports/([^/]+)/parts/([a-z0-9_]+)/(\d{6})\.json$`)

// checkObjects: a completed request has its document(s), each written
// once (the emulator answered one PUT), and besides them only the chunks
// of its planned purposes' parts.
func (c *checker) checkObjects(ctx context.Context, ph *phase, q *request, r *dsr.Request) {
	prefix := "reports/" + q.id + "/"
	want := []dsr.Document{dsr.DocCertificate}
	if q.p.typ == dsr.TypeAccess {
		want = []dsr.Document{dsr.DocReportJSON, dsr.DocReportHTML}
	}
	found := map[string]bool{}
	pages := s3.NewListObjectsV2Paginator(c.s3, &s3.ListObjectsV2Input{Bucket: &c.bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		must(c.t, err)
		for _, o := range out.Contents {
			found[aws.ToString(o.Key)] = true
		}
	}
	for _, doc := range want {
		key := prefix + string(doc)
		if n := c.proxy.writesOf("/" + c.bucket + "/" + key); !found[key] || n != 1 {
			ph.v.add("objects", "request %s: %s stored %v, written %d times; want one object, written once", q.id, doc, found[key], n)
		}
		delete(found, key)
	}
	for key := range found {
		if m := partKey.FindStringSubmatch(key); m != nil && slices.Contains(r.PlannedPurposes, m[2]) {
			if i, _ := strconv.Atoi(m[3]); i < r.DoneParts[m[2]] {
				continue // a chunk of a part recorded done
			}
		}
		ph.v.add("objects", "request %s: unexpected object %s (planned %v, parts %v)", q.id, key, r.PlannedPurposes, r.DoneParts)
	}
}

// checkTrail reads the request's audit trail and checks its steps
// (trailProblems), and runs the pipeline's own integrity check on it (the
// DPO's audit route: its chain, its head on the request, the steps the
// status implies), which must agree.
func (c *checker) checkTrail(ctx context.Context, ph *phase, q *request, r *dsr.Request, f *phaseFigures) {
	entries, err := c.audit.Entries(ctx, q.id)
	must(c.t, err)
	integrity := dsr.NewAuditChecker(q.id)
	for _, e := range entries {
		integrity.Add(e)
	}
	chk := integrity.Check(r)
	if !chk.Intact {
		f.integrityBroken++
		ph.v.add("trail integrity", "request %s: the integrity check finds the trail broken: %s; trail %s", q.id, chk.Reason, trailString(entries))
	}
	tp := trailProblems(entries, r, q)
	if chk.Intact && (len(tp.missing) > 0 || tp.extra > 0 || len(tp.unexpected) > 0 || tp.order != "") {
		ph.v.add("trail integrity", "request %s: the integrity check calls the trail intact, but it is not (below)", q.id)
	}
	for _, m := range tp.missing {
		ph.v.add("trail missing", "request %s (%s): step %s missing; trail %s", q.id, q.p.typ, m, trailString(entries))
	}
	for _, d := range tp.doubled {
		ph.v.add("trail doubled", "request %s (%s): step %s; trail %s", q.id, q.p.typ, d, trailString(entries))
	}
	for _, u := range tp.unexpected {
		ph.v.add("trail unexpected", "request %s (%s): unexpected step %s; trail %s", q.id, q.p.typ, u, trailString(entries))
	}
	if tp.order != "" {
		f.outOfOrder++
		ph.v.add("trail order", "request %s (%s): %s; trail %s", q.id, q.p.typ, tp.order, trailString(entries))
	}
	f.missingSteps, f.doubledSteps = f.missingSteps+len(tp.missing), f.doubledSteps+tp.extra
	f.missingIn, f.doubledIn = f.missingIn+boolInt(len(tp.missing) > 0), f.doubledIn+boolInt(tp.extra > 0)
}

// trailString is a trail in brief: "1 received, 2 verified, ...".
func trailString(entries []dsr.AuditEntry) string {
	parts := make([]string, 0, len(entries))
	for _, e := range entries {
		s := fmt.Sprintf("%d %s", e.Seq, e.Action)
		if e.Action == dsr.AuditPurposeDone {
			s += " " + purposeOf(e)
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// purposeOf is the purpose a purpose_done step names ("purpose newsletter:
// 1 chunk(s)").
func purposeOf(e dsr.AuditEntry) string {
	rest, _ := strings.CutPrefix(e.Detail, "purpose ")
	name, _, _ := strings.Cut(rest, ":")
	return name
}

// trailCheck is how a trail differs from the steps its request's state
// implies.
type trailCheck struct {
	missing, doubled, unexpected []string
	extra                        int    // recordings of a step beyond those implied
	order                        string // the first step out of order
}

// stepRank is the order of a completed request's steps: received,
// verified, (waiting for a table's keys), dispatched, its purposes done,
// (recipients told), the person told, completed, then the links signed.
var stepRank = map[dsr.AuditAction]int{
	dsr.AuditReceived: 0, dsr.AuditVerified: 1, dsr.AuditWaiting: 2, dsr.AuditDispatched: 3,
	dsr.AuditPurposeDone: 4, dsr.AuditRecipientsNotified: 5, dsr.AuditPersonNotified: 6, dsr.AuditCompleted: 7, dsr.AuditLinkIssued: 8,
}

// trailProblems compares completed request r's trail with the steps it
// implies: received, verified, dispatched, person_notified and completed
// once each, one purpose_done per planned purpose, recipients_notified at
// most once, a
// wait (keys not ready) any number of times, and a link_issued per link its
// client was signed (plus at most one per link call answered 5xx or not
// at all), in that order.
func trailProblems(entries []dsr.AuditEntry, r *dsr.Request, q *request) trailCheck {
	seqs := map[string][]int{} // step, with its purpose or link → positions
	for _, e := range entries {
		seqs[stepName(e)] = append(seqs[stepName(e)], e.Seq)
	}
	want := map[string][2]int{ // step → least and most recordings
		string(dsr.AuditReceived): {1, 1}, string(dsr.AuditVerified): {1, 1}, string(dsr.AuditDispatched): {1, 1},
		string(dsr.AuditCompleted): {1, 1}, string(dsr.AuditRecipientsNotified): {0, 1}, string(dsr.AuditWaiting): {0, len(entries)},
		string(dsr.AuditPersonNotified): {1, 1}, // the completion notice, once
	}
	for _, p := range r.PlannedPurposes {
		want[string(dsr.AuditPurposeDone)+" "+p] = [2]int{1, 1}
	}
	for step, n := range q.links {
		want[string(dsr.AuditLinkIssued)+" "+step] = [2]int{n, n + q.linksUnsure}
	}
	var tc trailCheck
	for _, step := range slices.Sorted(maps.Keys(want)) {
		w, got := want[step], len(seqs[step])
		if got < w[0] {
			tc.missing = append(tc.missing, step)
		}
		if got > w[1] {
			tc.extra += got - w[1]
			tc.doubled = append(tc.doubled, fmt.Sprintf("%s recorded %d times (seq %v)", step, got, seqs[step]))
		}
	}
	for _, step := range slices.Sorted(maps.Keys(seqs)) {
		if _, ok := want[step]; !ok {
			tc.unexpected = append(tc.unexpected, fmt.Sprintf("%s (seq %v)", step, seqs[step]))
		}
	}
	tc.order = firstOutOfOrder(entries)
	return tc
}

// stepName names a step with what it is about where a request has several
// of its kind: the purpose done, the link signed.
func stepName(e dsr.AuditEntry) string {
	switch e.Action {
	case dsr.AuditPurposeDone:
		return string(e.Action) + " " + purposeOf(e)
	case dsr.AuditLinkIssued:
		return string(e.Action) + " " + e.Detail
	}
	return string(e.Action)
}

// firstOutOfOrder names the first step that comes after a later one.
func firstOutOfOrder(entries []dsr.AuditEntry) string {
	var top *dsr.AuditEntry
	for i := range entries {
		e := &entries[i]
		rank, ok := stepRank[e.Action]
		if !ok {
			continue
		}
		if top != nil && rank < stepRank[top.Action] {
			return fmt.Sprintf("%s (seq %d) after %s (seq %d)", e.Action, e.Seq, top.Action, top.Seq)
		}
		if top == nil || rank > stepRank[top.Action] {
			top = e
		}
	}
	return ""
}

// checkRows: an erased person leaves no row in any contact table, an
// objecting one none in the direct-marketing purposes and the others
// untouched, one who asked for access all theirs; nobody else's rows
// changed (the census counts rows and restricted rows by person).
func checkRows(v *violations, before, after census, everyone []*person, reg dsr.Registry) {
	var asked []string
	for _, p := range everyone {
		asked = append(asked, p.email)
		for _, pur := range reg {
			b, a := before[pur.Name][p.email], after[pur.Name][p.email]
			want := b
			if p.typ == dsr.TypeErasure || (p.typ == dsr.TypeObjection && pur.DirectMarketing) {
				want = [2]int{}
			}
			if a != want {
				v.add("rows", "%s (%s): %s holds %d rows (%d restricted), had %d (%d); want %d (%d)", p.email, p.typ, pur.Name, a[0], a[1], b[0], b[1], want[0], want[1])
			}
		}
	}
	b, a := before.without(asked...), after.without(asked...)
	for _, pur := range reg {
		for _, who := range slices.Sorted(maps.Keys(b[pur.Name])) {
			if b[pur.Name][who] != a[pur.Name][who] {
				v.add("rows", "someone else's rows changed: %s of %s: %v rows (restricted) before, %v after", pur.Name, who, b[pur.Name][who], a[pur.Name][who])
			}
		}
		for who := range a[pur.Name] {
			if _, ok := b[pur.Name][who]; !ok {
				v.add("rows", "rows appeared: %s of %s: %v", pur.Name, who, a[pur.Name][who])
			}
		}
	}
}

// inFlight counts the phase's requests that are queued or in progress now.
func (c *checker) inFlight(ph *phase) (queued, inProgress int) {
	ph.mu.Lock()
	reqs := slices.Clone(ph.requests)
	ph.mu.Unlock()
	for _, q := range reqs {
		r, err := c.requests.Get(context.Background(), q.id)
		if err != nil {
			continue
		}
		queued += boolInt(r.Status == dsr.StatusQueued)
		inProgress += boolInt(r.Status == dsr.StatusInProgress)
	}
	return queued, inProgress
}
