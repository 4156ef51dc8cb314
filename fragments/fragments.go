// Package fragments fetches the HTML that apps' own servers render for a
// page (DESIGN.md, "Layout and server-side fragments"): the fragments of
// every app on a page, in parallel, under one time budget for the whole
// page, each at most MaxBytes, and normalized so that whatever a fragment
// server sends, it cannot close or swallow the element it is inlined into.
//
// A fragment request is GET URL?path=PATH with the headers Mfshell-App,
// Mfshell-Version and Accept: text/html, plus the page request's
// Accept-Language and the headers named in Options.Forward, nothing else:
// cookies and authorization reach a fragment server only if named.
package fragments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MaxBytes bounds the body of a fragment.
const MaxBytes = 1 << 20

// DefaultBudget is the time budget of a page's fragments when none is set.
const DefaultBudget = 250 * time.Millisecond

// Errors a Result may hold, besides the transport's and HTTP status errors.
var (
	ErrTimeout  = errors.New("no answer within the page's time budget")
	ErrTooLarge = fmt.Errorf("larger than %d bytes", MaxBytes)
	// ErrCanceled is a fragment still on its way when the page's own
	// request ended (its client went away).
	ErrCanceled = errors.New("the page's request ended first")
)

// Target is an app whose fragment a page needs.
type Target struct {
	App, Version string
	URL          string // the app's fragment endpoint, an absolute http(s) URL
}

// Result is what became of one fragment request.
type Result struct {
	// HTML is the normalized fragment; nil when Err is set.
	HTML []byte
	// Trigger is the fragment's Mfshell-Trigger header, validated and
	// compacted to ASCII JSON, or "" if it had none or an invalid one.
	Trigger string
	Err     error
}

// Options configure a Fetcher.
type Options struct {
	// Budget bounds the time to fetch all the fragments of one page;
	// DefaultBudget if zero.
	Budget time.Duration
	// Forward names the page request's headers passed on to fragment
	// servers, besides Accept-Language.
	Forward []string
	// Registerer takes the Fetcher's metrics; none if nil.
	Registerer prometheus.Registerer
	// Transport is the HTTP transport to use; a pooled one of its own if nil.
	Transport http.RoundTripper
}

// Fetcher fetches fragments for pages; one serves every request of a
// server, reusing connections to fragment servers.
type Fetcher struct {
	client  *http.Client
	forward []string
	budget  time.Duration
	seconds *prometheus.HistogramVec
	results *prometheus.CounterVec
}

// New returns a Fetcher, or an error naming an unusable header in o.Forward.
func New(o Options) (*Fetcher, error) {
	f := &Fetcher{budget: o.Budget}
	if f.budget <= 0 {
		f.budget = DefaultBudget
	}
	for _, h := range o.Forward {
		if !validHeaderName(h) {
			return nil, fmt.Errorf("forward header %q: not a header name", h)
		}
		switch k := textproto.CanonicalMIMEHeaderKey(h); k {
		case "Host", "Connection", "Content-Length", "Transfer-Encoding", "Upgrade", "Te", "Trailer", "Keep-Alive",
			"Accept-Language", "Mfshell-App", "Mfshell-Version":
			return nil, fmt.Errorf("forward header %q: set by mfshell itself, it cannot be forwarded", h)
		default:
			f.forward = append(f.forward, k)
		}
	}
	t := o.Transport
	if t == nil {
		t = &http.Transport{
			DialContext: (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			// Pages in flight times their fragments may all go to one
			// host: keep that many connections for reuse.
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   true,
		}
	}
	// Redirects are not followed: a fragment answers, or it fails.
	f.client = &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	f.seconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "mfshell_fragment_seconds",
		Help:    "Time to fetch a fragment, of those that arrived within the budget, by app.",
		Buckets: []float64{.005, .01, .025, .05, .1, .15, .2, .25, .5, 1},
	}, []string{"app"})
	f.results = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mfshell_fragments_total",
		Help: "Fragment requests by app and result: ok, error (transport, HTTP status, not HTML), timeout, too_large, canceled (the page's client went away first).",
	}, []string{"app", "result"})
	if o.Registerer != nil {
		if err := o.Registerer.Register(f.seconds); err != nil {
			return nil, err
		}
		if err := o.Registerer.Register(f.results); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Budget is the time budget of a page's fragments.
func (f *Fetcher) Budget() time.Duration { return f.budget }

// Fetch fetches the fragment of each target for the page at path,
// requested by r, all in parallel. It returns once every one has arrived
// or the budget is spent, whichever comes first, the results in the order
// of targets; a fragment still on its way then is cancelled and has
// ErrTimeout.
func (f *Fetcher) Fetch(ctx context.Context, r *http.Request, path string, targets []Target) []Result {
	out := make([]Result, len(targets))
	if len(targets) == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, f.budget)
	defer cancel()
	type done struct {
		i   int
		res Result
	}
	ch := make(chan done, len(targets)) // buffered: a late fetch never blocks
	start := time.Now()
	for i, t := range targets {
		go func() {
			res := f.one(ctx, r, path, t)
			if res.Err == nil {
				f.seconds.WithLabelValues(t.App).Observe(time.Since(start).Seconds())
			}
			ch <- done{i, res}
		}()
	}
	arrived := make([]bool, len(targets))
wait:
	for range targets {
		select {
		case d := <-ch:
			out[d.i], arrived[d.i] = d.res, true
		case <-ctx.Done():
			err := ErrTimeout
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				err = ErrCanceled
			}
			for i, ok := range arrived {
				if !ok {
					out[i].Err = err
				}
			}
			break wait
		}
	}
	for i, t := range targets {
		f.results.WithLabelValues(t.App, resultLabel(out[i].Err)).Inc()
	}
	return out
}

func resultLabel(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, ErrCanceled), errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	}
	return "error"
}

// one fetches one fragment.
func (f *Fetcher) one(ctx context.Context, r *http.Request, path string, t Target) Result {
	u, err := url.Parse(t.URL)
	if err != nil {
		return Result{Err: err}
	}
	q := u.Query()
	q.Set("path", path)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Result{Err: err}
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Mfshell-App", t.App)
	req.Header.Set("Mfshell-Version", t.Version)
	for _, h := range append([]string{"Accept-Language"}, f.forward...) {
		for _, v := range r.Header.Values(h) {
			req.Header.Add(h, v)
		}
	}
	res, err := f.client.Do(req)
	if err != nil {
		return Result{Err: err}
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return Result{Err: fmt.Errorf("HTTP %d", res.StatusCode)}
	}
	if ct := res.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "text/html" {
			return Result{Err: fmt.Errorf("content type %q, not text/html", ct)}
		}
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, MaxBytes+1))
	if err != nil {
		return Result{Err: err}
	}
	if len(body) > MaxBytes {
		return Result{Err: ErrTooLarge}
	}
	html, err := Normalize(body)
	if err != nil {
		return Result{Err: err}
	}
	trigger, _ := ParseTrigger(res.Header.Get(TriggerHeader)) // an invalid trigger is dropped, the fragment kept
	return Result{HTML: html, Trigger: trigger}
}

// validHeaderName reports whether h is an HTTP header name (an RFC 9110 token).
func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for _, c := range h {
		if c > 0x7e || c <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}
