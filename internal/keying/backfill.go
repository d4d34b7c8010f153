package keying

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/emf"
	"github.com/privacyops/dsr/internal/sqsbatch"
)

// Passes keeps the backfill's passes and segment checkpoints, and says which
// purposes' tables are keyed (dynamo.Keying).
type Passes interface {
	Pass(ctx context.Context, purpose string) (dsr.BackfillPass, error)
	SavePass(ctx context.Context, p dsr.BackfillPass) (dsr.BackfillPass, error)
	Segment(ctx context.Context, purpose string, i int) (dsr.BackfillSegment, error)
	SaveSegment(ctx context.Context, purpose string, s dsr.BackfillSegment) error
}

// Continuer asks for a new invocation that resumes purpose's backfill.
type Continuer interface {
	ContinueBackfill(ctx context.Context, purpose string) error
}

// Segments is how many parallel scan segments a pass reads.
const Segments = 4

// PageSize is how many records one scan page reads at most.
const PageSize = 500

// Backfill keys the records a purpose table held before its stream was
// keyed: a parallel Scan in Segments segments, each checkpointed after every
// page, so that a run stopped anywhere (its deadline, a crash) resumes where
// it was and keys every record once. A record keyed already, by the stream
// or an earlier run, is left alone.
type Backfill struct {
	Keyer    *Keyer
	Passes   Passes
	Continue Continuer
	Registry dsr.Registry
	// Reserve is the time kept before the deadline: a run with less left
	// stops after its page and continues in a new invocation.
	Reserve time.Duration
	// Metrics receives an EMF record per discarded stream batch (os.Stdout
	// in Lambda); nil writes none.
	Metrics io.Writer
	Log     *slog.Logger
	Clock   dsr.Clock
}

// Summary is what one run did for one purpose.
type Summary struct {
	Purpose   string    `json:"purpose"`
	Scanned   int       `json:"scanned"`
	Keyed     int       `json:"keyed"`
	Unkeyable int       `json:"unkeyable"`
	Complete  bool      `json:"complete"`
	KeyedAsOf time.Time `json:"keyedAsOf,omitzero"`
	Continued bool      `json:"continued"`
}

// Run runs the backfill of req's purpose: its pass goes on, or a new one
// starts (see Request).
func (b *Backfill) Run(ctx context.Context, req Request) (Summary, error) {
	purpose := req.Purpose
	p, ok := b.Registry.Lookup(purpose)
	if !ok {
		return Summary{}, fmt.Errorf("backfill: %q is no purpose of the registry", purpose)
	}
	pass, err := b.pass(ctx, req)
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{Purpose: purpose}
	if pass.Complete() {
		sum.Complete, sum.KeyedAsOf = true, pass.StartedAt
		return sum, nil
	}
	segs, err := b.scanAll(ctx, p, pass)
	if err != nil {
		return sum, err
	}
	done := true
	for _, s := range segs {
		sum.Scanned, sum.Keyed, sum.Unkeyable = sum.Scanned+s.Scanned, sum.Keyed+s.Keyed, sum.Unkeyable+s.Unkeyable
		done = done && s.Done
	}
	if !done {
		if err := b.Continue.ContinueBackfill(ctx, purpose); err != nil {
			return sum, fmt.Errorf("backfill %s: continue: %w", purpose, err)
		}
		sum.Continued = true
		return sum, nil
	}
	pass.CompletedAt = b.Clock.Now()
	if _, err := b.Passes.SavePass(ctx, pass); err != nil && dsr.ErrorCodeOf(err) != dsr.EConflict {
		return sum, err
	}
	sum.Complete, sum.KeyedAsOf = true, pass.StartedAt
	b.Log.InfoContext(ctx, "backfill complete", "purpose", purpose, "scanned", sum.Scanned, "keyed", sum.Keyed, "unkeyable", sum.Unkeyable, "event", "backfilled")
	return sum, nil
}

// pass returns the pass to go on with, starting a new one if req needs it.
func (b *Backfill) pass(ctx context.Context, req Request) (dsr.BackfillPass, error) {
	purpose := req.Purpose
	pass, err := b.Passes.Pass(ctx, purpose)
	if err != nil {
		return pass, err
	}
	if !req.needsNewPass(pass) {
		return pass, nil
	}
	next := dsr.BackfillPass{Purpose: purpose, StartedAt: b.Clock.Now().Truncate(time.Millisecond), Segments: Segments, Version: pass.Version}
	saved, err := b.Passes.SavePass(ctx, next)
	if dsr.ErrorCodeOf(err) == dsr.EConflict {
		return b.Passes.Pass(ctx, purpose) // another run started one: go on with it
	}
	return saved, err
}

// scanAll scans every segment of pass at once, each to its end or until the
// deadline nears, and returns where each stands.
func (b *Backfill) scanAll(ctx context.Context, p dsr.Purpose, pass dsr.BackfillPass) ([]dsr.BackfillSegment, error) {
	segs := make([]dsr.BackfillSegment, pass.Segments)
	errs := make([]error, pass.Segments)
	var wg sync.WaitGroup
	for i := range pass.Segments {
		wg.Go(func() { segs[i], errs[i] = b.scan(ctx, p, pass, i) })
	}
	wg.Wait()
	return segs, errors.Join(errs...)
}

// scan goes on with segment i of pass, page after page, saving its
// checkpoint after each.
func (b *Backfill) scan(ctx context.Context, p dsr.Purpose, pass dsr.BackfillPass, i int) (dsr.BackfillSegment, error) {
	s, err := b.Passes.Segment(ctx, p.Name, i)
	if err != nil {
		return s, err
	}
	if !s.Pass.Equal(pass.StartedAt) {
		s = dsr.BackfillSegment{Segment: i, Pass: pass.StartedAt} // a new pass starts from the beginning
	}
	for !s.Done && !b.nearDeadline(ctx) {
		states, next, err := b.Keyer.Contacts.ScanSegment(ctx, p, i, pass.Segments, s.Cursor, PageSize)
		if err != nil {
			return s, fmt.Errorf("backfill %s segment %d: %w", p.Name, i, err)
		}
		for _, st := range states {
			o, err := b.Keyer.Key(ctx, p, st, b.Clock.Now())
			if err != nil {
				return s, fmt.Errorf("backfill %s segment %d: %w", p.Name, i, err)
			}
			s.Keyed += boolInt(o == Keyed)
			s.Unkeyable += boolInt(o == Unkeyable)
		}
		s.Scanned += len(states)
		s.Cursor, s.Done = next, next == ""
		if err := b.Passes.SaveSegment(ctx, p.Name, s); err != nil {
			return s, err
		}
		// The progress: one line per page and segment.
		b.Log.InfoContext(ctx, "backfill page", "purpose", p.Name, "segment", i, "scanned", s.Scanned, "keyed", s.Keyed,
			"unkeyable", s.Unkeyable, "done", s.Done, "event", "backfill_page")
	}
	return s, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (b *Backfill) nearDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && time.Until(d) < b.Reserve
}

// Request is what the backfill function is invoked with, directly or as a
// message of its continuation queue: a purpose of the registry, or "*" for
// every one; restart starts a new pass where one is complete.
type Request struct {
	Purpose string `json:"purpose"`
	// Restart starts a new pass over a table whose pass is complete (one in
	// progress goes on).
	Restart bool `json:"restart,omitempty"`
	// StartedAfter, when set, starts a new pass unless the current one
	// started after it, complete or not: records written before it may be
	// unkeyed (a stream batch Lambda discarded), and only a pass that
	// started later reads them all. A redelivery goes on with that pass.
	StartedAfter time.Time `json:"startedAfter,omitzero"`
}

// needsNewPass reports whether r needs a new pass over its table rather
// than cur.
func (r Request) needsNewPass(cur dsr.BackfillPass) bool {
	switch {
	case cur.Segments == 0:
		return true // never run
	case !r.StartedAfter.IsZero():
		return !cur.StartedAt.After(r.StartedAfter)
	default:
		return r.Restart && cur.Complete()
	}
}

// Invoke handles one invocation of the backfill function: a Request (the
// answer is each purpose's Summary) or an SQS batch (the answer is an
// SQSEventResponse; a failed run fails its message) of continuation
// messages and of the stream batches Lambda discarded (Discarded).
func (b *Backfill) Invoke(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
	var probe struct {
		Records []events.SQSMessage `json:"Records"`
	}
	if err := json.Unmarshal(payload, &probe); err == nil && len(probe.Records) > 0 {
		resp := sqsbatch.Runner{Failed: "backfill continuation failed", Log: b.Log}.Run(ctx, events.SQSEvent{Records: probe.Records}, b.message)
		return json.Marshal(resp)
	}
	sums, err := b.handle(ctx, payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(sums)
}

// message runs what one SQS message asks: a continuation, or a new pass
// over the table of a discarded stream batch.
func (b *Backfill) message(ctx context.Context, m events.SQSMessage) error {
	var probe struct {
		Info json.RawMessage `json:"DDBStreamBatchInfo"`
	}
	if json.Unmarshal([]byte(m.Body), &probe) != nil || probe.Info == nil {
		_, err := b.handle(ctx, []byte(m.Body))
		return err
	}
	req, d, err := b.discarded([]byte(m.Body))
	if err != nil {
		return err
	}
	b.Log.ErrorContext(ctx, "a stream batch was discarded after its retries: the table's backfill starts a new pass, and requests that need it wait until it completes",
		"messageId", m.MessageId, "purpose", req.Purpose, "shard", d.Info.ShardID, "first", d.Info.StartSequenceNumber,
		"last", d.Info.EndSequenceNumber, "records", d.Info.BatchSize, "event", "stream_batch_discarded")
	if b.Metrics != nil {
		if err := emf.Write(b.Metrics, b.Clock.Now(), map[string]string{"Purpose": req.Purpose}, map[string]int{"StreamBatchesDiscarded": 1}); err != nil {
			b.Log.ErrorContext(ctx, "discarded-batch metric not written", "error", err.Error())
		}
	}
	_, err = b.Run(ctx, req)
	return err
}

// Discarded is what Lambda sends to a stream event source's on-failure
// destination when a batch has exhausted its retries: where the batch lay
// in the stream, not its records.
type Discarded struct {
	Timestamp time.Time `json:"timestamp"`
	Info      struct {
		ShardID             string    `json:"shardId"`
		StartSequenceNumber string    `json:"startSequenceNumber"`
		EndSequenceNumber   string    `json:"endSequenceNumber"`
		LastArrival         time.Time `json:"approximateArrivalOfLastRecord"`
		BatchSize           int       `json:"batchSize"`
		StreamArn           string    `json:"streamArn"`
	} `json:"DDBStreamBatchInfo"`
}

// discarded reads a discarded batch's message: the new pass it needs, over
// the table of its stream, started after its records were all written.
func (b *Backfill) discarded(body []byte) (Request, *Discarded, error) {
	var d Discarded
	if err := json.Unmarshal(body, &d); err != nil {
		return Request{}, nil, fmt.Errorf("discarded stream batch: %w", err)
	}
	table := tableOfStream(d.Info.StreamArn)
	p, ok := b.Registry.ByTable(table)
	if !ok {
		return Request{}, nil, fmt.Errorf("discarded stream batch of table %q, which is no purpose table of the registry", table)
	}
	after := d.Timestamp
	if a := d.Info.LastArrival; !a.IsZero() && a.Add(time.Second).After(after) { // arrival is in whole seconds
		after = a.Add(time.Second)
	}
	if after.IsZero() {
		return Request{}, nil, errors.New("discarded stream batch: neither timestamp nor approximateArrivalOfLastRecord")
	}
	return Request{Purpose: p.Name, StartedAfter: after.UTC()}, &d, nil
}

func (b *Backfill) handle(ctx context.Context, body []byte) ([]Summary, error) {
	var req Request
	if err := dsr.DecodeStrict(body, &req); err != nil {
		return nil, fmt.Errorf("backfill: %w", err)
	}
	if req.Purpose == "" {
		return nil, errors.New(`backfill: purpose is required: a purpose of the registry, or "*" for all`)
	}
	purposes := []string{req.Purpose}
	if req.Purpose == "*" {
		purposes = b.Registry.Names()
	}
	var sums []Summary
	for _, purpose := range purposes {
		sum, err := b.Run(ctx, Request{Purpose: purpose, Restart: req.Restart, StartedAfter: req.StartedAfter})
		if err != nil {
			return sums, err
		}
		sums = append(sums, sum)
	}
	return sums, nil
}
