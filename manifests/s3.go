package manifests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/mfshell/mfshell/internal/s3x"
)

// S3Store keeps a manifest's history in an S3 bucket, shared by any number
// of processes. Each revision is one object, KEY.history/%020d.json, created
// with If-None-Match: * so that only one writer can take a revision: that
// conditional create is the commit point. The object KEY holds a copy of
// the latest record; it is replaced with If-Match on its ETag after each
// commit, so it only ever moves forward.
//
// The history is the truth. A writer that stops between its two writes
// leaves KEY one revision behind; Current notices the newer history object,
// returns it and brings KEY up to date, so every process sees the commit at
// its next poll. Current costs one conditional GET (304 while nothing
// changed) and one HEAD.
//
// The credentials need s3:GetObject, s3:PutObject and s3:ListBucket on the
// bucket (without ListBucket, S3 answers 403 instead of 404 for a missing
// object). S3Store is safe for concurrent use.
type S3Store struct {
	client *s3.Client
	loc    s3x.Location // the manifest object

	// commitSem is held by the Commit in progress (a semaphore, so that
	// waiting respects the context): commits of one process go to S3 one at
	// a time and the later ones fail fast on the cache.
	commitSem chan struct{}

	// readSem is held by the Current reading S3 (a semaphore, as commit).
	// Callers that wait for it take the result of a read that started
	// after they called, instead of reading again: concurrent calls cost
	// at most two reads, and none returns a state older than its call.
	readSem chan struct{}

	// mu guards the fields below: what this store has last seen. They
	// only move forward.
	mu      sync.Mutex
	cur     *Record // the latest record known; nil before the first read
	curData []byte  // cur as stored
	obj     *Record // the record the manifest object held when read; nil if missing
	etag    string  // the manifest object's ETag as last seen; "" if missing or unknown
	reads   int64   // reads of Current started
	last    *Record // the result of the last read that succeeded
	lastGen int64   // the number of that read
}

var _ Store = (*S3Store)(nil)

// maxObjectSize bounds what S3Store reads from one object. A manifest fits
// in 1 MiB (see the limits in validate.go); a record adds its changes.
const maxObjectSize = 16 << 20

// historyConcurrency bounds the GETs that History runs at once.
const historyConcurrency = 8

// manifestUpdateAttempts bounds how often a commit retries replacing the
// manifest object when other writers replace it first with older revisions.
const manifestUpdateAttempts = 5

// OpenS3 returns a store for the manifest object at loc, with its history
// under loc.Key + ".history/". It reads the latest revision, so it fails if
// S3 cannot be reached, the bucket does not exist or the manifest object is
// not a valid record. An empty bucket is a store at revision 0.
func OpenS3(ctx context.Context, client *s3.Client, loc s3x.Location) (*S3Store, error) {
	s, err := newS3Store(client, loc)
	if err != nil {
		return nil, err
	}
	if _, err := s.Current(ctx); err != nil {
		return nil, fmt.Errorf("open manifest store %s: %w", loc, err)
	}
	return s, nil
}

// newS3Store checks loc and returns a store for it without any I/O.
func newS3Store(client *s3.Client, loc s3x.Location) (*S3Store, error) {
	switch {
	case client == nil:
		return nil, errors.New("manifest store: no S3 client")
	case loc.Bucket == "" || loc.Key == "":
		return nil, fmt.Errorf("manifest store %s: want s3://BUCKET/KEY", loc)
	case strings.HasSuffix(loc.Key, "/"):
		return nil, fmt.Errorf("manifest store %s: the key names a folder, want an object such as %smanifest.json", loc, loc.Key)
	}
	return &S3Store{client: client, loc: loc, commitSem: make(chan struct{}, 1), readSem: make(chan struct{}, 1)}, nil
}

// Current returns the latest record: the one the manifest object holds, or
// a newer one from the history if a writer stopped before updating the
// object, which it then updates. The caller must not modify the record.
// Errors match ErrUnavailable when S3 cannot be reached or fails.
func (s *S3Store) Current(ctx context.Context) (*Record, error) {
	s.mu.Lock()
	called := s.reads
	s.mu.Unlock()
	select {
	case s.readSem <- struct{}{}:
		defer func() { <-s.readSem }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	if s.lastGen > called {
		// A read that started after this call has finished.
		rec := s.last
		if s.cur.Revision > rec.Revision {
			rec = s.cur
		}
		s.mu.Unlock()
		return rec, nil
	}
	s.reads++
	gen := s.reads
	s.mu.Unlock()
	rec, err := s.current(ctx)
	if err == nil {
		s.mu.Lock()
		s.last, s.lastGen = rec, gen
		s.mu.Unlock()
	}
	return rec, err
}

// current does the work of Current. s.readSem is held.
func (s *S3Store) current(ctx context.Context) (*Record, error) {
	s.mu.Lock()
	cur, curData, obj, etag := s.cur, s.curData, s.obj, s.etag
	s.mu.Unlock()

	obj, objData, etag, err := s.readManifest(ctx, obj, etag)
	if err != nil {
		return nil, err
	}
	s.rememberObject(obj, objData, etag)
	rec, data := obj, objData
	if rec == nil {
		rec, data = &Record{Manifest: New("")}, nil
	}
	if cur != nil && cur.Revision >= rec.Revision {
		rec, data = cur, curData // as new, or newer: from a commit or the history
	}

	// Roll forward over revisions committed after the object was written.
	latest, err := s.latestFrom(ctx, rec.Revision)
	if err != nil {
		return nil, err
	}
	if latest > rec.Revision {
		if rec, data, err = s.read(ctx, latest); err != nil {
			return nil, err
		}
	}
	s.rememberLatest(rec, data)
	if rec.Revision > 0 && (obj == nil || obj.Revision < rec.Revision) {
		// Best effort: the history has rec already, and the next Current
		// tries again. A failure here must not hide rec from readers.
		s.updateManifest(ctx, rec, data, etag)
	}
	return rec, nil
}

// Commit makes rec the latest revision; see [Store]. It returns
// ErrConflict, having written nothing, when rec.Revision is not one more
// than the latest revision. Other errors match ErrUnavailable when S3
// cannot be reached and nothing was written. Once the history object is
// written the revision is committed and Commit returns nil, even if
// moving the manifest object forward then fails: every read does that too.
func (s *S3Store) Commit(ctx context.Context, rec *Record) error {
	select {
	case s.commitSem <- struct{}{}:
		defer func() { <-s.commitSem }()
	case <-ctx.Done():
		return ctx.Err()
	}
	if rec.Manifest == nil || rec.Manifest.Revision != rec.Revision {
		return fmt.Errorf("commit revision %d: the manifest's revision differs: %w", rec.Revision, ErrConflict)
	}
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	if cur == nil || rec.Revision > cur.Revision+1 {
		// Never read, or behind: the revision before rec may exist.
		var err error
		if cur, err = s.Current(ctx); err != nil {
			return fmt.Errorf("commit revision %d: %w", rec.Revision, err)
		}
	}
	if rec.Revision != cur.Revision+1 {
		return fmt.Errorf("commit revision %d on %d: %w", rec.Revision, cur.Revision, ErrConflict)
	}
	data, err := encodeRecord(rec)
	if err != nil {
		return fmt.Errorf("commit revision %d: %w", rec.Revision, err)
	}

	key := s.historyKey(rec.Revision)
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.loc.Bucket, Key: &key, Body: bytes.NewReader(data),
		ContentType: aws.String("application/json"), IfNoneMatch: aws.String("*"),
	})
	if s3x.IsPreconditionFailed(err) {
		// Another writer took the revision, or this very request did: the
		// SDK retries a PUT whose answer was lost, and the retry finds the
		// object that the first attempt created.
		won, wonData, rerr := s.read(ctx, rec.Revision)
		switch {
		case errors.Is(rerr, ErrNotExist): // 409: a write of it is under way
			return fmt.Errorf("commit revision %d: %s is being written: %w", rec.Revision, s.uri(key), ErrConflict)
		case rerr != nil:
			// Not ErrConflict: Apply would apply the edit again on top of
			// what may be this very commit.
			// An outage here is reported as one (503): the revision may or
			// may not be this commit, and the next read will tell.
			if s3x.IsUnavailable(rerr) {
				return fmt.Errorf("commit revision %d: %s exists, and reading it failed: %w: %w", rec.Revision, s.uri(key), ErrUnavailable, rerr)
			}
			return fmt.Errorf("commit revision %d: %s exists, and reading it failed: %w", rec.Revision, s.uri(key), rerr)
		case !bytes.Equal(wonData, data):
			s.rememberLatest(won, wonData)
			return fmt.Errorf("commit revision %d: %s exists: %w", rec.Revision, s.uri(key), ErrConflict)
		}
		err = nil
	}
	if err != nil {
		return s.fail(fmt.Sprintf("commit revision %d: put", rec.Revision), key, err)
	}
	s.rememberLatest(rec, data)

	s.mu.Lock()
	etag := s.etag
	s.mu.Unlock()
	// Best effort, as in Current: the revision is committed (Current
	// returns it from the history), and the next read moves the copy.
	s.updateManifest(ctx, rec, data, etag)
	return nil
}

// updateManifest replaces the manifest object with rec (data, as stored)
// if the object still has the ETag etag ("" for a missing object). When
// another writer replaced it first, it reads the object again and retries
// unless the object is now at rec's revision or later. The manifest object
// thus never moves backwards: every replacement is conditional on the
// ETag of an older revision than the one it writes.
func (s *S3Store) updateManifest(ctx context.Context, rec *Record, data []byte, etag string) error {
	if data == nil {
		var err error
		if data, err = encodeRecord(rec); err != nil {
			return err
		}
	}
	for range manifestUpdateAttempts {
		in := &s3.PutObjectInput{
			Bucket: &s.loc.Bucket, Key: &s.loc.Key, Body: bytes.NewReader(data),
			ContentType: aws.String("application/json"),
		}
		if etag == "" {
			in.IfNoneMatch = aws.String("*")
		} else {
			in.IfMatch = aws.String(etag)
		}
		out, err := s.client.PutObject(ctx, in)
		if err == nil {
			s.rememberObject(rec, data, aws.ToString(out.ETag))
			return nil
		}
		// 412: replaced since; 404: deleted since (If-Match on a missing key).
		if !s3x.IsPreconditionFailed(err) && !s3x.IsNotFound(err) {
			return s.fail("put", s.loc.Key, err)
		}
		obj, objData, newETag, err := s.readManifest(ctx, nil, "")
		if err != nil {
			return err
		}
		s.rememberObject(obj, objData, newETag)
		if obj != nil && obj.Revision >= rec.Revision {
			return nil
		}
		etag = newETag
	}
	return fmt.Errorf("s3: put %s: replaced by other writers %d times in a row", s.uri(s.loc.Key), manifestUpdateAttempts)
}

// Get returns the record of one revision, or ErrNotExist.
func (s *S3Store) Get(ctx context.Context, revision int64) (*Record, error) {
	if revision < 1 {
		return nil, fmt.Errorf("revision %d: %w", revision, ErrNotExist)
	}
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	if cur != nil && cur.Revision == revision {
		return cur, nil
	}
	rec, _, err := s.read(ctx, revision)
	return rec, err
}

// History returns records older than before, newest first; see [Store].
// Revisions are numbered without gaps, so it reads the objects it needs by
// name, several at a time.
func (s *S3Store) History(ctx context.Context, before int64, limit int) ([]*Record, error) {
	cur, err := s.Current(ctx)
	if err != nil {
		return nil, err
	}
	top := cur.Revision
	if before > 0 && before-1 < top {
		top = before - 1
	}
	n := min(int64(max(limit, 0)), top)
	if n <= 0 {
		return nil, nil
	}
	out := make([]*Record, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range min(n, historyConcurrency) {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				rec, err := s.Get(ctx, top-i)
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				out[i] = rec
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Ping reports whether the bucket can be reached, with one HEAD request.
func (s *S3Store) Ping(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.loc.Bucket}); err != nil {
		if s3x.IsNotFound(err) {
			return fmt.Errorf("s3: bucket %s does not exist", s.loc.Bucket)
		}
		return s.fail("head bucket", "", err)
	}
	return nil
}

// rememberObject records that the manifest object held obj, stored as
// data, at etag, unless the store knows a newer object already. obj is
// also the latest record if it is newer than the latest known.
func (s *S3Store) rememberObject(obj *Record, data []byte, etag string) {
	if obj == nil {
		return
	}
	s.mu.Lock()
	if s.obj == nil || obj.Revision >= s.obj.Revision {
		s.obj, s.etag = obj, etag
	}
	s.mu.Unlock()
	s.rememberLatest(obj, data)
}

// rememberLatest records rec, stored as data, as the latest record if it
// is newer than the latest known.
func (s *S3Store) rememberLatest(rec *Record, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || rec.Revision > s.cur.Revision {
		s.cur, s.curData = rec, data
	}
}

// readManifest reads the manifest object unless its ETag is still etag, in
// which case it returns cached. It returns a nil record if the object does
// not exist, and the record's data only if it was read.
func (s *S3Store) readManifest(ctx context.Context, cached *Record, etag string) (*Record, []byte, string, error) {
	in := &s3.GetObjectInput{Bucket: &s.loc.Bucket, Key: &s.loc.Key}
	if etag != "" && cached != nil {
		in.IfNoneMatch = aws.String(etag)
	}
	out, err := s.client.GetObject(ctx, in)
	switch {
	case err == nil:
	case in.IfNoneMatch != nil && s3x.IsNotModified(err):
		return cached, nil, etag, nil
	case s3x.IsNotFound(err) && !isNoSuchBucket(err):
		return nil, nil, "", nil
	default:
		return nil, nil, "", s.fail("get", s.loc.Key, err)
	}
	data, err := readBody(out.Body)
	if err != nil {
		return nil, nil, "", s.fail("get", s.loc.Key, err)
	}
	rec, err := s.decode(data, 0)
	if err != nil {
		return nil, nil, "", fmt.Errorf("s3: manifest object %s is not a valid record (the history under %s.history/ is left as is; fix or delete the object, and it is rebuilt from the history): %w",
			s.uri(s.loc.Key), s.loc.Key, err)
	}
	return rec, data, aws.ToString(out.ETag), nil
}

// read returns the record of one revision from its history object, and
// its data as stored, or ErrNotExist.
func (s *S3Store) read(ctx context.Context, revision int64) (*Record, []byte, error) {
	key := s.historyKey(revision)
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.loc.Bucket, Key: &key})
	if s3x.IsNotFound(err) && !isNoSuchBucket(err) {
		return nil, nil, fmt.Errorf("revision %d: %w", revision, ErrNotExist)
	}
	if err != nil {
		return nil, nil, s.fail(fmt.Sprintf("read revision %d: get", revision), key, err)
	}
	data, err := readBody(out.Body)
	if err != nil {
		return nil, nil, s.fail(fmt.Sprintf("read revision %d: get", revision), key, err)
	}
	rec, err := s.decode(data, revision)
	if err != nil {
		return nil, nil, fmt.Errorf("read revision %d from %s: %w", revision, s.uri(key), err)
	}
	return rec, data, nil
}

// decode parses a stored record (of revision, if above 0). When data is
// a copy of the latest known record, as the manifest object is of the
// latest history object, it returns that record without parsing again.
func (s *S3Store) decode(data []byte, revision int64) (*Record, error) {
	s.mu.Lock()
	cur, curData := s.cur, s.curData
	s.mu.Unlock()
	if cur != nil && curData != nil && bytes.Equal(data, curData) {
		return cur, nil
	}
	rec, err := decodeRecord(data)
	if err == nil {
		err = checkRecord(rec, revision)
	}
	return rec, err
}

// exists reports whether the history object of revision exists.
func (s *S3Store) exists(ctx context.Context, revision int64) (bool, error) {
	key := s.historyKey(revision)
	_, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.loc.Bucket, Key: &key})
	switch {
	case err == nil:
		return true, nil
	case s3x.IsNotFound(err):
		return false, nil
	default:
		return false, s.fail("head", key, err)
	}
}

// latestFrom returns the latest revision in the history, given that base
// is in it (or is 0). Revisions have no gaps, so after one HEAD of base+1
// (usually missing) it gallops forward, then bisects: O(log gap) HEADs.
func (s *S3Store) latestFrom(ctx context.Context, base int64) (int64, error) {
	lo, step := base, int64(1) // lo exists
	var hi int64               // hi does not exist
	for {
		ok, err := s.exists(ctx, lo+step)
		if err != nil {
			return 0, err
		}
		if !ok {
			hi = lo + step
			break
		}
		lo, step = lo+step, step*2
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := s.exists(ctx, mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

func (s *S3Store) historyKey(revision int64) string {
	return fmt.Sprintf("%s.history/%020d.json", s.loc.Key, revision)
}

func (s *S3Store) uri(key string) string {
	return s3x.Location{Bucket: s.loc.Bucket, Key: key}.String()
}

// fail describes a failed request on key. Network errors, throttling and
// server errors also match ErrUnavailable: nothing was done, try later.
func (s *S3Store) fail(op, key string, err error) error {
	if s3x.IsUnavailable(err) {
		return fmt.Errorf("s3: %s %s: %w: %w", op, s.uri(key), ErrUnavailable, err)
	}
	return fmt.Errorf("s3: %s %s: %w", op, s.uri(key), err)
}

func isNoSuchBucket(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket"
}

// readBody reads and closes an object's body, up to maxObjectSize.
func readBody(body io.ReadCloser) ([]byte, error) {
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxObjectSize+1))
	if err == nil && len(data) > maxObjectSize {
		err = fmt.Errorf("object is larger than %d bytes", maxObjectSize)
	}
	return data, err
}

// encodeRecord returns rec as stored: indented JSON, as in FileStore.
func encodeRecord(rec *Record) ([]byte, error) {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// checkRecord checks what decodeRecord does not: a stored record's
// revision matches its manifest's, and revision if it is above 0.
func checkRecord(rec *Record, revision int64) error {
	switch {
	case rec.Revision < 1:
		return fmt.Errorf("record has revision %d", rec.Revision)
	case rec.Manifest.Revision != rec.Revision:
		return fmt.Errorf("record of revision %d holds a manifest of revision %d", rec.Revision, rec.Manifest.Revision)
	case revision > 0 && rec.Revision != revision:
		return fmt.Errorf("object holds revision %d", rec.Revision)
	}
	return nil
}
