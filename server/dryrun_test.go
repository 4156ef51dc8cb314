package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestDryRun checks that a write with ?dry-run answers the revision and
// changes it would make, the files of the new version included, and
// writes nothing; its conditions (If-Match, validation, scope) still hold.
func TestDryRun(t *testing.T) {
	ts := newTestServer(t)
	for _, v := range []string{"1.0.0", "2.0.0"} {
		ts.publish(t, "catalog", v)
	}
	if res := ts.do(t, "PUT", "/api/v1/apps/catalog", adminToken, `{"version":"1.0.0","route":"/catalog"}`); res.status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", res.status, res.body)
	}
	rev := ts.revision(t)
	res := ts.do(t, "PATCH", "/api/v1/apps/catalog?dry-run", adminToken, `{"version":"2.0.0"}`, "If-Match", `"`+strconv.FormatInt(rev, 10)+`"`)
	if res.status != http.StatusOK {
		t.Fatalf("dry run: %d %s", res.status, res.body)
	}
	var got writeResult
	if err := json.Unmarshal(res.body, &got); err != nil {
		t.Fatal(err)
	}
	fields := map[string]bool{}
	for _, c := range got.Changes {
		for _, f := range c.Fields {
			fields[f.Field] = true
		}
	}
	// The answer has what the write would make of the app: the new
	// version's files, read from the CDN.
	if !got.DryRun || !got.Changed || got.Revision != rev+1 || !fields["version"] || got.App == nil || got.App.Integrity["main.js"] == "" {
		t.Errorf("dry run answered %+v", got)
	}
	if ts.revision(t) != rev {
		t.Errorf("a dry run wrote revision %d", ts.revision(t))
	}
	for _, tc := range []struct {
		name, method, path, token, body string
		headers                         []string
		status                          int
	}{
		{"stale If-Match", "PATCH", "/api/v1/apps/catalog?dry-run", adminToken, `{"version":"2.0.0"}`, []string{"If-Match", `"99"`}, http.StatusPreconditionFailed},
		{"unpublished", "PATCH", "/api/v1/apps/catalog?dry-run", adminToken, `{"version":"9.9.9"}`, nil, http.StatusConflict},
		{"another team's app", "PATCH", "/api/v1/apps/home?dry-run", teamToken, `{"version":"2.0.0"}`, nil, http.StatusForbidden},
		{"create", "PUT", "/api/v1/apps/cart?dry-run", adminToken, `{"version":"1.0.0","route":"/cart","force":true,"entry":"main.js","integrity":{"main.js":"sha384-` + strings.Repeat("A", 64) + `"}}`, nil, http.StatusOK},
		{"rollback", "POST", "/api/v1/rollback?dry-run=1", adminToken, `{"revision":1}`, nil, http.StatusOK},
	} {
		res := ts.do(t, tc.method, tc.path, tc.token, tc.body, tc.headers...)
		if res.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, res.status, res.body, tc.status)
		}
	}
	if ts.revision(t) != rev {
		t.Errorf("dry runs wrote: revision %d, want %d", ts.revision(t), rev)
	}
}
