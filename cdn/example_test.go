package cdn_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/mfshell/mfshell/cdn"
)

// Publish a folder to a local store and fetch the entry through the origin
// handler, mounted as the server mounts it.
func ExamplePublish() {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "cdn-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	dist := filepath.Join(tmp, "dist")
	for name, content := range map[string]string{
		"main.js":        "export function mount() {}\n",
		"main.css":       "h1 { color: teal }\n",
		"chunks/lazy.js": "export default 1\n",
		".DS_Store":      "skipped",
	} {
		p := filepath.Join(dist, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			log.Fatal(err)
		}
	}

	store := cdn.NewDir(filepath.Join(tmp, "cdn"))
	if err := store.Init(ctx); err != nil {
		log.Fatal(err)
	}
	m, err := cdn.Publish(ctx, store, dist, cdn.PublishOptions{App: "catalog", Version: "1.2.0"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("entry:", m.Entry, "styles:", m.Styles, "files:", len(m.Files))
	fmt.Println("main.js:", m.Files["main.js"].Integrity)

	_, err = cdn.Publish(ctx, store, dist, cdn.PublishOptions{App: "catalog", Version: "1.2.0"})
	fmt.Println(err)

	srv := httptest.NewServer(http.StripPrefix("/cdn/", cdn.NewHandler(store, nil)))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/cdn/catalog/1.2.0/main.js")
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	fmt.Println(res.Status, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
	// Output:
	// entry: main.js styles: [main.css] files: 4
	// main.js: sha384-F3O7kYOygHanq0s1U9H4QdyhoyptwGR/aORhRMSStCHYwi2iP/AmraF9RA/MrVKh
	// publish catalog@1.2.0: version already exists
	// 200 OK text/javascript; charset=utf-8 public, max-age=31536000, immutable
}
