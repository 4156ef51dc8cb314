package server

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mfshell/mfshell/cdn"
	"github.com/mfshell/mfshell/manifests"
)

const imd = "/api/v1/import-map-deployer"

// basic returns the Authorization header of basic auth.
func basic(user, password string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}
}

// deployerServer has catalog at 1.0.0 (1.1.0 and 1.2.0 published), home
// at 1.0.0 (2.0.0 published), and legacy, a script app.
func deployerServer(t *testing.T) *testServer {
	t.Helper()
	ts := newTestServer(t)
	for _, av := range [][2]string{{"catalog", "1.0.0"}, {"catalog", "1.1.0"}, {"catalog", "1.2.0"}, {"home", "1.0.0"}, {"home", "2.0.0"}, {"legacy", "1.0.0"}, {"legacy", "1.1.0"}} {
		ts.publish(t, av[0], av[1])
	}
	for _, c := range []struct{ app, body string }{
		{"catalog", `{"version":"1.0.0"}`},
		{"home", `{"version":"1.0.0","route":"/"}`},
		{"legacy", `{"version":"1.0.0","format":"script"}`},
	} {
		if res := ts.do(t, "PUT", "/api/v1/apps/"+c.app, adminToken, c.body); res.status != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", c.app, res.status, res.body)
		}
	}
	return ts
}

// lastRevision returns the newest history entry.
func lastRevision(t *testing.T, ts *testServer) historyEntry {
	t.Helper()
	res := ts.do(t, "GET", "/api/v1/history?limit=1", adminToken, "")
	var h struct{ Revisions []historyEntry }
	if err := json.Unmarshal(res.body, &h); err != nil || len(h.Revisions) != 1 {
		t.Fatalf("history: %d %s", res.status, res.body)
	}
	return h.Revisions[0]
}

// deployerAnswerOf decodes the answer to a deployer write.
func deployerAnswerOf(t *testing.T, res response) deployerAnswer {
	t.Helper()
	var a deployerAnswer
	if err := json.Unmarshal(res.body, &a); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, res.body)
	}
	return a
}

func TestDeployerPatchService(t *testing.T) {
	ts := deployerServer(t)

	// A bearer token, a path URL.
	res := ts.do(t, "PATCH", imd+"/services", teamToken, `{"service":"catalog","url":"/cdn/catalog/1.1.0/main.js"}`)
	if res.status != http.StatusOK {
		t.Fatalf("PATCH services: %d %s", res.status, res.body)
	}
	a := deployerAnswerOf(t, res)
	if a.Imports["catalog"] != "/cdn/catalog/1.1.0/main.js" || a.Imports["catalog/"] != "/cdn/catalog/1.1.0/" || a.Imports["home"] != "/cdn/home/1.0.0/main.js" ||
		a.Integrity["/cdn/catalog/1.1.0/main.js"] == "" || a.Revision != 4 || !a.Changed || res.header.Get("ETag") != `"4"` {
		t.Fatalf("answer: %s", res.body)
	}
	if _, ok := a.Imports["legacy"]; ok {
		t.Fatalf("a script app in the import map: %s", res.body)
	}
	h := lastRevision(t, ts)
	if h.Revision != 4 || h.Actor != "team-catalog" || h.Reason != "import-map-deployer: PATCH services" || h.Summary != `catalog: version "1.0.0" → "1.1.0"` {
		t.Fatalf("history: %+v", h)
	}
	// The release took the version's files, as PATCH /api/v1/apps does.
	rec, _ := ts.store.Current(t.Context())
	if app := rec.Manifest.Apps["catalog"]; app.Entry != "main.js" || len(app.Styles) != 1 || app.Integrity["main.js"] != a.Integrity["/cdn/catalog/1.1.0/main.js"] {
		t.Fatalf("app after release: %+v", app)
	}

	// Basic auth (any username, a token as password), the absolute URL on
	// the server's own origin, and the tool's query parameters.
	res = ts.do(t, "PATCH", imd+"/services?env=default&skip_url_check&packageDirLevel=2", "",
		`{"service":"catalog","url":"`+ts.url+`/cdn/catalog/1.2.0/main.js"}`,
		append(basic("ci-bot", teamToken), "Mfshell-Reason", "deploy #42", "If-Match", `"4"`)...)
	if res.status != http.StatusOK || deployerAnswerOf(t, res).Revision != 5 {
		t.Fatalf("PATCH services with basic auth: %d %s", res.status, res.body)
	}
	if h := lastRevision(t, ts); h.Actor != "team-catalog" || h.Reason != "deploy #42" || h.Summary != `catalog: version "1.1.0" → "1.2.0"` {
		t.Fatalf("history: %+v", h)
	}

	// The same release again changes nothing; a stale If-Match is refused.
	// (with the right integrity, which is checked and accepted).
	sri := deployerAnswerOf(t, res).Integrity["/cdn/catalog/1.2.0/main.js"]
	res = ts.do(t, "PATCH", imd+"/services", adminToken, `{"service":"catalog","url":"/cdn/catalog/1.2.0/main.js","integrity":"`+sri+`"}`)
	if a := deployerAnswerOf(t, res); res.status != 200 || a.Changed || a.Revision != 5 {
		t.Fatalf("the same release: %d %s", res.status, res.body)
	}
	res = ts.do(t, "PATCH", imd+"/services", adminToken, `{"service":"catalog","url":"/cdn/catalog/1.0.0/main.js"}`, "If-Match", `"4"`)
	if res.status != http.StatusPreconditionFailed || ts.revision(t) != 5 {
		t.Fatalf("stale If-Match: %d %s", res.status, res.body)
	}

	// Releasing a canary's version promotes it, as PATCH /api/v1/apps does.
	if r := ts.do(t, "PATCH", "/api/v1/apps/home", adminToken, `{"canary":{"version":"2.0.0","percent":10}}`); r.status != 200 {
		t.Fatalf("canary: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "PATCH", imd+"/services", adminToken, `{"service":"home","url":"/cdn/home/2.0.0/main.js"}`); r.status != 200 {
		t.Fatalf("promote: %d %s", r.status, r.body)
	}
	rec, _ = ts.store.Current(t.Context())
	if app := rec.Manifest.Apps["home"]; app.Version != "2.0.0" || app.Canary != nil {
		t.Fatalf("home after releasing its canary: %+v", app)
	}
}

// TestDeployerRefuses sends requests the deployer API must refuse: each
// gets a clear error and changes nothing.
func TestDeployerRefuses(t *testing.T) {
	ts := deployerServer(t)
	catalog := func(url string) string { return `{"service":"catalog","url":"` + url + `"}` }
	for _, tc := range []struct {
		name, method, path, token, body string
		headers                         []string
		status                          int
		want                            string
	}{
		{"URL on another host", "PATCH", "/services", adminToken, catalog("https://elsewhere.example/cdn/catalog/1.1.0/main.js"), nil, 400, "is not on this server's CDN"},
		{"URL of a public CDN", "PATCH", "/services", adminToken, catalog("https://cdn.jsdelivr.net/npm/catalog@1.1.0/main.js"), nil, 400, "is not on this server's CDN"},
		{"URL outside the CDN path", "PATCH", "/services", adminToken, catalog("/static/catalog/1.1.0/main.js"), nil, 400, "is not on this server's CDN"},
		{"relative URL", "PATCH", "/services", adminToken, catalog("cdn/catalog/1.1.0/main.js"), nil, 400, "is not on this server's CDN"},
		{"unpublished version", "PATCH", "/services", adminToken, catalog("/cdn/catalog/9.9.9/main.js"), nil, 409, "version 9.9.9 of catalog is not published"},
		{"not the entry", "PATCH", "/services", adminToken, catalog("/cdn/catalog/1.1.0/main.css"), nil, 400, "which is not the entry of catalog@1.1.0: its entry is /cdn/catalog/1.1.0/main.js"},
		{"no such file", "PATCH", "/services", adminToken, catalog("/cdn/catalog/1.1.0/nope.js"), nil, 400, "not the entry"},
		{"a folder", "PATCH", "/services", adminToken, catalog("/cdn/catalog/1.1.0/"), nil, 400, "is a folder"},
		{"another app's file", "PATCH", "/services", adminToken, catalog("/cdn/home/2.0.0/main.js"), nil, 400, `is a file of app "home", not of "catalog"`},
		{"dot segments", "PATCH", "/services", adminToken, catalog("/cdn/catalog/1.1.0/../1.2.0/main.js"), nil, 400, "not a file path"},
		{"a query", "PATCH", "/services", adminToken, catalog("/cdn/catalog/1.1.0/main.js?v=2"), nil, 400, "query"},
		{"percent-encoded", "PATCH", "/services", adminToken, catalog("/cdn/catalog/1.1.0/m%61in.js"), nil, 400, "percent-encoded"},
		{"javascript URL", "PATCH", "/services", adminToken, catalog("javascript:alert(1)"), nil, 400, "http(s) URL"},
		{"user info", "PATCH", "/services", adminToken, catalog("http://me@127.0.0.1/cdn/catalog/1.1.0/main.js"), nil, 400, "user info"},
		{"wrong integrity", "PATCH", "/services", adminToken, `{"service":"catalog","url":"/cdn/catalog/1.1.0/main.js","integrity":"sha384-AAAA"}`, nil, 400, "is not that of"},
		{"env=prod", "PATCH", "/services?env=prod", adminToken, catalog("/cdn/catalog/1.1.0/main.js"), nil, 400, `env "prod": this mfshell server has one manifest`},
		{"missing service", "PATCH", "/services", adminToken, `{"url":"/cdn/catalog/1.1.0/main.js"}`, nil, 400, `"service" is missing`},
		{"missing url", "PATCH", "/services", adminToken, `{"service":"catalog"}`, nil, 400, `"url" is missing`},
		{"malformed JSON", "PATCH", "/services", adminToken, `{"service":"catalog",`, nil, 400, "bad request body"},
		{"unknown field", "PATCH", "/services", adminToken, `{"service":"catalog","url":"/cdn/catalog/1.1.0/main.js","colour":1}`, nil, 400, "colour"},
		{"not an mfshell name", "PATCH", "/services", adminToken, `{"service":"@org/catalog","url":"/cdn/catalog/1.1.0/main.js"}`, nil, 400, "is not an mfshell app name"},
		{"no such app", "PATCH", "/services", adminToken, `{"service":"cart","url":"/cdn/cart/1.0.0/main.js"}`, nil, 404, `no app "cart": create it first`},
		{"a script app", "PATCH", "/services", adminToken, `{"service":"legacy","url":"/cdn/legacy/1.1.0/main.js"}`, nil, 400, "module apps only"},
		{"another team's app", "PATCH", "/services", teamToken, `{"service":"home","url":"/cdn/home/2.0.0/main.js"}`, nil, 403, `may not change app "home"`},
		{"another team's app, basic auth", "PATCH", "/services", "", `{"service":"home","url":"/cdn/home/2.0.0/main.js"}`, basic("ci", teamToken), 403, `may not change app "home"`},
		{"no credentials", "PATCH", "/services", "", catalog("/cdn/catalog/1.1.0/main.js"), nil, 401, "missing credentials"},
		{"a wrong password", "PATCH", "/services", "", catalog("/cdn/catalog/1.1.0/main.js"), basic("ci", "not-a-token"), 401, "invalid token"},
		{"an empty password", "PATCH", "/services", "", catalog("/cdn/catalog/1.1.0/main.js"), basic(adminToken, ""), 401, "without a password"},
		{"malformed basic auth", "PATCH", "/services", "", catalog("/cdn/catalog/1.1.0/main.js"), []string{"Authorization", "Basic !!!"}, 401, "malformed basic auth"},
		{"a wrong method", "GET", "/services", adminToken, "", nil, 405, "use PATCH"},
		{"an unknown endpoint", "PATCH", "/sofe-manifest.json", adminToken, "{}", nil, 404, "no such import-map-deployer endpoint"},
		{"delete another team's app", "DELETE", "/services/home", teamToken, "", nil, 403, `may not change app "home"`},
		{"delete a missing app", "DELETE", "/services/cart", adminToken, "", nil, 404, `no app "cart"`},
		{"delete a scoped name", "DELETE", "/services/%40org%2Fcatalog", adminToken, "", nil, 400, `service "@org/catalog" is not an mfshell app name`},
		{"delete in env=prod", "DELETE", "/services/home?env=prod", adminToken, "", nil, 400, "env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.revision(t)
			res := ts.do(t, tc.method, imd+tc.path, tc.token, tc.body, tc.headers...)
			var e errorBody
			if err := json.Unmarshal(res.body, &e); err != nil || res.status != tc.status || !strings.Contains(e.Error, tc.want) {
				t.Fatalf("got %d %s, want %d with %q", res.status, res.body, tc.status, tc.want)
			}
			if after := ts.revision(t); after != before {
				t.Fatalf("a refused request made revision %d", after)
			}
			if res.status == http.StatusUnauthorized {
				challenges := strings.Join(res.header.Values("WWW-Authenticate"), " | ")
				if !strings.Contains(challenges, "Basic ") || !strings.Contains(challenges, "Bearer ") {
					t.Fatalf("401 challenges: %q", challenges)
				}
			}
		})
	}
}

func TestDeployerPatchImportMap(t *testing.T) {
	ts := deployerServer(t)
	integrity := func(app, version string) string {
		t.Helper()
		am, err := cdn.ReadAssetManifest(t.Context(), ts.cdn, app, version)
		if err != nil {
			t.Fatal(err)
		}
		return am.Files["main.js"].Integrity
	}

	// All or nothing: one good entry and four bad ones change nothing,
	// and the error lists every problem.
	before := ts.revision(t)
	res := ts.do(t, "PATCH", imd+"/import-map.json", adminToken, `{"imports":{
		"catalog": "/cdn/catalog/1.1.0/main.js",
		"home": "/cdn/home/9.0.0/main.js",
		"react": "https://cdn.jsdelivr.net/npm/react@18/index.js",
		"@org/nav": "/cdn/nav/1.0.0/main.js",
		"legacy": "/cdn/legacy/1.1.0/main.js",
		"catalog/": "/cdn/catalog/1.0.0/"}}`)
	var e errorBody
	json.Unmarshal(res.body, &e)
	fields := []string{}
	for _, p := range e.Problems {
		fields = append(fields, p.Field)
	}
	if res.status != 400 || !slices.Equal(fields, []string{`imports["@org/nav"]`, `imports["catalog/"]`, `imports["home"]`, `imports["legacy"]`, `imports["react"]`}) ||
		!strings.Contains(e.Error, "version 9.0.0 of home is not published") || !strings.Contains(e.Error, "module apps only") ||
		!strings.Contains(e.Error, "not an mfshell app name") || !strings.Contains(e.Error, `no app "react"`) || !strings.Contains(e.Error, "is not the folder of catalog@1.1.0, /cdn/catalog/1.1.0/") {
		t.Fatalf("bad entries: %d %s", res.status, res.body)
	}
	if ts.revision(t) != before {
		t.Fatal("a refused import map made a revision")
	}

	// Two releases, their folders and integrity: one revision.
	body := fmt.Sprintf(`{"imports":{
		"catalog": "/cdn/catalog/1.1.0/main.js", "catalog/": "/cdn/catalog/1.1.0/",
		"home": "%s/cdn/home/2.0.0/main.js", "home/": "/cdn/home/2.0.0/"},
		"integrity": {"/cdn/catalog/1.1.0/main.js": %q}, "scopes": {}}`, ts.url, integrity("catalog", "1.1.0"))
	res = ts.do(t, "PATCH", imd+"/import-map.json?env=default", "", body, basic("ci", adminToken)...)
	a := deployerAnswerOf(t, res)
	if res.status != 200 || a.Revision != before+1 || a.Imports["catalog"] != "/cdn/catalog/1.1.0/main.js" || a.Imports["home"] != "/cdn/home/2.0.0/main.js" {
		t.Fatalf("import map: %d %s", res.status, res.body)
	}
	if h := lastRevision(t, ts); h.Actor != "ops" || h.Reason != "import-map-deployer: PATCH import-map.json" || len(h.Changes) != 2 {
		t.Fatalf("history: %+v", h)
	}

	// What GET import-map.json answers can be sent back: no change.
	res = ts.do(t, "GET", imd+"/import-map.json", adminToken, "")
	if res.status != 200 || res.header.Get("ETag") != fmt.Sprintf(`"%d"`, before+1) {
		t.Fatalf("GET import-map.json: %d %v", res.status, res.header)
	}
	if _, pub := getImportMap(t, ts); string(pub.body) != strings.TrimSpace(string(res.body)) {
		t.Fatalf("GET import-map.json is not /_mfshell/importmap.json:\n%s\n%s", res.body, pub.body)
	}
	res = ts.do(t, "PATCH", imd+"/import-map.json", adminToken, string(res.body))
	if a := deployerAnswerOf(t, res); res.status != 200 || a.Changed || a.Revision != before+1 {
		t.Fatalf("sending back the import map: %d %s", res.status, res.body)
	}

	// Other refusals.
	for _, tc := range []struct {
		name, token, body string
		status            int
		want              string
	}{
		{"another team's app", teamToken, `{"imports":{"catalog":"/cdn/catalog/1.2.0/main.js","home":"/cdn/home/1.0.0/main.js"}}`, 403, `may not change app home`},
		{"another team's folder", teamToken, `{"imports":{"catalog":"/cdn/catalog/1.2.0/main.js","home/":"/cdn/home/2.0.0/"}}`, 403, `may not change app home`},
		{"scopes", adminToken, `{"imports":{"catalog":"/cdn/catalog/1.2.0/main.js"},"scopes":{"/x/":{"a":"/b.js"}}}`, 400, "no scopes"},
		{"no imports", adminToken, `{"imports":{}}`, 400, `"imports" is missing or empty`},
		{"not a string", adminToken, `{"imports":{"catalog":1}}`, 400, "must be a string"},
		{"one bad entry: its own status", adminToken, `{"imports":{"catalog":"/cdn/catalog/7.0.0/main.js"}}`, 409, `imports["catalog"]: version 7.0.0 of catalog is not published`},
		{"a wrong integrity", adminToken, `{"imports":{"catalog":"/cdn/catalog/1.2.0/main.js"},"integrity":{"/cdn/catalog/1.2.0/main.js":"sha384-x"}}`, 400, "is not the integrity of the published file"},
		{"integrity of no file", adminToken, `{"imports":{"catalog":"/cdn/catalog/1.2.0/main.js"},"integrity":{"/cdn/catalog/1.2.0/x.js":"sha384-x"}}`, 400, `has no file "x.js"`},
		{"integrity elsewhere", adminToken, `{"imports":{"catalog":"/cdn/catalog/1.2.0/main.js"},"integrity":{"https://x.example/a.js":"sha384-x"}}`, 400, "not on this server's CDN"},
		{"env", adminToken, `{"imports":{"catalog":"/cdn/catalog/1.2.0/main.js"}}`, 400, "env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.revision(t)
			path := imd + "/import-map.json"
			if tc.name == "env" {
				path += "?env=staging"
			}
			res := ts.do(t, "PATCH", path, tc.token, tc.body)
			var e errorBody
			if err := json.Unmarshal(res.body, &e); err != nil || res.status != tc.status || !strings.Contains(e.Error, tc.want) {
				t.Fatalf("got %d %s, want %d with %q", res.status, res.body, tc.status, tc.want)
			}
			if ts.revision(t) != before {
				t.Fatal("a refused request made a revision")
			}
		})
	}
}

func TestDeployerDeleteAndRead(t *testing.T) {
	ts := deployerServer(t)
	res := ts.do(t, "DELETE", imd+"/services/home?env=default", "", "", basic("", adminToken)...)
	a := deployerAnswerOf(t, res)
	if res.status != 200 || !a.Changed || a.Imports["home"] != "" || a.Imports["catalog"] == "" {
		t.Fatalf("DELETE: %d %s", res.status, res.body)
	}
	rec, _ := ts.store.Current(t.Context())
	if _, ok := rec.Manifest.Apps["home"]; ok {
		t.Fatal("home is still in the manifest")
	}
	if h := lastRevision(t, ts); h.Actor != "ops" || h.Reason != "import-map-deployer: DELETE services/home" {
		t.Fatalf("history: %+v", h)
	}
	// A team deletes its own app.
	if res := ts.do(t, "DELETE", imd+"/services/catalog", teamToken, ""); res.status != 200 {
		t.Fatalf("DELETE by its team: %d %s", res.status, res.body)
	}

	res = ts.do(t, "GET", imd+"/environments", "", "", basic("x", teamToken)...)
	if res.status != 200 || strings.TrimSpace(string(res.body)) != `{"environments":[{"name":"default","aliases":[],"isDefault":true}]}` {
		t.Fatalf("environments: %d %s", res.status, res.body)
	}
	if res := ts.do(t, "GET", imd+"/environments", "", ""); res.status != 401 {
		t.Fatalf("environments without credentials: %d", res.status)
	}
	if res := ts.do(t, "GET", imd+"/health", "", ""); res.status != 200 {
		t.Fatalf("health: %d %s", res.status, res.body)
	}
	if res := ts.do(t, "GET", imd+"/import-map.json", "", ""); res.status != 401 {
		t.Fatalf("import-map.json without credentials: %d", res.status)
	}
	// The rest of the API is unchanged: basic auth is for the deployer
	// routes only.
	if res := ts.do(t, "GET", "/api/v1/manifest", "", "", basic("x", adminToken)...); res.status != 401 {
		t.Fatalf("basic auth on /api/v1/manifest: %d", res.status)
	}
}

// TestDeployerConcurrent sends 50 releases at once, of different versions
// of several apps: every one is answered 200 and is a revision of its own.
func TestDeployerConcurrent(t *testing.T) {
	ts := newTestServer(t)
	const apps, versions = 5, 10
	for i := range apps {
		app := fmt.Sprintf("app%d", i)
		ts.publish(t, app, "0.0.0")
		for v := range versions {
			ts.publish(t, app, fmt.Sprintf("1.0.%d", v))
		}
		if res := ts.do(t, "PUT", "/api/v1/apps/"+app, adminToken, `{"version":"0.0.0"}`); res.status != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", app, res.status, res.body)
		}
	}
	before := ts.revision(t)
	var wg sync.WaitGroup
	errs := make(chan string, apps*versions)
	for i := range apps {
		for v := range versions {
			wg.Go(func() {
				app, version := fmt.Sprintf("app%d", i), fmt.Sprintf("1.0.%d", v)
				headers := []string{}
				token := adminToken
				if v%2 == 1 {
					headers, token = basic("ci", adminToken), ""
				}
				res := ts.do(t, "PATCH", imd+"/services", token, `{"service":"`+app+`","url":"/cdn/`+app+`/`+version+`/main.js"}`, headers...)
				if res.status != 200 {
					errs <- fmt.Sprintf("%s@%s: %d %s", app, version, res.status, res.body)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	res := ts.do(t, "GET", "/api/v1/history?limit=100", adminToken, "")
	var h struct{ Revisions []historyEntry }
	json.Unmarshal(res.body, &h)
	seen := map[string]bool{}
	for _, r := range h.Revisions {
		if r.Revision <= before {
			continue
		}
		if len(r.Changes) != 1 || r.Actor != "ops" {
			t.Fatalf("revision %d: %+v", r.Revision, r)
		}
		c := r.Changes[0]
		i := strings.LastIndex(r.Summary, `→ "`)
		if i < 0 {
			t.Fatalf("revision %d: summary %q", r.Revision, r.Summary)
		}
		seen[c.App+"@"+strings.Trim(r.Summary[i+len(`→ `):], `"`)] = true
	}
	if n := ts.revision(t) - before; n != apps*versions || len(seen) != apps*versions {
		t.Fatalf("%d new revisions naming %d releases, want %d: %v", n, len(seen), apps*versions, seen)
	}
}

// FuzzBundleURL checks that the parser of the URLs clients deploy never
// panics and accepts only URLs on the CDN that name a valid app, version
// and file path, which it reads back from the URL mfshell itself makes.
func FuzzBundleURL(f *testing.F) {
	for _, s := range []string{
		"/cdn/catalog/1.0.0/main.js", "/cdn/catalog/1.0.0/", "http://shell.example/cdn/catalog/1.0.0/chunks/a.js",
		"https://cdn.example/bundles/catalog/1.0.0/main.js", "HTTPS://CDN.EXAMPLE/bundles/catalog/1.0.0/main.js",
		"//cdn.example/bundles/catalog/1.0.0/main.js", "/cdn/catalog/1.0.0/../x.js", "/cdn/catalog/1.0.0/a%2Fb.js",
		"/cdn/../cdn/catalog/1.0.0/main.js", "javascript:alert(1)", "http://u:p@shell.example/cdn/a/1/b.js",
		"/cdn/catalog/1.0.0/main.js?x", "/cdn/Catalog/1.0.0/main.js", "/cdn/catalog//main.js", "",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, absolute bool) {
		cdnURL := "/cdn/"
		if absolute {
			cdnURL = "https://cdn.example/bundles/"
		}
		const host = "shell.example"
		app, version, file, err := parseBundleURL(raw, cdnURL, host)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: empty error", raw)
			}
			return
		}
		if manifests.CheckName(app) != nil || manifests.CheckVersion(version) != nil || file != "" && manifests.CheckFilePath(file) != nil {
			t.Fatalf("%q: accepted app %q, version %q, file %q", raw, app, version, file)
		}
		tail := app + "/" + version + "/" + file
		if !strings.HasSuffix(raw, tail) || strings.ContainsAny(raw, "%?#\\ ") {
			t.Fatalf("%q: accepted as %s", raw, tail)
		}
		// The URL is on the CDN: its path, or the whole URL, is the CDN's
		// URL of the file, letter case of the scheme and host aside.
		canonical := cdnURL + tail
		lower := strings.ToLower(raw[:len(raw)-len(tail)]) + tail
		switch {
		case lower == canonical, lower == "//cdn.example/bundles/"+tail && absolute:
		case !absolute && (lower == "http://"+host+canonical || lower == "https://"+host+canonical || lower == "//"+host+canonical):
		default:
			t.Fatalf("%q: accepted as %s, which is not on %s", raw, tail, cdnURL)
		}
		a2, v2, f2, err := parseBundleURL(canonical, cdnURL, host)
		if err != nil || a2 != app || v2 != version || f2 != file {
			t.Fatalf("%q: the canonical URL %q reads back as %q %q %q, %v", raw, canonical, a2, v2, f2, err)
		}
	})
}
