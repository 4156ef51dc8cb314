package cdn

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/mfshell/mfshell/internal/s3test"
	"github.com/mfshell/mfshell/internal/s3x"
)

// s3Prefix is the key prefix of the S3 stores under test: not empty, to
// show nothing lands outside it.
const s3Prefix = "bundles/cdn"

var s3Kind = storeKind{
	name: "s3 store",
	new: func(tb testing.TB) Store {
		client, bucket := s3test.Bucket(tb)
		return NewS3(client, s3x.Location{Bucket: bucket, Key: s3Prefix})
	},
	another: func(tb testing.TB, s Store) Store {
		return NewS3(newS3Client(tb, s3test.Endpoint(tb)), s3x.Location{Bucket: s.(*S3).bucket, Key: s3Prefix})
	},
	plant: func(tb testing.TB, s Store, key, content string) {
		tb.Helper()
		st := s.(*S3)
		_, err := st.client.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: &st.bucket,
			Key:    aws.String(path.Join(st.prefix, key)),
			Body:   strings.NewReader(content),
		})
		if err != nil {
			tb.Fatal(err)
		}
	},
	objects: func(tb testing.TB, s Store) map[string]string {
		st := s.(*S3)
		objects := map[string]string{}
		for key, data := range bucketObjects(tb, st.client, st.bucket) {
			rel, ok := strings.CutPrefix(key, st.prefix)
			if !ok {
				tb.Errorf("object %s is outside the prefix %s", key, st.prefix)
			}
			objects[rel] = data
		}
		return objects
	},
}

func newS3Client(tb testing.TB, endpoint string) *s3.Client {
	tb.Helper()
	c, err := s3x.NewClient(context.Background(), endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// bucketObjects returns every object in bucket by key.
func bucketObjects(tb testing.TB, client *s3.Client, bucket string) map[string]string {
	tb.Helper()
	ctx := context.Background()
	objects := map[string]string{}
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: &bucket, MaxKeys: aws.Int32(7)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		for _, o := range page.Contents {
			out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: o.Key})
			if err != nil {
				tb.Fatal(err)
			}
			data, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil {
				tb.Fatal(err)
			}
			objects[*o.Key] = string(data)
		}
	}
	return objects
}

func TestS3ObjectMetadata(t *testing.T) {
	ctx := context.Background()
	store := s3Kind.new(t).(*S3)
	files := map[string]string{
		"main.js":           "export function mount() {}\n",
		"main.css":          ".a { color: red }\n",
		"fonts/x.woff2":     "wOF2",
		"img/logo.png":      "\x89PNG",
		"data.unknown-type": "?",
	}
	m, err := Publish(ctx, store, writeTree(t, files), PublishOptions{App: "catalog", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	objects := s3Kind.objects(t, store)
	if len(objects) != len(m.Files)+1 {
		t.Errorf("%d objects, want the %d files and the asset manifest", len(objects), len(m.Files))
	}
	for rel, data := range objects {
		name := strings.TrimPrefix(rel, "catalog/1.0.0/")
		head, err := store.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &store.bucket, Key: aws.String(store.prefix + rel), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		ctype, _ := contentType(name)
		sum := sha256.Sum256([]byte(data))
		for what, got := range map[string][2]string{
			"Content-Type":           {aws.ToString(head.ContentType), ctype},
			"Cache-Control":          {aws.ToString(head.CacheControl), "public, max-age=31536000, immutable"},
			"x-amz-meta-integrity":   {head.Metadata["integrity"], sri([]byte(data))},
			"x-amz-checksum-sha256":  {aws.ToString(head.ChecksumSHA256), base64.StdEncoding.EncodeToString(sum[:])},
			"asset manifest's entry": {m.Files[name].Integrity, sri([]byte(data))},
		} {
			if what == "asset manifest's entry" && name == AssetManifestName {
				continue
			}
			if got[0] != got[1] {
				t.Errorf("%s: %s = %q, want %q", rel, what, got[0], got[1])
			}
		}
	}
}

// TestS3Stream serves from the store through a handler that caches
// nothing, so that every request reads the S3 object, ranges included.
func TestS3Stream(t *testing.T) {
	ctx := context.Background()
	store := s3Kind.new(t)
	big := jsBundle(300 << 10)
	files := map[string]string{"main.js": big, "small.css": ".a{}", "empty.txt": ""}
	m, err := Publish(ctx, store, writeTree(t, files), PublishOptions{App: "catalog", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(store, nil)
	h.CacheSize = 0
	srv := httptest.NewServer(http.StripPrefix("/cdn/", h))
	defer srv.Close()
	base := srv.URL + "/cdn/catalog/1.0.0/"

	for name, content := range files {
		res, body := get(t, base+name, nil)
		if res.StatusCode != 200 || body != content {
			t.Errorf("GET %s: %d, %d bytes; want 200 and its %d bytes", name, res.StatusCode, len(body), len(content))
		}
		checkHeader(t, "GET "+name, res, map[string]string{
			"Cache-Control":  "public, max-age=31536000, immutable",
			"Etag":           `"` + m.Files[name].Integrity + `"`,
			"Content-Length": fmt.Sprint(len(content)),
		})
		res, _ = get(t, base+name, map[string]string{"If-None-Match": `"` + m.Files[name].Integrity + `"`})
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s If-None-Match: %d, want 304", name, res.StatusCode)
		}
	}
	for _, r := range []struct {
		header, want string
	}{
		{"bytes=0-0", big[:1]},
		{"bytes=100000-100099", big[100000:100100]},
		{"bytes=-10", big[len(big)-10:]},
		{"bytes=200000-", big[200000:]},
	} {
		res, body := get(t, base+"main.js", map[string]string{"Range": r.header})
		if res.StatusCode != http.StatusPartialContent || body != r.want {
			t.Errorf("Range %s: %d, %d bytes; want 206 and %d bytes", r.header, res.StatusCode, len(body), len(r.want))
		}
	}
	res, body := get(t, base+"main.js", map[string]string{"Range": "bytes=0-1,10-11"})
	if res.StatusCode != http.StatusPartialContent || !strings.Contains(body, big[:2]) || !strings.Contains(body, big[10:12]) {
		t.Errorf("two ranges: %d %q, want 206 with both parts", res.StatusCode, body)
	}
}

func TestS3ObjectSeek(t *testing.T) {
	ctx := context.Background()
	store := s3Kind.new(t)
	content := jsBundle(100 << 10)
	if _, err := Publish(ctx, store, writeTree(t, map[string]string{"main.js": content}), PublishOptions{App: "catalog", Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Minute)
	obj, err := store.Open(ctx, "catalog/1.0.0/main.js")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if obj.Size != int64(len(content)) || obj.ModTime.Before(start) {
		t.Errorf("Size %d, ModTime %v; want %d and about now", obj.Size, obj.ModTime, len(content))
	}
	// Reads of every size, seeks from every whence, reading past the end.
	if err := iotest.TestReader(obj, []byte(content)); err != nil {
		t.Error(err)
	}
	if _, err := obj.Seek(-1, io.SeekStart); err == nil {
		t.Error("Seek(-1, SeekStart) = nil error, want one")
	}
	if n, err := obj.Seek(10, io.SeekEnd); err != nil || n != int64(len(content))+10 {
		t.Errorf("Seek(10, SeekEnd) = %d, %v", n, err)
	}
	if n, err := obj.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read past the end = %d, %v; want 0, EOF", n, err)
	}
	if err := obj.Close(); err != nil {
		t.Error(err)
	}
	if err := obj.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestS3InterruptedPublish(t *testing.T) {
	ctx := context.Background()
	store := s3Kind.new(t).(*S3)
	files := map[string]string{"main.js": "export const v = 1;\n", "lib/a.js": "a", "main.css": ".a{}"}
	dir := writeTree(t, files)
	// An earlier publish stopped before its asset manifest, its claim
	// released, leaving two files: one stored as the store stores files,
	// one by another tool (without the integrity metadata).
	upload := bytesUpload("main.js", files["main.js"])
	if err := store.upload(ctx, "catalog/1.0.0/", upload, ""); err != nil {
		t.Fatal(err)
	}
	s3Kind.plant(t, store, "catalog/1.0.0/lib/a.js", files["lib/a.js"])

	checkUnpublished(t, s3Kind, store, "catalog", "1.0.0")
	for _, key := range []string{"catalog/1.0.0/main.js", "catalog/1.0.0/lib/a.js"} {
		if _, err := store.Open(ctx, key); !errors.Is(err, ErrNotExist) || !strings.Contains(err.Error(), "not published") {
			t.Errorf("Open(%s) = %v, want ErrNotExist saying the version is not published", key, err)
		}
	}
	srv := newTestServer(t, store)
	if res, _ := get(t, srv.URL+"/cdn/catalog/1.0.0/main.js", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET main.js: %d, want 404", res.StatusCode)
	}

	// A publish of other files for the version fails, naming the file in
	// the way and writing no asset manifest.
	other := writeTree(t, map[string]string{"main.js": "export const v = 2;\n", "lib/a.js": "a"})
	_, err := Publish(ctx, store, other, PublishOptions{App: "catalog", Version: "1.0.0"})
	if !errors.Is(err, ErrExist) || !strings.Contains(err.Error(), "s3://"+store.bucket+"/bundles/cdn/catalog/1.0.0/main.js holds other content") {
		t.Errorf("publish of other files = %v, want ErrExist naming main.js", err)
	}
	checkUnpublished(t, s3Kind, store, "catalog", "1.0.0")

	// The same files again: the publish completes.
	m, err := Publish(ctx, store, dir, PublishOptions{App: "catalog", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	for p, f := range m.Files {
		if got := readObject(t, store, "catalog/1.0.0/"+p); sri(got) != f.Integrity {
			t.Errorf("%s = %q, does not match the asset manifest", p, got)
		}
	}
	if v, err := store.Versions(ctx, "catalog"); err != nil || len(v) != 1 {
		t.Errorf("Versions = %v, %v; want 1.0.0", v, err)
	}
}

// changingBody is a file that reads as first once, then as second: changed
// between the store's hashing and its upload.
type changingBody struct {
	first, second string
	opened        atomic.Int32
}

func (c *changingBody) open() (io.ReadSeekCloser, error) {
	if c.opened.Add(1) == 1 {
		return nopCloser{strings.NewReader(c.first)}, nil
	}
	return nopCloser{strings.NewReader(c.second)}, nil
}

func TestS3ServerChecksBytes(t *testing.T) {
	ctx := context.Background()
	store := s3Kind.new(t)
	body := &changingBody{first: "export const v = 1;", second: "export const v = 2;"}
	err := store.CreateVersion(ctx, "catalog", "1.0.0", []Upload{{Path: "main.js", Size: int64(len(body.first)), Open: body.open}}, []byte("{}"))
	if err == nil || !strings.Contains(err.Error(), "BadDigest") || !strings.Contains(err.Error(), "s3 store: create catalog/1.0.0: file \"main.js\": put s3://") {
		t.Fatalf("CreateVersion = %v, want the server's BadDigest, naming the file", err)
	}
	if got := s3Kind.objects(t, store); len(got) != 0 {
		t.Errorf("store holds %v, want nothing", got)
	}
}

func TestS3CanceledMidway(t *testing.T) {
	store := s3Kind.new(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	uploads := []Upload{bytesUpload("a.js", "a")}
	for i := range 40 {
		u := bytesUpload(fmt.Sprintf("f%02d.js", i), "x")
		if i == 20 {
			open := u.Open
			u.Open = func() (io.ReadSeekCloser, error) { cancel(); return open() }
		}
		uploads = append(uploads, u)
	}
	err := store.CreateVersion(ctx, "catalog", "1.0.0", uploads, []byte("{}"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateVersion = %v, want context.Canceled", err)
	}
	checkUnpublished(t, s3Kind, store, "catalog", "1.0.0")
}

func TestS3EmptyPrefix(t *testing.T) {
	ctx := context.Background()
	client, bucket := s3test.Bucket(t)
	store := NewS3(client, s3x.Location{Bucket: bucket})
	if err := store.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, store, writeTree(t, map[string]string{"main.js": "m"}), PublishOptions{App: "catalog", Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	if got := readObject(t, store, "catalog/1.0.0/main.js"); string(got) != "m" {
		t.Errorf("main.js = %q", got)
	}
	keys := bucketObjects(t, client, bucket)
	if _, ok := keys["catalog/1.0.0/main.js"]; !ok || len(keys) != 2 {
		t.Errorf("bucket holds %v, want catalog/1.0.0/main.js and its asset manifest at the top", keys)
	}
	if v, err := store.Versions(ctx, "catalog"); err != nil || len(v) != 1 || v[0].Version != "1.0.0" {
		t.Errorf("Versions = %v, %v", v, err)
	}
}

func TestS3MissingBucket(t *testing.T) {
	ctx := context.Background()
	client, _ := s3test.Bucket(t)
	store := NewS3(client, s3x.Location{Bucket: "no-such-bucket", Key: "cdn"})
	err := store.Init(ctx)
	if err == nil || !strings.Contains(err.Error(), `s3 store s3://no-such-bucket/cdn/: init: bucket "no-such-bucket" does not exist`) {
		t.Errorf("Init = %v, want an error saying the bucket does not exist", err)
	}
	// Not ErrNotExist: the origin must not answer 404 for a configuration error.
	_, err = store.Open(ctx, "catalog/1.0.0/main.js")
	if err == nil || errors.Is(err, ErrNotExist) || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("Open = %v, want a NoSuchBucket error, not ErrNotExist", err)
	}
	if _, err := store.Versions(ctx, "catalog"); err == nil || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("Versions = %v, want a NoSuchBucket error", err)
	}
	_, err = Publish(ctx, store, writeTree(t, map[string]string{"main.js": "m"}), PublishOptions{App: "catalog", Version: "1.0.0"})
	if err == nil || errors.Is(err, ErrExist) || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("Publish = %v, want a NoSuchBucket error", err)
	}
}

func TestS3Unreachable(t *testing.T) {
	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close()
	store := NewS3(newS3Client(t, endpoint), s3x.Location{Bucket: "mfshell", Key: "cdn"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := writeTree(t, map[string]string{"main.js": "m"})

	for what, call := range map[string]func() error{
		"Init": func() error { return store.Init(ctx) },
		"Open": func() error { _, err := store.Open(ctx, "catalog/1.0.0/main.js"); return err },
		"Versions": func() error {
			_, err := store.Versions(ctx, "catalog")
			return err
		},
		"CreateVersion": func() error {
			return store.CreateVersion(ctx, "catalog", "1.0.0", []Upload{bytesUpload("main.js", "m")}, []byte("{}"))
		},
		"Publish": func() error {
			_, err := Publish(ctx, store, dir, PublishOptions{App: "catalog", Version: "1.0.0"})
			return err
		},
	} {
		start := time.Now()
		err := call()
		took := time.Since(start)
		if err == nil || errors.Is(err, ErrNotExist) || errors.Is(err, ErrExist) || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "s3 store") {
			t.Errorf("%s = %v, want an s3 store error saying the connection was refused", what, err)
		}
		if took > 10*time.Second {
			t.Errorf("%s took %v to fail, want well under 10 s", what, took)
		}
		t.Logf("%s: %v after %v", what, err, took)
	}

	// A deadline is respected, however the SDK retries.
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = store.Versions(short, "catalog")
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("Versions with a 50 ms deadline = %v after %v, want an error about then", err, time.Since(start))
	}
}

func TestNewS3Prefix(t *testing.T) {
	for key, want := range map[string]string{"": "", "cdn": "cdn/", "cdn/": "cdn/", "a/b": "a/b/"} {
		if got := NewS3(nil, s3x.Location{Bucket: "b", Key: key}).prefix; got != want {
			t.Errorf("NewS3 with key %q: prefix %q, want %q", key, got, want)
		}
	}
}

// hookedUploads returns uploads of files whose first Open, in any of
// them, runs hook first.
func hookedUploads(files map[string]string, hook func()) []Upload {
	var once sync.Once
	var uploads []Upload
	for _, p := range slices.Sorted(maps.Keys(files)) {
		u := bytesUpload(p, files[p])
		open := u.Open
		u.Open = func() (io.ReadSeekCloser, error) { once.Do(hook); return open() }
		uploads = append(uploads, u)
	}
	return uploads
}

// TestS3IdenticalRace has a publisher of the very same files and asset
// manifest finish while another is uploading: both write the files, only
// the first writes the asset manifest.
func TestS3IdenticalRace(t *testing.T) {
	ctx := context.Background()
	store := s3Kind.new(t)
	rival := s3Kind.another(t, store)
	files := map[string]string{"main.js": "m", "lib/a.js": "a"}
	var rivalErr error
	uploads := hookedUploads(files, func() {
		rivalErr = rival.CreateVersion(ctx, "catalog", "1.0.0", hookedUploads(files, func() {}), []byte(`"same"`))
	})
	err := store.CreateVersion(ctx, "catalog", "1.0.0", uploads, []byte(`"same"`))
	if rivalErr != nil || !errors.Is(err, ErrExist) {
		t.Fatalf("rival: %v, this one: %v; want success and ErrExist", rivalErr, err)
	}
	for p, content := range files {
		if got := readObject(t, store, "catalog/1.0.0/"+p); string(got) != content {
			t.Errorf("%s = %q, want %q", p, got, content)
		}
	}
	if _, ok := s3Kind.objects(t, store)["catalog/1.0.0/"+claimName]; ok {
		t.Errorf("%s left behind", claimName)
	}
}

// TestS3ClaimUnderWay has a publish of other files start while one is
// under way: it fails at once, writing nothing.
func TestS3ClaimUnderWay(t *testing.T) {
	ctx := context.Background()
	store := s3Kind.new(t)
	claimed, proceed := make(chan struct{}), make(chan struct{})
	first := map[string]string{"main.js": "first", "lib/a.js": "a"}
	done := make(chan error)
	go func() {
		done <- s3Kind.another(t, store).CreateVersion(ctx, "catalog", "1.0.0", hookedUploads(first, func() {
			close(claimed)
			<-proceed
		}), []byte(`"first"`))
	}()
	<-claimed
	err := store.CreateVersion(ctx, "catalog", "1.0.0", []Upload{bytesUpload("main.js", "second"), bytesUpload("other.js", "o")}, []byte(`"second"`))
	if !errors.Is(err, ErrExist) || !strings.Contains(err.Error(), "claimed by another publish of other files") {
		t.Errorf("second publisher: %v, want ErrExist saying the version is claimed", err)
	}
	if got := s3Kind.objects(t, store); len(got) != 1 {
		t.Errorf("store holds %v, want only the first publisher's claim", got)
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Fatalf("first publisher: %v", err)
	}
	want := map[string]string{"catalog/1.0.0/main.js": "first", "catalog/1.0.0/lib/a.js": "a", "catalog/1.0.0/" + AssetManifestName: `"first"`}
	if got := s3Kind.objects(t, store); !maps.Equal(got, want) {
		t.Errorf("store holds %v, want %v", got, want)
	}
}

// TestS3ClaimReleased has a publish fail before uploading anything: its
// claim is gone, and a publish of other files succeeds.
func TestS3ClaimReleased(t *testing.T) {
	ctx := context.Background()
	store := s3Kind.new(t)
	failing := Upload{Path: "main.js", Size: 1, Open: func() (io.ReadSeekCloser, error) { return nil, errors.New("disk on fire") }}
	if err := store.CreateVersion(ctx, "catalog", "1.0.0", []Upload{failing}, []byte(`"first"`)); err == nil || errors.Is(err, ErrExist) {
		t.Fatalf("CreateVersion = %v, want it to fail", err)
	}
	if got := s3Kind.objects(t, store); len(got) != 0 {
		t.Errorf("store holds %v after a failed publish, want nothing", got)
	}
	if err := store.CreateVersion(ctx, "catalog", "1.0.0", []Upload{bytesUpload("main.js", "m")}, []byte(`"second"`)); err != nil {
		t.Fatal(err)
	}
}

// TestS3StaleClaim has a claim left by a crashed publisher: it blocks a
// publish of other files, with a message that says what to do, but not one
// of the same files.
func TestS3StaleClaim(t *testing.T) {
	ctx := context.Background()
	store := s3Kind.new(t)
	dir := writeTree(t, map[string]string{"main.js": "m"})
	s3Kind.plant(t, store, "catalog/1.0.0/"+claimName, `"someone else's"`)
	_, err := Publish(ctx, store, dir, PublishOptions{App: "catalog", Version: "1.0.0"})
	if !errors.Is(err, ErrExist) || !strings.Contains(err.Error(), "bundles/cdn/catalog/1.0.0/.claim.json; if no publish is under way, delete it") {
		t.Errorf("Publish = %v, want ErrExist naming the claim", err)
	}
	checkUnpublished(t, s3Kind, store, "catalog", "1.0.0")

	// The crashed publisher's very files: the claim is theirs.
	other := s3Kind.new(t)
	m, err := Publish(ctx, store, dir, PublishOptions{App: "catalog", Version: "2.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	asset := readObject(t, store, "catalog/2.0.0/"+AssetManifestName)
	s3Kind.plant(t, other, "catalog/2.0.0/"+claimName, string(asset))
	if _, err := Publish(ctx, other, dir, PublishOptions{App: "catalog", Version: "2.0.0"}); err != nil {
		t.Fatalf("Publish with the same files as the claim = %v, want success", err)
	}
	if _, ok := s3Kind.objects(t, other)["catalog/2.0.0/"+claimName]; ok {
		t.Errorf("%s left behind once published", claimName)
	}
	if got := readObject(t, other, "catalog/2.0.0/main.js"); sri(got) != m.Files["main.js"].Integrity {
		t.Errorf("main.js = %q", got)
	}
}
