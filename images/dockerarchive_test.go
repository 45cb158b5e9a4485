package images

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/images/dockersave"
	"github.com/bdebundle/bundle/images/layout"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

func archPlatformImage(t *testing.T, os, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = os, arch
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestWriteDockerArchive picks the layout entry by name and digest, and the
// platform's image out of an index; it refuses another digest, a missing
// name, a platform the entry lacks.
func TestWriteDockerArchive(t *testing.T) {
	dir := t.TempDir()
	p, err := ggcrlayout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	amd, arm := archPlatformImage(t, "linux", "amd64"), archPlatformImage(t, "linux", "arm64")
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	if err := p.AppendIndex(idx, ggcrlayout.WithAnnotations(map[string]string{layout.AnnotationName: "multi"})); err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(arm, ggcrlayout.WithAnnotations(map[string]string{layout.AnnotationName: "armonly"})); err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	armDigest, _ := arm.Digest()
	amdCfg, _ := amd.ConfigName()
	opts := dockersave.Options{Repository: "multi", Tag: "t", ModTime: time.Unix(0, 0)}

	var b bytes.Buffer
	res, err := WriteDockerArchive(context.Background(), &b, dir, "multi", idxDigest.String(), "linux/amd64", opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.ConfigDigest != amdCfg.String() {
		t.Errorf("wrote config %s, want the amd64 image's %s", res.ConfigDigest, amdCfg)
	}
	for _, tc := range []struct{ name, digest, platform, want string }{
		{"multi", armDigest.String(), "linux/amd64", "the layout holds"},
		{"absent", idxDigest.String(), "linux/amd64", "not in the OCI layout"},
		{"multi", idxDigest.String(), "linux/s390x", "no linux/s390x image"},
		{"armonly", armDigest.String(), "linux/amd64", "not linux/amd64"},
	} {
		_, err := WriteDockerArchive(context.Background(), &bytes.Buffer{}, dir, tc.name, tc.digest, tc.platform, opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v, want an error with %q", tc.name, tc.platform, err, tc.want)
		}
	}
}
