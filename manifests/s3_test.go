package manifests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mfshell/mfshell/internal/s3test"
	"github.com/mfshell/mfshell/internal/s3x"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

// s3Key is the manifest object's key in the tests' buckets.
const s3Key = "prod/manifest.json"

func openS3Store(t *testing.T, client *s3.Client, bucket string) *S3Store {
	t.Helper()
	s, err := OpenS3(context.Background(), client, s3x.Location{Bucket: bucket, Key: s3Key})
	if err != nil {
		t.Fatalf("OpenS3: %v", err)
	}
	return s
}

func TestS3Store(t *testing.T) {
	testStore(t, func(t *testing.T) Store {
		client, bucket := s3test.Bucket(t)
		return openS3Store(t, client, bucket)
	})
}

// TestS3StoreReplicas runs concurrent writers in four stores on one bucket,
// as four processes would: no edit is lost and the history has no gaps.
func TestS3StoreReplicas(t *testing.T) {
	const replicas, edits = 4, 25
	ctx := context.Background()
	client, bucket := s3test.Bucket(t)
	stores := make([]*S3Store, replicas)
	for i := range stores {
		stores[i] = openS3Store(t, client, bucket)
	}
	mustApply(t, stores[0], Edit{Actor: "ops", Change: putApp("counter", "1.0.0")})

	var wg sync.WaitGroup
	errs := make(chan error, replicas*edits)
	for r, s := range stores {
		for e := range edits {
			wg.Go(func() {
				_, _, err := Apply(ctx, s, Edit{Actor: fmt.Sprintf("replica%d", r), Change: func(m *Manifest) error {
					if err := putApp(fmt.Sprintf("r%de%d", r, e), "1.0.0")(m); err != nil {
						return err
					}
					a := m.Apps["counter"]
					a.Template += fmt.Sprintf("<i>%d.%d</i>", r, e)
					m.Apps["counter"] = a
					return nil
				}})
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	const want = replicas*edits + 1
	for i, s := range stores {
		cur, err := s.Current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Revision != want || len(cur.Manifest.Apps) != want {
			t.Fatalf("replica %d: got revision %d with %d apps, want %d and %d", i, cur.Revision, len(cur.Manifest.Apps), want, want)
		}
		for r := range replicas {
			for e := range edits {
				if _, ok := cur.Manifest.Apps[fmt.Sprintf("r%de%d", r, e)]; !ok {
					t.Errorf("replica %d: app of edit %d.%d is missing", i, r, e)
				}
				if !strings.Contains(cur.Manifest.Apps["counter"].Template, fmt.Sprintf("<i>%d.%d</i>", r, e)) {
					t.Errorf("replica %d: counter lost edit %d.%d", i, r, e)
				}
			}
		}
	}
	checkHistory(t, stores[replicas-1], want)
	if got := manifestObject(t, client, bucket); got.Revision != want {
		t.Fatalf("manifest object at revision %d, want %d", got.Revision, want)
	}
}

// TestS3StoreRollsForward covers a writer that stopped between its two
// PUTs: the history has revisions the manifest object does not show yet.
func TestS3StoreRollsForward(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		missing int // revisions written only to the history
		deleted bool
	}{
		{"one revision", 1, false},
		{"five revisions", 5, false},
		{"manifest object deleted", 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, bucket := s3test.Bucket(t)
			old := openS3Store(t, client, bucket)
			mustApply(t, old, Edit{Actor: "ops", Change: putApp("catalog", "1.0.0")})
			rec := mustApply(t, old, Edit{Actor: "ops", Change: putApp("catalog", "1.1.0")})
			for range tc.missing {
				rec = crashAfterHistory(t, client, bucket, rec, putApp("catalog", fmt.Sprintf("2.%d.0", rec.Revision)))
			}
			if tc.deleted {
				if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String(s3Key)}); err != nil {
					t.Fatal(err)
				}
			} else if got := manifestObject(t, client, bucket); got.Revision != 2 {
				t.Fatalf("set-up: manifest object at revision %d, want 2", got.Revision)
			}

			want := rec.Revision
			fresh := openS3Store(t, client, bucket)
			for name, s := range map[string]*S3Store{"existing store": old, "fresh store": fresh} {
				cur, err := s.Current(ctx)
				if err != nil || cur.Revision != want || cur.Manifest.Apps["catalog"].Version != rec.Manifest.Apps["catalog"].Version {
					t.Fatalf("%s: Current got %+v, %v; want revision %d", name, cur, err, want)
				}
			}
			if got := manifestObject(t, client, bucket); got.Revision != want {
				t.Fatalf("manifest object not repaired: at revision %d, want %d", got.Revision, want)
			}
			next := mustApply(t, old, Edit{Actor: "ops", Change: putApp("catalog", "3.0.0")})
			if next.Revision != want+1 {
				t.Fatalf("next Apply committed revision %d, want %d", next.Revision, want+1)
			}
			if cur, _ := fresh.Current(ctx); cur.Revision != want+1 {
				t.Fatalf("other store: got revision %d, want %d", cur.Revision, want+1)
			}
			checkHistory(t, fresh, want+1)
		})
	}
}

// crashAfterHistory writes the revision after prev, changed by change, to
// the history only, as a writer that stopped before its second PUT would.
func crashAfterHistory(t *testing.T, client *s3.Client, bucket string, prev *Record, change func(*Manifest) error) *Record {
	t.Helper()
	m := prev.Manifest.Clone()
	if err := change(m); err != nil {
		t.Fatal(err)
	}
	m.Revision = prev.Revision + 1
	rec := &Record{Revision: m.Revision, Time: time.Now().UTC(), Actor: "crashed", Changes: Diff(prev.Manifest.Apps, m.Apps), Manifest: m}
	data, err := encodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("%s.history/%020d.json", s3Key, rec.Revision)
	if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(data), IfNoneMatch: aws.String("*")}); err != nil {
		t.Fatal(err)
	}
	return rec
}

// manifestObject reads the manifest object directly.
func manifestObject(t *testing.T, client *s3.Client, bucket string) *Record {
	t.Helper()
	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: aws.String(s3Key)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := decodeRecord(data)
	if err != nil {
		t.Fatalf("manifest object: %v", err)
	}
	return rec
}

func putObject(t *testing.T, client *s3.Client, bucket, key, body string) {
	t.Helper()
	if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader([]byte(body))}); err != nil {
		t.Fatal(err)
	}
}

func TestS3StoreRejectsCorruptManifest(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ name, body string }{
		{"not JSON", `{"revision": 3, "half`},
		{"a bare manifest", `{"schema":1,"cdn":"/cdn/","apps":{}}`},
		{"invalid manifest", `{"revision":1,"manifest":{"schema":1,"revision":1,"cdn":"/cdn/","apps":{"catalog":{"version":"../x","entry":"main.js"}}}}`},
		{"revision mismatch", `{"revision":2,"manifest":{"schema":1,"revision":1,"cdn":"/cdn/","apps":{}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, bucket := s3test.Bucket(t)
			before := openS3Store(t, client, bucket)
			mustApply(t, before, Edit{Actor: "ops", Change: putApp("catalog", "1.0.0")})
			putObject(t, client, bucket, s3Key, tc.body)

			_, err := OpenS3(ctx, client, s3x.Location{Bucket: bucket, Key: s3Key})
			if err == nil || !strings.Contains(err.Error(), "s3://"+bucket+"/"+s3Key+" is not a valid record") {
				t.Fatalf("OpenS3: got %v, want an error naming the object", err)
			}
			if _, err := before.Current(ctx); err == nil || !strings.Contains(err.Error(), s3Key) {
				t.Fatalf("Current: got %v, want an error naming the object", err)
			}
			if _, _, err := Apply(ctx, before, Edit{Actor: "ops", Change: putApp("catalog", "2.0.0")}); err == nil {
				t.Fatal("Apply over a corrupt manifest object succeeded")
			}
			out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String(s3Key)})
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if string(data) != tc.body {
				t.Fatalf("the corrupt object was overwritten with %s", data)
			}
		})
	}
}

// TestS3StoreCorruptHistory checks that a bad history object is reported
// with its key, whether Current rolls forward onto it or Get reads it.
func TestS3StoreCorruptHistory(t *testing.T) {
	ctx := context.Background()
	client, bucket := s3test.Bucket(t)
	s := openS3Store(t, client, bucket)
	mustApply(t, s, Edit{Actor: "ops", Change: putApp("catalog", "1.0.0")})
	key := s3Key + ".history/00000000000000000002.json"
	putObject(t, client, bucket, key, `{"revision": 7}`)
	if _, err := s.Current(ctx); err == nil || !strings.Contains(err.Error(), key) {
		t.Fatalf("Current: got %v, want an error naming %s", err, key)
	}
	if _, err := s.Get(ctx, 2); err == nil || !strings.Contains(err.Error(), key) {
		t.Fatalf("Get: got %v, want an error naming %s", err, key)
	}
}

// recorder is an HTTP client that notes the method and status of each
// request it makes.
type recorder struct {
	next s3.HTTPClient
	mu   sync.Mutex
	log  []string
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.next.Do(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.log = append(r.log, req.Method+" error")
	} else {
		r.log = append(r.log, fmt.Sprintf("%s %d", req.Method, resp.StatusCode))
	}
	return resp, err
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	log := r.log
	r.log = nil
	return log
}

// TestS3StorePoll checks what a poll costs: while nothing changes, Current
// is a 304 and one HEAD, and returns the same record.
func TestS3StorePoll(t *testing.T) {
	ctx := context.Background()
	client, bucket := s3test.Bucket(t)
	rec := &recorder{next: client.Options().HTTPClient}
	watched := s3.New(client.Options(), func(o *s3.Options) { o.HTTPClient = rec })

	writer := openS3Store(t, client, bucket)
	mustApply(t, writer, Edit{Actor: "ops", Change: putApp("catalog", "1.0.0")})
	s := openS3Store(t, watched, bucket)
	first, err := s.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec.take()
	second, err := s.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second != first || second.Revision != 1 {
		t.Fatalf("second Current: got revision %d (%p), want the same record as before, revision 1 (%p)", second.Revision, second, first)
	}
	if got, want := rec.take(), []string{"GET 304", "HEAD 404"}; !slices.Equal(got, want) {
		t.Fatalf("requests of an idle poll: got %v, want %v", got, want)
	}

	mustApply(t, writer, Edit{Actor: "ops", Change: putApp("catalog", "1.1.0")})
	third, err := s.Current(ctx)
	if err != nil || third.Revision != 2 || third.Manifest.Apps["catalog"].Version != "1.1.0" {
		t.Fatalf("after another store's commit: got %+v, %v; want revision 2", third, err)
	}
	if got, want := rec.take(), []string{"GET 200", "HEAD 404"}; !slices.Equal(got, want) {
		t.Fatalf("requests of a poll after a change: got %v, want %v", got, want)
	}
}

// TestS3StoreCommitIsIdempotent covers a history PUT that succeeded but
// whose answer was lost, so that the SDK's retry finds the object: the
// commit is not a conflict, since the object is the commit's own.
func TestS3StoreCommitIsIdempotent(t *testing.T) {
	ctx := context.Background()
	client, bucket := s3test.Bucket(t)
	s := openS3Store(t, client, bucket)
	cur, _ := s.Current(ctx)
	m := cur.Manifest.Clone()
	if err := putApp("catalog", "1.0.0")(m); err != nil {
		t.Fatal(err)
	}
	m.Revision = 1
	rec := &Record{Revision: 1, Time: time.Now().UTC(), Actor: "ops", Changes: Diff(nil, m.Apps), Manifest: m}
	data, err := encodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	putObject(t, client, bucket, s3Key+".history/00000000000000000001.json", string(data))
	if err := s.Commit(ctx, rec); err != nil {
		t.Fatalf("Commit of a record already written by this commit: %v", err)
	}
	if got := manifestObject(t, client, bucket); got.Revision != 1 {
		t.Fatalf("manifest object at revision %d, want 1", got.Revision)
	}
	other := *rec
	other.Actor = "someone else"
	if err := openS3Store(t, client, bucket).Commit(ctx, &other); !errors.Is(err, ErrConflict) {
		t.Fatalf("Commit of another record at a taken revision: got %v, want ErrConflict", err)
	}
}

// TestS3StoreUnreachable checks that a store whose server is gone fails
// fast with ErrUnavailable, and that a missing bucket is an error too.
func TestS3StoreUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, bucket := s3test.Bucket(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dead := s3.New(client.Options(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String("http://" + addr)
		o.Retryer = aws.NopRetryer{}
		o.HTTPClient = &http.Client{Timeout: 2 * time.Second}
	})
	loc := s3x.Location{Bucket: bucket, Key: s3Key}
	s, err := newS3Store(dead, loc)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping: got %v, want ErrUnavailable", err)
	}
	if _, err := s.Current(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Current: got %v, want ErrUnavailable", err)
	}
	if _, _, err := Apply(ctx, s, Edit{Actor: "ops", Change: putApp("catalog", "1.0.0")}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Apply: got %v, want ErrUnavailable", err)
	}
	if _, err := OpenS3(ctx, dead, loc); !errors.Is(err, ErrUnavailable) {
		t.Errorf("OpenS3: got %v, want ErrUnavailable", err)
	}
	if ctx.Err() != nil {
		t.Fatal("requests to a closed port did not fail before the test's deadline")
	}

	missing := s3x.Location{Bucket: bucket + "-missing", Key: s3Key}
	if _, err := OpenS3(ctx, client, missing); err == nil || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("OpenS3 on a missing bucket: got %v, want NoSuchBucket", err)
	}
	s, _ = newS3Store(client, missing)
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Ping on a missing bucket: got %v, want an error", err)
	}
	if err := openS3Store(t, client, bucket).Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestOpenS3RejectsFolderKeys(t *testing.T) {
	client, bucket := s3test.Bucket(t)
	for _, key := range []string{"", "prod/"} {
		if _, err := OpenS3(context.Background(), client, s3x.Location{Bucket: bucket, Key: key}); err == nil {
			t.Errorf("OpenS3 with key %q: no error", key)
		}
	}
}
