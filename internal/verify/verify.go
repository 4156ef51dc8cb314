// Package verify is the release gate of mfshell verify: it runs one
// version of an app in the real shell, in a local headless Chromium driven
// through the DevTools protocol (chromedp), selected for that browser
// only by a signed override, and judges it:
//
//   - leaks: it unmounts and mounts the app many times, alternating with
//     another routed app, after a warm-up, and fails on what the shell had
//     to release for the app at each unmount (mfshell:unmounted
//     detail.cleaned), on listeners of window, document and body that
//     grow, and on heap growth after forced garbage collections;
//   - errors: console errors, uncaught exceptions, CSP violations, failed
//     requests, mfshell:error and mfshell:fallback (the runtime mounting
//     the live version because the one under test failed), and a mounted
//     version other than the one under test;
//   - visual: a screenshot of the mounted app compared pixel by pixel with
//     the same route on another version, both and a diff image written
//     out.
//
// The caller gives the server's manifest (Prepare) and a way to get
// override links (Options.Override); Run returns a Report, which Text and
// JSON print.
package verify

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/mfshell/mfshell/manifests"
)

// Defaults of the options that have one.
const (
	DefaultSwitches      = 50
	DefaultWarmup        = 5
	DefaultMaxDiff       = 0.5      // percent of the pixels
	DefaultHeapPerCycle  = 50 << 10 // bytes
	DefaultHeapShare     = 0.10
	DefaultMountTimeout  = 20 * time.Second
	ViewportWidth        = 1280
	ViewportHeight       = 800
	maxScreenshotHeight  = 4000
	screenshotAttempts   = 20
	screenshotRetryPause = 100 * time.Millisecond
)

// Options say what to verify and how.
type Options struct {
	// Server is the base URL of the mfshell server, without a final slash.
	Server string
	// App and Version are the version under test.
	App, Version string
	// Other is the routed app the app alternates with; "" picks the first
	// other routed app by name (Prepare).
	Other string
	// Against is the version the screenshot is compared with; "" is the
	// live version (Prepare), "none" skips the visual check.
	Against string
	// Override returns the link (path and query, such as
	// "/?mfshell-override=TOKEN") that makes a browser run version of the
	// app; the link of the live version is asked for too, so that a canary
	// never changes what the comparison sees.
	Override func(ctx context.Context, version string) (string, error)
	// Switches is the number of measured cycles (an unmount and a mount of
	// the app each); Warmup the cycles before the first measurement, at
	// least 1 (a cycle tells what the shell puts back by the one before).
	Switches, Warmup int
	// Chromium is the browser's executable.
	Chromium string
	// Out is the folder the screenshots and the diff image go to.
	Out string
	// MaxDiff is the share of differing pixels, in percent, above which
	// the visual check fails.
	MaxDiff float64
	// Limits are the thresholds of the leak judgement.
	Limits Limits
	// MountTimeout bounds each mount of an app in the browser.
	MountTimeout time.Duration
	// Progress, if not nil, is told what Run does, a line at a time.
	Progress func(format string, args ...any)

	// Filled in by Prepare.
	route, otherRoute, live string
}

// Prepare checks o against the server's manifest m and fills in what o
// leaves to it: the app must be in the manifest and routed, and so must
// the other app; Against defaults to the live version.
func Prepare(o *Options, m *manifests.Manifest) error {
	a, ok := m.Apps[o.App]
	if !ok {
		return fmt.Errorf("no app %q in the manifest (revision %d)", o.App, m.Revision)
	}
	if a.Route == "" {
		return fmt.Errorf("%s is not routed (route \"\"): verify mounts an app by navigating to its route; give %s a route, or verify it where a routed app places it", o.App, o.App)
	}
	o.route, o.live = a.Route, a.Version
	if o.Other == "" {
		for _, name := range slices.Sorted(maps.Keys(m.Apps)) {
			if name != o.App && m.Apps[name].Route != "" && m.Apps[name].Route != a.Route {
				o.Other = name
				break
			}
		}
		if o.Other == "" {
			return fmt.Errorf("no other routed app in the manifest to alternate %s with: verify needs two routed apps", o.App)
		}
	}
	b, ok := m.Apps[o.Other]
	switch {
	case !ok:
		return fmt.Errorf("--other %s: no such app in the manifest", o.Other)
	case o.Other == o.App:
		return fmt.Errorf("--other %s: want another app than the one under test", o.Other)
	case b.Route == "":
		return fmt.Errorf("--other %s: it is not routed; want a routed app", o.Other)
	case b.Route == a.Route:
		return fmt.Errorf("--other %s: it has the same route as %s (%s)", o.Other, o.App, a.Route)
	}
	o.otherRoute = b.Route
	if o.Against == "" {
		o.Against = a.Version
	}
	if o.Against == "none" {
		o.Against = ""
	}
	return nil
}

// Problem is one error seen in the browser; repeats of the same text are
// counted, not listed.
type Problem struct {
	// Kind is console, exception, log, network, csp, mfshell:error,
	// mfshell:fallback, version (another version mounted), timeout (no
	// answer from the shell) or cycle (a cycle that did not complete).
	Kind  string `json:"kind"`
	Text  string `json:"text"`
	Count int    `json:"count"`
}

// Visual is the visual part of a report.
type Visual struct {
	Against string    `json:"against"`
	Diff    PixelDiff `json:"diff"`
	MaxDiff float64   `json:"maxDiff"`
	// Files are the screenshots of the version and of Against, and the diff image.
	Files struct {
		Version string `json:"version"`
		Against string `json:"against"`
		Diff    string `json:"diff"`
	} `json:"files"`
	// Unstable says a screenshot still changed after the settle time (an
	// animation): the comparison may differ from run to run.
	Unstable bool     `json:"unstable"`
	Failures []string `json:"failures"`
}

// Report is what verify found.
type Report struct {
	App        string `json:"app"`
	Version    string `json:"version"`
	Live       string `json:"live"`
	Route      string `json:"route"`
	Other      string `json:"other"`
	OtherRoute string `json:"otherRoute"`
	Server     string `json:"server"`
	Browser    string `json:"browser"`
	// Mounted says the version under test mounted: the leak and visual
	// checks only run when it did.
	Mounted bool `json:"mounted"`
	// Leaks is nil when it was not measured.
	Leaks *Leaks `json:"leaks"`
	// Errors are what the browser reported while it ran the version under
	// test; each is a failure.
	Errors []Problem `json:"errors"`
	// AgainstErrors are what it reported while it ran the version compared
	// with: shown, never a failure of the version under test.
	AgainstErrors []Problem `json:"againstErrors"`
	// Visual is nil when it was skipped.
	Visual *Visual `json:"visual"`
	// Seconds is how long verify ran; SwitchSeconds how long the measured
	// cycles took.
	Seconds       float64 `json:"seconds"`
	SwitchSeconds float64 `json:"switchSeconds"`
	// Failures are every failure, one line each: empty when Pass.
	Failures []string `json:"failures"`
	Pass     bool     `json:"pass"`
}

// ErrFailed is returned (wrapped) by Run when the version failed verify;
// the report is complete.
var ErrFailed = errors.New("failed")

// finish fills in Failures and Pass from the sections.
func (r *Report) finish() {
	r.Failures = []string{}
	if !r.Mounted {
		r.Failures = append(r.Failures, fmt.Sprintf("the version under test (%s %s) did not mount: leaks and visual not checked", r.App, r.Version))
	}
	if r.Leaks != nil {
		r.Failures = append(r.Failures, r.Leaks.Failures...)
	}
	for _, p := range r.Errors {
		r.Failures = append(r.Failures, p.Kind+": "+p.Text)
	}
	if r.Visual != nil {
		r.Failures = append(r.Failures, r.Visual.Failures...)
	}
	r.Pass = len(r.Failures) == 0
}
