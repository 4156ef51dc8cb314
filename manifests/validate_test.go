package manifests

import (
	"strings"
	"testing"
)

const sri = "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC"

func validApp() App {
	return App{
		Version: "1.4.2", Route: "/catalog", Entry: "main.js", Styles: []string{"main.css"},
		Format: FormatModule, Isolation: IsolationShadow,
		Integrity: map[string]string{"main.js": sri, "main.css": sri},
	}
}

func TestValidateApp(t *testing.T) {
	tests := []struct {
		name   string
		app    string
		change func(a *App)
		want   string // substring of the error; "" means valid
	}{
		{"valid", "catalog", func(a *App) {}, ""},
		{"not routed", "catalog", func(a *App) { a.Route = "" }, ""},
		{"root route", "catalog", func(a *App) { a.Route = "/" }, ""},
		{"semver prerelease", "catalog", func(a *App) { a.Version = "1.5.0-rc.1" }, ""},
		{"underscore version", "catalog", func(a *App) { a.Version = "v_2" }, ""},
		{"script format", "catalog", func(a *App) { a.Format = FormatScript }, ""},
		{"html app", "catalog", func(a *App) {
			a.Format, a.Entry, a.Styles, a.Integrity, a.Fragment = FormatHTML, "", nil, nil, "http://catalog.internal:9000/fragment"
		}, ""},
		{"upper-case name", "Catalog", func(a *App) {}, "apps.Catalog: bad app name: must start with a lower-case letter"},
		{"name with slash", "cat/alog", func(a *App) {}, "may contain only a-z"},
		{"name too long", strings.Repeat("a", 41), func(a *App) {}, "at most 40 characters"},
		{"empty version", "catalog", func(a *App) { a.Version = "" }, "apps.catalog.version: must not be empty"},
		{"dot-dot version", "catalog", func(a *App) { a.Version = "1..2" }, `must not contain ".."`},
		{"slash version", "catalog", func(a *App) { a.Version = "1/2" }, "apps.catalog.version: may contain only"},
		{"dot-first version", "catalog", func(a *App) { a.Version = ".1" }, "must start with a letter or digit"},
		{"long version", "catalog", func(a *App) { a.Version = strings.Repeat("1", 65) }, "at most 64 characters"},
		{"relative route", "catalog", func(a *App) { a.Route = "catalog" }, `apps.catalog.route: must start with "/"`},
		{"trailing slash route", "catalog", func(a *App) { a.Route = "/catalog/" }, "must be a clean path"},
		{"dot-dot route", "catalog", func(a *App) { a.Route = "/a/../b" }, "must be a clean path"},
		{"query in route", "catalog", func(a *App) { a.Route = "/a?b" }, "may contain only"},
		{"reserved route", "catalog", func(a *App) { a.Route = "/api/x" }, "reserved"},
		{"reserved mfshell route", "catalog", func(a *App) { a.Route = "/_mfshell" }, "reserved"},
		{"bad format", "catalog", func(a *App) { a.Format = "umd" }, `apps.catalog.format: must be "module", "script" or "html", got "umd"`},
		{"bad isolation", "catalog", func(a *App) { a.Isolation = "iframe" }, "apps.catalog.isolation"},
		{"missing entry", "catalog", func(a *App) { a.Entry = "" }, "apps.catalog.entry: is required"},
		{"escaping entry", "catalog", func(a *App) { a.Entry = "../x.js" }, "apps.catalog.entry: must be a clean path"},
		{"absolute entry", "catalog", func(a *App) { a.Entry = "/x.js" }, "must be relative"},
		{"entry without integrity", "catalog", func(a *App) { delete(a.Integrity, "main.js") }, `has no value for the entry "main.js"`},
		{"style not css", "catalog", func(a *App) { a.Styles = []string{"main.js"} }, "must be a .css file"},
		{"style twice", "catalog", func(a *App) { a.Styles = []string{"main.css", "main.css"} }, "listed twice"},
		{"bad sri", "catalog", func(a *App) { a.Integrity["main.js"] = "sha256-abc" }, `apps.catalog.integrity[main.js]: must start with "sha384-"`},
		{"short sri", "catalog", func(a *App) { a.Integrity["main.js"] = "sha384-abc=" }, "base64 of 48 bytes"},
		{"huge template", "catalog", func(a *App) { a.Template = strings.Repeat("x", MaxTemplateBytes+1) }, "apps.catalog.template: must be at most"},
		{"fragment not http", "catalog", func(a *App) { a.Fragment = "file:///etc/passwd" }, "apps.catalog.fragment"},
		{"html without fragment", "catalog", func(a *App) {
			a.Format, a.Entry, a.Styles, a.Integrity = FormatHTML, "", nil, nil
		}, "is required for format"},
		{"html with bundle", "catalog", func(a *App) { a.Format, a.Fragment = FormatHTML, "http://x/" }, "has no bundle"},
		{"canary", "catalog", func(a *App) {
			a.Canary = &Canary{Version: "1.5.0", Percent: 10, Entry: "main.js", Integrity: map[string]string{"main.js": sri}}
		}, ""},
		{"canary same version", "catalog", func(a *App) {
			a.Canary = &Canary{Version: "1.4.2", Percent: 10, Entry: "main.js", Integrity: map[string]string{"main.js": sri}}
		}, "apps.catalog.canary.version: must differ"},
		{"canary percent 100", "catalog", func(a *App) {
			a.Canary = &Canary{Version: "1.5.0", Percent: 100, Entry: "main.js", Integrity: map[string]string{"main.js": sri}}
		}, "apps.catalog.canary.percent: must be between 1 and 99"},
		{"canary without integrity", "catalog", func(a *App) { a.Canary = &Canary{Version: "1.5.0", Percent: 5, Entry: "main.js"} }, "apps.catalog.canary.integrity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validApp().Clone()
			tt.change(&a)
			err := ValidateApp(tt.app, a)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got error %q, want none", err)
			case tt.want != "" && err == nil:
				t.Fatalf("got no error, want one containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("got error %q, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	m := New("/cdn/")
	a := validApp()
	a.Version, a.Format = "", "umd"
	m.Apps["catalog"] = a
	b := validApp()
	m.Apps["cart"] = b // same route as catalog
	err := Validate(m)
	ve, ok := err.(*ValidationError)
	if !ok {
		t.Fatalf("got %v, want a *ValidationError", err)
	}
	var fields []string
	for _, p := range ve.Problems {
		fields = append(fields, p.Field)
	}
	want := "apps.catalog.format apps.catalog.route apps.catalog.version"
	if got := strings.Join(fields, " "); got != want {
		t.Fatalf("got problems at %q, want %q (%v)", got, want, err)
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"minimal", `{"schema":1,"revision":0,"cdn":"/cdn/","apps":{}}`, ""},
		{"defaults", `{"schema":1,"apps":{"catalog":{"version":"1.0.0","entry":"main.js","integrity":{"main.js":"` + sri + `"}}}}`, ""},
		{"unknown top field", `{"schema":1,"apps":{},"extra":1}`, `unknown field "extra"`},
		{"unknown app field", `{"schema":1,"apps":{"catalog":{"version":"1.0.0","colour":"red"}}}`, `apps.catalog: unknown field "colour"`},
		{"wrong type", `{"schema":"1","apps":{}}`, "schema: must be a number, got JSON string"},
		{"wrong nested type", `{"schema":1,"apps":{"catalog":{"version":1}}}`, "apps.catalog.version: must be a string"},
		{"malformed", `{"schema":1,`, "malformed JSON"},
		{"trailing", `{"schema":1,"apps":{}} {}`, "trailing data"},
		{"empty", ``, "empty body"},
		{"bad schema", `{"schema":2,"apps":{}}`, "schema: must be 1, got 2"},
		{"no apps", `{"schema":1}`, "apps: must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.json))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Decode(%s): got error %q, want none", tt.json, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Decode(%s): got error %v, want one containing %q", tt.json, err, tt.want)
			}
		})
	}
}

func TestDecodeDefaults(t *testing.T) {
	m, err := Decode([]byte(`{"schema":1,"apps":{
		"catalog":{"version":"1.0.0","entry":"main.js","integrity":{"main.js":"` + sri + `"}},
		"header":{"version":"2","route":"","entry":"h.js","integrity":{"h.js":"` + sri + `"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	c := m.Apps["catalog"]
	if c.Route != "/catalog" || c.Format != FormatModule || c.Isolation != IsolationShadow || c.Styles == nil {
		t.Errorf("catalog defaults: got route %q format %q isolation %q styles %v", c.Route, c.Format, c.Isolation, c.Styles)
	}
	if h := m.Apps["header"]; h.Route != "" {
		t.Errorf("header: got route %q, want \"\" (not routed)", h.Route)
	}
}

func TestPatch(t *testing.T) {
	p, err := DecodePatch([]byte(`{"version":"1.5.0","canary":null,"force":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Canary.Set || p.Canary.Value != nil || !p.Force || *p.Version != "1.5.0" {
		t.Fatalf("got %+v", p)
	}
	a := validApp()
	a.Canary = &Canary{Version: "1.5.0", Percent: 10}
	if got := p.Apply(a); got.Version != "1.5.0" || got.Canary != nil || got.Route != "/catalog" {
		t.Fatalf("Apply: got %+v", got)
	}
	// Releasing the canary's version promotes it.
	p, _ = DecodePatch([]byte(`{"version":"1.5.0"}`))
	if got := p.Apply(a); got.Canary != nil {
		t.Fatalf("promote: canary stayed: %+v", got.Canary)
	}
	if a.Canary == nil || a.Version != "1.4.2" {
		t.Fatalf("Apply modified its argument: %+v", a)
	}
	for _, body := range []string{`{"versoin":"1"}`, `{"canary":{"version":"1","percent":5,"x":1}}`, `[]`, `{"version":1}`} {
		if _, err := DecodePatch([]byte(body)); err == nil {
			t.Errorf("DecodePatch(%s): got no error", body)
		}
	}
}

func TestDiffAndSummary(t *testing.T) {
	a := map[string]App{"catalog": validApp(), "cart": validApp()}
	b := map[string]App{"catalog": validApp(), "home": validApp()}
	c := b["catalog"]
	c.Version = "1.5.0"
	b["catalog"] = c
	got := Summary(Diff(a, b))
	want := `cart: deleted; catalog: version "1.4.2" → "1.5.0"; home: created`
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if d := Diff(a, a); len(d) != 0 {
		t.Fatalf("Diff of equal apps: got %v", d)
	}
}
