package memstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// Objects is the in-memory form of s3reports.Store, the reports bucket:
// chunks and documents under the same keys, stored as the same JSON, written
// create-only where the bucket's If-None-Match makes them so. Safe for
// concurrent use; the zero value is an empty, unversioned bucket.
type Objects struct {
	// Clock gives each object written its last-modified time (nil: time.Now).
	Clock func() time.Time
	// Versioned makes the bucket keep noncurrent versions (Copies).
	Versioned bool

	mu      sync.Mutex
	objects map[string]object
	writes  map[string]int // key → how many calls wrote it
}

type object struct {
	body     []byte
	modified time.Time
}

// errNoSuchKey is GetChunk's answer for a chunk that does not exist.
var errNoSuchKey = errors.New("NoSuchKey: the object does not exist")

// The bucket's key scheme, as s3reports has it:
//
//	reports/<request id>/parts/<purpose>/<chunk, 6 digits>.json
//	reports/<request id>/<document>
func chunkKey(id, purpose string, index int) string {
	return fmt.Sprintf("reports/%s/parts/%s/%06d.json", id, purpose, index)
}

func documentKey(id string, doc dsr.Document) string { return "reports/" + id + "/" + string(doc) }

func (o *Objects) now() time.Time {
	if o.Clock != nil {
		return o.Clock()
	}
	return time.Now()
}

// put stores body at key (with create-only, unless it exists) under o.mu,
// and reports whether it wrote it.
func (o *Objects) put(key string, body []byte, createOnly bool) bool {
	if o.objects == nil {
		o.objects, o.writes = map[string]object{}, map[string]int{}
	}
	if _, ok := o.objects[key]; ok && createOnly {
		return false
	}
	o.objects[key] = object{body: bytes.Clone(body), modified: o.now()}
	o.writes[key]++
	return true
}

// decodeChunk decodes a stored chunk as s3reports does: numbers as stored
// (json.Number), not float64.
func decodeChunk(b []byte, purpose string, chunk int) (dsr.Chunk, error) {
	var p dsr.Chunk
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("get chunk %s/%d: %w", purpose, chunk, err)
	}
	return p, nil
}

// PutChunk is the in-memory form of s3reports.Store.PutChunk: it writes one
// chunk, replacing it if it exists.
func (o *Objects) PutChunk(_ context.Context, p dsr.Chunk) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("put chunk: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.put(chunkKey(p.RequestID, p.Purpose, p.Index), b, false)
	return nil
}

// GetChunk is the in-memory form of s3reports.Store.GetChunk; a chunk that
// does not exist is an error.
func (o *Objects) GetChunk(_ context.Context, id, purpose string, chunk int) (dsr.Chunk, error) {
	o.mu.Lock()
	obj, ok := o.objects[chunkKey(id, purpose, chunk)]
	o.mu.Unlock()
	if !ok {
		return dsr.Chunk{}, fmt.Errorf("get chunk %s/%d: %w", purpose, chunk, errNoSuchKey)
	}
	return decodeChunk(obj.body, purpose, chunk)
}

// PutChunkOnce is the in-memory form of s3reports.Store.PutChunkOnce: it
// writes the chunk only if it does not exist, and otherwise returns the one
// stored. It reports whether this call wrote it.
func (o *Objects) PutChunkOnce(_ context.Context, p dsr.Chunk) (dsr.Chunk, bool, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return p, false, fmt.Errorf("put chunk: %w", err)
	}
	key := chunkKey(p.RequestID, p.Purpose, p.Index)
	o.mu.Lock()
	created := o.put(key, b, true)
	stored := o.objects[key].body
	o.mu.Unlock()
	if created {
		return p, true, nil
	}
	have, err := decodeChunk(stored, p.Purpose, p.Index)
	return have, false, err
}

// FindChunk is the in-memory form of s3reports.Store.FindChunk: it reports
// false for a chunk that does not exist.
func (o *Objects) FindChunk(_ context.Context, id, purpose string, chunk int) (dsr.Chunk, bool, error) {
	o.mu.Lock()
	obj, ok := o.objects[chunkKey(id, purpose, chunk)]
	o.mu.Unlock()
	if !ok {
		return dsr.Chunk{}, false, nil
	}
	p, err := decodeChunk(obj.body, purpose, chunk)
	return p, err == nil, err
}

// PutDocument is the in-memory form of s3reports.Store.PutDocument: it
// writes document doc of request id only if it does not exist yet (the first
// writer's body stays), and returns its key either way.
func (o *Objects) PutDocument(_ context.Context, id string, doc dsr.Document, body []byte) (string, error) {
	key := documentKey(id, doc)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.put(key, body, true)
	return key, nil
}

// Exists is the in-memory form of s3reports.Store.Exists.
func (o *Objects) Exists(_ context.Context, id string, doc dsr.Document) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.objects[documentKey(id, doc)]
	return ok, nil
}

// PresignGet is the in-memory form of s3reports.Store.PresignGet: a URL that
// names the document's key and, as a signed S3 URL does, its lifetime in
// seconds (X-Amz-Expires). Like a presigner, it does not look whether the
// object exists.
func (o *Objects) PresignGet(_ context.Context, id string, doc dsr.Document, ttl time.Duration) (string, error) {
	return "https://reports.memstore.invalid/" + documentKey(id, doc) + "?X-Amz-Expires=" + strconv.Itoa(int(ttl/time.Second)), nil
}

// DeleteRequestObjects is the in-memory form of
// s3reports.Store.DeleteRequestObjects: it deletes every object of request
// id (chunks and documents), and only its, and returns how many.
func (o *Objects) DeleteRequestObjects(_ context.Context, id string) (int, error) {
	return o.deleteIf(func(key string, _ object) bool { return strings.HasPrefix(key, "reports/"+id+"/") }), nil
}

// DeleteOlderThan is the in-memory form of s3reports.Store.DeleteOlderThan:
// it deletes every report, certificate and chunk last written before cutoff
// and returns how many.
func (o *Objects) DeleteOlderThan(_ context.Context, cutoff time.Time) (int, error) {
	return o.deleteIf(func(key string, obj object) bool {
		return strings.HasPrefix(key, "reports/") && obj.modified.Before(cutoff)
	}), nil
}

func (o *Objects) deleteIf(match func(key string, obj object) bool) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for key, obj := range o.objects {
		if match(key, obj) {
			delete(o.objects, key)
			n++
		}
	}
	return n
}

// Copies is the in-memory form of s3reports.Store.Copies: the noncurrent
// versions a versioned bucket keeps, none otherwise.
func (o *Objects) Copies(context.Context) ([]dsr.Copy, error) {
	if !o.Versioned {
		return nil, nil
	}
	return []dsr.Copy{{
		Kind: "object_versions", Resource: "reports",
		Detail: "the reports bucket keeps noncurrent versions of deleted reports until its lifecycle rules expire them",
	}}, nil
}

// Test helpers.

// Put stores body at key, as if written at at (zero: now), whatever is
// there: an object written before the test, such as an earlier request's
// report or one past its download window.
func (o *Objects) Put(key string, body []byte, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.put(key, body, false)
	if !at.IsZero() {
		o.objects[key] = object{body: o.objects[key].body, modified: at}
	}
}

// ReadObject returns the object at key (as PutDocument returns it), or an
// error if there is none.
func (o *Objects) ReadObject(_ context.Context, key string) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	obj, ok := o.objects[key]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, errNoSuchKey)
	}
	return bytes.Clone(obj.body), nil
}

// Document returns document doc of request id, and whether it exists.
func (o *Objects) Document(id string, doc dsr.Document) ([]byte, bool) {
	b, err := o.ReadObject(context.Background(), documentKey(id, doc))
	return b, err == nil
}

// Writes counts the calls that wrote document doc of request id (a
// create-only write that found it did not).
func (o *Objects) Writes(id string, doc dsr.Document) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.writes[documentKey(id, doc)]
}

// Keys returns the keys of every object, sorted.
func (o *Objects) Keys() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	keys := make([]string, 0, len(o.objects))
	for k := range o.objects {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
