package verify

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/domdebugger"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// pageJS is the recorder evaluated in every document before its scripts.
//
//go:embed page.js
var pageJS string

// startBrowser starts Chromium at path, headless, with a temporary user
// data folder that chromedp removes when the returned cancel is called;
// --no-sandbox only as root, where Chromium refuses to start without it
// (chromedp adds it then). The returned context is the browser's, on which
// newTab opens tabs.
func startBrowser(ctx context.Context, path string) (context.Context, context.CancelFunc, string, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.WindowSize(ViewportWidth, ViewportHeight),
		chromedp.DisableGPU,
		chromedp.Flag("force-device-scale-factor", "1"),
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.Flag("disable-component-update", true),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	cancel := func() { bcancel(); acancel() }
	if err := chromedp.Do(bctx); err != nil {
		cancel()
		return nil, nil, "", fmt.Errorf("start Chromium (%s): %w", path, err)
	}
	v, err := chromedp.CallBrowser(bctx, browser.GetVersion, cdp.Empty{})
	if err != nil {
		cancel()
		return nil, nil, "", fmt.Errorf("Chromium (%s): %w", path, err)
	}
	return bctx, cancel, v.Product, nil
}

// tab is one page of the browser, in a browser context of its own (its
// own cookies: its own override), with what it reported.
type tab struct {
	ctx    context.Context
	cancel context.CancelFunc
	// app and version are what the tab should run.
	app, version string

	mu       sync.Mutex
	problems []Problem
	requests map[network.RequestID]string // "METHOD URL"
}

// newTab opens a tab whose documents get the recorder, in a fixed
// viewport (ViewportWidth×ViewportHeight, device scale factor 1) with
// reduced motion.
func newTab(bctx context.Context) (*tab, error) {
	t := &tab{requests: map[network.RequestID]string{}}
	t.ctx, t.cancel = chromedp.NewContext(bctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(t.event))
	err := chromedp.Do(t.ctx, chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tt, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: pageJS}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, tt, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: ViewportWidth, Height: ViewportHeight, DeviceScaleFactor: 1,
		}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tt, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
		})
		return err
	}))
	if err != nil {
		t.cancel()
		return nil, fmt.Errorf("open a tab: %w", err)
	}
	return t, nil
}

// close closes the tab and its browser context.
func (t *tab) close() { t.cancel() }

// event records what the tab reports as an error. It runs on the
// goroutine that reads the tab's messages: it only records.
//
// What is recorded: console.error and console.assert calls, uncaught
// exceptions, Log entries of level error (but those of the network and
// javascript sources, which the Network and Runtime events already give),
// responses with a status of 400 or more, and requests that failed (but
// those canceled, which a navigation or a closed stream cancels). CSP
// violations come from the recorder's securitypolicyviolation listener,
// not from the Log entry Chromium also writes, so that each is counted
// once and with its directive.
func (t *tab) event(ev any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			parts = append(parts, remoteText(a))
		}
		t.add("console", strings.Join(parts, " ")+where(ev.StackTrace))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text = d.Text + " " + firstLine(d.Exception.Description)
		}
		if d.URL != "" {
			text += fmt.Sprintf(" (at %s:%d)", d.URL, d.LineNumber+1)
		} else {
			text += where(d.StackTrace)
		}
		t.add("exception", text)
	case *log.EventEntryAdded:
		e := ev.Entry
		if e.Level != log.EntryLevelError || e.Source == log.EntrySourceNetwork || e.Source == log.EntrySourceJavascript ||
			e.Source == log.EntrySourceSecurity && strings.Contains(e.Text, "Content Security Policy") {
			return
		}
		t.add("log", fmt.Sprintf("%s: %s", e.Source, e.Text))
	case *network.EventRequestWillBeSent:
		t.requests[ev.RequestID] = ev.Request.Method + " " + ev.Request.URL
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			t.add("network", fmt.Sprintf("%s: %d %s", t.request(ev.RequestID, ev.Response.URL), ev.Response.Status, ev.Response.StatusText))
		}
	case *network.EventLoadingFailed:
		// A response of 400 or more that then fails is reported once.
		if ev.Canceled || ev.BlockedReason == network.BlockedReasonCsp {
			return
		}
		text := fmt.Sprintf("%s: %s", t.request(ev.RequestID, ""), ev.ErrorText)
		if ev.BlockedReason != "" {
			text += " (blocked: " + string(ev.BlockedReason) + ")"
		}
		t.add("network", text)
	case *network.EventLoadingFinished:
		delete(t.requests, ev.RequestID)
	}
}

// request returns what a request was, "METHOD URL", or url.
func (t *tab) request(id network.RequestID, url string) string {
	if r, ok := t.requests[id]; ok {
		return r
	}
	if url == "" {
		return "request " + string(id)
	}
	return url
}

// add records one problem; t.mu is held.
func (t *tab) add(kind, text string) {
	t.problems = addProblem(t.problems, kind, text)
}

// addProblem adds a problem to ps, or counts it again if it is there.
func addProblem(ps []Problem, kind, text string) []Problem {
	for i := range ps {
		if ps[i].Kind == kind && ps[i].Text == text {
			ps[i].Count++
			return ps
		}
	}
	return append(ps, Problem{Kind: kind, Text: text, Count: 1})
}

// take returns what the tab reported, and what the recorder in its page
// reported (CSP violations), and forgets it.
func (t *tab) take() []Problem {
	var drained struct {
		Events   []shellEvent `json:"events"`
		Problems []struct {
			Kind string `json:"kind"`
			Text string `json:"text"`
		} `json:"problems"`
	}
	// The page may be gone or not loaded yet: then it has nothing to give.
	if err := t.eval(&drained, "window.__mfshellVerify?.drain() ?? {events: [], problems: []}"); err != nil {
		drained.Events, drained.Problems = nil, nil
	}
	t.events(drained.Events)
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := t.problems
	for _, p := range drained.Problems {
		ps = addProblem(ps, p.Kind, p.Text)
	}
	t.problems = nil
	return ps
}

// eval evaluates expr in the page, awaiting a promise, and decodes its
// value, JSON, into v (nil: ignore it).
func (t *tab) eval(v any, expr string) error {
	res, err := chromedp.Call(t.ctx, runtime.Evaluate, runtime.EvaluateParams{
		Expression: expr, ReturnByValue: ptr(true), AwaitPromise: ptr(true),
	})
	if err != nil {
		return err
	}
	if res.ExceptionDetails != nil {
		d := res.ExceptionDetails
		if d.Exception != nil && d.Exception.Description != "" {
			return fmt.Errorf("in the page: %s", firstLine(d.Exception.Description))
		}
		return fmt.Errorf("in the page: %s", d.Text)
	}
	if v == nil || res.Result == nil || len(res.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(res.Result.Value, v)
}

// call writes a call of one of the recorder's functions with args.
func call(fn string, args ...any) string {
	var b strings.Builder
	b.WriteString("window.__mfshellVerify." + fn + "(")
	for i, a := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		data, _ := json.Marshal(a)
		b.Write(data)
	}
	b.WriteString(")")
	return b.String()
}

// navigate loads url in the tab and waits for its load event.
func (t *tab) navigate(url string) error {
	return chromedp.Do(t.ctx, chromedp.Navigate(url))
}

// listeners counts the listeners on window, document and body.
func (t *tab) listeners() (Listeners, error) {
	const group = "mfshell-verify-listeners"
	out := Listeners{}
	for _, target := range Targets {
		expr := target
		if target == "body" {
			expr = "document.body"
		}
		res, err := chromedp.Call(t.ctx, runtime.Evaluate, runtime.EvaluateParams{Expression: expr, ObjectGroup: group})
		if err != nil {
			return nil, err
		}
		if res.Result == nil || res.Result.ObjectID == "" {
			return nil, fmt.Errorf("no %s in the page", target)
		}
		ls, err := chromedp.Call(t.ctx, domdebugger.GetEventListeners, domdebugger.GetEventListenersParams{ObjectID: res.Result.ObjectID})
		if err != nil {
			return nil, err
		}
		byType := map[string]int{}
		for _, l := range ls.Listeners {
			byType[l.Type]++
		}
		out[target] = byType
	}
	_, err := chromedp.Call(t.ctx, runtime.ReleaseObjectGroup, runtime.ReleaseObjectGroupParams{ObjectGroup: group})
	return out, err
}

// heap returns the used JS heap in bytes after collecting garbage, twice:
// what the first collection's finalizers free goes in the second.
func (t *tab) heap() (int64, error) {
	for range 2 {
		if _, err := chromedp.Call(t.ctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
			return 0, err
		}
	}
	u, err := chromedp.Call(t.ctx, runtime.GetHeapUsage, cdp.Empty{})
	return int64(u.UsedSize), err
}

// screenshot captures the page rectangle r as PNG.
func (t *tab) screenshot(r rect) ([]byte, error) {
	res, err := chromedp.Call(t.ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format:                page.CaptureScreenshotFormatPng,
		Clip:                  &page.Viewport{X: r.X, Y: r.Y, Width: r.Width, Height: r.Height, Scale: 1},
		FromSurface:           ptr(true),
		CaptureBeyondViewport: ptr(true),
	})
	return res.Data, err
}

// rect is a rectangle of the page in CSS pixels.
type rect struct {
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// remoteText is the text of a console argument.
func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
		return string(o.Value)
	}
	if o.Description != "" {
		return firstLine(o.Description)
	}
	if o.UnserializableValue != "" {
		return string(o.UnserializableValue)
	}
	return string(o.Type)
}

// where writes where a stack's innermost frame with a URL is: " (at URL:LINE)".
func where(st *runtime.StackTrace) string {
	if st == nil {
		return ""
	}
	for _, f := range st.CallFrames {
		if f.URL != "" {
			return fmt.Sprintf(" (at %s:%d)", f.URL, f.LineNumber+1)
		}
	}
	return ""
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(first)
}

func ptr[T any](v T) *T { return &v }
