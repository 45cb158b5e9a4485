package builder

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/out/internal/outtest"
	"github.com/bdebundle/bundle/out/manifest"
)

// TestBuildDockerArchiveMissingImage: a planned docker load archive that
// cannot be written from the layout (here the image is not in it, and the
// fake layout's entries have no media type) fails the build at the images
// step and leaves no bundle behind. images.TestWriteDockerArchive checks the
// message for each case.
func TestBuildDockerArchiveMissingImage(t *testing.T) {
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	plan := outtest.CompileSite(t, src)
	outtest.AddExtras(t, plan, src, "1")
	plan.Images = []*compiler.ImagePlan{{Name: "web", Ref: "docker-archive:web.tar", Written: "docker-archive:web.tar", MediaTypes: "preserve"}}
	plan.ImageLayout = manifest.ImagesDir
	plan.DockerArchives = &compiler.DockerArchivesPlan{Attributes: "serengeti/chef/cookbooks/x/attributes/docker_archives.rb", Key: "x_docker_archives",
		Images: []*compiler.DockerArchivePlan{{Name: "absent", Path: compiler.DockerArchivePath("absent"), Repository: "absent", Tag: "sha256-00",
			Digest: "sha256:" + strings.Repeat("0", 64), Platform: "linux/amd64", Clusters: []string{"mesos01"}}}}
	opts := testOptions(t)
	opts.Images = outtest.FakeImages{}
	outDir := t.TempDir()
	_, err := checkBuild(context.Background(), plan, outDir, opts)
	if err == nil || !strings.Contains(err.Error(), "writing docker archives") {
		t.Fatalf("Build: %v, want a docker archive error", err)
	}
	es, _ := os.ReadDir(outDir)
	for _, e := range es {
		if strings.Contains(e.Name(), "staging") || e.Name() == plan.Dir() || strings.HasPrefix(e.Name(), plan.Dir()+".tar") {
			t.Errorf("a failed build left %s", e.Name())
		}
	}
}
