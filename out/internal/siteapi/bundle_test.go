package siteapi

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bdebundle/bundle/out/manifest"
)

func TestLoadBundleFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"clusters/a/marathon/web.json":   `{"id":"/web"}`,
		"clusters/b/marathon/api.json":   `{"id":"/api"}`,
		"clusters/a/chronos/backup.json": `{"name":"backup"}`,
		"clusters/a/marathon/x/y.json":   `{}`,
		"clusters/a/spec.json":           `{}`,
		"clusters/a/marathon/notes.txt":  `x`,
	}
	m := &manifest.Manifest{}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		m.Files = append(m.Files, manifest.FileEntry{Path: p})
	}
	got, err := LoadBundleFiles(dir, m, "marathon")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %+v", got)
	}
	for _, f := range got {
		if string(f.Data) != files[f.Path] || (f.Cluster != "a" && f.Cluster != "b") {
			t.Errorf("%+v", f)
		}
	}
	m.Files = append(m.Files, manifest.FileEntry{Path: "clusters/a/marathon/gone.json"})
	if _, err := LoadBundleFiles(dir, m, "marathon"); err == nil {
		t.Fatal("a listed file that is missing was not an error")
	}
}
