package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mfshell/mfshell/cdn"
	"github.com/mfshell/mfshell/demo"
	"github.com/mfshell/mfshell/fragments"
	"github.com/mfshell/mfshell/internal/override"
	"github.com/mfshell/mfshell/internal/tokens"
	"github.com/mfshell/mfshell/layout"
	"github.com/mfshell/mfshell/manifests"
	"github.com/mfshell/mfshell/server"
)

// serveConfig is the configuration of "mfshell serve", from flags and
// MFSHELL_* variables.
type serveConfig struct {
	addr       string
	data       string
	manifest   string
	cdn        string
	cdnURL     string
	tokens     string
	s3Endpoint string
	secretFile string
	layout     string
	forward    string
	poll       time.Duration
	fragments  time.Duration
	demo       bool
	dev        bool
	accessLog  bool
	logFormat  string
	logLevel   string
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve", "[flags]")
	var c serveConfig
	str := func(p *string, name, def, help string) { fs.StringVar(p, name, envDefault(e, name, def), help) }
	str(&c.addr, "addr", "127.0.0.1:8080", "address to listen on (MFSHELL_ADDR)")
	str(&c.data, "data", "mfshell-data", "data folder: manifest, local CDN, first-run admin token (MFSHELL_DATA)")
	str(&c.manifest, "manifest", "", "manifest store, file://PATH or s3://BUCKET/KEY (default DATA/manifest.json) (MFSHELL_MANIFEST)")
	str(&c.cdn, "cdn", "", "CDN store, file://DIR or s3://BUCKET/PREFIX (default DATA/cdn) (MFSHELL_CDN)")
	str(&c.cdnURL, "cdn-url", "/cdn/", "public base URL of bundles, as browsers load them; this server is also the origin for /cdn/ (MFSHELL_CDN_URL)")
	str(&c.tokens, "tokens", "", "tokens file (default DATA/tokens.json, made with one admin token on first run) (MFSHELL_TOKENS)")
	str(&c.s3Endpoint, "s3-endpoint", "", "endpoint of an S3-compatible server (MFSHELL_S3_ENDPOINT)")
	str(&c.secretFile, "secret-file", "", "key that signs override links, shared by replicas (default DATA/override.key, made on first run) (MFSHELL_SECRET_FILE)")
	str(&c.layout, "layout", "", "HTML template of the shell page, with <main id=\"mfshell-stage\"> and any <NAME-app> elements (default: built in) (MFSHELL_LAYOUT)")
	str(&c.forward, "forward-headers", "", "comma-separated request headers passed on to fragment servers, besides Accept-Language; cookies and authorization only if named (MFSHELL_FORWARD_HEADERS)")
	str(&c.logFormat, "log-format", "text", "log format: text or json (MFSHELL_LOG_FORMAT)")
	str(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error (MFSHELL_LOG_LEVEL)")
	poll, err := time.ParseDuration(envDefault(e, "poll", "1s"))
	if err != nil {
		return usageError(fmt.Sprintf("MFSHELL_POLL: %v", err))
	}
	budget, err := time.ParseDuration(envDefault(e, "fragment-timeout", "250ms"))
	if err != nil {
		return usageError(fmt.Sprintf("MFSHELL_FRAGMENT_TIMEOUT: %v", err))
	}
	fs.DurationVar(&c.fragments, "fragment-timeout", budget, "time budget of all the server-rendered fragments of a page; what has not arrived by then the browser renders (MFSHELL_FRAGMENT_TIMEOUT)")
	fs.DurationVar(&c.poll, "poll", poll, "how often to read the manifest store for changes made by other replicas; 0 turns it off (MFSHELL_POLL)")
	fs.BoolVar(&c.demo, "demo", envDefault(e, "demo", "true") == "true", "publish and release the demo apps into a new, empty store (MFSHELL_DEMO)")
	fs.BoolVar(&c.dev, "dev", envDefault(e, "dev", "false") == "true", "also accept unsigned overrides, ?mfshell-override=APP@URL, to run a local dev server's build in the shell; NEVER in production (MFSHELL_DEV)")
	fs.BoolVar(&c.accessLog, "access-log", envDefault(e, "access-log", "true") == "true", "log every request (MFSHELL_ACCESS_LOG)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	if c.poll < 0 {
		return usageError(fmt.Sprintf("--poll %v: must not be negative", c.poll))
	}
	if c.fragments <= 0 || c.fragments > time.Minute {
		return usageError(fmt.Sprintf("--fragment-timeout %v: want a duration above 0 and at most 1m, such as 250ms", c.fragments))
	}
	return serve(ctx, e, c)
}

func serve(ctx context.Context, e *env, c serveConfig) error {
	logger, err := newLogger(e, c.logFormat, c.logLevel)
	if err != nil {
		return err
	}
	var lay *layout.Layout
	if c.layout != "" {
		b, err := os.ReadFile(c.layout)
		if err != nil {
			return fmt.Errorf("--layout: %w", err)
		}
		if lay, err = layout.Parse(b); err != nil {
			return fmt.Errorf("--layout %s: %w", c.layout, err)
		}
	}
	var forward []string
	for h := range strings.SplitSeq(c.forward, ",") {
		if h = strings.TrimSpace(h); h != "" {
			forward = append(forward, h)
		}
	}
	if _, err := fragments.New(fragments.Options{Forward: forward}); err != nil {
		return usageError("--forward-headers: " + err.Error())
	}
	if err := os.MkdirAll(c.data, 0o755); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	manifestURL, err := parseStoreURL(c.manifest, filepath.Join(c.data, "manifest.json"), "--manifest", false)
	if err != nil {
		return err
	}
	cdnURL, err := parseStoreURL(c.cdn, filepath.Join(c.data, "cdn"), "--cdn", true)
	if err != nil {
		return err
	}
	store, err := openManifests(ctx, manifestURL, c.s3Endpoint)
	if err != nil {
		return fmt.Errorf("manifest store %s: %w", manifestURL, err)
	}
	bundles, err := openCDN(ctx, cdnURL, c.s3Endpoint)
	if err != nil {
		return fmt.Errorf("CDN store %s: %w", cdnURL, err)
	}

	tokensPath := c.tokens
	var firstToken string
	if tokensPath == "" {
		tokensPath = filepath.Join(c.data, "tokens.json")
		tokenPath := filepath.Join(c.data, "admin.token")
		created, err := tokens.Bootstrap(tokensPath, tokenPath)
		if err != nil {
			return fmt.Errorf("first-run admin token: %w", err)
		}
		if created {
			firstToken = tokenPath
		}
	}
	tokenFile := tokens.NewFile(tokensPath, logger)
	if err := tokenFile.Load(); err != nil {
		return err
	}

	if c.demo {
		if err := seedDemo(ctx, store, bundles, c.data); err != nil {
			return fmt.Errorf("seed demo apps: %w", err)
		}
	}

	secretPath, create := c.secretFile, c.secretFile == ""
	if create {
		secretPath = filepath.Join(c.data, "override.key")
	}
	key, err := override.LoadKey(secretPath, create)
	if err != nil {
		return err
	}
	signer, err := override.NewSigner(key)
	if err != nil {
		return fmt.Errorf("%s: %w", secretPath, err)
	}

	s := server.NewServer(store, bundles, tokenFile)
	s.Overrides = signer
	s.Dev = c.dev
	s.Layout = lay
	s.FragmentTimeout = c.fragments
	s.ForwardHeaders = forward
	s.Addr = c.addr
	s.CDNURL = c.cdnURL
	s.Logger = logger
	s.AccessLog = c.accessLog
	s.Poll = c.poll
	if err := s.Open(ctx); err != nil {
		return err
	}
	cur, _ := store.Current(ctx)
	fmt.Fprintf(e.stdout, "mfshell serving %s (manifest %s at revision %d, CDN %s)\n", s.URL(), manifestURL, cur.Revision, cdnURL)
	if c.dev {
		fmt.Fprintln(e.stdout, "WARNING: --dev: unsigned overrides are accepted; any link can make a browser run code from any URL. Never in production.")
	}
	if firstToken != "" {
		fmt.Fprintf(e.stdout, "first run: admin token written to %s\n  export MFSHELL_TOKEN=$(cat %s)\n", firstToken, firstToken)
	}
	<-ctx.Done()
	logger.Info("shutting down: finishing requests in flight")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Close(shutdown)
}

func newLogger(e *env, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError(fmt.Sprintf("--log-level %q: want debug, info, warn or error", level))
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	}
	return nil, usageError(fmt.Sprintf("--log-format %q: want text or json", format))
}

// seedDemo publishes the embedded demo bundles and makes the demo apps live,
// when the manifest store is new (revision 0).
func seedDemo(ctx context.Context, store manifests.Store, bundles cdn.Store, data string) error {
	cur, err := store.Current(ctx)
	if err != nil || cur.Revision != 0 {
		return err
	}
	dirs, err := fs.Glob(demo.FS(), "apps/*/*")
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(data, ".demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, dir := range dirs {
		app, version := filepath.Base(filepath.Dir(dir)), filepath.Base(dir)
		if _, err := cdn.ReadAssetManifest(ctx, bundles, app, version); err == nil {
			continue // published by an earlier run
		}
		sub, err := fs.Sub(demo.FS(), dir)
		if err != nil {
			return err
		}
		out := filepath.Join(tmp, app, version)
		if err := os.CopyFS(out, sub); err != nil {
			return err
		}
		// ErrExist: another replica on the same store published it first.
		if _, err := cdn.Publish(ctx, bundles, out, cdn.PublishOptions{App: app, Version: version}); err != nil && !errors.Is(err, cdn.ErrExist) {
			return err
		}
	}
	// Only into an empty store: a replica that lost the race finds the
	// demo released by the winner (or anything else written first).
	_, _, err = manifests.Apply(ctx, store, manifests.Edit{
		Actor:      "mfshell",
		Reason:     "demo apps seeded on first run",
		IfRevision: new(int64(0)),
		Change: func(m *manifests.Manifest) error {
			m.CDN = "/cdn/"
			for _, d := range demo.Apps() {
				am, err := cdn.ReadAssetManifest(ctx, bundles, d.Name, d.Version)
				if err != nil {
					return err
				}
				m.Apps[d.Name] = manifests.App{
					Version: d.Version, Route: d.Route, Entry: am.Entry, Styles: am.Styles,
					Format: d.Format, Isolation: d.Isolation, Template: d.Template, Integrity: am.LoadedIntegrity(),
				}.WithDefaults()
			}
			return nil
		},
	})
	if errors.Is(err, manifests.ErrConflict) {
		return nil
	}
	return err
}
