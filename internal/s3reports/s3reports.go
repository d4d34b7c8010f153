// Package s3reports keeps the worker's chunks and the finished documents
// (reports and certificates) in the reports bucket, and signs short-lived
// links to them. The bucket's key scheme is known here and nowhere else:
//
//	reports/<request id>/parts/<purpose>/<chunk, 6 digits>.json
//	reports/<request id>/<document>   (report.json, report.html, certificate.json, export.json, export.zip)
package s3reports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	pathpkg "path"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/privacyops/dsr/internal/dsr"
)

// API is the part of the S3 client the store uses.
type API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, opts ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	GetBucketVersioning(ctx context.Context, in *s3.GetBucketVersioningInput, opts ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error)
}

// Store is the reports bucket.
type Store struct {
	Client  API
	Presign *s3.PresignClient
	Bucket  string
}

// chunkKey is where chunk index of purpose's part of request id is kept.
func chunkKey(id, purpose string, index int) string {
	return fmt.Sprintf("reports/%s/parts/%s/%06d.json", id, purpose, index)
}

// documentKey is where document doc of request id is kept.
func documentKey(id string, doc dsr.Document) string { return "reports/" + id + "/" + string(doc) }

// contentType is the media type of document doc.
func contentType(doc dsr.Document) string {
	switch pathpkg.Ext(string(doc)) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".zip":
		return "application/zip"
	}
	return "application/json"
}

// PutChunkOnce writes one chunk of a part only if that chunk does not exist
// yet, and otherwise returns the chunk stored: the first writer of a chunk
// defines it, so a redelivered erasure task repeats exactly what the first
// delivery did and counts nothing twice. It reports whether this call wrote it.
func (s *Store) PutChunkOnce(ctx context.Context, p dsr.Chunk) (dsr.Chunk, bool, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return p, false, fmt.Errorf("put chunk: %w", err)
	}
	created, err := s.putOnce(ctx, chunkKey(p.RequestID, p.Purpose, p.Index), "application/json", b, "")
	if err != nil {
		return p, false, fmt.Errorf("put chunk: %w", err)
	}
	if created {
		return p, true, nil
	}
	stored, err := s.GetChunk(ctx, p.RequestID, p.Purpose, p.Index)
	return stored, false, err
}

// FindChunk reads one chunk of a part, reporting false if it does not exist.
func (s *Store) FindChunk(ctx context.Context, id, purpose string, chunk int) (dsr.Chunk, bool, error) {
	p, err := s.GetChunk(ctx, id, purpose, chunk)
	var nsk *types.NoSuchKey
	var apiErr smithy.APIError
	switch {
	case err == nil:
		return p, true, nil
	case errors.As(err, &nsk), errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchKey":
		return p, false, nil
	default:
		return p, false, err
	}
}

// DeleteRequestObjects deletes every object of request id (its report or
// certificate and their parts) and returns how many it deleted.
func (s *Store) DeleteRequestObjects(ctx context.Context, id string) (int, error) {
	n, err := s.deleteListed(ctx, "reports/"+id+"/", func(types.Object) bool { return true })
	if err != nil {
		return n, fmt.Errorf("delete objects of %s: %w", id, err)
	}
	return n, nil
}

// DeleteOlderThan deletes every report, certificate and part last written
// before cutoff (past its download window; the bucket's lifecycle does the
// same, within a day or two) and returns how many it deleted.
func (s *Store) DeleteOlderThan(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := s.deleteListed(ctx, "reports/", func(o types.Object) bool {
		return o.LastModified != nil && o.LastModified.Before(cutoff)
	})
	if err != nil {
		return n, fmt.Errorf("delete objects past their download window: %w", err)
	}
	return n, nil
}

// deleteListed lists the objects under prefix, every page, and deletes
// those for which match is true, a page (at most 1,000) per DeleteObjects.
func (s *Store) deleteListed(ctx context.Context, prefix string, match func(types.Object) bool) (int, error) {
	in := &s3.ListObjectsV2Input{Bucket: &s.Bucket, Prefix: &prefix}
	deleted := 0
	for {
		page, err := s.Client.ListObjectsV2(ctx, in)
		if err != nil {
			return deleted, err
		}
		var objs []types.ObjectIdentifier
		for _, o := range page.Contents {
			if match(o) {
				objs = append(objs, types.ObjectIdentifier{Key: o.Key})
			}
		}
		if len(objs) > 0 {
			out, err := s.Client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
				Bucket: &s.Bucket, Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)},
			})
			if err != nil {
				return deleted, err
			}
			if len(out.Errors) > 0 {
				return deleted, fmt.Errorf("%d not deleted: %s", len(out.Errors), aws.ToString(out.Errors[0].Code))
			}
			deleted += len(objs)
		}
		if !aws.ToBool(page.IsTruncated) {
			return deleted, nil
		}
		in.ContinuationToken = page.NextContinuationToken
	}
}

// Copies returns the copies of deleted objects the bucket keeps: noncurrent
// versions, when versioning is or was enabled.
func (s *Store) Copies(ctx context.Context) ([]dsr.Copy, error) {
	out, err := s.Client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &s.Bucket})
	if err != nil {
		return nil, fmt.Errorf("bucket versioning: %w", err)
	}
	if out.Status == "" {
		return nil, nil
	}
	return []dsr.Copy{{
		Kind: "object_versions", Resource: "reports",
		Detail: "the reports bucket keeps noncurrent versions of deleted reports until its lifecycle rules expire them",
	}}, nil
}

// PutChunk writes one chunk of a part. Writing the same chunk again replaces
// it with the same content, so redelivered tasks are harmless.
func (s *Store) PutChunk(ctx context.Context, p dsr.Chunk) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("put chunk: %w", err)
	}
	_, err = s.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.Bucket, Key: aws.String(chunkKey(p.RequestID, p.Purpose, p.Index)),
		Body: bytes.NewReader(b), ContentType: aws.String("application/json"),
		ServerSideEncryption: types.ServerSideEncryptionAes256,
	})
	if err != nil {
		return fmt.Errorf("put chunk: %w", err)
	}
	return nil
}

// GetChunk reads one chunk of a part.
func (s *Store) GetChunk(ctx context.Context, id, purpose string, chunk int) (dsr.Chunk, error) {
	var p dsr.Chunk
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.Bucket, Key: aws.String(chunkKey(id, purpose, chunk))})
	if err != nil {
		return p, fmt.Errorf("get chunk %s/%d: %w", purpose, chunk, err)
	}
	defer out.Body.Close()
	dec := json.NewDecoder(out.Body)
	dec.UseNumber() // numbers as stored, not float64
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("get chunk %s/%d: %w", purpose, chunk, err)
	}
	return p, nil
}

// PutDocument writes document doc of request id only if it does not exist
// yet (If-None-Match: *), so that a report or certificate is written exactly
// once however many workers race to assemble it. It returns the object's key.
func (s *Store) PutDocument(ctx context.Context, id string, doc dsr.Document, body []byte) (string, error) {
	key := documentKey(id, doc)
	if _, err := s.putOnce(ctx, key, contentType(doc), body, `attachment; filename="`+string(doc)+`"`); err != nil {
		return "", fmt.Errorf("put %s: %w", doc, err)
	}
	return key, nil
}

// putOnce writes key only if it does not exist (If-None-Match: *) and reports
// whether this call wrote it.
func (s *Store) putOnce(ctx context.Context, key, contentType string, body []byte, disposition string) (bool, error) {
	in := &s3.PutObjectInput{
		Bucket: &s.Bucket, Key: &key, Body: bytes.NewReader(body), ContentType: &contentType,
		IfNoneMatch: aws.String("*"), ServerSideEncryption: types.ServerSideEncryptionAes256,
	}
	if disposition != "" {
		in.ContentDisposition = &disposition
	}
	_, err := s.Client.PutObject(ctx, in)
	// 412: the object exists. (A 409 ConditionalRequestConflict means
	// another conditional write is still in flight, not that it succeeded:
	// it is an error, and the caller's retry finds the object or writes it.)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "PreconditionFailed" {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// Exists reports whether document doc of request id exists.
func (s *Store) Exists(ctx context.Context, id string, doc dsr.Document) (bool, error) {
	key := documentKey(id, doc)
	_, err := s.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.Bucket, Key: &key})
	var nf *types.NotFound
	var apiErr smithy.APIError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &nf), errors.As(err, &apiErr) && (apiErr.ErrorCode() == "NotFound" || apiErr.ErrorCode() == "NoSuchKey"):
		return false, nil
	default:
		return false, fmt.Errorf("head %s: %w", key, err)
	}
}

// PresignGet signs a GET of document doc of request id, valid for ttl.
func (s *Store) PresignGet(ctx context.Context, id string, doc dsr.Document, ttl time.Duration) (string, error) {
	key := documentKey(id, doc)
	req, err := s.Presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &s.Bucket, Key: &key}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign: %w", err)
	}
	return req.URL, nil
}
