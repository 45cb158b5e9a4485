package read

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/out/manifest"
)

// seedManifest is a small valid bundle.json.
const seedManifest = `{
  "schema": "bundle/v1",
  "name": "s",
  "version": "1",
  "epoch": 0,
  "builder": "bundle test",
  "definition_sha256": "",
  "inputs": [{"path": "rpms/a.rpm", "size": 1, "sha256": "0000000000000000000000000000000000000000000000000000000000000000"}],
  "files": [{"path": "a/b", "size": 1, "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "mode": "0644"}],
  "repos": [{"name": "r", "version": "1", "dir": "serengeti/www/yum/repos/r/1", "repo_file": "", "packages": []}],
  "distros": [],
  "clusters": [],
  "images": [],
  "templates": [{"name": "t", "ovf": "ovf/t/t.ovf", "ova": "", "sha256": ""}],
  "targets": []
}`

// FuzzParseManifest: ParseManifest never panics, and whatever it accepts
// has only clean relative paths and re-encodes to something it accepts.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(seedManifest))
	f.Add([]byte(strings.Replace(seedManifest, `"a/b"`, `"../b"`, 1)))
	f.Add([]byte(`{"schema":"bundle/v1"}`))
	f.Add([]byte(strings.Repeat("[", 20000)))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := manifest.Parse(data)
		if err != nil {
			return
		}
		for _, fe := range m.Files {
			if manifest.CheckRelPath(fe.Path) != nil {
				t.Fatalf("accepted file path %q", fe.Path)
			}
		}
		for _, r := range m.Repos {
			if manifest.CheckRelPath(r.Dir) != nil {
				t.Fatalf("accepted repo dir %q", r.Dir)
			}
		}
		enc, err := m.Encode()
		if err != nil {
			t.Fatalf("accepted but cannot encode: %v", err)
		}
		if _, err := manifest.Parse(enc); err != nil {
			t.Fatalf("re-encoded manifest refused: %v\n%s", err, enc)
		}
	})
}

// FuzzReadArchive: reading an archive (verify's stream walk and inspect's
// file reader) never panics, never writes, and refuses entries outside the
// bundle directory.
func FuzzReadArchive(f *testing.F) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range []struct{ name, body string }{{"s-1/", ""}, {"s-1/bundle.json", seedManifest}, {"s-1/a/b", "x"}} {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(e.name, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		tw.WriteHeader(h)
		tw.Write([]byte(e.body))
	}
	tw.Close()
	f.Add(b.Bytes())
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0})
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "s-1.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		files, err := readArchiveFiles(ctx, p, func(string) bool { return true }, 1<<20)
		if err == nil {
			for rel := range files {
				if rel != "" && manifest.CheckRelPath(rel) != nil {
					t.Fatalf("read entry %q", rel)
				}
			}
		}
		_, _ = Verify(ctx, p, VerifyOptions{})
		_, _ = Inspect(ctx, p)
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Fatalf("reading the archive wrote into its directory: %v", ents)
		}
	})
}

// TestManifestPathFields: every path field of bundle.json is checked.
func TestManifestPathFields(t *testing.T) {
	cases := []struct{ old, new, want string }{
		{`"path": "rpms/a.rpm"`, `"path": "../rpms/a.rpm"`, "input"},
		{`"dir": "serengeti/www/yum/repos/r/1"`, `"dir": "/srv/x"`, "repo \"r\" dir"},
		{`"repo_file": ""`, `"repo_file": "a/../../x"`, "repo_file"},
		{`"packages": []`, `"packages": [{"nevra":"a","location":"../../etc/passwd","size":1,"sha256":"0000000000000000000000000000000000000000000000000000000000000000"}]`, "package location"},
		{`"ovf": "ovf/t/t.ovf"`, `"ovf": "ovf/../../t.ovf"`, "template \"t\" ovf"},
		{`"ova": ""`, `"ova": "/t.ova"`, "template \"t\" ova"},
		{`"targets": []`, `"targets": [{"name":"s","datacenter":"","datastore":"","folder":"","library":"","resource_pool":"","network":"","datastore_path":"../up","registry":"","management_server":""}]`, "datastore_path"},
	}
	if _, err := manifest.Parse([]byte(seedManifest)); err != nil {
		t.Fatalf("the seed is refused: %v", err)
	}
	for _, tc := range cases {
		if !strings.Contains(seedManifest, tc.old) {
			t.Fatalf("seed lacks %q", tc.old)
		}
		_, err := manifest.Parse([]byte(strings.Replace(seedManifest, tc.old, tc.new, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error naming %q", tc.new, err, tc.want)
		}
	}
}
