package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mfshell/mfshell/internal/verify"
	"github.com/mfshell/mfshell/manifests"
)

// runVerify runs a version of an app in the real shell in a local headless
// Chromium, selected for that browser only by a signed override, and
// fails (exit status 1) on leaks, errors and visual changes. See
// docs/verify.md.
func runVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "verify", "--app NAME --version VER [--against VER] [--other APP] [--switches N] [--out DIR] [flags]")
	af := addAPIFlags(fs, e)
	// The whole run, not one request, is what --timeout bounds here.
	af.timeout = 2 * time.Minute
	fs.Lookup("timeout").DefValue = af.timeout.String()
	fs.Lookup("timeout").Usage = "give up on the whole verify after this long (0: wait for ever)"
	fs.Lookup("json").Usage = "print the report as JSON"
	app := fs.String("app", "", "the app to verify (a routed app of the manifest)")
	version := fs.String("version", "", "the version to verify: published, not necessarily live")
	against := fs.String("against", "", "compare the screenshot with this `VERSION` (default: the live version; none: skip the visual check)")
	other := fs.String("other", "", "the routed `APP` to alternate with (default: the first other routed app by name)")
	switches := fs.Int("switches", verify.DefaultSwitches, "times the app is unmounted and mounted again, measured")
	warmup := fs.Int("warmup", verify.DefaultWarmup, "cycles before the first measurement, at least 1 (steady state)")
	out := fs.String("out", "mfshell-verify", "folder for the screenshots and the diff image")
	maxDiff := fs.String("max-diff", "0.5%", "share of differing pixels above which the visual check fails")
	maxHeap := fs.String("max-heap-growth", "50KiB", "heap growth per cycle above which the heap fails (if also more than 10% of the heap)")
	allow := fs.String("allow", "", "comma-separated `KINDS` the app may leave for the shell to release without a failure (listeners,timers,observers,globals,nodes)")
	chromium := fs.String("chromium", envDefault(e, "chromium", ""), "the Chromium executable (MFSHELL_CHROMIUM; default /usr/bin/chromium, else chromium or google-chrome on PATH)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	switch {
	case *app == "":
		return usageError("verify: missing --app NAME (run \"mfshell verify -h\" for help)")
	case *version == "":
		return usageError("verify: missing --version VER (run \"mfshell verify -h\" for help)")
	}
	if err := checkAppVersion("verify", *app, *version); err != nil {
		return err
	}
	if *against != "" && *against != "none" {
		if err := checkAppVersion("verify", *app, *against); err != nil {
			return err
		}
	}
	if *other != "" {
		if err := checkAppVersion("verify", *other); err != nil {
			return err
		}
	}
	if *switches < 1 || *switches > 10000 {
		return usageError(fmt.Sprintf("verify: --switches %d: want 1 to 10000", *switches))
	}
	if *warmup < 1 || *warmup > 1000 {
		return usageError(fmt.Sprintf("verify: --warmup %d: want 1 to 1000", *warmup))
	}
	pct, err := parsePercent(*maxDiff)
	if err != nil {
		return usageError(fmt.Sprintf("verify: --max-diff %q: %v", *maxDiff, err))
	}
	heap, err := parseSize(*maxHeap)
	if err != nil {
		return usageError(fmt.Sprintf("verify: --max-heap-growth %q: %v", *maxHeap, err))
	}
	var kinds []string
	for k := range strings.SplitSeq(*allow, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if !slices.Contains(verify.Kinds, k) {
			return usageError(fmt.Sprintf("verify: --allow %q: want some of %s", k, strings.Join(verify.Kinds, ",")))
		}
		kinds = append(kinds, k)
	}
	if *out == "" {
		return usageError("verify: --out: must not be empty")
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	browser, err := findChromium(*chromium)
	if err != nil {
		return err
	}
	if af.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, af.timeout)
		defer cancel()
	}

	_, data, err := c.do(ctx, http.MethodGet, "/api/v1/manifest", nil, nil)
	if err != nil {
		return fmt.Errorf("verify %s %s: %w", *app, *version, err)
	}
	var m manifests.Manifest
	if err := c.decode(data, &m); err != nil {
		return err
	}
	// An override lasts the run, and a little more.
	ttl := 24 * time.Hour
	if af.timeout > 0 {
		ttl = min(af.timeout+5*time.Minute, ttl)
	}
	o := verify.Options{
		Server: c.base, App: *app, Version: *version, Other: *other, Against: *against,
		Switches: *switches, Warmup: *warmup, Chromium: browser, Out: *out, MaxDiff: pct,
		Limits: verify.Limits{HeapPerCycle: heap, HeapShare: verify.DefaultHeapShare, Allow: kinds},
		Override: func(ctx context.Context, v string) (string, error) {
			_, data, err := c.do(ctx, http.MethodPost, "/api/v1/overrides", map[string]any{"apps": map[string]string{*app: v}, "ttl": ttl.String()}, nil)
			if err != nil {
				return "", err
			}
			var res struct{ URL string }
			if err := c.decode(data, &res); err != nil {
				return "", err
			}
			return res.URL, nil
		},
		Progress: func(format string, args ...any) {
			fmt.Fprintf(e.stderr, "verify: "+format+"\n", args...)
		},
	}
	if err := verify.Prepare(&o, &m); err != nil {
		return fmt.Errorf("verify %s %s: %w", *app, *version, err)
	}
	r, err := verify.Run(ctx, o)
	if r == nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("verify %s %s: gave up after %s (see --timeout): %v", *app, *version, af.timeout, err)
		}
		return fmt.Errorf("verify %s %s: %w", *app, *version, err)
	}
	if af.json {
		if werr := r.JSON(e.stdout); werr != nil {
			return werr
		}
	} else if werr := r.Text(e.stdout); werr != nil {
		return werr
	}
	if err != nil {
		return fmt.Errorf("verify %s %s: %w (see the report)", *app, *version, err)
	}
	return nil
}

// findChromium returns the browser to run: path if given (a name is
// looked up on PATH), else Debian's /usr/bin/chromium, else chromium or
// google-chrome on PATH.
func findChromium(path string) (string, error) {
	if path != "" {
		found, err := exec.LookPath(path)
		if err != nil {
			return "", usageError(fmt.Sprintf("verify: --chromium %q: %v", path, err))
		}
		return found, nil
	}
	if st, err := os.Stat("/usr/bin/chromium"); err == nil && !st.IsDir() {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if found, err := exec.LookPath(name); err == nil {
			return found, nil
		}
	}
	return "", errors.New("verify: no Chromium found: install it (Debian: apt-get install chromium) or pass --chromium PATH")
}

// parsePercent parses a share such as "0.5%" or "0.5" (percent both).
func parsePercent(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil || v < 0 || v > 100 {
		return 0, errors.New("want a percentage from 0 to 100, such as 0.5%")
	}
	return v, nil
}

// parseSize parses a size such as "50KiB", "2MiB" or "51200" (bytes).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return 0, errors.New("want a size such as 50KiB, 2MiB or 51200 (bytes)")
	}
	return int64(v * float64(mult)), nil
}
