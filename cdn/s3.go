package cdn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/mfshell/mfshell/internal/s3x"
	"github.com/mfshell/mfshell/manifests"
)

const (
	// s3Workers bounds the requests one call of an S3 store has in flight:
	// uploads in CreateVersion, HEADs in Versions.
	s3Workers = 8
	// s3CacheControl is the Cache-Control of every object an S3 store
	// writes, for a CDN or browser that fetches from the bucket directly.
	s3CacheControl = "public, max-age=31536000, immutable"
	// integrityMeta is the user metadata (x-amz-meta-integrity) holding an
	// object's SRI integrity, by which a publisher that finds the key taken
	// tells its own content from another's.
	integrityMeta = "integrity"
	// claimName is the object NAME/VER/.claim.json by which a publisher
	// claims a version before it uploads anything: a copy of the asset
	// manifest it will write. No bundle file can have that hidden name.
	claimName = ".claim.json"
)

// S3 is the store that keeps bundles in an S3 bucket, or on any
// S3-compatible server, as objects PREFIX/NAME/VER/PATH. It is safe for
// concurrent use, and any number of processes may share one bucket and
// prefix.
//
// S3 has no rename, so CreateVersion first claims the version by creating
// NAME/VER/.claim.json, a copy of the asset manifest, if that key is free
// (If-None-Match: *). Only the claimer, and publishers of the very same
// asset manifest (a retry), go on to write the files and, last, the asset
// manifest, each only if its key is free: exactly one writes the asset
// manifest, and every file it lists holds the bytes that publisher hashed.
// Others get ErrExist. The claimer deletes the claim when done. A publish
// that fails may leave files under NAME/VER/, invisible without an asset
// manifest: a publish of the same files completes the version, one of other
// files gets ErrExist. A claim left by a crash blocks publishes of other
// files until it is deleted by hand.
//
// An S3 store remembers the versions it has seen published (versions never
// change), so it asks the bucket about each only once.
type S3 struct {
	client *s3.Client
	bucket string
	prefix string // "" or ending in "/"

	mu        sync.Mutex
	published map[string]time.Time // "NAME/VER" → publish time, of versions seen published
}

var _ Store = (*S3)(nil)

// NewS3 returns the store at loc, a bucket and a key prefix (which may be
// empty), using client. It does no I/O; call Init to check the bucket.
func NewS3(client *s3.Client, loc s3x.Location) *S3 {
	prefix := loc.Key
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &S3{client: client, bucket: loc.Bucket, prefix: prefix, published: map[string]time.Time{}}
}

// Init checks that the bucket exists and the credentials may use it.
func (s *S3) Init(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		switch s3x.Status(err) {
		case http.StatusNotFound:
			err = fmt.Errorf("bucket %q does not exist: %w", s.bucket, respError(err))
		case http.StatusForbidden, http.StatusUnauthorized:
			err = fmt.Errorf("access to bucket %q denied (check the credentials): %w", s.bucket, respError(err))
		}
		return fmt.Errorf("s3 store %s: init: %w", s.url(""), err)
	}
	return nil
}

// url returns the location of the object at key, "NAME/VER/PATH", for
// messages.
func (s *S3) url(key string) string { return "s3://" + s.bucket + "/" + s.prefix + key }

// Open returns the object at key, "NAME/VER/PATH". It returns an error
// satisfying errors.Is(err, ErrNotExist) if the key is invalid, if there is
// no such object, or if its version has no asset manifest. The object reads
// the first time from one GET, and after a seek elsewhere from ranged GETs.
func (s *S3) Open(ctx context.Context, key string) (*Object, error) {
	app, version, name, err := splitKey(key)
	if err != nil {
		return nil, fmt.Errorf("s3 store: open: %w", &keyError{key: key, err: err})
	}
	obj, err := s.open(ctx, key)
	if err != nil {
		return nil, s.fail("open "+s.url(key), err)
	}
	// The GET came first: a missing bucket has failed it (NoSuchBucket),
	// so a 404 below can only mean a missing asset manifest.
	if name == AssetManifestName {
		s.remember(app+"/"+version, obj.ModTime)
	} else if _, err := s.publishedAt(ctx, app, version); err != nil {
		obj.Close()
		return nil, s.fail("open "+s.url(key), err)
	}
	return obj, nil
}

// open GETs the object at key.
func (s *S3) open(ctx context.Context, key string) (*Object, error) {
	r := &s3Reader{s: s, ctx: ctx, key: s.prefix + key}
	out, err := r.get(0)
	if err != nil {
		if notFound(err) {
			return nil, ErrNotExist
		}
		return nil, err
	}
	r.body, r.size, r.etag = out.Body, aws.ToInt64(out.ContentLength), aws.ToString(out.ETag)
	return &Object{ReadSeekCloser: r, Size: r.size, ModTime: aws.ToTime(out.LastModified)}, nil
}

// publishedAt returns the publish time of app@version, the LastModified of
// its asset manifest, or an error satisfying errors.Is(err, ErrNotExist) if
// it has none. Versions never change, so a time found is kept.
func (s *S3) publishedAt(ctx context.Context, app, version string) (time.Time, error) {
	id := app + "/" + version
	s.mu.Lock()
	t, ok := s.published[id]
	s.mu.Unlock()
	if ok {
		return t, nil
	}
	key := id + "/" + AssetManifestName
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.prefix + key)})
	if err != nil {
		if s3x.IsNotFound(err) {
			return time.Time{}, fmt.Errorf("%s is not published, it has no asset manifest: %w", id, ErrNotExist)
		}
		return time.Time{}, fmt.Errorf("head %s: %w", s.url(key), respError(err))
	}
	t = aws.ToTime(out.LastModified).UTC()
	s.remember(id, t)
	return t, nil
}

// remember records that version id, "NAME/VER", was published at t.
func (s *S3) remember(id string, t time.Time) {
	s.mu.Lock()
	s.published[id] = t.UTC()
	s.mu.Unlock()
}

// Versions returns the versions of app that have an asset manifest, newest
// first, dated by their asset manifest's LastModified (whole seconds on
// most servers; versions of the same second come by version, descending).
// An unknown app has none; an invalid app name is an error.
func (s *S3) Versions(ctx context.Context, app string) ([]Published, error) {
	if err := manifests.CheckName(app); err != nil {
		return nil, fmt.Errorf("s3 store: versions: app name %q: %w", app, err)
	}
	versions, err := s.versions(ctx, app)
	if err != nil {
		return nil, s.fail("versions of "+app, err)
	}
	return versions, nil
}

func (s *S3) versions(ctx context.Context, app string) ([]Published, error) {
	prefix := s.prefix + app + "/"
	var names []string
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket:    &s.bucket,
		Prefix:    &prefix,
		Delimiter: aws.String("/"),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", s.url(app+"/"), respError(err))
		}
		for _, p := range page.CommonPrefixes {
			v := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(p.Prefix), prefix), "/")
			if manifests.CheckVersion(v) == nil {
				names = append(names, v)
			}
		}
	}

	// One HEAD per version not yet known to be published, a few at a time.
	times := make([]time.Time, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, s3Workers)
	var wg sync.WaitGroup
	for i, v := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			times[i], errs[i] = s.publishedAt(ctx, app, v)
		})
	}
	wg.Wait()
	versions := []Published{}
	for i, v := range names {
		switch {
		case errors.Is(errs[i], ErrNotExist):
			continue // files without an asset manifest: not published
		case errs[i] != nil:
			return nil, errs[i]
		}
		versions = append(versions, Published{Version: v, Time: times[i]})
	}
	slices.SortFunc(versions, func(a, b Published) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(b.Version, a.Version)
	})
	return versions, nil
}

// CreateVersion claims the version (NAME/VER/.claim.json), uploads files,
// up to 8 at a time, and then asset as the asset manifest, every object
// with If-None-Match: *, its Content-Type, Cache-Control "public,
// max-age=31536000, immutable", a SHA-256 checksum the server verifies and
// its integrity in the metadata x-amz-meta-integrity.
//
// A claim holding the same asset manifest, and a file whose key holds the
// same bytes (from an unfinished or concurrent publish of the same files),
// count as written. An asset manifest that exists, a claim holding another,
// or a file's key holding other bytes means the version is another
// publisher's: CreateVersion then starts no more uploads and returns an
// error satisfying errors.Is(err, ErrExist). The version is published only
// once the asset manifest is written.
func (s *S3) CreateVersion(ctx context.Context, app, version string, files []Upload, asset []byte) error {
	if err := s.createVersion(ctx, app, version, files, asset); err != nil {
		return s.fail("create "+app+"/"+version, err)
	}
	return nil
}

func (s *S3) createVersion(ctx context.Context, app, version string, files []Upload, asset []byte) error {
	if err := checkUploads(app, version, files, asset); err != nil {
		return err
	}
	if err := checkNesting(files); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := app + "/" + version + "/"
	// Spare the uploads if the version exists; the asset manifest's
	// conditional PUT decides for real.
	if _, err := s.publishedAt(ctx, app, version); err == nil {
		return ErrExist
	} else if !errors.Is(err, ErrNotExist) {
		return err
	}

	claim, owned, err := s.claim(ctx, dir, asset)
	if err != nil {
		return err
	}
	published := false
	defer func() {
		// Its creator deletes the claim whatever the outcome: a published
		// version is decided by its asset manifest, and a failed publish
		// must not block others. A publisher that shared the claim (a
		// retry of a crashed publish) deletes it once the version is
		// published.
		if owned || published {
			s.release(ctx, dir, claim)
		}
	}()

	if err := s.uploadAll(ctx, dir, files, knownIntegrity(asset, files)); err != nil {
		if errors.Is(err, ErrExist) || ctx.Err() != nil {
			return err
		}
		// A failure for a key another publisher took in another way (say,
		// its file is our folder) is a lost race too.
		if _, perr := s.publishedAt(ctx, app, version); perr == nil {
			return fmt.Errorf("%w: published by another publisher meanwhile (%v)", ErrExist, err)
		}
		return err
	}

	_, err = s.put(ctx, dir+AssetManifestName, "application/json", digests(asset), bytesBody(asset))
	switch {
	case s3x.IsPreconditionFailed(err):
		published = true // by a publisher of the same asset manifest, first
		return ErrExist
	case err != nil:
		return fmt.Errorf("write asset manifest: %w", err)
	}
	published = true
	return nil
}

// claim creates dir+claimName, holding asset, and returns its ETag and
// true; or, if it exists and holds asset already (a publisher of the very
// same version got there first, or an earlier attempt of this one), its
// ETag and false. If it holds other content, the version is another
// publisher's: ErrExist.
func (s *S3) claim(ctx context.Context, dir string, asset []byte) (etag string, owned bool, err error) {
	sums := digests(asset)
	for attempt := 1; ; attempt++ {
		etag, err := s.put(ctx, dir+claimName, "application/json", sums, bytesBody(asset))
		if !s3x.IsPreconditionFailed(err) {
			if err != nil {
				return "", false, fmt.Errorf("claim: %w", err)
			}
			return etag, true, nil
		}
		etag, same, err := s.holds(ctx, dir+claimName, sums)
		switch {
		case s3x.IsNotFound(err) && attempt < 3:
			continue // released meanwhile: try again
		case err != nil:
			return "", false, fmt.Errorf("claim: read %s: %w", s.url(dir+claimName), err)
		case !same:
			return "", false, fmt.Errorf("%w: claimed by another publish of other files, under way or interrupted (%s; if no publish is under way, delete it to publish other files)", ErrExist, s.url(dir+claimName))
		}
		return etag, false, nil
	}
}

// release deletes the claim dir+claimName if it still has the given ETag,
// even if ctx is canceled. Failing, it leaves the claim, which blocks only
// publishes of other files, and none once the version is published.
func (s *S3) release(ctx context.Context, dir, etag string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.prefix + dir + claimName), IfMatch: &etag})
}

// bytesBody returns an Upload.Open for data.
func bytesBody(data []byte) func() (io.ReadSeekCloser, error) {
	return func() (io.ReadSeekCloser, error) { return nopReadSeekCloser{bytes.NewReader(data)}, nil }
}

// checkNesting returns an error if one path of files is a folder of
// another, or of the asset manifest: no file system can hold both, nor some
// S3-compatible servers (versitygw's posix backend).
func checkNesting(files []Upload) error {
	taken := make(map[string]bool, len(files)+1)
	taken[AssetManifestName] = true
	for _, u := range files {
		taken[u.Path] = true
	}
	for _, u := range files {
		for d := path.Dir(u.Path); d != "."; d = path.Dir(d) {
			if taken[d] {
				return fmt.Errorf("file %q: %q is a file, it cannot be a folder too", u.Path, d)
			}
		}
	}
	return nil
}

// uploadAll uploads files under dir, "NAME/VER/", up to s3Workers at a
// time, and returns the first error, after which it starts no more uploads
// and cancels those in flight.
func (s *S3) uploadAll(ctx context.Context, dir string, files []Upload, known map[string]string) error {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
	)
	next := make(chan Upload)
	var wg sync.WaitGroup
	for range min(s3Workers, len(files)) {
		wg.Go(func() {
			for u := range next {
				if err := s.upload(ctx, dir, u, known[u.Path]); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("file %q: %w", u.Path, err)
					}
					mu.Unlock()
					cancel()
				}
			}
		})
	}
feed:
	for _, u := range files {
		select {
		case next <- u:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	return parent.Err() // canceled while feeding: not every file was sent
}

// upload stores u at dir+u.Path, or checks that the object already there
// holds the same bytes. known is the integrity of u from the asset
// manifest, or "" if that does not say.
func (s *S3) upload(ctx context.Context, dir string, u Upload, known string) error {
	sums := sums{integrity: known}
	if known == "" {
		// A pass of its own, since the integrity goes in the headers.
		var err error
		if sums, err = hashUpload(u); err != nil {
			return err
		}
	}
	ctype := u.ContentType
	if ctype == "" {
		ctype, _ = contentType(u.Path)
	}
	sums.size = u.Size
	_, err := s.put(ctx, dir+u.Path, ctype, sums, u.Open)
	if !s3x.IsPreconditionFailed(err) {
		return err
	}
	// The key is taken: by our own bytes (a retry), or by another's.
	_, same, err2 := s.holds(ctx, dir+u.Path, sums)
	switch {
	case s3x.IsNotFound(err2):
		return fmt.Errorf("put %s: %w", s.url(dir+u.Path), respError(err)) // not a lost race after all
	case err2 != nil:
		return fmt.Errorf("%s exists; read it: %w", s.url(dir+u.Path), err2)
	case !same:
		return fmt.Errorf("%w: %s holds other content, written by a concurrent or unfinished publish of this version", ErrExist, s.url(dir+u.Path))
	}
	return nil
}

// holds reports whether the object at key, "NAME/VER/PATH", has the size
// and integrity of sums: by its metadata, or, if it has none (written by
// another tool), by its content. It returns the object's ETag too.
func (s *S3) holds(ctx context.Context, key string, sums sums) (etag string, same bool, err error) {
	full := s.prefix + key
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &full})
	switch {
	case err != nil:
		return "", false, respError(err)
	case aws.ToInt64(head.ContentLength) != sums.size:
		return "", false, nil
	case head.Metadata[integrityMeta] != "":
		return aws.ToString(head.ETag), head.Metadata[integrityMeta] == sums.integrity, nil
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &full, IfMatch: head.ETag})
	if err != nil {
		return "", false, respError(err)
	}
	defer out.Body.Close()
	h := sha512.New384()
	if _, err := io.Copy(h, io.LimitReader(out.Body, sums.size+1)); err != nil {
		return "", false, err
	}
	var sum [sha512.Size384]byte
	return aws.ToString(head.ETag), integrity([sha512.Size384]byte(h.Sum(sum[:0]))) == sums.integrity, nil
}

// knownIntegrity returns the integrity the asset manifest records for each
// file, if it is an asset manifest (a store's tests pass other bytes).
// Publish's bodies fail a read that does not match it.
func knownIntegrity(asset []byte, files []Upload) map[string]string {
	var m struct {
		Files map[string]File `json:"files"`
	}
	if json.Unmarshal(asset, &m) != nil {
		return nil
	}
	known := make(map[string]string, len(files))
	for _, u := range files {
		if f, ok := m.Files[u.Path]; ok && f.Size == u.Size && checkIntegrity(f.Integrity) == nil {
			known[u.Path] = f.Integrity
		}
	}
	return known
}

// sums are the digests of an object's content.
type sums struct {
	size      int64
	integrity string // SRI, sha384-BASE64
	sha256    string // base64, as x-amz-checksum-sha256; "" lets the SDK compute it
}

func digests(data []byte) sums {
	s256 := sha256.Sum256(data)
	return sums{size: int64(len(data)), integrity: integrity(sha512.Sum384(data)), sha256: base64.StdEncoding.EncodeToString(s256[:])}
}

// hashUpload reads u once and returns its digests, checking its size.
func hashUpload(u Upload) (sums, error) {
	body, err := u.Open()
	if err != nil {
		return sums{}, err
	}
	defer body.Close()
	h256, h384 := sha256.New(), sha512.New384()
	n, err := io.Copy(io.MultiWriter(h256, h384), io.LimitReader(body, u.Size+1))
	if err != nil {
		return sums{}, err
	}
	if n != u.Size {
		return sums{}, fmt.Errorf("got %d bytes, want %d", n, u.Size)
	}
	var s384 [sha512.Size384]byte
	h384.Sum(s384[:0])
	return sums{size: u.Size, integrity: integrity(s384), sha256: base64.StdEncoding.EncodeToString(h256.Sum(nil))}, nil
}

// put writes sums.size bytes from open to key, "NAME/VER/PATH", if the key
// is free, and returns the new object's ETag. An error of the body (such as
// a file changed since it was hashed) is returned as it is; a 412 or 409
// passes s3x.IsPreconditionFailed.
func (s *S3) put(ctx context.Context, key, ctype string, sums sums, open func() (io.ReadSeekCloser, error)) (string, error) {
	for attempt := 1; ; attempt++ {
		etag, err := s.putOnce(ctx, key, ctype, sums, open)
		// AWS may answer a conditional PUT racing another with 409
		// ConditionalRequestConflict, to be retried: only a 412 says the
		// key is taken.
		var ae smithy.APIError
		if attempt < 3 && errors.As(err, &ae) && ae.ErrorCode() == "ConditionalRequestConflict" {
			continue
		}
		return etag, err
	}
}

// putOnce is one attempt of put.
func (s *S3) putOnce(ctx context.Context, key, ctype string, sums sums, open func() (io.ReadSeekCloser, error)) (string, error) {
	rc, err := open()
	if err != nil {
		return "", err
	}
	body := &putBody{r: rc, size: sums.size}
	defer body.close()
	in := &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           aws.String(s.prefix + key),
		Body:          body,
		ContentLength: aws.Int64(sums.size),
		ContentType:   aws.String(ctype),
		CacheControl:  aws.String(s3CacheControl),
		// The server checks the bytes against it. Over https the SDK sends a
		// checksum it computes as a trailer; over plain http it computes it
		// first, reading the body once more.
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		Metadata:          map[string]string{integrityMeta: sums.integrity},
		IfNoneMatch:       aws.String("*"),
	}
	if sums.sha256 != "" {
		in.ChecksumSHA256 = aws.String(sums.sha256)
	}
	out, err := s.client.PutObject(ctx, in)
	if berr := body.failure(); berr != nil {
		return "", berr
	}
	switch {
	case s3x.IsPreconditionFailed(err):
		return "", err
	case err != nil:
		return "", fmt.Errorf("put %s: %w", s.url(key), respError(err))
	}
	return aws.ToString(out.ETag), nil
}

// putBody is the body of one PUT: the first size bytes of r, seekable. It
// keeps the first error of r, to report it instead of the SDK's wrapping,
// and is safe to close while the HTTP transport still reads it, which it
// may after the response (a 412 comes before the body is read).
type putBody struct {
	mu     sync.Mutex
	r      io.ReadSeekCloser
	size   int64
	pos    int64
	err    error
	closed bool
}

func (b *putBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return 0, errors.New("read after close")
	case b.pos >= b.size:
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), b.size-b.pos)]
	n, err := b.r.Read(p)
	b.pos += int64(n)
	if err == io.EOF && b.pos < b.size {
		err = fmt.Errorf("got %d bytes, want %d", b.pos, b.size)
	}
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

func (b *putBody) Seek(offset int64, whence int) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, errors.New("seek after close")
	}
	pos, err := seekPos(b.pos, b.size, offset, whence)
	if err != nil {
		return b.pos, err
	}
	if _, err := b.r.Seek(pos, io.SeekStart); err != nil {
		return b.pos, err
	}
	b.pos = pos
	return pos, nil
}

func (b *putBody) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *putBody) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		b.r.Close()
	}
}

// seekPos returns the position a Seek(offset, whence) moves to from pos in
// a body of size bytes.
func seekPos(pos, size, offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += pos
	case io.SeekEnd:
		offset += size
	default:
		return 0, errors.New("seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative position")
	}
	return offset, nil
}

type nopReadSeekCloser struct{ io.ReadSeeker }

func (nopReadSeekCloser) Close() error { return nil }

// s3Reader reads an object: from the body of the GET that opened it while
// reads follow on from where it is, and otherwise from a ranged GET
// starting at the position read, conditional on the ETag.
type s3Reader struct {
	s       *S3
	ctx     context.Context
	key     string // the object's key in the bucket
	size    int64
	etag    string
	pos     int64         // where the next Read reads
	body    io.ReadCloser // nil, or a response body positioned at bodyPos
	bodyPos int64
}

// get sends a GET of the object from offset on (the whole object if 0).
func (r *s3Reader) get(offset int64) (*s3.GetObjectOutput, error) {
	in := &s3.GetObjectInput{Bucket: &r.s.bucket, Key: &r.key}
	if offset > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
		in.IfMatch = aws.String(r.etag)
	}
	// A ranged response has no checksum to validate; the SDK would log
	// that for every one.
	out, err := r.s.client.GetObject(r.ctx, in, func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
	if err != nil && !notFound(err) {
		err = fmt.Errorf("get: %w", respError(err))
	}
	return out, err
}

func (r *s3Reader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if r.body == nil || r.bodyPos != r.pos {
		if r.body != nil {
			r.body.Close()
			r.body = nil
		}
		out, err := r.get(r.pos)
		if err != nil {
			return 0, fmt.Errorf("read s3://%s/%s at %d: %w", r.s.bucket, r.key, r.pos, err)
		}
		r.body, r.bodyPos = out.Body, r.pos
	}
	n, err := r.body.Read(p)
	r.pos += int64(n)
	r.bodyPos = r.pos
	switch {
	case err == io.EOF && r.pos < r.size:
		err = io.ErrUnexpectedEOF
	case err != nil && err != io.EOF:
		err = fmt.Errorf("read s3://%s/%s: %w", r.s.bucket, r.key, err)
	}
	return n, err
}

// Seek moves where the next Read reads; it sends nothing.
func (r *s3Reader) Seek(offset int64, whence int) (int64, error) {
	pos, err := seekPos(r.pos, r.size, offset, whence)
	if err != nil {
		return r.pos, err
	}
	r.pos = pos
	return pos, nil
}

func (r *s3Reader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}

// fail describes a failed operation; a failure of S3 or of the way to it
// also matches ErrUnavailable.
func (s *S3) fail(op string, err error) error {
	if s3x.IsUnavailable(err) {
		return fmt.Errorf("s3 store: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("s3 store: %s: %w", op, err)
}

// notFound reports whether err says there is no object at the key. A
// missing bucket is not that: it is an error of configuration.
func notFound(err error) bool {
	var ae smithy.APIError
	return s3x.IsNotFound(err) && !(errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket")
}

// respError returns err with a short message if it is an S3 error response:
// the status, code and message, without the request IDs. It still wraps err.
func respError(err error) error {
	status := s3x.Status(err)
	if status == 0 {
		return err
	}
	msg := fmt.Sprintf("HTTP %d", status)
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if c := ae.ErrorCode(); c != "" {
			msg += " " + c
		}
		if m := ae.ErrorMessage(); m != "" {
			msg += ": " + m
		}
	}
	return &shortError{msg: msg, err: err}
}

type shortError struct {
	msg string
	err error
}

func (e *shortError) Error() string { return e.msg }
func (e *shortError) Unwrap() error { return e.err }
