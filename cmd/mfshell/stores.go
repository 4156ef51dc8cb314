package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/mfshell/mfshell/cdn"
	"github.com/mfshell/mfshell/internal/s3x"
	"github.com/mfshell/mfshell/manifests"
)

// storeURL is a parsed --manifest or --cdn value: a local path (file://PATH
// or a plain path) or an S3 location (s3://BUCKET/KEY).
type storeURL struct {
	path string
	s3   *s3x.Location
}

// parseStoreURL parses u for the flag flagName; def (a path) stands for an
// empty u. A CDN may be a whole bucket (emptyKey).
func parseStoreURL(u, def, flagName string, emptyKey bool) (storeURL, error) {
	if u == "" {
		return storeURL{path: def}, nil
	}
	if strings.HasPrefix(u, "s3://") {
		loc, err := s3x.Parse(u, emptyKey)
		if err != nil {
			return storeURL{}, usageError(fmt.Sprintf("%s: %v", flagName, err))
		}
		return storeURL{s3: &loc}, nil
	}
	p, ok := strings.CutPrefix(u, "file://")
	if !ok {
		if strings.Contains(u, "://") {
			scheme := u
			if parsed, _ := url.Parse(u); parsed != nil {
				scheme = parsed.Scheme
			}
			return storeURL{}, usageError(fmt.Sprintf("%s %s: unknown scheme %q; use file://PATH or s3://BUCKET/KEY", flagName, u, scheme))
		}
		p = u // a plain path
	}
	if p == "" {
		return storeURL{}, usageError(flagName + ": empty path")
	}
	return storeURL{path: p}, nil
}

// openManifests opens the manifest store at u; endpoint is --s3-endpoint.
func openManifests(ctx context.Context, u storeURL, endpoint string) (manifests.Store, error) {
	if u.s3 == nil {
		store := manifests.NewFileStore(u.path)
		if err := store.Open(ctx); err != nil {
			return nil, err
		}
		return store, nil
	}
	client, err := s3x.NewClient(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	return manifests.OpenS3(ctx, client, *u.s3)
}

// openCDN opens the bundle store at u; endpoint is --s3-endpoint.
func openCDN(ctx context.Context, u storeURL, endpoint string) (cdn.Store, error) {
	if u.s3 == nil {
		d := cdn.NewDir(u.path)
		if err := d.Init(ctx); err != nil {
			return nil, err
		}
		return d, nil
	}
	client, err := s3x.NewClient(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	s := cdn.NewS3(client, *u.s3)
	if err := s.Init(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (u storeURL) String() string {
	if u.s3 != nil {
		return u.s3.String()
	}
	return u.path
}
