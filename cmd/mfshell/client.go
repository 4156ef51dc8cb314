package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// maxResponseBytes caps what the client reads of an answer: the largest
// are a manifest and a page of history, far below this.
const maxResponseBytes = 64 << 20

// apiFlags are the flags every ops command shares.
type apiFlags struct {
	server    string
	tokenFile string
	json      bool
	timeout   time.Duration
}

// addAPIFlags defines the shared ops flags on fs.
func addAPIFlags(fs *flag.FlagSet, e *env) *apiFlags {
	f := &apiFlags{}
	fs.StringVar(&f.server, "server", envDefault(e, "server", "http://127.0.0.1:8080"), "base URL of the mfshell server (MFSHELL_SERVER)")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the API token (default: the token in MFSHELL_TOKEN)")
	fs.BoolVar(&f.json, "json", false, "print the API's JSON answer")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "give up on the server after this long (0: wait for ever)")
	return f
}

// client checks the flags and returns a client for them. A bad --server or
// --timeout is a usage error; a missing or unreadable token is not.
func (f *apiFlags) client(e *env) (*client, error) {
	u, err := url.Parse(f.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, usageError(fmt.Sprintf("--server %q: want a base URL such as http://127.0.0.1:8080", f.server))
	}
	if f.timeout < 0 {
		return nil, usageError(fmt.Sprintf("--timeout %s: must not be negative", f.timeout))
	}
	c := &client{
		base:    strings.TrimSuffix(f.server, "/"),
		timeout: f.timeout,
		http:    &http.Client{Timeout: f.timeout},
	}
	switch {
	case f.tokenFile != "":
		data, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("read token: %w", err)
		}
		c.token, c.tokenFrom = strings.TrimSpace(string(data)), "--token-file "+f.tokenFile
	case e.getenv("MFSHELL_TOKEN") != "":
		c.token, c.tokenFrom = strings.TrimSpace(e.getenv("MFSHELL_TOKEN")), "MFSHELL_TOKEN"
	default:
		return nil, errors.New("no token: set MFSHELL_TOKEN or pass --token-file (a first run of mfshell serve writes mfshell-data/admin.token)")
	}
	if c.token == "" {
		return nil, fmt.Errorf("no token: %s is empty", c.tokenFrom)
	}
	// Such a token could never be valid, and Go would refuse to send it
	// with an error that does not say where it came from.
	if strings.ContainsFunc(c.token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, fmt.Errorf("bad token: the token from %s contains spaces or control characters", c.tokenFrom)
	}
	return c, nil
}

// client calls the ops API of a running mfshell server. It is safe for
// concurrent use.
type client struct {
	base      string // such as "http://127.0.0.1:8080", without a final slash
	token     string
	tokenFrom string // where the token came from, for error messages
	timeout   time.Duration
	http      *http.Client
}

// apiError is an error answer of the API: its status and the server's
// message.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Message) }

// do sends one request to the API and returns the status and body of a
// successful (2xx) answer. body, when not nil, is sent as JSON. It is the
// one place where answers become errors: an error answer gives an
// *apiError with the server's message, and a server that cannot be reached
// gives one line that says so.
func (c *client) do(ctx context.Context, method, path string, body any, header http.Header) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, c.reachError(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return 0, nil, fmt.Errorf("read the answer of the server at %s: %w", c.base, err)
	}
	if resp.StatusCode < 300 {
		return resp.StatusCode, data, nil
	}
	e := &apiError{Status: resp.StatusCode}
	var eb struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &eb) == nil && eb.Error != "" {
		e.Message = eb.Error
	} else {
		// Not our server's JSON: a proxy's page, or another server.
		first, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
		e.Message = strings.TrimSpace(http.StatusText(resp.StatusCode) + " (not an mfshell answer: " + truncate(first, 100) + ")")
	}
	if resp.StatusCode == http.StatusUnauthorized {
		e.Message += " (the token from " + c.tokenFrom + ")"
	}
	return resp.StatusCode, nil, e
}

// reachError turns a failure to get any answer into one line that names
// the server and the likely cause.
func (c *client) reachError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	var (
		ue  *url.Error
		dns *net.DNSError
		op  *net.OpError
	)
	switch {
	case errors.As(err, &ue) && ue.Timeout():
		return fmt.Errorf("no answer from the server at %s within %s (see --timeout)", c.base, c.timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach the server at %s: connection refused; is mfshell serve running?", c.base)
	case errors.As(err, &dns):
		return fmt.Errorf("cannot reach the server at %s: %v", c.base, dns)
	case errors.As(err, &op):
		return fmt.Errorf("cannot reach the server at %s: %v", c.base, op.Err)
	case errors.As(err, &ue):
		return fmt.Errorf("cannot reach the server at %s: %v", c.base, ue.Err)
	}
	return fmt.Errorf("cannot reach the server at %s: %v", c.base, err)
}

// decode parses an answer of the API into v.
func (c *client) decode(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("unexpected answer from the server at %s: %v", c.base, err)
	}
	return nil
}

// writeHeaders returns the headers of a write: Mfshell-Reason and If-Match
// from the --reason and --if-match flags, checked here so that a mistake
// is a usage error rather than a refused request.
func writeHeaders(reason, ifMatch string) (http.Header, error) {
	h := http.Header{}
	if reason != "" {
		if strings.ContainsFunc(reason, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return nil, usageError("--reason: must be one line without control characters")
		}
		h.Set("Mfshell-Reason", reason)
	}
	if ifMatch != "" {
		rev := strings.Trim(ifMatch, `"`)
		if n, err := parseRevision(rev); err != nil || n < 1 {
			return nil, usageError(fmt.Sprintf("--if-match %q: want a revision such as 7", ifMatch))
		}
		h.Set("If-Match", `"`+rev+`"`)
	}
	return h, nil
}

// printJSON writes an answer of the API, indented for people; scripts
// parse it all the same.
func printJSON(w io.Writer, data []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(data), "", "  "); err != nil {
		return fmt.Errorf("unexpected answer from the server: %v", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// truncate shortens s to at most n bytes, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
