package memstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/memstore"
	"github.com/privacyops/dsr/internal/storetest"
	"github.com/privacyops/dsr/internal/worker"
)

// The worker's purpose tables, which the fake stands in for.
var _ worker.Contacts = (*memstore.Contacts)(nil)

// marketing is a purpose as template.yaml declares it, its table keyed on
// contactId.
var marketing = dsr.Purpose{Name: "marketing", Table: "T-marketing", SubjectIndex: "by-subject", Identifier: "email", SubjectKeyAttribute: "dsrSubjectKey"}

func TestContactsContract(t *testing.T) {
	storetest.RunContacts(t, func(_ *testing.T, pageSize int) storetest.ContactTable {
		c := &memstore.Contacts{PageSize: pageSize}
		return storetest.ContactTable{Store: c, Purpose: marketing, Key: "contactId", Put: func(_ context.Context, items ...map[string]any) error {
			c.Put(marketing, "contactId", items...)
			return nil
		}}
	})
}

// TestContactsHelpers: what the worker's tests seed and look at.
func TestContactsHelpers(t *testing.T) {
	ctx := context.Background()
	ada := dsr.Subject{Email: "ada@example.com", Key: "key-ada"}
	c := &memstore.Contacts{PageSize: 2}
	refs := c.Add(marketing, ada, 3)
	c.Add(marketing, dsr.Subject{Email: "grace@example.com", Key: "key-grace"}, 1)
	if diff := cmp.Diff(refs, c.Owned(marketing, ada)); diff != "" {
		t.Errorf("owned (-added +got):\n%s", diff)
	}
	if got := c.Items(marketing); len(got) != 4 || got[0]["id"] != "marketing-000000" || got[0]["email"] != "ada@example.com" {
		t.Errorf("items: %v", got)
	}
	if c.Ref(marketing, "marketing-000001") != refs[1] {
		t.Error("Ref does not give the reference of a key")
	}
	r := dsr.Restriction{Reason: dsr.RestrictionObjection, RequestID: "R1"}
	if err := c.Restrict(ctx, marketing, refs[:1], r); err != nil {
		t.Fatal(err)
	}
	if got, ok := c.Restriction(marketing, refs[0]); !ok || !cmp.Equal(r, got) {
		t.Errorf("restriction %+v %v, want %+v", got, ok, r)
	}
	if _, ok := c.Restriction(marketing, refs[1]); ok {
		t.Error("an item never restricted has a restriction")
	}
	throttled := errors.New("throttled")
	c.SetHook(func(op string, p dsr.Purpose) error {
		if op == "Delete" && p.Name == "marketing" {
			return throttled
		}
		return nil
	})
	if err := c.Delete(ctx, marketing, refs); !errors.Is(err, throttled) || len(c.Owned(marketing, ada)) != 3 {
		t.Errorf("a failing Delete: %v, and %d items left", err, len(c.Owned(marketing, ada)))
	}
	if _, _, err := c.FindPage(ctx, marketing, ada, ""); err != nil || c.Calls("FindPage") != 1 || c.Calls("Delete") != 1 {
		t.Errorf("calls: FindPage %d, Delete %d (%v)", c.Calls("FindPage"), c.Calls("Delete"), err)
	}
}

// TestContactsReadBeforeSeeded: a table read before anything is put in it
// is empty, and takes the key of the first items put.
func TestContactsReadBeforeSeeded(t *testing.T) {
	ctx := context.Background()
	billing := dsr.Purpose{Name: "billing", Table: "T-billing", SubjectIndex: "by-subject", Identifier: "customerEmail", SubjectKeyAttribute: "dsrSubjectKey"}
	ada := dsr.Subject{Email: "ada@example.com", Key: "key-ada"}
	c := &memstore.Contacts{}
	if got, err := c.Survey(ctx, billing, ada); err != nil || len(got) != 0 {
		t.Fatalf("an empty table: %+v %v", got, err)
	}
	refs := c.Put(billing, "invoiceId", map[string]any{"invoiceId": "inv-1", "customerEmail": ada.Email, "dsrSubjectKey": ada.Key})
	if diff := cmp.Diff(refs, c.Owned(billing, ada)); diff != "" {
		t.Errorf("owned (-put +got):\n%s", diff)
	}
}
