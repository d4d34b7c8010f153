package monitor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/memstore"
	"github.com/privacyops/dsr/internal/monitor"
)

func TestMonitor(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2027, 3, 10, 6, 0, 0, 0, time.UTC)
	store := &memstore.Requests{}
	add := func(id string, received time.Time, due time.Time, path ...dsr.Status) {
		t.Helper()
		r := &dsr.Request{ID: id, Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification, Email: "grace.hopper@example.com",
			ReceivedAt: received, UpdatedAt: received, DueAt: due}
		if err := store.Create(ctx, r, dsrtest.Step(dsr.AuditReceived)); err != nil {
			t.Fatal(err)
		}
		from := dsr.StatusAwaitingVerification
		for _, to := range path {
			if err := store.Transition(ctx, id, from, to, received, dsr.Changes{}, dsrtest.StepTo(to)); err != nil {
				t.Fatal(err)
			}
			from = to
		}
	}
	day := 24 * time.Hour
	add("old-unverified", now.Add(-8*day), now.Add(22*day))
	add("new-unverified", now.Add(-6*day), now.Add(24*day))
	add("unverified-no-clock", now.Add(-9*day), time.Time{}) // clock at verification: no due date
	add("overdue", now.Add(-40*day), now.Add(-day), dsr.StatusQueued, dsr.StatusInProgress)
	add("failed-overdue", now.Add(-35*day), now.Add(-2*time.Hour), dsr.StatusQueued, dsr.StatusFailed)
	add("due-soon", now.Add(-25*day), now.Add(5*day), dsr.StatusQueued)
	add("due-later", now.Add(-10*day), now.Add(20*day), dsr.StatusQueued)
	add("completed-late", now.Add(-40*day), now.Add(-day), dsr.StatusQueued, dsr.StatusInProgress, dsr.StatusCompleted)
	// More than one page of stale requests: paging while expiring misses none.
	for i := range 150 {
		add(fmt.Sprintf("stale-%03d", i), now.Add(-10*day-time.Duration(i)*time.Minute), now.Add(20*day))
	}

	mailer := &dsrtest.Mailer{}
	var metrics bytes.Buffer
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	h := &monitor.Handler{Store: store, Mailer: mailer, DPOAddress: "dpo@shop.example", Zone: berlin, Metrics: &metrics, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	if err := h.Handle(ctx, events.EventBridgeEvent{Time: now, DetailType: "Scheduled Event"}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]dsr.Status{
		"old-unverified": dsr.StatusExpired, "unverified-no-clock": dsr.StatusExpired, "new-unverified": dsr.StatusAwaitingVerification,
		"overdue": dsr.StatusInProgress, "due-soon": dsr.StatusQueued,
	} {
		if r, _ := store.Get(ctx, id); r.Status != want {
			t.Errorf("%s: %s, want %s", id, r.Status, want)
		}
	}
	var rec map[string]any
	if err := json.Unmarshal(metrics.Bytes(), &rec); err != nil {
		t.Fatalf("EMF record: %v: %s", err, metrics.String())
	}
	got := map[string]any{"overdue": rec["OverdueRequests"], "soon": rec["RequestsDueWithin7Days"], "expired": rec["UnverifiedRequestsExpired"]}
	if diff := cmp.Diff(map[string]any{"overdue": 2.0, "soon": 1.0, "expired": 152.0}, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	aws := rec["_aws"].(map[string]any)
	if aws["Timestamp"] != float64(now.UnixMilli()) || !strings.Contains(metrics.String(), `"Namespace":"DataSubjectRequests"`) {
		t.Errorf("EMF metadata: %v", aws)
	}
	if len(mailer.Mails) != 1 {
		t.Fatalf("digests: %d", len(mailer.Mails))
	}
	d := mailer.Mails[0]
	if d.To != "dpo@shop.example" || !strings.Contains(d.Subject, "2 overdue, 1 due within 7 days") ||
		!strings.Contains(d.Text, "failed-overdue") || !strings.Contains(d.Text, "g***@e***.com") || strings.Contains(d.Text, "grace.hopper") ||
		!strings.Contains(d.Text, "now expired: 152") ||
		// Due dates as the DPO counts them, in the controller's zone: 06:00 UTC is 07:00 in Berlin.
		!strings.Contains(d.Text, "due 2027-03-15 07:00 CET") {
		t.Errorf("digest:\n%s\n%s", d.Subject, d.Text)
	}

	// The next day nothing is new to expire, and a quiet day sends no mail.
	quiet := &memstore.Requests{}
	mailer.Mails = nil
	h.Store = quiet
	if err := h.Handle(ctx, events.EventBridgeEvent{Time: now}); err != nil || len(mailer.Mails) != 0 {
		t.Errorf("quiet day: %v, %d mails", err, len(mailer.Mails))
	}
}

// The digest tells the DPO how many people reached a per-person limit the
// day before: a day that was quiet otherwise sends it too.
func TestDigestOfLimits(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2027, 2, 20, 6, 0, 0, 0, time.UTC)
	limits := &memstore.Limits{}
	for _, l := range []string{dsr.LimitWrongCodes, dsr.LimitWrongCodes, dsr.LimitCodes} {
		if err := limits.CountReached(ctx, "2027-02-19", l); err != nil {
			t.Fatal(err)
		}
	}
	if err := limits.CountReached(ctx, "2027-02-20", dsr.LimitOpenRequests); err != nil { // today's: the next digest's
		t.Fatal(err)
	}
	mailer := &dsrtest.Mailer{}
	var metrics bytes.Buffer
	h := &monitor.Handler{Store: &memstore.Requests{}, Limits: limits, Mailer: mailer, DPOAddress: "dpo@shop.example", Metrics: &metrics,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	if err := h.Handle(ctx, events.EventBridgeEvent{Time: now}); err != nil {
		t.Fatal(err)
	}
	if len(mailer.Mails) != 1 {
		t.Fatalf("%d digests, want 1", len(mailer.Mails))
	}
	text := mailer.Mails[0].Text
	for _, want := range []string{"per-person limit on 2027-02-19 (UTC): 3", "wrong_codes_per_day    2", "codes_per_day          1"} {
		if !strings.Contains(text, want) {
			t.Errorf("digest lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, dsr.LimitOpenRequests) {
		t.Errorf("today's count is in yesterday's digest:\n%s", text)
	}
	if !strings.Contains(metrics.String(), `"PeopleAtLimitsYesterday":3`) {
		t.Errorf("metrics: %s", metrics.String())
	}
}
