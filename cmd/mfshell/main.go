// Command mfshell serves a micro-frontend shell and its version manifest,
// publishes app bundles to a CDN store, and drives releases through the
// server's API.
//
// Run "mfshell help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "mfshell: "+err.Error())
		}
		os.Exit(exitCode(err))
	}
}

// env is what a command may touch of its process: tests pass their own.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// command is one subcommand of mfshell.
type command struct {
	name    string
	args    string // synopsis after the name
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "[flags]", "serve the shell, the manifest, the ops API and the local CDN", runServe},
		{"publish", "--app NAME --version VER [--cdn URL] DIR", "upload a bundle folder to the CDN store as an immutable version", runPublish},
		{"release", "APP VERSION [--force]", "make VERSION the live version of APP", runRelease},
		{"canary", "APP VERSION --percent N", "give VERSION of APP to N% of browsers, each kept in its bucket", runCanary},
		{"promote", "APP", "release APP's canary version to everyone", runPromote},
		{"abort", "APP", "end APP's canary: everyone gets the live version", runAbort},
		{"override", "APP VERSION [--ttl 2h]", "print a link that makes one browser run VERSION of APP", runOverride},
		{"verify", "--app NAME --version VER [flags]", "check a version in the shell in headless Chromium: leaks, errors, looks", runVerify},
		{"rollback", "REVISION", "make a new revision with the apps of an old one", runRollback},
		{"history", "[--app APP] [--limit N]", "list revisions, newest first", runHistory},
		{"apps", "", "list apps with their live versions", runApps},
		{"versions", "APP", "list the versions of APP published on the CDN", runVersions},
		{"manifest", "validate FILE", "check a manifest file offline", runManifest},
	}
}

// run runs mfshell with args (without the program name).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 {
		usage(stderr)
		return usageError("no command given")
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, args[1:])
		}
	}
	msg := fmt.Sprintf("unknown command %q", name)
	if s := suggest(name); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return usageError(msg + " (run \"mfshell help\" for the list)")
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "mfshell: a micro-frontend shell, its version manifest and its CDN, in one binary.")
	fmt.Fprintln(w, "\nUsage: mfshell COMMAND [ARGS]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nOps commands talk to a running server: --server URL (MFSHELL_SERVER, default http://127.0.0.1:8080),")
	fmt.Fprintln(w, "with the token from MFSHELL_TOKEN or --token-file. Each prints JSON with --json.")
	fmt.Fprintln(w, "Run \"mfshell COMMAND -h\" for a command's flags.")
}

// suggest returns the command closest to a mistyped name, if any is close.
func suggest(name string) string {
	best, bestD := "", 3
	for _, c := range commands() {
		if d := editDistance(name, c.name); d < bestD {
			best, bestD = c.name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// usageError is a mistake in the command line: exit code 2.
type usageError string

func (e usageError) Error() string { return string(e) }

// exitCode maps an error to the process's exit status: 2 for usage
// mistakes, 1 otherwise.
func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

// newFlags returns a flag set for a subcommand whose errors are returned,
// not printed and exited on.
func newFlags(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: mfshell %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments
// ("mfshell release catalog 1.5.0 --json"), and returns the positionals.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError(err.Error())
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// wantArgs checks the number of positional arguments.
func wantArgs(fs *flag.FlagSet, pos []string, names ...string) error {
	if len(pos) == len(names) {
		return nil
	}
	hint := fmt.Sprintf(" (run \"mfshell %s -h\" for help)", fs.Name())
	if len(pos) < len(names) {
		missing := names[len(pos):]
		return usageError(fmt.Sprintf("%s: missing %s %s", fs.Name(), plural(len(missing), "argument"), strings.Join(missing, " ")) + hint)
	}
	return usageError(fmt.Sprintf("%s: unexpected %s %s", fs.Name(), plural(len(pos)-len(names), "argument"), strings.Join(pos[len(names):], " ")) + hint)
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// envDefault returns the value of the environment variable MFSHELL_NAME
// for a flag called name (dashes become underscores), or def.
func envDefault(e *env, name, def string) string {
	key := "MFSHELL_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}
