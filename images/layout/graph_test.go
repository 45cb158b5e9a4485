package layout_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/bdebundle/bundle/images/internal/imagetest"
	"github.com/bdebundle/bundle/images/layout"
)

// TestGraphReach: an entry's manifests come children first and its blobs
// each once (a layer two platform images share, a foreign layer), the same
// lists a push uploads and a listing sums; a manifest that does not parse
// is reported and its siblings are still reached.
func TestGraphReach(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	blob := func(mt types.MediaType, s string) v1.Descriptor { return imagetest.PutBlob(t, dir, mt, []byte(s)) }
	shared := blob(types.OCILayer, "shared layer")
	foreign := blob(types.DockerForeignLayer, "foreign layer")
	foreign.URLs = []string{"https://example.com/layer"}
	manifest := func(cfg string, layers ...v1.Descriptor) v1.Descriptor {
		c := blob(types.OCIConfigJSON, cfg)
		b, err := json.Marshal(v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: c, Layers: layers})
		if err != nil {
			t.Fatal(err)
		}
		return blob(types.OCIManifestSchema1, string(b))
	}
	amd := manifest(`{"architecture":"amd64"}`, shared, foreign)
	arm := manifest(`{"architecture":"arm64"}`, shared)
	bad := blob(types.OCIManifestSchema1, `{"layers": 7}`)
	ib, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{amd, bad, arm}})
	if err != nil {
		t.Fatal(err)
	}
	idx := blob(types.OCIImageIndex, string(ib))
	imagetest.SetEntries(t, dir, idx)

	g, err := layout.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	docs, blobs, err := g.Reach(g.Entries[0])
	if err == nil || !strings.Contains(err.Error(), bad.Digest.String()) {
		t.Errorf("error %v, want one naming the manifest that does not parse", err)
	}
	digests := func(ds []v1.Descriptor) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Digest.String())
		}
		return out
	}
	if got, want := digests(docs), digests([]v1.Descriptor{amd, bad, arm, idx}); !slices.Equal(got, want) {
		t.Errorf("docs %q, want %q (children before their index)", got, want)
	}
	var m1, m2 v1.Manifest
	json.Unmarshal(g.Docs[amd.Digest], &m1)
	json.Unmarshal(g.Docs[arm.Digest], &m2)
	if got, want := digests(blobs), digests([]v1.Descriptor{m1.Config, shared, foreign, m2.Config}); !slices.Equal(got, want) {
		t.Errorf("blobs %q, want %q (each once, the foreign layer too)", got, want)
	}
	es, err := layout.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, d := range append(docs, blobs...) {
		size += d.Size
	}
	if len(es) != 1 || es[0].Size != size {
		t.Errorf("List %+v, want one entry of %d bytes", es, size)
	}
}
