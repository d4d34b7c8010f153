// Package keying keeps a subject key on every contact record: the pepper's
// HMAC of the record's identifier normalized by the one address rule, which
// the purpose tables' subject indexes are keyed on. The CRM writes records
// with the address as it has it ("ADA@EXAMPLE.COM ", "Ada@Example.com");
// the stream consumer keys every insert and change, and the backfill keys
// the records a table held before its stream existed. So the worker finds a
// person's every record, and the index never holds an address.
package keying

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/emf"
)

// Contacts writes subject keys into purpose tables, conditionally, and
// scans them for the backfill (dynamo.Contacts).
type Contacts interface {
	SetSubjectKey(ctx context.Context, p dsr.Purpose, ref, identifier, key string) (bool, error)
	ClearSubjectKey(ctx context.Context, p dsr.Purpose, ref string, identifier *string, key string) (bool, error)
	ScanSegment(ctx context.Context, p dsr.Purpose, segment, total int, cursor string, limit int) ([]dsr.KeyState, string, error)
}

// Ledger records the records that cannot be keyed (dynamo.Keying).
type Ledger interface {
	Unkeyable(ctx context.Context, purpose, ref, reason string, at time.Time) (bool, error)
}

// Keyer keys records: the stream consumer and the backfill share it.
type Keyer struct {
	Contacts Contacts
	Ledger   Ledger
	Hasher   *dsr.Hasher
	// Metrics receives an EMF record per unkeyable record (os.Stdout in
	// Lambda); nil writes none.
	Metrics io.Writer
	Log     *slog.Logger
}

// Outcome is what keying one record did.
type Outcome int

// Outcomes of Key.
const (
	Current   Outcome = iota // the record held its key already (or changed meanwhile)
	Keyed                    // its key was written
	Unkeyable                // its identifier gives no key: recorded and reported
)

// Key gives record st of purpose p the subject key its identifier wants.
// A record that holds it already is left alone, which ends the loop of the
// key's own write coming back on the stream; a record whose identifier gives
// no key loses the key it held (it is linked to no one now), and is
// recorded, logged and counted (metric UnkeyableRecords), never skipped
// silently (the metric and the DPO's digest count each record once).
func (k *Keyer) Key(ctx context.Context, p dsr.Purpose, st dsr.KeyState, now time.Time) (Outcome, error) {
	want, why, err := k.Hasher.WantKey(st)
	if errors.Is(err, dsr.ErrUnkeyable) {
		if st.SubjectKey != "" {
			if _, err := k.Contacts.ClearSubjectKey(ctx, p, st.Ref, st.Identifier, st.SubjectKey); err != nil {
				return Current, err
			}
		}
		return Unkeyable, k.unkeyable(ctx, p, st, why, now)
	}
	if st.SubjectKey == want {
		return Current, nil
	}
	wrote, err := k.Contacts.SetSubjectKey(ctx, p, st.Ref, *st.Identifier, want)
	if err != nil {
		return Current, err
	}
	if !wrote {
		return Current, nil // changed or deleted meanwhile: its own record keys it
	}
	return Keyed, nil
}

func (k *Keyer) unkeyable(ctx context.Context, p dsr.Purpose, st dsr.KeyState, why string, now time.Time) error {
	first, err := k.Ledger.Unkeyable(ctx, p.Name, st.Ref, why, now)
	if err != nil {
		return err
	}
	k.Log.WarnContext(ctx, "record without a usable identifier: not linked to any person", "purpose", p.Name, "reason", why, "first", first, "event", "unkeyable")
	if first && k.Metrics != nil { // once per record, as the digest counts it
		if err := emf.Write(k.Metrics, now, map[string]string{"Purpose": p.Name}, map[string]int{"UnkeyableRecords": 1}); err != nil {
			k.Log.ErrorContext(ctx, "unkeyable metric not written", "error", err.Error())
		}
	}
	return nil
}

// StreamReader reads a stream record of a purpose table (dynamo.StreamKeyState).
type StreamReader func(rec events.DynamoDBEventRecord, p dsr.Purpose) (dsr.KeyState, bool, error)

// Handler consumes the purpose tables' DynamoDB streams.
type Handler struct {
	Keyer    *Keyer
	Read     StreamReader
	Registry dsr.Registry
	Log      *slog.Logger
	Clock    dsr.Clock
}

// Handle keys the record of every insert and change of the batch, in order.
// At the first record that fails it stops and reports that record, so that
// Lambda retries from it (ReportBatchItemFailures: a stream's records are
// retried in order, from the one reported).
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	counts := map[Outcome]int{}
	for _, rec := range ev.Records {
		o, err := h.record(ctx, rec)
		if err != nil {
			h.Log.ErrorContext(ctx, "record not keyed; retried from it", "eventId", rec.EventID, "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
			break
		}
		counts[o]++
	}
	h.Log.InfoContext(ctx, "stream batch keyed", "records", len(ev.Records), "keyed", counts[Keyed], "current", counts[Current],
		"unkeyable", counts[Unkeyable], "event", "keyed")
	return resp, nil
}

func (h *Handler) record(ctx context.Context, rec events.DynamoDBEventRecord) (Outcome, error) {
	table := tableOfStream(rec.EventSourceArn)
	p, ok := h.Registry.ByTable(table)
	if !ok {
		return Current, fmt.Errorf("stream record of table %q, which is no purpose table of the registry", table)
	}
	st, ok, err := h.Read(rec, p)
	if err != nil || !ok {
		return Current, err // a deletion: nothing to key
	}
	return h.Keyer.Key(ctx, p, st, h.Clock.Now())
}

// tableOfStream returns the table name of a stream ARN
// (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>).
func tableOfStream(arn string) string {
	_, rest, _ := strings.Cut(arn, ":table/")
	name, _, _ := strings.Cut(rest, "/")
	return name
}
