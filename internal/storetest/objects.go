package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
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

// objectCase is one case of RunObjects.
type objectCase struct {
	name string
	run  func(t *testing.T, s ObjectStore)
}

// RunObjects runs the reports bucket's contract against the stores newStore
// returns, each an empty bucket without versioning (as template.yaml's), so
// every case runs in parallel.
func RunObjects(t *testing.T, newStore func(t *testing.T) ObjectStore) {
	for _, c := range []objectCase{
		{"ChunkComesBackAsJSONDecodesIt", chunkComesBackAsJSONDecodesIt},
		{"PutChunkReplaces", putChunkReplaces},
		{"PutChunkOnceKeepsTheFirstWritersChunk", putChunkOnceKeepsTheFirstWritersChunk},
		{"MissingChunkNotFound", missingChunkNotFound},
		{"PutDocumentKeepsTheFirstWritersDocument", putDocumentKeepsTheFirstWritersDocument},
		{"PresignGetNamesTheDocumentAndTheLifetime", presignGetNamesTheDocumentAndTheLifetime},
		{"DeleteRequestObjectsTakesThatRequestsOnly", deleteRequestObjectsTakesThatRequestsOnly},
		{"DeleteOlderThanTakesWhatWasWrittenBefore", deleteOlderThanTakesWhatWasWrittenBefore},
		{"UnversionedBucketKeepsNoCopies", unversionedBucketKeepsNoCopies},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t)) })
	}
}

// RunObjectVersions runs the contract of a versioned reports bucket against
// the store newStore returns.
func RunObjectVersions(t *testing.T, newStore func(t *testing.T) ObjectStore) {
	t.Run("VersionedBucketKeepsNoncurrentVersions", func(t *testing.T) {
		got, err := newStore(t).Copies(t.Context())
		must(t, err)
		wantDiff(t, "copies", []dsr.Copy{{Kind: "object_versions", Resource: "reports"}}, got, cmpopts.IgnoreFields(dsr.Copy{}, "Detail"))
		if len(got) == 1 && got[0].Detail == "" {
			t.Error("the copy says nothing of itself")
		}
	})
}

// objectsID returns a new request id.
func objectsID() string { return fmt.Sprintf("01JDOBJ%019d", seq.Add(1)) }

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

// chunkComesBackAsJSONDecodesIt: GetChunk and FindChunk give a chunk back
// as stored, its records' numbers as json.Number (digit for digit), not
// the Go values put in.
func chunkComesBackAsJSONDecodesIt(t *testing.T, s ObjectStore) {
	t.Parallel()
	put := chunkOf(objectsID(), "marketing", 0)
	put.Records[0].Item["n"], put.Records[0].Item["ratio"] = 7, 1.5
	must(t, s.PutChunk(t.Context(), put))
	want := chunkOf(put.RequestID, "marketing", 0)
	want.Records[0].Item["n"], want.Records[0].Item["ratio"] = json.Number("7"), json.Number("1.5")
	got, err := s.GetChunk(t.Context(), put.RequestID, "marketing", 0)
	must(t, err)
	wantDiff(t, "GetChunk", want, got)
	found, ok, err := s.FindChunk(t.Context(), put.RequestID, "marketing", 0)
	must(t, err)
	wantDiff(t, "FindChunk", want, found)
	if !ok {
		t.Error("FindChunk: not found")
	}
}

// putChunkReplaces: a second PutChunk of a chunk replaces the first.
func putChunkReplaces(t *testing.T, s ObjectStore) {
	t.Parallel()
	first := chunkOf(objectsID(), "billing", 3)
	second := chunkOf(first.RequestID, "billing", 3)
	second.Keys, second.Next, second.ReadBack = []string{"k9"}, "", nil
	must(t, s.PutChunk(t.Context(), first))
	must(t, s.PutChunk(t.Context(), second))
	got, err := s.GetChunk(t.Context(), first.RequestID, "billing", 3)
	must(t, err)
	wantDiff(t, "after a second PutChunk", second, got)
}

// putChunkOnceKeepsTheFirstWritersChunk: the first PutChunkOnce of a chunk
// creates it; a second one (a redelivered task) gets the first's chunk back
// and changes nothing.
func putChunkOnceKeepsTheFirstWritersChunk(t *testing.T, s ObjectStore) {
	t.Parallel()
	first := chunkOf(objectsID(), "marketing", 1)
	second := chunkOf(first.RequestID, "marketing", 1)
	second.Keys, second.Next = []string{"other"}, "elsewhere"
	var created []bool
	for i, p := range []dsr.Chunk{first, second} {
		got, ok, err := s.PutChunkOnce(t.Context(), p)
		must(t, err)
		created = append(created, ok)
		wantDiff(t, fmt.Sprintf("writer %d's answer", i+1), first, got)
	}
	wantDiff(t, "created", []bool{true, false}, created)
	got, err := s.GetChunk(t.Context(), first.RequestID, "marketing", 1)
	must(t, err)
	wantDiff(t, "stored", first, got)
}

// missingChunkNotFound: FindChunk reports false (and no error) for a chunk
// never written, of another index, purpose or request; GetChunk fails.
func missingChunkNotFound(t *testing.T, s ObjectStore) {
	t.Parallel()
	id := objectsID()
	must(t, s.PutChunk(t.Context(), chunkOf(id, "marketing", 0)))
	for _, miss := range []struct {
		id, purpose string
		chunk       int
	}{{id, "marketing", 1}, {id, "billing", 0}, {objectsID(), "marketing", 0}} {
		got, ok, err := s.FindChunk(t.Context(), miss.id, miss.purpose, miss.chunk)
		if err != nil || ok || !cmp.Equal(dsr.Chunk{}, got) {
			t.Errorf("FindChunk %v: %+v %v %v, want nothing, false, no error", miss, got, ok, err)
		}
		if _, err := s.GetChunk(t.Context(), miss.id, miss.purpose, miss.chunk); err == nil {
			t.Errorf("GetChunk %v: no error", miss)
		}
	}
}

// putDocumentKeepsTheFirstWritersDocument: of two PutDocuments of one
// document, the second succeeds with the same key and leaves the first's
// body; Exists knows the document and no other.
func putDocumentKeepsTheFirstWritersDocument(t *testing.T, s ObjectStore) {
	t.Parallel()
	id := objectsID()
	first, err := s.PutDocument(t.Context(), id, dsr.DocReportJSON, []byte(`{"writer":1}`))
	must(t, err)
	second, err := s.PutDocument(t.Context(), id, dsr.DocReportJSON, []byte(`{"writer":2}`))
	must(t, err)
	if second != first || !strings.HasSuffix(first, "/"+id+"/"+string(dsr.DocReportJSON)) {
		t.Errorf("keys %q then %q, want one key naming the request and the document", first, second)
	}
	got, err := s.ReadObject(t.Context(), first)
	must(t, err)
	wantDiff(t, "stored", `{"writer":1}`, string(got))
	for _, c := range []struct {
		id   string
		doc  dsr.Document
		want bool
	}{{id, dsr.DocReportJSON, true}, {id, dsr.DocReportHTML, false}, {objectsID(), dsr.DocReportJSON, false}} {
		if got, err := s.Exists(t.Context(), c.id, c.doc); err != nil || got != c.want {
			t.Errorf("Exists(%s, %s) = %v %v, want %v", c.id, c.doc, got, err, c.want)
		}
	}
}

// presignGetNamesTheDocumentAndTheLifetime: the signed link's path ends in
// the document's key, and it says how long it is valid. Signing needs no
// object: the link is made before anyone fetches it.
func presignGetNamesTheDocumentAndTheLifetime(t *testing.T, s ObjectStore) {
	t.Parallel()
	id := objectsID()
	raw, err := s.PresignGet(t.Context(), id, dsr.DocCertificate, 5*time.Minute)
	must(t, err)
	u, err := url.Parse(raw)
	must(t, err)
	if !strings.HasSuffix(u.Path, "/"+id+"/"+string(dsr.DocCertificate)) || u.Query().Get("X-Amz-Expires") != "300" {
		t.Errorf("link %s: want the path to end in /%s/%s and X-Amz-Expires=300", raw, id, dsr.DocCertificate)
	}
}

// putRequestObjects writes chunks of the purposes and the documents of
// request id, and returns how many objects that is.
func putRequestObjects(t *testing.T, s ObjectStore, id string, purposes []string, docs ...dsr.Document) int {
	t.Helper()
	for i, p := range purposes {
		must(t, s.PutChunk(t.Context(), chunkOf(id, p, i)))
	}
	for _, d := range docs {
		_, err := s.PutDocument(t.Context(), id, d, []byte("{}"))
		must(t, err)
	}
	return len(purposes) + len(docs)
}

// objectsLeft says which of request id's chunks (as putRequestObjects wrote
// them) and documents exist.
func objectsLeft(t *testing.T, s ObjectStore, id string, purposes []string, docs ...dsr.Document) []bool {
	t.Helper()
	var left []bool
	for i, p := range purposes {
		_, ok, err := s.FindChunk(t.Context(), id, p, i)
		must(t, err)
		left = append(left, ok)
	}
	for _, d := range docs {
		ok, err := s.Exists(t.Context(), id, d)
		must(t, err)
		left = append(left, ok)
	}
	return left
}

// deleteRequestObjectsTakesThatRequestsOnly: DeleteRequestObjects deletes
// every chunk and document of the request, and counts them, but nothing of
// a request whose id it is a prefix of; after it, a create-only write
// creates again.
func deleteRequestObjectsTakesThatRequestsOnly(t *testing.T, s ObjectStore) {
	t.Parallel()
	id := objectsID()
	longer := id + "B" // another request, whose id starts with id
	purposes, docs := []string{"marketing", "marketing", "billing"}, []dsr.Document{dsr.DocReportJSON, dsr.DocReportHTML}
	n := putRequestObjects(t, s, id, purposes, docs...)
	putRequestObjects(t, s, longer, purposes[:1], docs[:1]...)
	got, err := s.DeleteRequestObjects(t.Context(), id)
	must(t, err)
	wantDiff(t, "deleted", n, got)
	wantDiff(t, "the request's objects left", []bool{false, false, false, false, false}, objectsLeft(t, s, id, purposes, docs...))
	wantDiff(t, "the objects of "+longer+" left", []bool{true, true}, objectsLeft(t, s, longer, purposes[:1], docs[:1]...))
	got, err = s.DeleteRequestObjects(t.Context(), id)
	must(t, err)
	wantDiff(t, "deleted again", 0, got)
	key, err := s.PutDocument(t.Context(), id, dsr.DocReportJSON, []byte("new"))
	must(t, err)
	b, err := s.ReadObject(t.Context(), key)
	must(t, err)
	wantDiff(t, "a document written after the deletion", "new", string(b))
}

// deleteOlderThanTakesWhatWasWrittenBefore: DeleteOlderThan deletes the
// chunks and documents last written before the cutoff, counts them, and
// keeps those written after. S3 keeps last-modified times to the second:
// the later objects are written more than a second after the cutoff.
func deleteOlderThanTakesWhatWasWrittenBefore(t *testing.T, s ObjectStore) {
	t.Parallel()
	old, recent := objectsID(), objectsID()
	purposes, docs := []string{"marketing"}, []dsr.Document{dsr.DocCertificate}
	n := putRequestObjects(t, s, old, purposes, docs...)
	got, err := s.DeleteOlderThan(t.Context(), time.Now().Add(-time.Hour))
	must(t, err)
	wantDiff(t, "deleted by a cutoff before every write", 0, got)
	cutoff := time.Now().Add(time.Millisecond)
	time.Sleep(time.Until(cutoff.Add(1100 * time.Millisecond)))
	putRequestObjects(t, s, recent, purposes, docs...)
	got, err = s.DeleteOlderThan(t.Context(), cutoff)
	must(t, err)
	wantDiff(t, "deleted", n, got)
	wantDiff(t, "objects written before the cutoff left", []bool{false, false}, objectsLeft(t, s, old, purposes, docs...))
	wantDiff(t, "objects written after the cutoff left", []bool{true, true}, objectsLeft(t, s, recent, purposes, docs...))
}

// unversionedBucketKeepsNoCopies: without versioning, Copies lists nothing.
func unversionedBucketKeepsNoCopies(t *testing.T, s ObjectStore) {
	t.Parallel()
	got, err := s.Copies(t.Context())
	must(t, err)
	wantDiff(t, "copies", []dsr.Copy(nil), got, cmpopts.EquateEmpty())
}
