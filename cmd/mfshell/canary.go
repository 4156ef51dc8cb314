package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/mfshell/mfshell/manifests"
)

// runCanary starts or changes the canary of an app: VERSION for --percent
// of browsers, by their sticky bucket.
func runCanary(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "canary", "APP VERSION --percent N [--force] [--reason TEXT] [--if-match REV] [flags]")
	af := addAPIFlags(fs, e)
	percent := fs.Int("percent", 0, "share of browsers, 1 to 99, that get VERSION")
	force := fs.Bool("force", false, "canary VERSION even if it is not published on the CDN")
	reason := fs.String("reason", "", "why, recorded in the history (at most 500 characters)")
	ifMatch := fs.String("if-match", "", "change nothing unless the manifest is still at revision `REV`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, "APP", "VERSION"); err != nil {
		return err
	}
	app, version := pos[0], pos[1]
	if err := checkAppVersion("canary", app, version); err != nil {
		return err
	}
	if *percent < 1 || *percent > 99 {
		return usageError(fmt.Sprintf("canary: --percent %d: want 1 to 99 (promote gives everyone the version, abort gives it to no one)", *percent))
	}
	body := map[string]any{"canary": map[string]any{"version": version, "percent": *percent}}
	if *force {
		body["force"] = true
	}
	return patchApp(ctx, e, af, "canary", app, body, *reason, *ifMatch)
}

// runPromote releases an app's canary version to everyone; the canary ends.
func runPromote(ctx context.Context, e *env, args []string) error {
	app, af, reason, err := canaryArgs(e, "promote", args)
	if err != nil {
		return err
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	_, data, err := c.do(ctx, http.MethodGet, "/api/v1/manifest", nil, nil)
	if err != nil {
		return fmt.Errorf("promote %s: %w", app, err)
	}
	var m manifests.Manifest
	if err := c.decode(data, &m); err != nil {
		return err
	}
	a, ok := m.Apps[app]
	switch {
	case !ok:
		return fmt.Errorf("promote %s: no such app", app)
	case a.Canary == nil:
		return fmt.Errorf("promote %s: it has no canary (live version %s)", app, a.Version)
	}
	// Conditional on the revision read: the canary promoted is the one seen.
	return patchApp(ctx, e, af, "promote", app, map[string]any{"version": a.Canary.Version}, reason, strconv.FormatInt(m.Revision, 10))
}

// runAbort ends an app's canary: everyone gets the live version again.
func runAbort(ctx context.Context, e *env, args []string) error {
	app, af, reason, err := canaryArgs(e, "abort", args)
	if err != nil {
		return err
	}
	return patchApp(ctx, e, af, "abort", app, map[string]any{"canary": nil}, reason, "")
}

// canaryArgs parses the arguments of promote and abort: APP, the API
// flags and --reason.
func canaryArgs(e *env, cmd string, args []string) (app string, af *apiFlags, reason string, err error) {
	fs := newFlags(e, cmd, "APP [--reason TEXT] [flags]")
	af = addAPIFlags(fs, e)
	r := fs.String("reason", "", "why, recorded in the history (at most 500 characters)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return "", nil, "", err
	}
	if err := wantArgs(fs, pos, "APP"); err != nil {
		return "", nil, "", err
	}
	if err := checkAppVersion(cmd, pos[0]); err != nil {
		return "", nil, "", err
	}
	return pos[0], af, *r, nil
}

// patchApp sends one PATCH of an app's entry and prints what changed.
func patchApp(ctx context.Context, e *env, af *apiFlags, cmd, app string, body map[string]any, reason, ifMatch string) error {
	h, err := writeHeaders(reason, ifMatch)
	if err != nil {
		return err
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	_, data, err := c.do(ctx, http.MethodPatch, "/api/v1/apps/"+app, body, h)
	if err != nil {
		return fmt.Errorf("%s %s: %w", cmd, app, err)
	}
	if af.json {
		return printJSON(e.stdout, data)
	}
	var res writeResult
	if err := c.decode(data, &res); err != nil {
		return err
	}
	if !res.Changed {
		fmt.Fprintf(e.stdout, "%s: no change (revision %d)\n", app, res.Revision)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s (revision %d)\n", res.Summary, res.Revision)
	return nil
}

// runOverride prints a link that makes the browser that opens it run
// other versions of some apps, for a while.
func runOverride(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "override", "APP VERSION [APP VERSION ...] [--ttl 2h] [flags]")
	af := addAPIFlags(fs, e)
	ttl := fs.Duration("ttl", time.Hour, "how long the link works, at most 24h")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || len(pos)%2 != 0 {
		return usageError("override: want APP VERSION pairs, such as: mfshell override catalog 1.5.0-rc1")
	}
	apps := map[string]string{}
	for i := 0; i < len(pos); i += 2 {
		if err := checkAppVersion("override", pos[i], pos[i+1]); err != nil {
			return err
		}
		apps[pos[i]] = pos[i+1]
	}
	if *ttl <= 0 || *ttl > 24*time.Hour {
		return usageError(fmt.Sprintf("override: --ttl %v: want more than 0 and at most 24h", *ttl))
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	_, data, err := c.do(ctx, http.MethodPost, "/api/v1/overrides", map[string]any{"apps": apps, "ttl": ttl.String()}, nil)
	if err != nil {
		return fmt.Errorf("override: %w", err)
	}
	if af.json {
		return printJSON(e.stdout, data)
	}
	var res struct{ URL, Expires string }
	if err := c.decode(data, &res); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s%s\nopen it in the browser that should run these versions; it works until %s\n", c.base, res.URL, res.Expires)
	return nil
}
