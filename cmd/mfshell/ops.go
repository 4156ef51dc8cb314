package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mfshell/mfshell/manifests"
)

// writeResult is the server's answer to a successful write.
type writeResult struct {
	Revision int64          `json:"revision"`
	Changed  bool           `json:"changed"`
	Summary  string         `json:"summary"`
	App      *manifests.App `json:"app"`
}

func runRelease(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "release", "APP VERSION [--force] [--reason TEXT] [--if-match REV] [flags]")
	af := addAPIFlags(fs, e)
	force := fs.Bool("force", false, "release VERSION even if it is not published on the CDN")
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
	if err := checkAppVersion("release", app, version); err != nil {
		return err
	}
	h, err := writeHeaders(*reason, *ifMatch)
	if err != nil {
		return err
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	body := map[string]any{"version": version}
	if *force {
		body["force"] = true
	}
	status, data, err := release(ctx, c, app, body, h)
	if err != nil {
		return fmt.Errorf("release %s %s: %w", app, version, err)
	}
	if af.json {
		return printJSON(e.stdout, data)
	}
	var res writeResult
	if err := c.decode(data, &res); err != nil {
		return err
	}
	switch {
	case !res.Changed:
		fmt.Fprintf(e.stdout, "%s: no change (revision %d)\n", app, res.Revision)
	case status == http.StatusCreated && res.App != nil:
		fmt.Fprintf(e.stdout, "%s: created at version %q, %s (revision %d)\n", app, res.App.Version, routeText(res.App.Route), res.Revision)
	default:
		fmt.Fprintf(e.stdout, "%s (revision %d)\n", res.Summary, res.Revision)
	}
	return nil
}

// release changes the version of app with a PATCH of its entry. When the
// manifest has no such app yet, it creates it with a PUT of the same body,
// which takes the defaults (route /APP, format module, shadow isolation).
// That PUT is conditional on the revision where the app was seen missing,
// so that it never replaces an entry someone else created meanwhile.
func release(ctx context.Context, c *client, app string, body map[string]any, h http.Header) (int, []byte, error) {
	path := "/api/v1/apps/" + app
	status, data, err := c.do(ctx, http.MethodPatch, path, body, h)
	if ae := (*apiError)(nil); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		return status, data, err
	}
	_, mdata, merr := c.do(ctx, http.MethodGet, "/api/v1/manifest", nil, nil)
	if merr != nil {
		return 0, nil, merr
	}
	var m manifests.Manifest
	if merr := c.decode(mdata, &m); merr != nil {
		return 0, nil, merr
	}
	if _, ok := m.Apps[app]; ok {
		return status, data, err // the 404 was about something else
	}
	put := h.Clone()
	if put.Get("If-Match") == "" {
		put.Set("If-Match", `"`+strconv.FormatInt(m.Revision, 10)+`"`)
	}
	return c.do(ctx, http.MethodPut, path, body, put)
}

func runRollback(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "rollback", "REVISION [--reason TEXT] [flags]")
	af := addAPIFlags(fs, e)
	reason := fs.String("reason", "", "why, recorded in the history (at most 500 characters)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, "REVISION"); err != nil {
		return err
	}
	rev, err := parseRevision(pos[0])
	if err != nil {
		return usageError(fmt.Sprintf("rollback: revision %q: want a revision number such as 7 (see mfshell history)", pos[0]))
	}
	h, err := writeHeaders(*reason, "")
	if err != nil {
		return err
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	_, data, err := c.do(ctx, http.MethodPost, "/api/v1/rollback", map[string]any{"revision": rev}, h)
	if err != nil {
		return fmt.Errorf("rollback to revision %d: %w", rev, err)
	}
	if af.json {
		return printJSON(e.stdout, data)
	}
	var res writeResult
	if err := c.decode(data, &res); err != nil {
		return err
	}
	if !res.Changed {
		fmt.Fprintf(e.stdout, "rollback to revision %d: no change, its apps are live already (revision %d)\n", rev, res.Revision)
		return nil
	}
	fmt.Fprintf(e.stdout, "rollback to revision %d: %s (revision %d)\n", rev, res.Summary, res.Revision)
	return nil
}

// parseRevision parses a revision number, which is at least 1.
func parseRevision(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil && n < 1 {
		err = errors.New("must be at least 1")
	}
	return n, err
}

func runHistory(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "history", "[--app APP] [--limit N] [flags]")
	af := addAPIFlags(fs, e)
	app := fs.String("app", "", "only the revisions that changed `APP`")
	limit := fs.Int("limit", 20, "show at most `N` revisions")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	if *limit < 1 || *limit > 1000 {
		return usageError(fmt.Sprintf("history: --limit %d: want 1 to 1000", *limit))
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	if *app != "" {
		if err := manifests.CheckName(*app); err != nil {
			return usageError(fmt.Sprintf("history: --app %q: %v", *app, err))
		}
		q.Set("app", *app)
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	_, data, err := c.do(ctx, http.MethodGet, "/api/v1/history?"+q.Encode(), nil, nil)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if af.json {
		return printJSON(e.stdout, data)
	}
	var res struct {
		Revisions []struct {
			Revision int64  `json:"revision"`
			Time     string `json:"time"`
			Actor    string `json:"actor"`
			Reason   string `json:"reason"`
			Summary  string `json:"summary"`
		} `json:"revisions"`
	}
	if err := c.decode(data, &res); err != nil {
		return err
	}
	if len(res.Revisions) == 0 {
		if *app != "" {
			fmt.Fprintf(e.stdout, "no revisions changed %s\n", *app)
		} else {
			fmt.Fprintln(e.stdout, "no revisions yet")
		}
		return nil
	}
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "REVISION\tTIME\tACTOR\tSUMMARY\tREASON")
	for _, r := range res.Revisions {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.Revision, localTime(r.Time), dash(r.Actor), r.Summary, dash(r.Reason))
	}
	return tw.Flush()
}

func runApps(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "apps", "[flags]")
	af := addAPIFlags(fs, e)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	_, data, err := c.do(ctx, http.MethodGet, "/api/v1/manifest", nil, nil)
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	if af.json {
		return printJSON(e.stdout, data)
	}
	var m manifests.Manifest
	if err := c.decode(data, &m); err != nil {
		return err
	}
	if len(m.Apps) == 0 {
		fmt.Fprintf(e.stdout, "no apps (revision %d)\n", m.Revision)
		return nil
	}
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "APP\tVERSION\tROUTE\tFORMAT\tISOLATION\tCANARY")
	for _, name := range slices.Sorted(maps.Keys(m.Apps)) {
		a := m.Apps[name]
		route, canary := a.Route, "-"
		if route == "" {
			route = "(not routed)"
		}
		if a.Canary != nil {
			canary = fmt.Sprintf("%s at %d%%", a.Canary.Version, a.Canary.Percent)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, a.Version, route, a.Format, a.Isolation, canary)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "(revision %d)\n", m.Revision)
	return nil
}

func runVersions(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "versions", "APP [flags]")
	af := addAPIFlags(fs, e)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, "APP"); err != nil {
		return err
	}
	app := pos[0]
	if err := manifests.CheckName(app); err != nil {
		return usageError(fmt.Sprintf("versions: app %q: %v", app, err))
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	_, data, err := c.do(ctx, http.MethodGet, "/api/v1/apps/"+app+"/versions", nil, nil)
	if err != nil {
		return fmt.Errorf("versions %s: %w", app, err)
	}
	if af.json {
		return printJSON(e.stdout, data)
	}
	var res struct {
		Live     string `json:"live"`
		Versions []struct {
			Version string    `json:"version"`
			Time    time.Time `json:"time"`
		} `json:"versions"`
	}
	if err := c.decode(data, &res); err != nil {
		return err
	}
	if len(res.Versions) == 0 {
		fmt.Fprintf(e.stdout, "%s: no versions published on the CDN\n", app)
		return nil
	}
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "VERSION\tPUBLISHED")
	liveListed := false
	for _, v := range res.Versions {
		version := v.Version
		if v.Version == res.Live {
			version, liveListed = version+" (live)", true
		}
		fmt.Fprintf(tw, "%s\t%s\n", version, v.Time.Local().Format(timeLayout))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if res.Live != "" && !liveListed {
		fmt.Fprintf(e.stdout, "live version %q is not published on the CDN\n", res.Live)
	}
	return nil
}

// timeLayout is how the commands show times.
const timeLayout = "2006-01-02 15:04:05 MST"

// localTime shows a time from the API in the local zone; a time it cannot
// parse is shown as it is.
func localTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.Local().Format(timeLayout)
}

// newTable returns a writer that aligns tab-separated columns.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// dash stands in for an empty cell.
func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// routeText describes a route for people.
func routeText(route string) string {
	if route == "" {
		return "not routed"
	}
	return fmt.Sprintf("route %q", route)
}

// checkAppVersion checks an APP argument of cmd and, if given, a VERSION,
// with a usage error that names them.
func checkAppVersion(cmd, app string, version ...string) error {
	if err := manifests.CheckName(app); err != nil {
		return usageError(fmt.Sprintf("%s: app %q: %v", cmd, app, err))
	}
	for _, v := range version {
		if err := manifests.CheckVersion(v); err != nil {
			return usageError(fmt.Sprintf("%s: version %q: %v", cmd, v, err))
		}
	}
	return nil
}
