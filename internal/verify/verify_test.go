package verify

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mfshell/mfshell/manifests"
)

func TestPrepare(t *testing.T) {
	m := &manifests.Manifest{Revision: 7, Apps: map[string]manifests.App{
		"home":    {Version: "1.0.0", Route: "/"},
		"catalog": {Version: "1.0.0", Route: "/catalog"},
		"cart":    {Version: "2.0.0", Route: "/cart"},
		"header":  {Version: "1.0.0", Route: ""},
		"alone":   {Version: "1.0.0", Route: "/alone"},
	}}
	for _, tc := range []struct {
		name                       string
		o                          Options
		err                        string
		other, otherRoute, against string
	}{
		{name: "defaults", o: Options{App: "catalog", Version: "1.1.0"}, other: "alone", otherRoute: "/alone", against: "1.0.0"},
		{name: "other and against", o: Options{App: "catalog", Version: "1.1.0", Other: "home", Against: "1.1.0"}, other: "home", otherRoute: "/", against: "1.1.0"},
		{name: "no visual", o: Options{App: "cart", Version: "2.1.0", Against: "none"}, other: "alone", otherRoute: "/alone", against: ""},
		{name: "not routed", o: Options{App: "header", Version: "1.1.0"}, err: "header is not routed"},
		{name: "no such app", o: Options{App: "basket", Version: "1.0.0"}, err: `no app "basket" in the manifest (revision 7)`},
		{name: "other not routed", o: Options{App: "catalog", Version: "1.1.0", Other: "header"}, err: "--other header: it is not routed"},
		{name: "other is the app", o: Options{App: "catalog", Version: "1.1.0", Other: "catalog"}, err: "want another app"},
		{name: "other missing", o: Options{App: "catalog", Version: "1.1.0", Other: "basket"}, err: "--other basket: no such app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			err := Prepare(&o, m)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Prepare: %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Other != tc.other || o.otherRoute != tc.otherRoute || o.Against != tc.against || o.route != m.Apps[o.App].Route || o.live != m.Apps[o.App].Version {
				t.Errorf("Prepare: other %q at %q, against %q, route %q, live %q", o.Other, o.otherRoute, o.Against, o.route, o.live)
			}
		})
	}
	// The only routed app: nothing to alternate with.
	one := &manifests.Manifest{Apps: map[string]manifests.App{"catalog": {Version: "1.0.0", Route: "/catalog"}, "header": {Version: "1.0.0"}}}
	if err := Prepare(&Options{App: "catalog", Version: "1.1.0"}, one); err == nil || !strings.Contains(err.Error(), "no other routed app") {
		t.Errorf("Prepare with one routed app: %v", err)
	}
}

// TestReport checks the verdict and both forms of a report.
func TestReport(t *testing.T) {
	r := &Report{App: "leaky", Version: "1.0.0", Live: "1.0.0", Route: "/leaky", Other: "react", OtherRoute: "/react", Mounted: true,
		Errors: []Problem{{Kind: "console", Text: "boom", Count: 3}}, AgainstErrors: []Problem{}}
	r.Leaks = judgeLeaks(5, repeat(10, Cycle{Cleaned: Resources{Timers: 2}, Held: Resources{Timers: 2}}), steady(), limits)
	r.Visual = &Visual{Against: "1.0.0", MaxDiff: 0.5, Diff: PixelDiff{Width: 10, Height: 10, Differing: 1, Percent: 1}, Failures: []string{"visual: 1.00% of the pixels differ"}}
	r.Visual.Files.Version, r.Visual.Files.Against, r.Visual.Files.Diff = "out/leaky-1.0.0.png", "out/leaky-1.0.0-against.png", "out/leaky-diff.png"
	r.finish()
	if r.Pass || len(r.Failures) != 3 {
		t.Fatalf("failures %q, want 3", r.Failures)
	}
	var text bytes.Buffer
	if err := r.Text(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nVersions\n", "\nLeaks: 5 warm-up cycles, then 10 cycles", "\nErrors\n", "\nVisual: against leaky 1.0.0\n",
		"FAIL leaks 2 timers per unmount", "FAIL console: boom (3 times)", "out/leaky-diff.png (differences in red)",
		"\nVerdict: FAIL, 3 failures",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := r.JSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Pass || len(back.Failures) != 3 || back.Leaks.LeakedMax.Timers != 2 || back.Visual.Diff.Differing != 1 {
		t.Errorf("JSON report: %s", js.String())
	}

	ok := &Report{App: "react", Version: "2.0.0", Mounted: true, Errors: []Problem{}, Leaks: judgeLeaks(5, repeat(10, Cycle{}), steady(), limits)}
	ok.finish()
	text.Reset()
	if err := ok.Text(&text); err != nil {
		t.Fatal(err)
	}
	if !ok.Pass || !strings.Contains(text.String(), "\nVerdict: PASS") || !strings.Contains(text.String(), "Visual: not checked") {
		t.Errorf("passing report:\n%s", text.String())
	}
}
