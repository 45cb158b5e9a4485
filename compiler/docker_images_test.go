package compiler

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/images/dockersave"
	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/hashicorp/hcl/v2"
)

// compileDocker compiles text with the stand-in facts, the docker-io
// package of every repo set to version dockerVersion ("" keeps the
// stand-in's). Nil facts compile without facts.
func compileDocker(t *testing.T, text string, facts *Facts, dockerVersion string) (*Plan, hcl.Diagnostics) {
	t.Helper()
	dir := siteDir(t, text)
	d, diags := sitedef.Load(dir, sitedef.Options{})
	if diags.HasErrors() {
		t.Fatalf("loading: %s", diagText(diags))
	}
	if facts != nil {
		facts = gatherFacts(t, d, dir, facts)
		if dockerVersion != "" {
			for r, pks := range facts.Packages {
				for i := range pks {
					if pks[i].Name == "docker-io" {
						facts.Packages[r][i].Version = dockerVersion
					}
				}
			}
		}
	}
	return Compile(d, facts)
}

func marathonImage(t *testing.T, p *Plan, app string) string {
	t.Helper()
	var m marathonApp
	if err := json.Unmarshal(planFile(t, p, "clusters/mesos01/marathon/"+app+".json").Data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Container == nil {
		t.Fatalf("%s has no container", app)
	}
	return m.Container.Docker.Image
}

// TestDockerLoadRef: on the example's docker-io 1.3.2 the app names the tag
// the archive creates, the plan carries the archive with its URL on the
// management server, the cookbook data lists it for the cluster, and the
// mesos_docker groups run the docker_images role after after_mesos. On
// docker-io 1.6.0 and later the apps pull by digest from the site registry
// and no archive is planned.
func TestDockerLoadRef(t *testing.T) {
	tag := "library/nginx:sha256-" + strings.TrimPrefix(fixedDigest, "sha256:")
	for _, tc := range []struct {
		version string
		load    bool
	}{{"", true}, {"1.5.0", true}, {"1.6.0", false}, {"1.6.2", false}} {
		t.Run("docker-io "+tc.version, func(t *testing.T) {
			p, diags := compileDocker(t, exampleHCL(t), exampleFacts(), tc.version)
			if errs := errorsOf(diags); len(errs) > 0 {
				t.Fatalf("errors:%s", diagText(errs))
			}
			img := marathonImage(t, p, "nginx")
			attrs := string(planFile(t, p, cookbookPrefix(p)+"attributes/default.rb").Data)
			if !tc.load {
				if img != "registry.localdomain:5000/library/nginx@"+fixedDigest || p.DockerArchives != nil {
					t.Errorf("image %s, archives %+v", img, p.DockerArchives)
				}
				if !strings.Contains(attrs, `"docker_images" => []`) {
					t.Errorf("the cookbook lists images to load:\n%s", attrs)
				}
				return
			}
			if img != tag {
				t.Errorf("nginx runs %s, want %s", img, tag)
			}
			dp := p.DockerArchives
			if dp == nil || len(dp.Images) != 1 {
				t.Fatalf("archives %+v", dp)
			}
			a := dp.Images[0]
			want := DockerArchivePlan{Name: "nginx", Path: "serengeti/www/docker/nginx.tar", Repository: "library/nginx",
				Tag: "sha256-" + strings.TrimPrefix(fixedDigest, "sha256:"), Digest: fixedDigest, Platform: "linux/amd64", Clusters: []string{"mesos01"}}
			if a.Name != want.Name || a.Path != want.Path || a.Repository != want.Repository || a.Tag != want.Tag || a.Digest != want.Digest || a.Platform != want.Platform || !slices.Equal(a.Clusters, want.Clusters) {
				t.Errorf("archive %+v, want %+v", *a, want)
			}
			if dp.Attributes != cookbookPrefix(p)+"attributes/docker_archives.rb" || dp.Key != "bundle_mesos_site_docker_archives" {
				t.Errorf("attributes %s key %s", dp.Attributes, dp.Key)
			}
			if !strings.Contains(attrs, `"url" => "https://bde.localdomain/docker/nginx.tar"`) || !strings.Contains(attrs, `"repository" => "library/nginx"`) {
				t.Errorf("the cookbook data does not list the archive:\n%s", attrs)
			}
			var spec clusterSpec
			if err := json.Unmarshal(planFile(t, p, "clusters/mesos01/spec.json").Data, &spec); err != nil {
				t.Fatal(err)
			}
			for _, g := range spec.NodeGroups {
				i := slices.Index(g.Roles, "bundle_mesos_site_docker_images")
				docker := slices.Contains(g.Roles, "mesos_docker")
				if docker != (i >= 0) || docker && (i < slices.Index(g.Roles, "bundle_mesos_site_after_mesos") || i > slices.Index(g.Roles, "bundle_mesos_site_haproxy")) {
					t.Errorf("group %s roles %v", g.Name, g.Roles)
				}
			}
		})
	}
}

// TestDockerNoDigestRef: no definition makes a Docker before 1.6 pull by
// digest. An image written as a digest reference and not resolved (validate
// without the registry) still runs by the tag its digest gives.
func TestDockerNoDigestRef(t *testing.T) {
	const d = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	text := strings.Replace(exampleHCL(t), `ref      = "docker-archive:images/nginx-1.7.9.tar"`, `ref      = "registry.example:5000/web/nginx@`+d+`"`, 1)
	if text == exampleHCL(t) {
		t.Fatal("the example's image ref moved")
	}
	facts := exampleFacts()
	dir := siteDir(t, text)
	dd, diags := sitedef.Load(dir, sitedef.Options{})
	if diags.HasErrors() {
		t.Fatal(diagText(diags))
	}
	f := gatherFacts(t, dd, dir, facts)
	delete(f.Images, "nginx")
	p, cd := Compile(dd, f)
	if errs := errorsOf(cd); len(errs) > 0 {
		t.Fatalf("errors:%s", diagText(errs))
	}
	img := marathonImage(t, p, "nginx")
	if strings.Contains(img, "@") || img != "nginx:sha256-"+strings.TrimPrefix(d, "sha256:") {
		t.Errorf("nginx runs %s on docker-io 1.3.2", img)
	}
}

// TestDockerLoadRefuses: images the archive path cannot deliver, refused at
// the attribute that decides, naming the docker-io package and version.
func TestDockerLoadRefuses(t *testing.T) {
	ex := exampleHCL(t)
	for _, tc := range []struct {
		name, old, new string
		summary, at    string
	}{
		{"arm64 only", `platform = "linux/amd64"`, `platform = "linux/arm64"`, "Image cannot run on the cluster's Docker", `platform = "linux/arm64"`},
		{"no base_url", `base_url = "${local.yum}/repos/mesos/0.22.0/"`, ``, "No management server URL for the image archive", "image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(ex, tc.old, tc.new, 1)
			if text == ex {
				t.Fatal("the example changed")
			}
			_, diags := compileDocker(t, text, exampleFacts(), "")
			var found *hcl.Diagnostic
			for _, d := range errorsOf(diags) {
				if d.Summary == tc.summary {
					found = d
				}
			}
			if found == nil {
				t.Fatalf("no %q error:%s", tc.summary, diagText(diags))
			}
			if found.Subject == nil || found.Subject.Filename == "" || found.Subject.Start.Line == 0 || found.Subject.Start.Column == 0 {
				t.Fatalf("no position: %+v", found.Subject)
			}
			line := strings.Split(text, "\n")[found.Subject.Start.Line-1]
			if !strings.Contains(line[found.Subject.Start.Column-1:], tc.at) {
				t.Errorf("points at %q, want %q", line, tc.at)
			}
			if !strings.Contains(found.Detail, "docker-io-1.3.2-2.el6.x86_64") || !strings.Contains(found.Detail, "1.3.2") {
				t.Errorf("detail does not name the package and version: %s", found.Detail)
			}
		})
	}
	// The same images on docker-io 1.6.2 are fine: nothing is loaded.
	text := strings.Replace(ex, `platform = "linux/amd64"`, `platform = "linux/arm64"`, 1)
	if _, diags := compileDocker(t, text, exampleFacts(), "1.6.2"); len(errorsOf(diags)) > 0 {
		t.Errorf("docker-io 1.6.2:%s", diagText(errorsOf(diags)))
	}
}

// TestDockerArchivesAttributes: the build's attributes file parses with
// Ruby and gives node['<cb>_docker_archives'] the written facts.
func TestDockerArchivesAttributes(t *testing.T) {
	p := examplePlan(t)
	h := strings.Repeat("ab", 32)
	id := strings.Repeat("cd", 32)
	if _, err := DockerArchivesAttributes(p, map[string]DockerArchive{}); err == nil {
		t.Error("an unwritten archive was accepted")
	}
	if _, err := DockerArchivesAttributes(p, map[string]DockerArchive{"nginx": {SHA256: "x", ImageID: id, Size: 1}}); err == nil {
		t.Error("a bad sha256 was accepted")
	}
	b, err := DockerArchivesAttributes(p, map[string]DockerArchive{"nginx": {SHA256: h, ImageID: id, Size: 123}})
	if err != nil {
		t.Fatal(err)
	}
	ruby := needTool(t, "ruby", "ruby")
	f := filepath.Join(t.TempDir(), "a.rb")
	src := "require 'json'\ndefault = {}\n" + string(b) + "print JSON.generate(default)\n"
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ruby, f).CombinedOutput()
	if err != nil {
		t.Fatalf("ruby: %v\n%s", err, out)
	}
	var got map[string]map[string]map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	n := got[p.DockerArchives.Key]["nginx"]
	if n["sha256"] != h || n["image_id"] != id || n["size"] != float64(123) {
		t.Errorf("node data %v", got)
	}
}

// TestDockerLibraryLoads runs the cookbook's BundleDocker module with Ruby
// against a stand-in docker that loads the archive's repositories file the
// way Docker 1.3 tags images: the first converge checks the sha256, loads
// and checks the image id; the second loads nothing; a corrupt download and
// an archive whose tag names another image are refused.
func TestDockerLibraryLoads(t *testing.T) {
	ruby := needTool(t, "ruby", "ruby")
	needTool(t, "tar", "tar")
	p := examplePlan(t)
	cb := writePlanFiles(t, p, cookbookPrefix(p))
	script := filepath.Join(testutil.ModuleRoot(t), "compiler", "testdata", "ruby", "docker_load.rb")
	cmd := exec.Command(ruby, script, filepath.Join(cb, "libraries", "docker_images.rb"), t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]any{"first_loaded": false, "first_loads": float64(1), "after_loaded": true, "second_loads": float64(1),
		"corrupt": "sha256", "wrong_id": "not the archive's image", "missing": "docker_archives.rb"}
	for k, v := range want {
		got := res[k]
		if s, ok := v.(string); ok {
			if g, _ := got.(string); !strings.Contains(g, s) {
				t.Errorf("%s: %v, want an error with %q", k, got, s)
			}
			continue
		}
		if got != v {
			t.Errorf("%s: %v, want %v", k, got, v)
		}
	}
}

var rubyParseError = regexp.MustCompile(`(?m)^\S+:\d+:\d+: (error|fatal):`)

// TestDockerRubyGrammar: the docker_images recipe and library, and the
// attributes file the build writes, parse with the Ruby 1.9 grammar (Chef 11
// embeds Ruby 1.9.3) of whitequark's parser.
func TestDockerRubyGrammar(t *testing.T) {
	parse := needTool(t, "ruby-parse", "ruby-whitequark-parser")
	p := examplePlan(t)
	cb := writePlanFiles(t, p, cookbookPrefix(p))
	attrs, err := DockerArchivesAttributes(p, map[string]DockerArchive{"nginx": {SHA256: strings.Repeat("ab", 32), ImageID: strings.Repeat("cd", 32), Size: 1}})
	if err != nil {
		t.Fatal(err)
	}
	generated := filepath.Join(cb, "attributes", "docker_archives.rb")
	if err := os.WriteFile(generated, attrs, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(cb, "recipes", "docker_images.rb"), filepath.Join(cb, "libraries", "docker_images.rb"), generated} {
		// ruby-parse exits 0 on a syntax error: it is the diagnostic line.
		out, err := exec.Command(parse, "--19", f).CombinedOutput()
		if err != nil || rubyParseError.Match(out) {
			t.Errorf("ruby-parse --19 %s: %v\n%s", filepath.Base(f), err, out)
		}
	}
}

// TestDockerLoadNoRegistryWarning: without a site registry, a cluster that
// loads its images gets no warning about Docker Hub (it pulls nothing); one
// that pulls by digest does.
func TestDockerLoadNoRegistryWarning(t *testing.T) {
	const reg = "\n  registry       = \"registry.localdomain:5000\""
	text := strings.Replace(exampleHCL(t), reg, "", 1)
	if text == exampleHCL(t) {
		t.Fatal("the example no longer names its site registry")
	}
	for _, tc := range []struct {
		version string
		warn    bool
	}{{"", false}, {"1.6.2", true}} {
		_, diags := compileDocker(t, text, exampleFacts(), tc.version)
		warned := false
		for _, d := range diags {
			warned = warned || d.Summary == "No site registry"
		}
		if warned != tc.warn {
			t.Errorf("docker-io %q: warned %v, want %v:%s", tc.version, warned, tc.warn, diagText(diags))
		}
	}
}

// TestDockerRecipeConverges runs the docker_images recipe itself
// (testdata/ruby/docker_converge.rb: the Chef 11 calls it makes, a stand-in
// docker) on a node of group fast with a real archive written by
// images/dockersave and the docker_archives.rb the build would write: the
// first converge downloads and loads it and the app's tag then names the
// archive's id; the second downloads and loads nothing; a node whose
// download is another file stops at the checksum and loads nothing.
func TestDockerRecipeConverges(t *testing.T) {
	ruby := needTool(t, "ruby", "ruby")
	needTool(t, "tar", "tar")
	p := examplePlan(t)
	if p.DockerArchives == nil || len(p.DockerArchives.Images) != 1 {
		t.Fatalf("archives %+v", p.DockerArchives)
	}
	ap := p.DockerArchives.Images[0]
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	res, err := dockersave.Write(context.Background(), &buf, img, dockersave.Options{Repository: ap.Repository, Tag: ap.Tag, ModTime: time.Unix(p.Epoch, 0)})
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	archive := filepath.Join(tmp, "nginx.tar")
	other := filepath.Join(tmp, "other.tar")
	if err := os.WriteFile(archive, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, append(buf.Bytes(), 0), 0o644); err != nil {
		t.Fatal(err)
	}
	cb := writePlanFiles(t, p, cookbookPrefix(p))
	attrs, err := DockerArchivesAttributes(p, map[string]DockerArchive{ap.Name: {SHA256: res.SHA256, ImageID: res.ID, Size: res.Size}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cb, "attributes", "docker_archives.rb"), attrs, 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(testutil.ModuleRoot(t), "compiler", "testdata", "ruby", "docker_converge.rb")
	type result struct {
		Downloads, Loads int
		Tags             map[string]string
		Error            string
	}
	converge := func(state, file string) result {
		t.Helper()
		urls, _ := json.Marshal(map[string]string{"https://bde.localdomain/docker/nginx.tar": file})
		out, err := exec.Command(ruby, script, cb, CookbookName(p.Name), "mesos01", "fast", state, string(urls)).CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var r result
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return r
	}
	ref := ap.Repository + ":" + ap.Tag
	state := filepath.Join(t.TempDir(), "state.json")
	first := converge(state, archive)
	if first.Error != "" || first.Downloads != 1 || first.Loads != 1 || first.Tags[ref] != res.ID {
		t.Errorf("first converge: %+v, want one download, one load, %s = %s", first, ref, res.ID)
	}
	if second := converge(state, archive); second.Error != "" || second.Downloads != 0 || second.Loads != 0 {
		t.Errorf("second converge: %+v, want nothing done", second)
	}
	bad := converge(filepath.Join(t.TempDir(), "state.json"), other)
	if !strings.Contains(bad.Error, "Checksum") || bad.Loads != 0 || len(bad.Tags) != 0 {
		t.Errorf("a download of another file: %+v, want a checksum error and no load", bad)
	}
}
