package manifest

import (
	"strings"
	"testing"
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

// FuzzParseManifest: Parse never panics, and whatever it accepts
// has only clean relative paths and re-encodes to something it accepts.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(seedManifest))
	f.Add([]byte(strings.Replace(seedManifest, `"a/b"`, `"../b"`, 1)))
	f.Add([]byte(`{"schema":"bundle/v1"}`))
	f.Add([]byte(strings.Repeat("[", 20000)))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		for _, fe := range m.Files {
			if CheckRelPath(fe.Path) != nil {
				t.Fatalf("accepted file path %q", fe.Path)
			}
		}
		for _, r := range m.Repos {
			if CheckRelPath(r.Dir) != nil {
				t.Fatalf("accepted repo dir %q", r.Dir)
			}
		}
		enc, err := m.Encode()
		if err != nil {
			t.Fatalf("accepted but cannot encode: %v", err)
		}
		if _, err := Parse(enc); err != nil {
			t.Fatalf("re-encoded manifest refused: %v\n%s", err, enc)
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
	if _, err := Parse([]byte(seedManifest)); err != nil {
		t.Fatalf("the seed is refused: %v", err)
	}
	for _, tc := range cases {
		if !strings.Contains(seedManifest, tc.old) {
			t.Fatalf("seed lacks %q", tc.old)
		}
		_, err := Parse([]byte(strings.Replace(seedManifest, tc.old, tc.new, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error naming %q", tc.new, err, tc.want)
		}
	}
}
