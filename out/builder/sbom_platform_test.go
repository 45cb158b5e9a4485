package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/out/internal/outtest"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/verify"
	"github.com/bdebundle/bundle/sbom"
)

// indexImages writes one multi-platform image: an index of two platform
// manifests and an attestation entry.
type indexImages struct{}

func (indexImages) WriteImages(ctx context.Context, dir string, images []*compiler.ImagePlan) ([]manifest.ImageInfo, error) {
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return nil, err
	}
	var werr error
	put := func(b []byte) string {
		s := sha256.Sum256(b)
		d := hex.EncodeToString(s[:])
		if err := os.WriteFile(filepath.Join(blobs, d), b, 0o644); err != nil {
			werr = err
		}
		return "sha256:" + d
	}
	amd := put([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[{"size":1}]}`))
	arm := put([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[{"size":2}]}`))
	att := put([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[{"size":3}]}`))
	idx := put([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + amd + `","size":1,"platform":{"os":"linux","architecture":"amd64"}},` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + arm + `","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + att + `","size":1,"platform":{"os":"unknown","architecture":"unknown"}}]}`))
	if werr != nil {
		return nil, werr
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(`{"schemaVersion":2,"manifests":[{"digest":"`+idx+`","size":1}]}`), 0o644); err != nil {
		return nil, err
	}
	return []manifest.ImageInfo{{Name: images[0].Name, Ref: images[0].Ref, Repository: "index.docker.io/library/nginx", Digest: idx, Platforms: []string{"linux/amd64", "linux/arm64/v8"}}}, nil
}

// TestSBOMPlatformManifests: a multi-platform image is named with the
// manifest digest of each platform (attestations left out).
func TestSBOMPlatformManifests(t *testing.T) {
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	plan := outtest.CompileSite(t, src)
	plan.Images = []*compiler.ImagePlan{{Name: "nginx", Ref: "nginx:1.27", Platforms: []string{"linux/amd64", "linux/arm64/v8"}}}
	opts := testOptions(t)
	opts.Images = indexImages{}
	res, err := checkBuild(t.Context(), plan, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(res.Dir, sbom.FileName))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sbom.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	im := s.Images["nginx"]
	if len(im.Platforms) != 2 || !strings.HasPrefix(im.Platforms["linux/amd64"], "sha256:") || !strings.HasPrefix(im.Platforms["linux/arm64/v8"], "sha256:") ||
		im.Platforms["linux/amd64"] == im.Platforms["linux/arm64/v8"] || im.Platforms["linux/amd64"] == im.Digest {
		t.Errorf("platforms %+v of index %s", im.Platforms, im.Digest)
	}
	if !strings.Contains(string(data), "pkg:oci/nginx@"+im.Platforms["linux/arm64/v8"]+"?arch=arm64&") {
		t.Errorf("no purl with arch for the arm64 manifest:\n%s", data)
	}
	mustVerify(t, res.Dir, verify.Options{})
}
