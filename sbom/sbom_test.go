package sbom

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/rpmdep"
)

func testBundle() *Bundle {
	return &Bundle{Name: "site", Version: "1.0", Epoch: 1426032000, Builder: "bundle v1.2.3", DefinitionSHA256: strings.Repeat("d", 64),
		RPMs: []RPM{
			{Path: "r/b-1-1.x86_64.rpm", Repo: "r", SHA256: strings.Repeat("b", 64), NEVRA: rpmdep.NEVRA{Name: "b", Epoch: "0", Version: "1", Release: "1", Arch: "x86_64"},
				License: "MIT", Vendor: "Example, Inc.", SourceRPM: "b-1-1.src.rpm", Requires: []string{"r/a-2-1.noarch.rpm"}},
			{Path: "r/a-2-1.noarch.rpm", Repo: "r", SHA256: strings.Repeat("a", 64), NEVRA: rpmdep.NEVRA{Name: "a", Epoch: "3", Version: "2", Release: "1", Arch: "noarch"},
				License: "GPLv2+", Namespace: "mesos"},
		},
		Images: []Image{{Name: "nginx", Ref: "nginx:1.7.9", Repository: "index.docker.io/library/nginx", Digest: "sha256:" + strings.Repeat("1", 64),
			Platforms: []Platform{{Platform: "linux/arm64", Digest: "sha256:" + strings.Repeat("3", 64)}, {Platform: "linux/amd64", Digest: "sha256:" + strings.Repeat("2", 64)}}}},
		Templates: []Template{{Name: "node", OVF: "ovf/node/node.ovf", SHA256: strings.Repeat("4", 64),
			Parts: []File{{Path: "ovf/node/node-disk1.vmdk", SHA256: strings.Repeat("5", 64), Kind: "disk"}}}},
		Files: []File{{Path: "clusters/c/spec.json", SHA256: strings.Repeat("6", 64), Kind: "config"}},
	}
}

func TestEncodeIsDeterministicAndReadable(t *testing.T) {
	a, err := Encode(testBundle())
	if err != nil {
		t.Fatal(err)
	}
	// The same content in another order encodes to the same bytes.
	b := testBundle()
	b.RPMs[0], b.RPMs[1] = b.RPMs[1], b.RPMs[0]
	b.Images[0].Platforms[0], b.Images[0].Platforms[1] = b.Images[0].Platforms[1], b.Images[0].Platforms[0]
	again, err := Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, again) {
		t.Fatal("Encode depends on the order of its input")
	}
	for _, want := range []string{`"timestamp": "2015-03-11T00:00:00Z"`, `"specVersion": "1.6"`, `"serialNumber": "urn:uuid:`} {
		if !bytes.Contains(a, []byte(want)) {
			t.Errorf("SBOM lacks %s", want)
		}
	}
	s, err := Read(a)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.RPMs["r/a-2-1.noarch.rpm"]; got.Purl != "pkg:rpm/mesos/a@2-1?arch=noarch&epoch=3" || got.EVR != "3:2-1" || got.License != "GPLv2+" || got.SHA256 != strings.Repeat("a", 64) {
		t.Errorf("RPM a: %+v", got)
	}
	if got := s.RPMs["r/b-1-1.x86_64.rpm"]; got.Purl != "pkg:rpm/example-inc/b@1-1?arch=x86_64" || got.Supplier != "Example, Inc." {
		t.Errorf("RPM b: %+v", got)
	}
	im := s.Images["nginx"]
	if im.Digest != "sha256:"+strings.Repeat("1", 64) || im.Platforms["linux/amd64"] != "sha256:"+strings.Repeat("2", 64) || im.Platforms["linux/arm64"] != "sha256:"+strings.Repeat("3", 64) {
		t.Errorf("image: %+v", im)
	}
	if s.Templates["node"].SHA256 != strings.Repeat("4", 64) || s.Files["ovf/node/node-disk1.vmdk"] != strings.Repeat("5", 64) || s.Files["clusters/c/spec.json"] != strings.Repeat("6", 64) {
		t.Errorf("templates %+v files %+v", s.Templates, s.Files)
	}
	// A change of content changes the serial number.
	b.RPMs[0].License = "BSD"
	changed, err := Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	if serial(t, changed) == serial(t, a) {
		t.Error("two SBOMs of different content share a serial number")
	}
}

func serial(t *testing.T, doc []byte) string {
	t.Helper()
	i := bytes.Index(doc, []byte(`"serialNumber": "`))
	if i < 0 {
		t.Fatal("no serialNumber")
	}
	rest := doc[i+len(`"serialNumber": "`):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

func TestEncodeRefuses(t *testing.T) {
	cases := map[string]func(b *Bundle){
		"requirement outside the bundle": func(b *Bundle) { b.RPMs[0].Requires = []string{"elsewhere.rpm"} },
		"one path twice":                 func(b *Bundle) { b.Files = append(b.Files, b.Files[0]) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			b := testBundle()
			mutate(b)
			if _, err := Encode(b); err == nil || !strings.Contains(err.Error(), FileName) {
				t.Fatalf("Encode: %v, want an error naming %s", err, FileName)
			}
		})
	}
}

func TestReadRefuses(t *testing.T) {
	cases := map[string]string{
		"not JSON":      "<bom/>",
		"not CycloneDX": `{"bomFormat":"SPDX","specVersion":"1.6"}`,
		"empty":         "",
		"two digests":   `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"file","name":"a","properties":[{"name":"bundle:path","value":"a"}],"hashes":[{"alg":"SHA-256","content":"01"}]},{"type":"file","name":"b","properties":[{"name":"bundle:path","value":"a"}],"hashes":[{"alg":"SHA-256","content":"02"}]}]}`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Read([]byte(doc)); err == nil {
				t.Fatalf("Read accepted %q", doc)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	read := func(b *Bundle) *Summary {
		data, err := Encode(b)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Read(data)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	old := testBundle()
	nb := testBundle()
	nb.RPMs[0].License = "Apache-2.0"
	nb.RPMs[1].Version = "2.1"
	nb.RPMs[0].Requires = nil
	nb.RPMs = append(nb.RPMs, RPM{NEVRA: rpmdep.NEVRA{Name: "c", Version: "1", Release: "1", Arch: "x86_64"}, Path: "r/c-1-1.x86_64.rpm", Repo: "r", SHA256: strings.Repeat("c", 64), License: "MIT"})
	nb.Images[0].Digest = "sha256:" + strings.Repeat("9", 64)
	nb.Templates = nil
	got := Compare(read(old), read(nb))
	want := []Change{
		{Component: "image nginx", What: "digest", Old: "sha256:" + strings.Repeat("1", 64), New: "sha256:" + strings.Repeat("9", 64)},
		{Component: "rpm r/a.noarch", What: "version", Old: "3:2-1", New: "3:2.1-1"},
		{Component: "rpm r/b.x86_64", What: "license", Old: "MIT", New: "Apache-2.0"},
		{Component: "rpm r/c.x86_64", What: "added", New: "1-1"},
		{Component: "template node", What: "removed", Old: strings.Repeat("4", 64)},
	}
	if len(got) != len(want) {
		t.Fatalf("Compare: %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if c := Compare(read(old), read(testBundle())); len(c) != 0 {
		t.Errorf("equal SBOMs: %+v", c)
	}
}
