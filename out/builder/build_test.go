package builder

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/internal/outtest"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/verify"
)

func buildSite(t *testing.T, gen string, opts Options) (outDir string, res *Result) {
	t.Helper()
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	plan := outtest.CompileSite(t, src)
	outtest.AddExtras(t, plan, src, gen)
	outDir = t.TempDir()
	res, err := checkBuild(context.Background(), plan, outDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return outDir, res
}

func TestBuildLayoutAndManifest(t *testing.T) {
	opts := testOptions(t)
	outDir, res := buildSite(t, "1", opts)
	if res.Dir != filepath.Join(outDir, "mesos-site-2015.03.1") || res.Archive != filepath.Join(outDir, "mesos-site-2015.03.1.tar.zst") {
		t.Fatalf("result paths: %+v", res)
	}
	for _, p := range []string{
		"bundle.json", "SHA256SUMS",
		"serengeti/www/yum/repos/mesos/0.22.0/mesos-0.22.0-1.0.centos65.x86_64.rpm",
		"serengeti/www/yum/repos/mesos/0.21.0/mesos-0.21.0-1.0.centos65.x86_64.rpm",
		"ovf/mesos-node/mesos-node.ovf", "ovf/mesos-node/node.vmdk", "ovf/mesos-node.ova",
	} {
		if _, err := os.Stat(filepath.Join(res.Dir, p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
	fi, err := os.Stat(filepath.Join(res.Dir, "clusters/mesos01/haproxy/cron.d/haproxy-marathon-bridge"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("executable rendered file: %v %v", fi.Mode(), err)
	}
	fi, err = os.Stat(filepath.Join(res.Dir, "ovf/mesos-node/mesos-node.ovf"))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("hook-written 0600 file not normalized to 0644: %v %v", fi.Mode(), err)
	}
	data, err := os.ReadFile(filepath.Join(res.Dir, "bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := m.Encode()
	if string(again) != string(data) {
		t.Error("bundle.json is not in canonical form")
	}
	// Keys in the contract's order.
	order := []string{`"schema"`, `"name"`, `"version"`, `"epoch"`, `"builder"`, `"definition_sha256"`, `"inputs"`, `"files"`, `"repos"`, `"distros"`, `"clusters"`, `"images"`, `"templates"`, `"targets"`}
	last := -1
	for _, k := range order {
		i := strings.Index(string(data), k)
		if i <= last {
			t.Fatalf("key %s out of order", k)
		}
		last = i
	}
	if m.Builder != "bundle v0.0.0-test" || m.Epoch != 1426032000 || m.Schema != manifest.Schema {
		t.Errorf("header: %+v", m)
	}
	if len(m.Repos) != 2 || m.Repos[0].Name != "mesos" || len(m.Repos[0].Packages) != 6 || m.Repos[0].RepoFile != "" {
		t.Fatalf("repos: %+v", m.Repos)
	}
	if p := m.Repos[0].Packages[4]; p.NEVRA != "mesos-0.22.0-1.0.centos65.x86_64" || p.SHA256 == "" || p.Size == 0 {
		t.Errorf("package entry: %+v", p)
	}
	if len(m.Inputs) != 13 || !strings.HasPrefix(m.Inputs[0].Path, "disks/") {
		t.Errorf("inputs: %d %+v", len(m.Inputs), m.Inputs[0])
	}
	for _, in := range m.Inputs {
		if filepath.IsAbs(in.Path) || strings.Contains(in.Path, "..") {
			t.Errorf("input path %q is not relative to the definition", in.Path)
		}
	}
	c := m.Clusters[0]
	if c.Name != "mesos01" || len(c.NodeGroups) != 3 || len(c.Apps) != 2 {
		t.Fatalf("cluster: %+v", c)
	}
	var fast manifest.NodeGroupEntry
	for _, g := range c.NodeGroups {
		if g.Name == "fast" {
			fast = g
		}
	}
	if fast.Attributes["storage_profile"] != "vsan" || fast.Attributes["rack"] != "r1" || fast.Instances != 5 {
		t.Errorf("node group fast: %+v", fast)
	}
	if len(m.Templates) != 1 || m.Templates[0].OVF != "ovf/mesos-node/mesos-node.ovf" || m.Templates[0].SHA256 != testutil.FileSHA256(t, filepath.Join(res.Dir, m.Templates[0].OVF)) {
		t.Errorf("templates: %+v", m.Templates)
	}
	if len(m.Targets) != 1 || m.Targets[0].Datacenter != "DC1" {
		t.Errorf("targets: %+v", m.Targets)
	}
	if !strings.Contains(string(data), `"images": []`) {
		t.Error("empty images list is not []")
	}
	sums, _ := os.ReadFile(filepath.Join(res.Dir, "SHA256SUMS"))
	if string(sums) != string(manifest.Sums(m.Files)) || len(strings.Split(strings.TrimSpace(string(sums)), "\n")) != len(m.Files) {
		t.Error("SHA256SUMS does not list every file")
	}
	mustVerify(t, res.Dir, verify.Options{})
	mustVerify(t, res.Archive, verify.Options{})
	if res.ArchiveSHA256 != testutil.FileSHA256(t, res.Archive) {
		t.Error("result archive sha256 differs from the file")
	}
}

func TestSHA256SUMSWithCoreutils(t *testing.T) {
	_, res := buildSite(t, "1", testOptions(t))
	cmd := outtest.Command(t, res.Dir, "sha256sum", "--check", "--strict", "--quiet", "SHA256SUMS")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
}

// Two checkouts of one definition at different paths, with inputs of
// different mtimes, built at different times, give byte-identical archives.
func TestReproducibleAcrossPathsAndTimes(t *testing.T) {
	for _, f := range archive.Formats {
		t.Run(string(f), func(t *testing.T) {
			var sums []string
			for i, mtime := range []time.Time{time.Unix(1400000000, 0), time.Now()} {
				src := filepath.Join(t.TempDir(), "checkout", strings.Repeat("x", i+1))
				outtest.WriteSite(t, src, mtime)
				plan := outtest.CompileSite(t, src)
				outtest.AddExtras(t, plan, src, "1")
				opts := testOptions(t)
				opts.Format = f
				opts.Images = outtest.FakeImages{}
				plan.Images = []*compiler.ImagePlan{{Name: "nginx", Ref: "nginx:1.7.9", Platforms: []string{"linux/amd64"}}}
				plan.ImageLayout = manifest.ImagesDir
				opts.NoHardLinks = i == 1
				res, err := checkBuild(context.Background(), plan, t.TempDir(), opts)
				if err != nil {
					t.Fatal(err)
				}
				sums = append(sums, testutil.FileSHA256(t, res.Archive), res.ManifestSHA256)
			}
			if sums[0] != sums[2] || sums[1] != sums[3] {
				t.Fatalf("archives differ: %v", sums)
			}
		})
	}
}

// TestArchiveSameBytesAcrossJobs: the archive is compressed in parallel,
// yet its bytes do not depend on the number of jobs or on GOMAXPROCS. The
// bundle holds several compression frames' worth of compressible and
// incompressible data.
func TestArchiveSameBytesAcrossJobs(t *testing.T) {
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	big := append(outtest.DetBytes("big", 9<<20), bytes.Repeat([]byte("mesos-slave --attributes=rack:r1\n"), 200_000)...)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var sums []string
	for _, c := range []struct{ procs, jobs int }{{1, 1}, {4, 0}, {2, 8}} {
		runtime.GOMAXPROCS(c.procs)
		plan := outtest.CompileSite(t, src)
		outtest.AddExtras(t, plan, src, "1")
		outtest.SetFile(plan, &compiler.File{Path: "clusters/mesos01/big.dat", Mode: 0o644, Data: big})
		opts := testOptions(t)
		opts.Jobs = c.jobs
		res, err := checkBuild(context.Background(), plan, t.TempDir(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.ArchiveSize > int64(len(big)) {
			t.Errorf("archive of %d bytes for %d bytes of half-compressible data", res.ArchiveSize, len(big))
		}
		sums = append(sums, fmt.Sprintf("GOMAXPROCS %d, jobs %d: %s", c.procs, c.jobs, testutil.FileSHA256(t, res.Archive)))
		mustVerify(t, res.Archive, verify.Options{})
	}
	for _, s := range sums[1:] {
		if s[strings.LastIndex(s, " "):] != sums[0][strings.LastIndex(sums[0], " "):] {
			t.Fatalf("archives differ:\n%s", strings.Join(sums, "\n"))
		}
	}
}

func TestRebuildReplacesAndCleansLeftovers(t *testing.T) {
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	outDir := t.TempDir()
	opts := testOptions(t)
	build := func(gen string) *Result {
		t.Helper()
		plan := outtest.CompileSite(t, src)
		outtest.AddExtras(t, plan, src, gen)
		res, err := checkBuild(context.Background(), plan, outDir, opts)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := build("1")
	if first.CachedHashes != 0 {
		t.Errorf("first build used %d cached hashes", first.CachedHashes)
	}
	// Leftovers of a killed build.
	for _, p := range []string{".mesos-site-2015.03.1.staging-123/x", ".mesos-site-2015.03.1.tar.zst.tmp-9"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(outDir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(outDir, p), []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	second := build("2")
	if second.CachedHashes != 13 {
		t.Errorf("rebuild hashed again: %d of 13 digests from the cache", second.CachedHashes)
	}
	if first.ManifestSHA256 == second.ManifestSHA256 {
		t.Error("a changed rendered file did not change bundle.json")
	}
	got, _ := os.ReadFile(filepath.Join(second.Dir, "clusters/mesos01/nodes/fast/etc/mesos-slave/attributes/rack"))
	if string(got) != "r1\n2" {
		t.Errorf("rebuild did not replace the bundle: %q", got)
	}
	assertOnly(t, outDir, "mesos-site-2015.03.1", "mesos-site-2015.03.1.tar.zst", "mesos-site-2015.03.1.intoto.json", ".mesos-site-2015.03.1.lock")
	mustVerify(t, second.Dir, verify.Options{})
	// A different format replaces the stale archive of another format.
	opts.Format = archive.FormatTarGz
	third := build("3")
	assertOnly(t, outDir, "mesos-site-2015.03.1", "mesos-site-2015.03.1.tar.gz", "mesos-site-2015.03.1.intoto.json", ".mesos-site-2015.03.1.lock")
	mustVerify(t, third.Archive, verify.Options{})
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	if len(got) != len(names) {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
	for _, g := range got {
		if !want[g] {
			t.Fatalf("%s holds %v, want %v", dir, got, names)
		}
	}
}

func TestHardLinksAndCopies(t *testing.T) {
	opts := testOptions(t)
	_, linked := buildSite(t, "1", opts)
	if linked.Linked != 13 || linked.Copied+linked.Cloned != 0 {
		t.Errorf("with hard links: %+v", linked)
	}
	opts.NoHardLinks = true
	_, copied := buildSite(t, "1", opts)
	if copied.Linked != 0 || copied.Copied+copied.Cloned != 13 {
		t.Errorf("without hard links: %+v", copied)
	}
	if linked.ArchiveSHA256 != copied.ArchiveSHA256 {
		t.Error("hard links changed the archive")
	}
}

func TestBuildRefusesBadPlans(t *testing.T) {
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	cases := []struct {
		name   string
		mutate func(p *compiler.Plan)
		want   string
	}{
		{"dotdot", func(p *compiler.Plan) { p.Files = append(p.Files, &compiler.File{Path: "../evil", Data: []byte("x")}) }, "leaves the bundle"},
		{"absolute", func(p *compiler.Plan) {
			p.Files = append(p.Files, &compiler.File{Path: "/etc/evil", Data: []byte("x")})
		}, "is absolute"},
		{"meta", func(p *compiler.Plan) {
			p.Files = append(p.Files, &compiler.File{Path: "bundle.json", Data: []byte("x")})
		}, "bundle.json"},
		{"duplicate", func(p *compiler.Plan) {
			p.Files = append(p.Files, &compiler.File{Path: p.Repos[0].Packages[0].Dest, Data: []byte("x")})
		}, "both write"},
		{"no version", func(p *compiler.Plan) { p.Version = "" }, "invalid name"},
		{"missing input", func(p *compiler.Plan) { p.Repos[0].Packages[0].Src = filepath.Join(src, "gone.rpm") }, "gone.rpm"},
		{"file at the SBOM's path", func(p *compiler.Plan) {
			p.Files = append(p.Files, &compiler.File{Path: p.SBOM, Data: []byte("{}")})
		}, "both write \"sbom.cdx.json\""},
		{"SBOM outside", func(p *compiler.Plan) { p.SBOM = "../sbom.cdx.json" }, "leaves the bundle"},
		{"SBOM as metadata", func(p *compiler.Plan) { p.SBOM = "SHA256SUMS" }, "reserved for bundle metadata"},
		{"provenance in a directory", func(p *compiler.Plan) { p.Provenance = "../x.intoto.json" }, "must be a plain file name"},
		{"hidden provenance", func(p *compiler.Plan) { p.Provenance = ".x.intoto.json" }, "must be a plain file name"},
	}
	// The unmutated plan builds, so each refusal is the mutation's doing.
	if _, err := checkBuild(context.Background(), outtest.CompileSite(t, src), t.TempDir(), testOptions(t)); err != nil {
		t.Fatalf("the good plan: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan := outtest.CompileSite(t, src)
			tc.mutate(plan)
			outDir := t.TempDir()
			_, err := checkBuild(context.Background(), plan, outDir, testOptions(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build: %v; want an error saying %q", err, tc.want)
			}
			if _, serr := os.Stat(filepath.Join(outDir, "mesos-site-2015.03.1")); serr == nil {
				t.Fatalf("a failed build left a bundle (%v)", err)
			}
			if _, serr := os.Stat(filepath.Join(filepath.Dir(outDir), "evil")); serr == nil {
				t.Fatal("wrote outside the bundle")
			}
		})
	}
}

// TestBuildTakesOnlyCheckedPlans: Check refuses a missing plan, and Build
// refuses a missing checked plan before touching the output directory.
func TestBuildTakesOnlyCheckedPlans(t *testing.T) {
	if c, err := Check(nil); err == nil || c != nil {
		t.Errorf("Check(nil) = %v, %v; want an error", c, err)
	}
	outDir := filepath.Join(t.TempDir(), "dist")
	if _, err := Build(context.Background(), nil, outDir, testOptions(t)); err == nil || !strings.Contains(err.Error(), "no plan") {
		t.Errorf("Build(nil) = %v; want a refusal", err)
	}
	if _, err := os.Stat(outDir); !os.IsNotExist(err) {
		t.Errorf("Build(nil) created %s (%v)", outDir, err)
	}
}
