package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestServeDev checks that --dev turns on unsigned dev overrides, and that
// without it their link only clears the override cookie.
func TestServeDev(t *testing.T) {
	link := "/catalog?mfshell-override=" + url.QueryEscape("catalog@http://127.0.0.1:5173/src/main.js")
	for _, dev := range []bool{true, false} {
		args := []string{"--data", t.TempDir()}
		if dev {
			args = append(args, "--dev")
		}
		res, err := http.Get(serveArgs(t, args...) + link)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		var cookie *http.Cookie
		for _, c := range res.Cookies() {
			if c.Name == "mfshell-override" {
				cookie = c
			}
		}
		csp := res.Header.Get("Content-Security-Policy")
		if dev && (cookie == nil || !strings.HasPrefix(cookie.Value, "dev:") || !strings.Contains(csp, "http://127.0.0.1:5173")) {
			t.Errorf("--dev: cookie %+v, CSP %s", cookie, csp)
		}
		if !dev && (cookie == nil || cookie.MaxAge >= 0 || strings.Contains(csp, "5173")) {
			t.Errorf("without --dev: cookie %+v, CSP %s", cookie, csp)
		}
	}
}
