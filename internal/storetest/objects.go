package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privacyops/dsr/internal/dsr"
)

// ObjectStore is the reports bucket's contract (s3reports.Store): every
// method the product uses, and ReadObject, with which the suite reads a
// document back at the key PutDocument returned.
type ObjectStore interface {
	PutChunk(ctx context.Context, p dsr.Chunk) error
	GetChunk(ctx context.Context, id, purpose string, chunk int) (dsr.Chunk, error)
	PutChunkOnce(ctx context.Context, p dsr.Chunk) (dsr.Chunk, bool, error)
	FindChunk(ctx context.Context, id, purpose string, chunk int) (dsr.Chunk, bool, error)
	PutDocument(ctx context.Context, id string, doc dsr.Document, body []byte) (string, error)
	Exists(ctx context.Context, id string, doc dsr.Document) (bool, error)
	PresignGet(ctx context.Context, id string, doc dsr.Document, ttl time.Duration) (string, error)
	DeleteRequestObjects(ctx context.Context, id string) (int, error)
	DeleteOlderThan(ctx context.Context, cutoff time.Time) (int, error)
	Copies(ctx context.Context) ([]dsr.Copy, error)
	ReadObject(ctx context.Context, key string) ([]byte, error)
}

// RunObjects runs the reports bucket's contract against the stores newStore
// returns, each an empty bucket without versioning (as template.yaml's).
func RunObjects(t *testing.T, newStore func(t *testing.T) ObjectStore) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, s ObjectStore)
	}{
		{"a chunk comes back as JSON decodes it: numbers as stored", objectsChunkRoundTrip},
		{"PutChunk replaces a chunk", objectsPutChunkReplaces},
		{"PutChunkOnce keeps the first writer's chunk", objectsPutChunkOnceKeepsTheFirst},
		{"a missing chunk: FindChunk false, GetChunk an error", objectsMissingChunk},
		{"PutDocument keeps the first writer's document", objectsPutDocumentOnce},
		{"PresignGet names the document and the lifetime", objectsPresignGet},
		{"DeleteRequestObjects deletes that request's objects only", objectsDeleteRequestObjects},
		{"DeleteOlderThan deletes what was written before the cutoff", objectsDeleteOlderThan},
		{"an unversioned bucket keeps no copies", objectsNoCopies},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t)) })
	}
}

// RunObjectVersions runs the contract of a versioned reports bucket against
// the stores newStore returns.
func RunObjectVersions(t *testing.T, newStore func(t *testing.T) ObjectStore) {
	t.Run("a versioned bucket keeps noncurrent versions", func(t *testing.T) {
		got, err := newStore(t).Copies(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := []dsr.Copy{{Kind: "object_versions", Resource: "reports"}}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(dsr.Copy{}, "Detail")); diff != "" {
			t.Errorf("copies (-want +got):\n%s", diff)
		}
		if len(got) == 1 && got[0].Detail == "" {
			t.Error("the copy says nothing of itself")
		}
	})
}

// suiteSeq numbers the requests and subjects of the object and contact
// suites, so that cases sharing a bucket or table never meet.
var suiteSeq atomic.Int64

// objectsID returns a new request id.
func objectsID() string { return fmt.Sprintf("01JDOBJ%019d", suiteSeq.Add(1)) }

// chunkOf is a chunk of request id with a bit of everything in it, numbers
// as JSON decodes them with UseNumber.
func chunkOf(id, purpose string, index int) dsr.Chunk {
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	return dsr.Chunk{
		RequestID: id, Purpose: purpose, Index: index, At: at,
		Records: []dsr.Record{{Table: "T-" + purpose, Item: map[string]any{
			"contactId": "c-1", "email": "ada@example.com", "big": json.Number("12345678901234567890"),
			"tags": []any{"a", json.Number("2")}, "address": map[string]any{"city": "Berlin"}, "optIn": true, "none": nil,
		}}},
		Keys: []string{"k1", "k2"}, Next: "cursor",
		ReadBack:   &dsr.ReadBack{At: at, Restricted: 2, Fixed: 1, FixedKeys: []string{"k3"}, LastDeletable: at.AddDate(10, 0, 0)},
		Recipients: []dsr.Recipient{{Recipient: "Example Print GmbH", Country: "DE", Safeguard: "EU", At: at}},
	}
}

func objectsChunkRoundTrip(t *testing.T, s ObjectStore) {
	ctx := context.Background()
	put := chunkOf(objectsID(), "marketing", 0)
	put.Records[0].Item["n"], put.Records[0].Item["ratio"] = 7, 1.5
	if err := s.PutChunk(ctx, put); err != nil {
		t.Fatal(err)
	}
	want := chunkOf(put.RequestID, "marketing", 0)
	want.Records[0].Item["n"], want.Records[0].Item["ratio"] = json.Number("7"), json.Number("1.5")
	got, err := s.GetChunk(ctx, put.RequestID, "marketing", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetChunk (-want +got):\n%s", diff)
	}
	found, ok, err := s.FindChunk(ctx, put.RequestID, "marketing", 0)
	if err != nil || !ok {
		t.Fatalf("FindChunk: %v %v", ok, err)
	}
	if diff := cmp.Diff(want, found); diff != "" {
		t.Errorf("FindChunk (-want +got):\n%s", diff)
	}
}

func objectsPutChunkReplaces(t *testing.T, s ObjectStore) {
	ctx := context.Background()
	first := chunkOf(objectsID(), "billing", 3)
	second := chunkOf(first.RequestID, "billing", 3)
	second.Keys, second.Next, second.ReadBack = []string{"k9"}, "", nil
	for _, p := range []dsr.Chunk{first, second} {
		if err := s.PutChunk(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetChunk(ctx, first.RequestID, "billing", 3)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(second, got); diff != "" {
		t.Errorf("after a second PutChunk (-want the second +got):\n%s", diff)
	}
}

func objectsPutChunkOnceKeepsTheFirst(t *testing.T, s ObjectStore) {
	ctx := context.Background()
	first := chunkOf(objectsID(), "marketing", 1)
	second := chunkOf(first.RequestID, "marketing", 1)
	second.Keys, second.Next = []string{"other"}, "elsewhere"
	var created []bool
	for i, p := range []dsr.Chunk{first, second} {
		got, ok, err := s.PutChunkOnce(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, ok)
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("writer %d got (-want the first's +got):\n%s", i+1, diff)
		}
	}
	if diff := cmp.Diff([]bool{true, false}, created); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	if got, err := s.GetChunk(ctx, first.RequestID, "marketing", 1); err != nil || !cmp.Equal(first, got) {
		t.Errorf("stored: %+v %v, want the first's", got, err)
	}
}

func objectsMissingChunk(t *testing.T, s ObjectStore) {
	ctx := context.Background()
	id := objectsID()
	if err := s.PutChunk(ctx, chunkOf(id, "marketing", 0)); err != nil {
		t.Fatal(err)
	}
	for _, miss := range []struct {
		id, purpose string
		chunk       int
	}{{id, "marketing", 1}, {id, "billing", 0}, {objectsID(), "marketing", 0}} {
		got, ok, err := s.FindChunk(ctx, miss.id, miss.purpose, miss.chunk)
		if err != nil || ok || !cmp.Equal(dsr.Chunk{}, got) {
			t.Errorf("FindChunk %v: %+v %v %v, want nothing, false, no error", miss, got, ok, err)
		}
		if _, err := s.GetChunk(ctx, miss.id, miss.purpose, miss.chunk); err == nil {
			t.Errorf("GetChunk %v: no error", miss)
		}
	}
}

func objectsPutDocumentOnce(t *testing.T, s ObjectStore) {
	ctx := context.Background()
	id := objectsID()
	first, err := s.PutDocument(ctx, id, dsr.DocReportJSON, []byte(`{"writer":1}`))
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.PutDocument(ctx, id, dsr.DocReportJSON, []byte(`{"writer":2}`))
	if err != nil || second != first || !strings.HasSuffix(first, "/"+id+"/"+string(dsr.DocReportJSON)) {
		t.Errorf("keys %q then %q (%v), want one key naming the request and document", first, second, err)
	}
	if got, err := s.ReadObject(ctx, first); err != nil || string(got) != `{"writer":1}` {
		t.Errorf("stored %q %v, want the first writer's", got, err)
	}
	for _, c := range []struct {
		id   string
		doc  dsr.Document
		want bool
	}{{id, dsr.DocReportJSON, true}, {id, dsr.DocReportHTML, false}, {objectsID(), dsr.DocReportJSON, false}} {
		if got, err := s.Exists(ctx, c.id, c.doc); err != nil || got != c.want {
			t.Errorf("Exists(%s, %s) = %v %v, want %v", c.id, c.doc, got, err, c.want)
		}
	}
}

func objectsPresignGet(t *testing.T, s ObjectStore) {
	id := objectsID()
	// Signing needs no object: the link is made before anyone fetches it.
	raw, err := s.PresignGet(context.Background(), id, dsr.DocCertificate, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(u.Path, "/"+id+"/"+string(dsr.DocCertificate)) || u.Query().Get("X-Amz-Expires") != "300" {
		t.Errorf("link %s: want the path to end in /%s/%s and X-Amz-Expires=300", raw, id, dsr.DocCertificate)
	}
}

// putRequestObjects writes chunks of the purposes and the documents of
// request id, and returns how many objects that is.
func putRequestObjects(t *testing.T, s ObjectStore, id string, purposes []string, docs ...dsr.Document) int {
	t.Helper()
	ctx := context.Background()
	for i, p := range purposes {
		if err := s.PutChunk(ctx, chunkOf(id, p, i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range docs {
		if _, err := s.PutDocument(ctx, id, d, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	return len(purposes) + len(docs)
}

// objectsLeft says which of request id's chunks (as putRequestObjects wrote
// them) and documents exist.
func objectsLeft(t *testing.T, s ObjectStore, id string, purposes []string, docs ...dsr.Document) []bool {
	t.Helper()
	ctx := context.Background()
	var left []bool
	for i, p := range purposes {
		_, ok, err := s.FindChunk(ctx, id, p, i)
		if err != nil {
			t.Fatal(err)
		}
		left = append(left, ok)
	}
	for _, d := range docs {
		ok, err := s.Exists(ctx, id, d)
		if err != nil {
			t.Fatal(err)
		}
		left = append(left, ok)
	}
	return left
}

func objectsDeleteRequestObjects(t *testing.T, s ObjectStore) {
	ctx := context.Background()
	id := objectsID()
	longer := id + "B" // another request, whose id starts with id
	purposes, docs := []string{"marketing", "marketing", "billing"}, []dsr.Document{dsr.DocReportJSON, dsr.DocReportHTML}
	n := putRequestObjects(t, s, id, purposes, docs...)
	putRequestObjects(t, s, longer, purposes[:1], docs[:1]...)
	if got, err := s.DeleteRequestObjects(ctx, id); err != nil || got != n {
		t.Errorf("deleted %d (%v), want %d", got, err, n)
	}
	if diff := cmp.Diff([]bool{false, false, false, false, false}, objectsLeft(t, s, id, purposes, docs...)); diff != "" {
		t.Errorf("the request's objects left (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, true}, objectsLeft(t, s, longer, purposes[:1], docs[:1]...)); diff != "" {
		t.Errorf("the objects of %s left (-want +got):\n%s", longer, diff)
	}
	if got, err := s.DeleteRequestObjects(ctx, id); err != nil || got != 0 {
		t.Errorf("deleted again: %d (%v), want 0", got, err)
	}
	// Create-only writes after the deletion create again.
	key, err := s.PutDocument(ctx, id, dsr.DocReportJSON, []byte("new"))
	if b, _ := s.ReadObject(ctx, key); err != nil || !bytes.Equal(b, []byte("new")) {
		t.Errorf("a document written after the deletion: %q (%v)", b, err)
	}
}

func objectsDeleteOlderThan(t *testing.T, s ObjectStore) {
	ctx := context.Background()
	old, recent := objectsID(), objectsID()
	purposes, docs := []string{"marketing"}, []dsr.Document{dsr.DocCertificate}
	n := putRequestObjects(t, s, old, purposes, docs...)
	if got, err := s.DeleteOlderThan(ctx, time.Now().Add(-time.Hour)); err != nil || got != 0 {
		t.Errorf("a cutoff before every write deleted %d (%v)", got, err)
	}
	// S3 keeps last-modified times to the second: the recent objects are
	// written more than a second after the cutoff.
	cutoff := time.Now().Add(time.Millisecond)
	time.Sleep(time.Until(cutoff.Add(1100 * time.Millisecond)))
	putRequestObjects(t, s, recent, purposes, docs...)
	if got, err := s.DeleteOlderThan(ctx, cutoff); err != nil || got != n {
		t.Errorf("deleted %d (%v), want %d", got, err, n)
	}
	if diff := cmp.Diff([]bool{false, false}, objectsLeft(t, s, old, purposes, docs...)); diff != "" {
		t.Errorf("objects written before the cutoff left (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, true}, objectsLeft(t, s, recent, purposes, docs...)); diff != "" {
		t.Errorf("objects written after the cutoff left (-want +got):\n%s", diff)
	}
}

func objectsNoCopies(t *testing.T, s ObjectStore) {
	if got, err := s.Copies(context.Background()); err != nil || len(got) != 0 {
		t.Errorf("copies %+v (%v), want none", got, err)
	}
}
