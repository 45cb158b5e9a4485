package imagetest

import (
	"encoding/json"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PlatformImage is a random image whose config names platform p and whose
// first layers are base; with oci its media types are OCI ones, else
// Docker ones.
func PlatformImage(t testing.TB, p v1.Platform, base []v1.Layer, extra int64, oci bool) v1.Image {
	t.Helper()
	layers := append([]v1.Layer(nil), base...)
	lt := types.DockerLayer
	if oci {
		lt = types.OCILayer
	}
	for range extra {
		l, err := random.Layer(2048, lt)
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, l)
	}
	var start = empty.Image
	if oci {
		start = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	}
	img, err := mutate.AppendLayers(start, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

var TestPlatforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64", Variant: "v8"},
	{OS: "linux", Architecture: "s390x"},
}

// PushMultiIndex pushes to r an OCI index of one OCI image per
// TestPlatforms entry, all sharing the base layers, and returns it as the
// registry serves it. The index is written by hand, as build tools write
// them: descriptors without artifactType, which Skopeo 1.9 would drop.
func PushMultiIndex(t testing.TB, r string, base []v1.Layer) v1.ImageIndex {
	t.Helper()
	dst := Ref(t, r)
	im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	for _, p := range TestPlatforms {
		img := PlatformImage(t, p, base, 1, true)
		d := DigestOf(t, img)
		PushImage(t, dst.Context().String()+"@"+d, img)
		raw, err := img.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		h, _ := v1.NewHash(d)
		im.Manifests = append(im.Manifests, v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: int64(len(raw)), Digest: h, Platform: &p})
	}
	raw, err := json.Marshal(im)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(dst, RawIndex(raw)); err != nil {
		t.Fatalf("pushing %s: %v", r, err)
	}
	idx, err := remote.Index(dst)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// RawIndex is an OCI index as remote.Put sends it.
type RawIndex []byte

func (r RawIndex) RawManifest() ([]byte, error)        { return r, nil }
func (r RawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

func DigestOf(t testing.TB, d interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func PushImage(t testing.TB, r string, img v1.Image) {
	t.Helper()
	if err := remote.Write(Ref(t, r), img); err != nil {
		t.Fatalf("pushing %s: %v", r, err)
	}
}
