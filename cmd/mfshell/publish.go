package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mfshell/mfshell/cdn"
	"github.com/mfshell/mfshell/manifests"
)

// defaultCDN is where "mfshell serve" keeps its local CDN when run with no
// flags in the same folder.
const defaultCDN = "file://mfshell-data/cdn"

// progressMin is the total size from which publish shows its progress.
const progressMin = 1 << 20

func runPublish(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "publish", "--app NAME --version VER [--cdn URL] [--entry FILE] [--json] DIR")
	app := fs.String("app", "", "app `NAME`")
	version := fs.String("version", "", "version `VER` to publish; versions are immutable")
	store := fs.String("cdn", envDefault(e, "cdn", defaultCDN), "CDN store, file://DIR, a plain path or s3://BUCKET/PREFIX (MFSHELL_CDN)")
	s3Endpoint := fs.String("s3-endpoint", envDefault(e, "s3-endpoint", ""), "endpoint of an S3-compatible server (MFSHELL_S3_ENDPOINT)")
	entry := fs.String("entry", "", "the file the shell loads first (default: the only .js or .mjs file at the top of DIR)")
	asJSON := fs.Bool("json", false, "print the asset manifest as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, "DIR"); err != nil {
		return err
	}
	dir := pos[0]
	switch {
	case *app == "":
		return usageError("publish: missing --app NAME")
	case *version == "":
		return usageError("publish: missing --version VER")
	}
	if err := manifests.CheckName(*app); err != nil {
		return usageError(fmt.Sprintf("publish: --app %q: %v", *app, err))
	}
	if err := manifests.CheckVersion(*version); err != nil {
		return usageError(fmt.Sprintf("publish: --version %q: %v", *version, err))
	}
	root, err := parseStoreURL(*store, strings.TrimPrefix(defaultCDN, "file://"), "--cdn", true)
	if err != nil {
		return err
	}
	// Publishing into a default store nobody serves is a silent mistake
	// (run from the wrong folder); an explicit --cdn may be new.
	if *store == defaultCDN || *store == "" {
		if _, err := os.Stat(root.path); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("publish: the CDN folder %s does not exist: run this where mfshell serve keeps mfshell-data, or pass --cdn file://DIR", root)
		}
	}
	bundles, err := openCDN(ctx, root, *s3Endpoint)
	if err != nil {
		return fmt.Errorf("publish: CDN store %s: %w", root, err)
	}

	p := &progressLine{w: e.stderr, tty: isTerminal(e.stderr), label: "publishing " + *app + "@" + *version, last: -1}
	m, err := cdn.Publish(ctx, bundles, dir, cdn.PublishOptions{App: *app, Version: *version, Entry: *entry, Progress: p.update})
	p.end()
	if errors.Is(err, cdn.ErrExist) {
		return fmt.Errorf("publish %s@%s: version %s of %s is already published in %s, and versions are immutable: publish under a new version", *app, *version, *version, *app, root)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		data, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(append(data, '\n'))
		return err
	}
	// Count the folder's files; the scoped copies of stylesheets are the
	// publish step's own (a folder may not hold *.scoped.css files).
	var size int64
	files, copies := 0, 0
	for p, f := range m.Files {
		if strings.HasSuffix(p, ".scoped.css") {
			copies++
			continue
		}
		files++
		size += f.Size
	}
	fmt.Fprintf(e.stdout, "published %s@%s: %d %s, %s, entry %s", *app, *version, files, plural(files, "file"), formatSize(size), m.Entry)
	if copies > 0 {
		fmt.Fprintf(e.stdout, " (+%d scoped %s)", copies, plural(copies, "stylesheet"))
	}
	fmt.Fprintln(e.stdout)
	fmt.Fprintf(e.stdout, "release it with: mfshell release %s %s\n", *app, *version)
	return nil
}

// progressLine shows the progress of an upload of at least progressMin
// bytes on w: on a terminal one line rewritten in place, elsewhere (a log,
// a CI job) a line at every tenth of the total.
type progressLine struct {
	w     io.Writer
	tty   bool
	label string
	last  int  // the percentage shown last, -1 before the first
	open  bool // a terminal line is shown without its final newline
}

// update is the cdn.PublishOptions.Progress callback.
func (p *progressLine) update(done, total int64) {
	if total < progressMin {
		return
	}
	pct := int(done * 100 / total)
	step := 1
	if !p.tty {
		step = 10
	}
	if p.last >= 0 && pct/step == p.last/step {
		return
	}
	p.last = pct
	line := fmt.Sprintf("%s: %3d%% (%s of %s)", p.label, pct, formatSize(done), formatSize(total))
	if !p.tty {
		fmt.Fprintln(p.w, line)
		return
	}
	fmt.Fprint(p.w, "\r"+line)
	p.open = true
	if done == total {
		p.end()
	}
}

// end finishes a terminal line left open, so that what follows (an error)
// starts on a line of its own.
func (p *progressLine) end() {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// formatSize renders a number of bytes for people: "812 B", "41.2 KiB".
func formatSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}
