// Package s3x holds what the S3 stores share: parsing s3:// locations,
// building a client for AWS or an S3-compatible server, and telling the
// errors that conditional requests answer with.
package s3x

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Location is a bucket and a key (or key prefix) in it.
type Location struct {
	Bucket string
	Key    string
}

func (l Location) String() string { return "s3://" + l.Bucket + "/" + l.Key }

// Parse parses "s3://BUCKET/KEY". The key may be empty only if allowEmptyKey.
func Parse(raw string, allowEmptyKey bool) (Location, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Location{}, fmt.Errorf("%q: want s3://BUCKET/KEY", raw)
	}
	l := Location{Bucket: u.Host, Key: strings.TrimPrefix(u.Path, "/")}
	if err := checkBucket(l.Bucket); err != nil {
		return Location{}, fmt.Errorf("%q: %w", raw, err)
	}
	if l.Key == "" && !allowEmptyKey {
		return Location{}, fmt.Errorf("%q: no key after the bucket", raw)
	}
	if strings.Contains(l.Key, "//") || strings.HasPrefix(l.Key, "/") {
		return Location{}, fmt.Errorf("%q: empty path segment in the key", raw)
	}
	return l, nil
}

// checkBucket applies S3's bucket naming rules: 3 to 63 characters, lower
// case letters, digits, dots and hyphens, starting and ending with a letter
// or digit.
func checkBucket(b string) error {
	ok := len(b) >= 3 && len(b) <= 63
	for i := 0; ok && i < len(b); i++ {
		c := b[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		ok = alnum || (c == '.' || c == '-') && i > 0 && i < len(b)-1
	}
	if !ok {
		return fmt.Errorf("bucket %q: want 3 to 63 lower-case letters, digits, dots and hyphens", b)
	}
	return nil
}

// NewClient returns a client configured by the SDK's standard chain
// (environment, shared files, instance roles). A non-empty endpoint (an
// S3-compatible server) also turns on path-style addressing.
func NewClient(ctx context.Context, endpoint string) (*s3.Client, error) {
	// A host that does not answer fails in seconds, not the default 30 s
	// per attempt: /readyz and writes report it while reads go on.
	httpClient := awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) {
		d.Timeout = 5 * time.Second
	})
	cfg, err := config.LoadDefaultConfig(ctx, config.WithHTTPClient(httpClient))
	if err != nil {
		return nil, fmt.Errorf("s3 configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	}), nil
}

// Status returns the HTTP status of a failed S3 request, or 0.
func Status(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// IsPreconditionFailed reports whether err is a conditional write or read
// that lost: 412, or 409 ConditionalRequestConflict, which AWS may send
// when two conditional writes race.
func IsPreconditionFailed(err error) bool {
	s := Status(err)
	return s == http.StatusPreconditionFailed || s == http.StatusConflict
}

// IsUnavailable reports whether err is a failure of S3, or of the way to
// it, rather than an answer about the request: a server error or
// throttling, or no answer at all (a failed connection, a timeout; the
// request's own cancellation aside).
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if s := Status(err); s != 0 {
		return s >= 500 || s == http.StatusTooManyRequests
	}
	var send *smithyhttp.RequestSendError
	var ne net.Error
	return errors.As(err, &send) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}

// IsNotFound reports whether err says the object does not exist.
func IsNotFound(err error) bool { return Status(err) == http.StatusNotFound }

// IsNotModified reports whether err is the 304 of a conditional GET.
func IsNotModified(err error) bool { return Status(err) == http.StatusNotModified }
