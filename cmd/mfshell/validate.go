package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mfshell/mfshell/manifests"
)

// maxManifestFile caps what "manifest validate" reads, far above any
// manifest the server would accept.
const maxManifestFile = 64 << 20

// runManifest dispatches "mfshell manifest SUBCOMMAND"; validate is the
// only one.
func runManifest(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError("manifest: missing subcommand: mfshell manifest validate FILE")
	}
	switch args[0] {
	case "validate":
		return runValidate(ctx, e, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(e.stdout, "Usage: mfshell manifest validate FILE [--json]")
		return nil
	}
	return usageError(fmt.Sprintf("manifest: unknown subcommand %q: want mfshell manifest validate FILE", args[0]))
}

// runValidate checks a manifest file offline: every problem is printed on
// stdout, one per line, and the command fails if there is any.
func runValidate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "manifest validate", "FILE [--json]")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, "FILE"); err != nil {
		return err
	}
	name := pos[0]
	data, err := readManifestFile(e, name)
	if err != nil {
		return err
	}
	type result struct {
		File     string              `json:"file"`
		Valid    bool                `json:"valid"`
		Apps     int                 `json:"apps,omitempty"`
		Revision int64               `json:"revision,omitempty"`
		Problems []manifests.Problem `json:"problems,omitempty"`
	}
	res := result{File: name}
	m, err := manifests.Decode(data)
	var ve *manifests.ValidationError
	switch {
	case err == nil:
		res.Valid, res.Apps, res.Revision = true, len(m.Apps), m.Revision
	case errors.As(err, &ve):
		res.Problems = ve.Problems
	default:
		return fmt.Errorf("manifest validate %s: %w", name, err)
	}

	if *asJSON {
		out, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if _, err := e.stdout.Write(append(out, '\n')); err != nil {
			return err
		}
	} else if res.Valid {
		fmt.Fprintf(e.stdout, "%s: valid (%d %s, revision %d)\n", name, res.Apps, plural(res.Apps, "app"), res.Revision)
	} else {
		for _, p := range res.Problems {
			fmt.Fprintln(e.stdout, p.String())
		}
	}
	if !res.Valid {
		return fmt.Errorf("manifest validate %s: invalid: %d %s", name, len(res.Problems), plural(len(res.Problems), "problem"))
	}
	return nil
}

// readManifestFile reads the file name, or standard input for "-".
func readManifestFile(e *env, name string) ([]byte, error) {
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("manifest validate: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxManifestFile+1))
	if err != nil {
		return nil, fmt.Errorf("manifest validate: read %s: %w", name, err)
	}
	if len(data) > maxManifestFile {
		return nil, fmt.Errorf("manifest validate %s: larger than %s", name, formatSize(maxManifestFile))
	}
	return data, nil
}
