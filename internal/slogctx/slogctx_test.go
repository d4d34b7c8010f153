package slogctx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/slogctx"
)

// lines decodes the JSON lines logged into buf.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		delete(m, "time")
		delete(m, "level")
		out = append(out, m)
	}
	return out
}

func TestScopeAttributesOnEveryLine(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slogctx.New(slog.NewJSONHandler(&buf, nil))).With("function", "worker")
	ctx := slogctx.Scope(context.Background())
	log.InfoContext(ctx, "before")
	slogctx.Add(ctx, "messageId", "m1")
	slogctx.Add(ctx, slog.String("dsrId", "r1"), "purpose", "billing")
	log.InfoContext(ctx, "read")
	log.With("dsrId", "r1").InfoContext(ctx, "the logger has it")
	log.InfoContext(ctx, "the record has it", "messageId", "m1")
	slogctx.Add(ctx, "purpose", "marketing") // replaces
	log.ErrorContext(ctx, "task failed")
	log.Info("no context")
	log.InfoContext(slogctx.Scope(ctx), "an inner scope starts empty")
	want := []map[string]any{
		{"msg": "before", "function": "worker"},
		{"msg": "read", "function": "worker", "messageId": "m1", "dsrId": "r1", "purpose": "billing"},
		{"msg": "the logger has it", "function": "worker", "dsrId": "r1", "messageId": "m1", "purpose": "billing"},
		{"msg": "the record has it", "function": "worker", "messageId": "m1", "dsrId": "r1", "purpose": "billing"},
		{"msg": "task failed", "function": "worker", "messageId": "m1", "dsrId": "r1", "purpose": "marketing"},
		{"msg": "no context", "function": "worker"},
		{"msg": "an inner scope starts empty", "function": "worker"},
	}
	if diff := cmp.Diff(want, lines(t, &buf)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n := strings.Count(buf.String(), `"dsrId"`); n != 4 {
		t.Errorf("dsrId written %d times, want once per line that has it (4):\n%s", n, buf.String())
	}
}

func TestAddWithoutScopeDoesNothing(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slogctx.New(slog.NewJSONHandler(&buf, nil)))
	ctx := context.Background()
	slogctx.Add(ctx, "dsrId", "r1")
	log.InfoContext(ctx, "plain")
	if diff := cmp.Diff([]map[string]any{{"msg": "plain"}}, lines(t, &buf)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestAddFromManyGoroutines(t *testing.T) {
	ctx := slogctx.Scope(context.Background())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); slogctx.Add(ctx, "k", i) }()
	}
	wg.Wait()
	var buf bytes.Buffer
	slog.New(slogctx.New(slog.NewJSONHandler(&buf, nil))).InfoContext(ctx, "x")
	if n := strings.Count(buf.String(), `"k"`); n != 1 {
		t.Errorf("key written %d times: %s", n, buf.String())
	}
}
