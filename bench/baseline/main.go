// Command baseline is the yardstick of "make bench": a bare net/http server
// that serves a few files from memory, with nothing else. mfshell's budget
// is to serve its public manifest and bundles at least as fast as this
// server serves the same bytes.
//
//	baseline --addr 127.0.0.1:9090 \
//	    --file /_mfshell/manifest.json=manifest.json \
//	    --file /cdn/bench/1.0.0/main.js=main.js
//
// Each file is read once at start-up. A GET or HEAD of its URL path gets
// status 200, the Content-Type mfshell sends for that extension, a
// Content-Length and the bytes; any other path gets 404. There is no
// routing library, no ETag, no compression, no metrics and no logging:
// only what net/http does for every response (a Date header).
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
)

// file is one response, prepared at start-up.
type file struct {
	ctype  string
	length string
	body   []byte
}

// files is the --file flag: URLPATH=LOCALFILE, repeatable.
type files map[string]*file

func (f files) String() string { return fmt.Sprint(len(f), " files") }

func (f files) Set(v string) error {
	urlPath, local, ok := strings.Cut(v, "=")
	if !ok || !strings.HasPrefix(urlPath, "/") || local == "" {
		return fmt.Errorf("%q: want URLPATH=LOCALFILE, with URLPATH starting with /", v)
	}
	body, err := os.ReadFile(local)
	if err != nil {
		return err
	}
	f[urlPath] = &file{ctype: contentType(urlPath), length: strconv.Itoa(len(body)), body: body}
	return nil
}

// contentType is the Content-Type mfshell sends for the files served here
// (cdn's table of web types, and the public manifest's).
func contentType(urlPath string) string {
	switch path.Ext(urlPath) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json":
		return "application/json"
	case ".html":
		return "text/html; charset=utf-8"
	}
	return "application/octet-stream"
}

func (f files) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fl, ok := f[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h["Content-Type"] = []string{fl.ctype}
	h["Content-Length"] = []string{fl.length}
	if r.Method != http.MethodHead {
		w.Write(fl.body) // an error here is the client gone; nothing to do
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9090", "address to listen on")
	fs := files{}
	flag.Var(fs, "file", "serve LOCALFILE at URLPATH, as `URLPATH=LOCALFILE` (repeatable)")
	flag.Parse()
	if len(fs) == 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: baseline [--addr ADDR] --file URLPATH=LOCALFILE...")
		os.Exit(2)
	}
	// Listen first, so that a busy port is an error before "serving" is
	// printed: the bench script waits for that line.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
	fmt.Printf("baseline serving http://%s (%d files)\n", ln.Addr(), len(fs))
	if err := http.Serve(ln, fs); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}
