// Package storetest is the contract every store fulfils: one suite per
// store, run against the in-memory fake and against the DynamoDB adapter on
// the emulator.
//
// Each suite is a Run… function that lists its cases, one function each,
// named for the behaviour it checks. Each case gets the store newStore
// returns (RunSuppressions: one for all its cases): a fresh fake, or on
// DynamoDB an adapter of the one table the suite's cases share. A case keeps to ids, subject keys, days or statuses of
// its own so that it cannot see another's items. Only cases that touch
// nothing but their own items call t.Parallel; a case that reads across a
// table or index runs alone, after the cases before it are done.
package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privacyops/dsr/internal/dsr"
)

// seq numbers the ids and keys the cases make, unique across suites.
var seq atomic.Int64

// Options tune the suite to the backend.
type Options struct {
	// Sequential runs the concurrency cases one call after another. For
	// moto: it does not serialize conditional writes to one item under
	// parallel requests (DynamoDB does), so ten parallel "attempts < 5"
	// increments can all pass there.
	Sequential bool
}

// concurrently runs f(0) to f(n-1) at once, or one after another when
// o.Sequential, and waits for them.
func (o Options) concurrently(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		if o.Sequential {
			f(i)
			continue
		}
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// noError is the code dsr.ErrorCodeOf gives a nil error.
const noError dsr.ErrorCode = ""

// must stops the case at an error of a step it stands on (not one it checks).
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode checks err's code (noError: that it succeeded).
func wantCode(t *testing.T, what string, err error, want dsr.ErrorCode) {
	t.Helper()
	if got := dsr.ErrorCodeOf(err); got != want {
		t.Errorf("%s: code %q (%v), want %q", what, got, err, want)
	}
}

// wantDiff checks got against want.
func wantDiff(t *testing.T, what string, want, got any, opts ...cmp.Option) {
	t.Helper()
	if diff := cmp.Diff(want, got, opts...); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// aStep is the audit step the cases record with each change they make: the
// store refuses a change without one.
var aStep = dsr.Step{Actor: dsr.SystemActor("storetest"), Action: dsr.AuditWaiting, Detail: "a change of the contract suite", At: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}

// ignoreTrail leaves out of a comparison of requests the head of their
// trails, which the store gives them (RunAudit checks it).
var ignoreTrail = cmpopts.IgnoreFields(dsr.Request{}, "Trail")
