package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// readBackRounds bounds how often a read-back deletes or restricts what it
// finds and reads again before the task fails (and SQS retries it).
const readBackRounds = 3

// erasing is one purpose of an erasure or objection under way.
type erasing struct {
	r      *dsr.Request
	p      dsr.Purpose
	action dsr.Action
	apply  func(refs []string) error // deletes or restricts items
}

// erase carries out purpose p of erasure or objection r from task t: every
// page of the subject's keys is recorded as a chunk (create-only, so a
// redelivery repeats exactly the first delivery's chunks) and then deleted
// or restricted; the read-back is the last chunk.
func (h *Handler) erase(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose, t dsr.TaskMessage) error {
	if _, done := r.DoneParts[p.Name]; done {
		log.InfoContext(ctx, "redelivered task; part already recorded")
		return h.certify(ctx, r)
	}
	e, err := h.erasing(ctx, r, p)
	if err != nil {
		return err
	}
	index, replayed, finished := t.Chunk, false, false
	rest, err := h.walk(ctx, t.Cursor, func(cursor string) (string, error) {
		c, created, err := h.eraseChunk(ctx, e, cursor, index)
		if err != nil {
			return "", err
		}
		replayed, finished = !created, c.ReadBack != nil
		if finished {
			return "", nil // an earlier delivery finished this purpose up to its read-back
		}
		index++
		return c.Next, e.apply(c.Keys)
	})
	switch {
	case err != nil:
		return err
	case finished:
		return h.purposeDone(ctx, log, e, index+1)
	case rest != "":
		return h.checkpoint(ctx, log, dsr.TaskMessage{RequestID: r.ID, Purpose: p.Name, Cursor: rest, Chunk: index})
	}
	return h.finishErasing(ctx, log, e, index, replayed)
}

// refuse records the part of objection r that names p, where Art. 21 does
// not apply: no record is touched, and the certificate answers that part
// with the reasons and the right to complain (dsr.RefusalFor). The part is
// recorded once, with no chunks, however often the task is delivered.
func (h *Handler) refuse(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose) error {
	if _, done := r.DoneParts[p.Name]; !done {
		var err error
		if r, err = h.recordPart(ctx, log, r, p, 0, dsr.RefusedDetail(p)); err != nil {
			return err
		}
	}
	return h.certify(ctx, r)
}

// erasing prepares purpose p of r: what the registry says to do with its
// items, and the restriction objections and statutory duties put on them.
func (h *Handler) erasing(ctx context.Context, r *dsr.Request, p dsr.Purpose) (erasing, error) {
	action, err := p.ActionFor(r.Type)
	if err != nil {
		return erasing{}, err
	}
	restriction := dsr.RestrictionFor(r, p, h.Clock.Now())
	return erasing{r: r, p: p, action: action, apply: func(refs []string) error {
		switch {
		case len(refs) == 0:
			return nil
		case action == dsr.ActionDelete:
			return h.Contacts.Delete(ctx, p, refs)
		default:
			return h.Contacts.Restrict(ctx, p, refs, restriction)
		}
	}}, nil
}

// eraseChunk reads the page of keys at cursor and records it as chunk index,
// create-only: it returns the chunk as first stored, and whether this call
// stored it. The first chunk keeps the purpose's recipients, read before
// anything is removed, for the certificate and the notices.
func (h *Handler) eraseChunk(ctx context.Context, e erasing, cursor string, index int) (dsr.Chunk, bool, error) {
	refs, next, err := h.Contacts.KeysPage(ctx, e.p, e.r.Subject(), cursor)
	if err != nil {
		return dsr.Chunk{}, false, err
	}
	var recipients []dsr.Recipient
	if index == 0 {
		prov, err := h.provenance(ctx, e.r, e.p.Name, time.Time{})
		if err != nil {
			return dsr.Chunk{}, false, err
		}
		recipients = prov[e.p.Name].Recipients
	}
	return h.Objects.PutChunkOnce(ctx, dsr.Chunk{RequestID: e.r.ID, Purpose: e.p.Name, Index: index, At: h.Clock.Now(),
		Keys: refs, Next: next, Recipients: recipients})
}

// finishErasing reads the table back after the last page, records the
// read-back as the last chunk (index) and the purpose as done. When an
// earlier delivery got this far (replayed) and read back, its read-back
// stands: reading back again could act on items it would not count.
func (h *Handler) finishErasing(ctx context.Context, log *slog.Logger, e erasing, index int, replayed bool) error {
	if replayed {
		if stored, ok, err := h.Objects.FindChunk(ctx, e.r.ID, e.p.Name, index); err != nil {
			return err
		} else if ok && stored.ReadBack != nil {
			return h.purposeDone(ctx, log, e, index+1)
		}
	}
	rb, err := h.readBack(ctx, e.p, e.r, e.action, e.apply)
	if err != nil {
		return err
	}
	if _, _, err := h.Objects.PutChunkOnce(ctx, dsr.Chunk{RequestID: e.r.ID, Purpose: e.p.Name, Index: index, At: rb.At, ReadBack: &rb}); err != nil {
		return err
	}
	log.InfoContext(ctx, "read back", "action", e.action, "restricted", rb.Restricted, "fixed", rb.Fixed)
	return h.purposeDone(ctx, log, e, index+1)
}

// readBack reads p's table back until nothing of the subject is left that
// the action should have removed: what it still finds (added meanwhile, or
// missed) it deletes or restricts and reads again, a few rounds at most.
func (h *Handler) readBack(ctx context.Context, p dsr.Purpose, r *dsr.Request, action dsr.Action, apply func([]string) error) (dsr.ReadBack, error) {
	var fixed []string
	for round := 0; ; round++ {
		items, err := h.Contacts.Survey(ctx, p, r.Subject())
		if err != nil {
			return dsr.ReadBack{}, err
		}
		rb, left := survey(items, action, fixed)
		if len(left) == 0 {
			rb.At = h.Clock.Now()
			return rb, nil
		}
		if round == readBackRounds {
			return dsr.ReadBack{}, fmt.Errorf("read back %s of request %s: %d items still there after %d rounds", p.Name, r.ID, len(left), round)
		}
		if err := apply(left); err != nil {
			return dsr.ReadBack{}, err
		}
		fixed = append(fixed, left...)
	}
}

// survey sorts the items a read-back found into those the action should
// have removed (left) and, for a restriction, the read-back of those
// restricted, with when the first and last become deletable.
func survey(items []dsr.ItemRef, action dsr.Action, fixed []string) (rb dsr.ReadBack, left []string) {
	rb = dsr.ReadBack{Fixed: len(fixed), FixedKeys: fixed}
	for _, it := range items {
		if action == dsr.ActionDelete || !it.Restricted {
			left = append(left, it.Key)
			continue
		}
		rb.Restricted++
		if u := it.Until; !u.IsZero() {
			if rb.FirstDeletable.IsZero() || u.Before(rb.FirstDeletable) {
				rb.FirstDeletable = u
			}
			if u.After(rb.LastDeletable) {
				rb.LastDeletable = u
			}
		}
	}
	return rb, left
}

// purposeDone removes the purpose's provenance if its records were deleted
// (their recipients are in the first chunk), records its part as done in
// chunks chunks and completes the request if it was the last.
func (h *Handler) purposeDone(ctx context.Context, log *slog.Logger, e erasing, chunks int) error {
	if err := h.deleteProvenance(ctx, log, e.r, e.p, e.action); err != nil {
		return err
	}
	r, err := h.recordPart(ctx, log, e.r, e.p, chunks, ", read back")
	if err != nil {
		return err
	}
	return h.certify(ctx, r)
}

// deleteProvenance removes the subject's provenance entries of p when its
// records are deleted: with the records gone, where they came from and went
// to is of no use and is personal data too. Restricted records keep theirs.
func (h *Handler) deleteProvenance(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose, action dsr.Action) error {
	if action != dsr.ActionDelete || r.SubjectKey == "" {
		return nil
	}
	n, err := h.Provenance.DeleteSubject(ctx, r.SubjectKey, p.Name)
	if err != nil {
		return err
	}
	if n > 0 {
		log.InfoContext(ctx, "provenance of the erased purpose deleted", "entries", n)
	}
	return nil
}
