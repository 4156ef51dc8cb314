// Command fragments is the app teams' fragment server of "make bench": it
// answers every fragment request mfshell sends (GET URL?path=P, with the
// headers Mfshell-App and Mfshell-Version) with a small HTML fragment that
// names the app and the path, after a fixed delay, the time a team's
// server would take to render it.
//
//	fragments --addr 127.0.0.1:0 --delay 100ms
//
// The delay is a timer, not work: it costs no CPU, so a page whose
// fragments are fetched in parallel takes about one delay, one whose
// fragments are fetched one after another the sum. A request whose client
// goes away (mfshell's budget spent) ends at once. With --delay 0 it
// answers at once, for throughput. Nothing is logged.
package main

import (
	"flag"
	"fmt"
	"html"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// fragment is the HTML answered for app at path: a few elements, as a
// header, a footer or a product page would render (about 300 bytes).
func fragment(app, path string) []byte {
	a, p := html.EscapeString(app), html.EscapeString(path)
	return fmt.Appendf(nil, `<section class="%s"><h2>%s</h2><p>Rendered by the %s team's server for <code>%s</code>.</p>`+
		`<ul><li><a href="/shop">Shop</a></li><li><a href="/shop/cart">Cart</a></li><li><a href="/shop/help">Help</a></li></ul></section>`,
		a, a, a, p)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	delay := flag.Duration("delay", 0, "time to wait before answering each request")
	flag.Parse()
	if flag.NArg() > 0 || *delay < 0 {
		fmt.Fprintln(os.Stderr, "usage: fragments [--addr ADDR] [--delay D]")
		os.Exit(2)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if *delay > 0 {
			t := time.NewTimer(*delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		body := fragment(r.Header.Get("Mfshell-App"), r.URL.Query().Get("path"))
		hdr := w.Header()
		hdr["Content-Type"] = []string{"text/html; charset=utf-8"}
		hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
		w.Write(body) // an error here is the client gone; nothing to do
	})
	// Listen first, so that a busy port is an error before "serving" is
	// printed: the bench script waits for that line.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fragments:", err)
		os.Exit(1)
	}
	fmt.Printf("fragments serving http://%s (delay %v)\n", ln.Addr(), *delay)
	if err := http.Serve(ln, h); err != nil {
		fmt.Fprintln(os.Stderr, "fragments:", err)
		os.Exit(1)
	}
}
