// Package s3test runs tests against a real S3-compatible server: versitygw
// (posix backend) started once per test binary on a free port of
// 127.0.0.1, or the server named by MFSHELL_S3_ENDPOINT when it is set.
//
// A package that uses it calls Main from its TestMain; each test then gets
// a fresh bucket from Bucket. The server starts with the first Bucket, so a
// run that needs none (a fuzz target, a benchmark) starts none. When no
// server can be started, the test fails: tests that need S3 never
// silently skip.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mfshell/mfshell/internal/s3x"
)

// Credentials of the test server.
const (
	accessKey = "mfshelltest"
	secretKey = "mfshelltest-secret"
)

// The server of this test binary, started by the first Bucket.
var (
	inMain   bool // Main is running the tests
	once     sync.Once
	endpoint string
	stop     = func() {}
	startErr error
)

// Main runs the tests and then stops the server if one was started. Use
// it as: func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }.
func Main(m *testing.M) int {
	inMain = true
	defer func() { stop() }()
	return m.Run()
}

// Endpoint starts the server if need be (unless MFSHELL_S3_ENDPOINT names
// one, the SDK's standard chain is pointed at it through the environment)
// and returns its URL, for --s3-endpoint.
func Endpoint(tb testing.TB) string {
	tb.Helper()
	if !inMain {
		tb.Fatal("s3test: call s3test.Main from TestMain")
	}
	once.Do(func() {
		var s func()
		if s, startErr = start(); startErr == nil {
			stop = s
		}
	})
	if startErr != nil {
		tb.Fatal("s3test: ", startErr)
	}
	return endpoint
}

func start() (func(), error) {
	if e := os.Getenv("MFSHELL_S3_ENDPOINT"); e != "" {
		endpoint = e // with-s3.sh or a server of one's own: credentials from the environment
		return func() {}, nil
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           accessKey,
		"AWS_SECRET_ACCESS_KEY":       secretKey,
		"AWS_REGION":                  "us-east-1",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		os.Setenv(k, v)
	}
	bin, err := versitygw()
	if err != nil {
		return nil, err
	}
	// The port is found free, released, then given to the server: another
	// process may take it in between, so a failed start is tried again.
	for attempt := 1; ; attempt++ {
		srv, err := launch(bin)
		if err == nil {
			endpoint = srv.URL
			return srv.close, nil
		}
		if attempt == 3 {
			return nil, err
		}
	}
}

// Server is one versitygw process with a data folder of its own. Tests of
// outages start their own with NewServer, to stop and restart it.
type Server struct {
	// URL is the server's endpoint, the same across restarts.
	URL  string
	bin  string
	addr string
	dir  string
	stop func() // stops the process; nil when stopped
}

// launch starts a server on a free port with an empty data folder.
func launch(bin string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	dir, err := os.MkdirTemp("", "mfshell-s3-")
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{URL: "http://" + addr, bin: bin, addr: addr, dir: dir}
	if err := s.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// start runs the process on s's port and data, and waits until it answers.
func (s *Server) start() error {
	logPath := filepath.Join(s.dir, "server.log")
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, "--port", s.addr, "--quiet", "posix", filepath.Join(s.dir, "data"))
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+accessKey, "ROOT_SECRET_ACCESS_KEY="+secretKey)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.stop = func() {
		cmd.Process.Kill()
		<-exited
		log.Close()
	}
	if !ready(s.addr, exited) {
		out, _ := os.ReadFile(logPath)
		s.Stop()
		return fmt.Errorf("%s did not start on %s: %s", s.bin, s.addr, strings.TrimSpace(string(out)))
	}
	return nil
}

// Stop kills the server; its data stays for Restart.
func (s *Server) Stop() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

// Restart starts the stopped server again, on the same port and data.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	if err := s.start(); err != nil {
		tb.Fatal(err)
	}
}

// close stops the server and removes its data.
func (s *Server) close() {
	s.Stop()
	os.RemoveAll(s.dir)
}

// NewServer starts a server of the test's own, stopped and removed when
// the test ends, and returns it with a client and an empty bucket on it.
func NewServer(tb testing.TB) (*Server, *s3.Client, string) {
	tb.Helper()
	Endpoint(tb) // the environment, and the binary known to work
	bin, err := versitygw()
	if err != nil {
		tb.Fatal(err)
	}
	s, err := launch(bin)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.close)
	c, b := bucket(tb, s.URL)
	return s, c, b
}

// ready waits until the server answers HTTP at addr (versitygw has no
// health endpoint: any answer will do), for up to 10 s.
func ready(addr string, exited <-chan struct{}) bool {
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		select {
		case <-exited:
			return false
		default:
		}
		if r, err := c.Get("http://" + addr + "/"); err == nil {
			r.Body.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// versitygw finds the server's binary: $VERSITYGW, then .tools/bin/versitygw
// at the module's root (where `make s3-server` installs it), then $PATH.
func versitygw() (string, error) {
	if p := os.Getenv("VERSITYGW"); p != "" {
		return p, nil
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				p := filepath.Join(d, ".tools", "bin", "versitygw")
				if _, err := os.Stat(p); err == nil {
					return p, nil
				}
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	return "", errors.New("versitygw not found: run `make s3-server` (it installs versitygw v1.8.0 into .tools/bin), or set VERSITYGW or MFSHELL_S3_ENDPOINT")
}

var buckets atomic.Int64

// Bucket creates an empty bucket for tb and returns a client for the server
// and the bucket's name. The bucket is not removed: the server's data goes
// with it when Main ends.
func Bucket(tb testing.TB) (*s3.Client, string) {
	tb.Helper()
	return bucket(tb, Endpoint(tb))
}

// bucket creates an empty bucket on the server at endpoint.
func bucket(tb testing.TB, endpoint string) (*s3.Client, string) {
	tb.Helper()
	ctx := context.Background()
	c, err := s3x.NewClient(ctx, endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	var r [4]byte
	rand.Read(r[:])
	name := fmt.Sprintf("t%d-%s", buckets.Add(1), hex.EncodeToString(r[:]))
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil && s3x.Status(err) != http.StatusConflict {
		tb.Fatalf("create bucket %s: %v", name, err)
	}
	return c, name
}
