// Package slogctx lets a context carry log attributes, so that every line a
// unit of work logs names what it works on. A queue consumer opens a Scope
// per message (its message id), the use case Adds the request id once it
// has read the message, and every line logged with that context, the
// consumer's "task failed" included, carries both. A Handler adds them to
// each record, except keys the logger or the record already has.
package slogctx

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"
)

type scopeKey struct{}

// scope is the attributes of one unit of work; Add may be called from any
// goroutine of it.
type scope struct {
	mu    sync.Mutex
	attrs []slog.Attr
}

// Scope returns ctx with a new, empty set of attributes for Add to fill.
func Scope(ctx context.Context) context.Context {
	return context.WithValue(ctx, scopeKey{}, &scope{})
}

// Add adds attributes (key-value pairs or slog.Attr, as slog.Logger.With
// takes them) to the innermost scope of ctx, replacing a key added before;
// without a scope it does nothing.
func Add(ctx context.Context, args ...any) {
	s, _ := ctx.Value(scopeKey{}).(*scope)
	if s == nil {
		return
	}
	r := slog.NewRecord(time.Time{}, 0, "", 0) // a record only parses args
	r.Add(args...)
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Attrs(func(a slog.Attr) bool {
		s.attrs = slices.DeleteFunc(s.attrs, func(b slog.Attr) bool { return b.Key == a.Key })
		s.attrs = append(s.attrs, a)
		return true
	})
}

// attrs returns the attributes ctx's scope holds.
func attrs(ctx context.Context) []slog.Attr {
	s, _ := ctx.Value(scopeKey{}).(*scope)
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.attrs)
}

// Handler adds the attributes of a record's context to the record.
type Handler struct {
	inner slog.Handler
	have  map[string]bool // keys the logger added (With)
}

// New returns a Handler writing through h.
func New(h slog.Handler) *Handler { return &Handler{inner: h} }

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// Handle implements slog.Handler: the context's attributes come after the
// record's, leaving out keys already there.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	extra := attrs(ctx)
	if len(extra) == 0 {
		return h.inner.Handle(ctx, r)
	}
	present := map[string]bool{}
	r.Attrs(func(a slog.Attr) bool { present[a.Key] = true; return true })
	r = r.Clone()
	for _, a := range extra {
		if !present[a.Key] && !h.have[a.Key] {
			r.AddAttrs(a)
		}
	}
	return h.inner.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	have := make(map[string]bool, len(h.have)+len(as))
	for k := range h.have {
		have[k] = true
	}
	for _, a := range as {
		have[a.Key] = true
	}
	return &Handler{inner: h.inner.WithAttrs(as), have: have}
}

// WithGroup implements slog.Handler. The context's attributes of a record
// logged in a group are added inside the group.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name), have: h.have}
}
