package verify

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// shellEvent is an mfshell:* event as the recorder copied it, or the
// recorder's {type: "timeout"} when none came.
type shellEvent struct {
	Type    string     `json:"type"`
	App     string     `json:"app"`
	Version string     `json:"version"`
	Error   string     `json:"error"`
	Cleaned *Resources `json:"cleaned"`
	Ms      float64    `json:"ms"`
}

// cycleResult is what the recorder's cycle returns.
type cycleResult struct {
	Held     Resources `json:"held"`
	After    Resources `json:"after"`
	Released []string  `json:"released"`
	Fresh    struct {
		Globals []string `json:"globals"`
		Nodes   []string `json:"nodes"`
	} `json:"fresh"`
	Restored struct {
		Globals int `json:"globals"`
		Nodes   int `json:"nodes"`
	} `json:"restored"`
	Away   shellEvent   `json:"away"`
	Back   shellEvent   `json:"back"`
	Events []shellEvent `json:"events"`
}

// Run verifies the version o describes; Prepare must have filled o in. It
// returns the report and a nil error when the version passed, the report
// and an error wrapping ErrFailed when it failed, and no report when
// verify could not run (no browser, no server, the context ended).
func Run(ctx context.Context, o Options) (*Report, error) {
	start := time.Now()
	if o.MountTimeout <= 0 {
		o.MountTimeout = DefaultMountTimeout
	}
	o.Warmup = max(o.Warmup, 1)
	progress := o.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	r := &Report{
		App: o.App, Version: o.Version, Live: o.live, Route: o.route, Other: o.Other, OtherRoute: o.otherRoute,
		Server: o.Server, Errors: []Problem{}, AgainstErrors: []Problem{},
	}
	progress("starting %s", o.Chromium)
	bctx, stop, product, err := startBrowser(ctx, o.Chromium)
	if err != nil {
		return nil, err
	}
	defer stop()
	r.Browser = product

	if err := leakCheck(ctx, bctx, o, r, progress); err != nil {
		return nil, err
	}
	if r.Mounted && o.Against != "" {
		if err := visualCheck(ctx, bctx, o, r, progress); err != nil {
			return nil, err
		}
	}
	r.Seconds = time.Since(start).Seconds()
	r.finish()
	if !r.Pass {
		return r, fmt.Errorf("%w, %d %s", ErrFailed, len(r.Failures), plural(len(r.Failures), "failure"))
	}
	return r, nil
}

// open opens a tab that runs version of the app, on the app's route, and
// waits for the app's first mount; it returns the tab and that mount's
// outcome.
func open(ctx, bctx context.Context, o Options, version string) (*tab, shellEvent, error) {
	link, err := o.Override(ctx, version)
	if err != nil {
		return nil, shellEvent{}, fmt.Errorf("override %s %s: %w", o.App, version, err)
	}
	u, err := url.Parse(link)
	if err != nil {
		return nil, shellEvent{}, fmt.Errorf("override %s %s: bad link %q", o.App, version, link)
	}
	t, err := newTab(bctx)
	if err != nil {
		return nil, shellEvent{}, err
	}
	t.app, t.version = o.App, version
	page := o.Server + o.route + "?" + u.RawQuery
	if err := t.navigate(page); err != nil {
		t.close()
		return nil, shellEvent{}, fmt.Errorf("load %s%s: %w", o.Server, o.route, err)
	}
	var first struct {
		Result shellEvent   `json:"result"`
		Events []shellEvent `json:"events"`
	}
	if err := t.eval(&first, call("first", o.App, o.MountTimeout.Milliseconds())); err != nil {
		t.close()
		return nil, shellEvent{}, fmt.Errorf("load %s%s: %w", o.Server, o.route, err)
	}
	t.events(first.Events)
	t.timedOut(first.Result)
	return t, first.Result, nil
}

// leakCheck loads the version under test, checks that it mounts, and
// measures the cycles; it fills in r.Mounted, r.Leaks and r.Errors.
func leakCheck(ctx, bctx context.Context, o Options, r *Report, progress func(string, ...any)) error {
	progress("loading %s %s at %s%s", o.App, o.Version, o.Server, o.route)
	t, first, err := open(ctx, bctx, o, o.Version)
	if err != nil {
		return err
	}
	defer t.close()
	defer func() { r.Errors = mergeProblems(r.Errors, t.take()) }()
	r.Mounted = t.mountedWant(first)
	if !r.Mounted {
		return ctx.Err()
	}

	cycle := func() (cycleResult, error) {
		var c cycleResult
		err := t.eval(&c, call("cycle", o.App, o.route, o.Other, o.otherRoute, o.MountTimeout.Milliseconds()))
		t.events(c.Events)
		t.timedOut(c.Away)
		t.timedOut(c.Back)
		return c, err
	}
	// ok reports whether a cycle went as it should: both apps mounted, the
	// app at the version under test. Anything else is already a problem.
	ok := func(c cycleResult) bool {
		return c.Away.Type == "mounted" && c.Back.Type == "mounted" && c.Back.Version == o.Version
	}
	progress("warm-up: %d cycles between %s and %s", o.Warmup, o.App, o.Other)
	for i := range o.Warmup {
		c, err := cycle()
		if err != nil {
			return err
		}
		if !ok(c) {
			r.Leaks = nil
			r.Errors = mergeProblems(r.Errors, []Problem{{Kind: "cycle", Text: fmt.Sprintf("warm-up cycle %d of %d did not complete: leaks not measured", i+1, o.Warmup), Count: 1}})
			return nil
		}
	}
	var m Measured
	if err := t.measure(&m.ListenersBefore, &m.HeapBefore, &m.ElementsBefore); err != nil {
		return err
	}
	progress("measuring: %d cycles", o.Switches)
	var cycles []Cycle
	t0 := time.Now()
	for i := range o.Switches {
		c, err := cycle()
		if err != nil {
			return err
		}
		if !ok(c) {
			r.Errors = mergeProblems(r.Errors, []Problem{{Kind: "cycle", Text: fmt.Sprintf("cycle %d of %d did not complete: leaks not measured", i+1, o.Switches), Count: 1}})
			return nil
		}
		cy := Cycle{
			Held: c.Held, After: c.After, Released: c.Released, MountMs: c.Back.Ms,
			RestoredGlobals: c.Restored.Globals, RestoredNodes: c.Restored.Nodes, FreshGlobals: c.Fresh.Globals, FreshNodes: c.Fresh.Nodes,
		}
		for _, e := range c.Events {
			if e.Type == "unmounted" && e.App == o.App && e.Cleaned != nil {
				cy.Cleaned = *e.Cleaned
			}
		}
		cycles = append(cycles, cy)
	}
	r.SwitchSeconds = time.Since(t0).Seconds()
	if err := t.measure(&m.ListenersAfter, &m.HeapAfter, &m.ElementsAfter); err != nil {
		return err
	}
	r.Leaks = judgeLeaks(o.Warmup, cycles, m, o.Limits)
	return nil
}

// measure counts the listeners of window, document and body, the heap
// after GC and the elements of the document.
func (t *tab) measure(l *Listeners, heap *int64, elements *int) error {
	var err error
	if *l, err = t.listeners(); err != nil {
		return fmt.Errorf("count listeners: %w", err)
	}
	if *heap, err = t.heap(); err != nil {
		return fmt.Errorf("measure the heap: %w", err)
	}
	if err := t.eval(elements, call("elements")); err != nil {
		return fmt.Errorf("count elements: %w", err)
	}
	return nil
}

// visualCheck takes a screenshot of the app at the version under test and
// at o.Against, each in a fresh tab, compares them and writes both and the
// diff image to o.Out; it fills in r.Visual.
func visualCheck(ctx, bctx context.Context, o Options, r *Report, progress func(string, ...any)) error {
	v := &Visual{Against: o.Against, MaxDiff: o.MaxDiff, Failures: []string{}}
	r.Visual = v
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	v.Files.Version = filepath.Join(o.Out, fmt.Sprintf("%s-%s.png", o.App, o.Version))
	v.Files.Against = filepath.Join(o.Out, fmt.Sprintf("%s-%s.png", o.App, o.Against))
	if o.Against == o.Version {
		v.Files.Against = filepath.Join(o.Out, fmt.Sprintf("%s-%s-against.png", o.App, o.Against))
	}
	v.Files.Diff = filepath.Join(o.Out, o.App+"-diff.png")

	var imgs [2]image.Image
	for i, version := range []string{o.Version, o.Against} {
		progress("screenshot of %s %s", o.App, version)
		shot, unstable, problems, err := screenshot(ctx, bctx, o, version)
		if err != nil {
			return err
		}
		if i == 0 {
			r.Errors = mergeProblems(r.Errors, problems)
		} else {
			r.AgainstErrors = mergeProblems(r.AgainstErrors, problems)
		}
		if shot == nil {
			v.Failures = append(v.Failures, fmt.Sprintf("visual: no screenshot of %s %s: it did not mount", o.App, version))
			return nil
		}
		v.Unstable = v.Unstable || unstable
		path := []string{v.Files.Version, v.Files.Against}[i]
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			return err
		}
		if imgs[i], err = png.Decode(bytes.NewReader(shot)); err != nil {
			return fmt.Errorf("screenshot of %s %s: %w", o.App, version, err)
		}
	}
	d, diff := Compare(imgs[0], imgs[1], Tolerance)
	v.Diff = d
	var buf bytes.Buffer
	if err := png.Encode(&buf, diff); err != nil {
		return err
	}
	if err := os.WriteFile(v.Files.Diff, buf.Bytes(), 0o644); err != nil {
		return err
	}
	if d.Percent > o.MaxDiff {
		v.Failures = append(v.Failures, fmt.Sprintf("visual: %.2f%% of the pixels differ from %s %s (%d of %dx%d; the limit is %g%%): see %s",
			d.Percent, o.App, o.Against, d.Differing, d.Width, d.Height, o.MaxDiff, v.Files.Diff))
	}
	return nil
}

// screenshot opens version of the app in a fresh tab and returns a PNG of
// its element once the page is still: fonts loaded, two frames drawn, and
// two captures in a row the same (unstable if that never happens). It
// returns no PNG when the version did not mount.
func screenshot(ctx, bctx context.Context, o Options, version string) ([]byte, bool, []Problem, error) {
	t, first, err := open(ctx, bctx, o, version)
	if err != nil {
		return nil, false, nil, err
	}
	defer t.close()
	if !t.mountedWant(first) {
		return nil, false, t.take(), ctx.Err()
	}
	if err := t.eval(nil, call("hideBadge")); err != nil {
		return nil, false, nil, err
	}
	if err := t.eval(nil, call("settle")); err != nil {
		return nil, false, nil, err
	}
	var box *rect
	if err := t.eval(&box, call("box", o.App)); err != nil {
		return nil, false, nil, err
	}
	if box == nil {
		return nil, false, nil, fmt.Errorf("no %s-app element in the page", o.App)
	}
	// Whole CSS pixels, the same way for both versions.
	x, y := math.Floor(box.X), math.Floor(box.Y)
	clip := rect{X: x, Y: y, Width: math.Ceil(box.X+box.Width) - x, Height: math.Ceil(box.Y+box.Height) - y}
	clip.Width, clip.Height = max(clip.Width, 1), min(max(clip.Height, 1), maxScreenshotHeight)
	var prev []byte
	for range screenshotAttempts {
		shot, err := t.screenshot(clip)
		if err != nil {
			return nil, false, nil, fmt.Errorf("screenshot: %w", err)
		}
		if bytes.Equal(shot, prev) {
			return shot, false, t.take(), nil
		}
		prev = shot
		select {
		case <-ctx.Done():
			return nil, false, nil, ctx.Err()
		case <-time.After(screenshotRetryPause):
		}
	}
	return prev, true, t.take(), nil
}

// mountedWant reports whether a mount of t's app went as it should: it
// mounted, at t's version. What went wrong is among the page's events.
func (t *tab) mountedWant(e shellEvent) bool {
	return e.Type == "mounted" && e.App == t.app && e.Version == t.version
}

// timedOut records the recorder's timeout outcome, which is no event of
// the page.
func (t *tab) timedOut(e shellEvent) {
	if e.Type == "timeout" {
		t.events([]shellEvent{e})
	}
}

// events records the problems among mfshell:* events of the page.
func (t *tab) events(es []shellEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range es {
		switch e.Type {
		case "error":
			t.add("mfshell:error", fmt.Sprintf("%s %s failed: %s", e.App, e.Version, e.Error))
		case "fallback":
			t.add("mfshell:fallback", fmt.Sprintf("%s %s failed, and the shell mounted its fallback version instead: %s", e.App, e.Version, e.Error))
		case "timeout":
			t.add("timeout", e.Error)
		case "mounted":
			if e.App == t.app && e.Version != t.version {
				t.add("version", fmt.Sprintf("the shell mounted %s %s, not %s: the override did not apply", e.App, e.Version, t.version))
			}
		}
	}
}

// mergeProblems adds the problems of b to a, counting repeats.
func mergeProblems(a, b []Problem) []Problem {
	for _, p := range b {
		found := false
		for i := range a {
			if a[i].Kind == p.Kind && a[i].Text == p.Text {
				a[i].Count += p.Count
				found = true
				break
			}
		}
		if !found {
			a = append(a, p)
		}
	}
	return a
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}
