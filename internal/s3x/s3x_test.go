package s3x_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mfshell/mfshell/internal/s3test"
	"github.com/mfshell/mfshell/internal/s3x"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in       string
		emptyKey bool
		want     s3x.Location
		ok       bool
	}{
		{"s3://bucket/a/manifest.json", false, s3x.Location{"bucket", "a/manifest.json"}, true},
		{"s3://my.bucket-1/k", false, s3x.Location{"my.bucket-1", "k"}, true},
		{"s3://bucket", true, s3x.Location{"bucket", ""}, true},
		{"s3://bucket/", true, s3x.Location{"bucket", ""}, true},
		{"s3://bucket", false, s3x.Location{}, false},
		{"s3://b1/k", false, s3x.Location{}, false},          // too short
		{"s3://Bucket/k", false, s3x.Location{}, false},      // upper case
		{"s3://-bucket/k", false, s3x.Location{}, false},     // leading hyphen
		{"s3://bucket/a//b", false, s3x.Location{}, false},   // empty segment
		{"s3://bucket//a", false, s3x.Location{}, false},     // leading slash in key
		{"s3://bucket/k?x=1", false, s3x.Location{}, false},  // query
		{"s3://user@bucket/k", false, s3x.Location{}, false}, // userinfo
		{"file:///tmp/x", false, s3x.Location{}, false},
		{"bucket/key", false, s3x.Location{}, false},
	} {
		got, err := s3x.Parse(tc.in, tc.emptyKey)
		if (err == nil) != tc.ok || tc.ok && got != tc.want {
			t.Errorf("Parse(%q, %v) = %+v, %v; want %+v, ok=%v", tc.in, tc.emptyKey, got, err, tc.want, tc.ok)
		}
	}
}

// TestConditions checks the error helpers against what the server answers.
func TestConditions(t *testing.T) {
	ctx := context.Background()
	c, b := s3test.Bucket(t)
	put := func(body string, match, noneMatch *string) (*s3.PutObjectOutput, error) {
		return c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("k"), Body: bytes.NewReader([]byte(body)), IfMatch: match, IfNoneMatch: noneMatch})
	}
	if _, err := put("a", aws.String(`"nope"`), nil); !s3x.IsNotFound(err) {
		t.Fatalf("If-Match on a missing key: %v, want not found", err)
	}
	first, err := put("a", nil, aws.String("*"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := put("b", nil, aws.String("*")); !s3x.IsPreconditionFailed(err) {
		t.Fatalf("If-None-Match * on an existing key: %v, want precondition failed", err)
	}
	if _, err := put("b", first.ETag, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := put("c", first.ETag, nil); !s3x.IsPreconditionFailed(err) {
		t.Fatalf("If-Match with a stale ETag: %v, want precondition failed", err)
	}
	cur, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("k"), IfNoneMatch: cur.ETag}); !s3x.IsNotModified(err) {
		t.Fatalf("GET If-None-Match the current ETag: %v, want not modified", err)
	}
}
