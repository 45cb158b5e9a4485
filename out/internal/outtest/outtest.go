package outtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"testing"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/bdebundle/bundle/internal/inputfacts"
	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/out/manifest"
)

// WriteSite writes the test site definition and its stand-in RPMs, a GPG
// key and a disk into dir, with every input's mtime set to mtime.
func WriteSite(t testing.TB, dir string, mtime time.Time) {
	t.Helper()
	src := []byte(testutil.PlainSite(t))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	paths, err := demoinputs.Write(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

// CompileSite loads and compiles the definition in dir.
func CompileSite(t testing.TB, dir string) *compiler.Plan {
	t.Helper()
	d, diags := sitedef.Load(dir, sitedef.Options{})
	if diags.HasErrors() {
		t.Fatalf("loading %s: %v", dir, diags)
	}
	plan, diags := compiler.Compile(d, inputfacts.Files(d))
	if diags.HasErrors() {
		t.Fatalf("compiling %s: %v", dir, diags)
	}
	return plan
}

// AddExtras gives a plan a rendered config file, an executable script and a
// template with one disk (written under dir).
func AddExtras(t testing.TB, plan *compiler.Plan, dir, gen string) {
	t.Helper()
	disk := filepath.Join(dir, "disks", "node.vmdk")
	if err := os.MkdirAll(filepath.Dir(disk), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(disk); err != nil {
		if err := os.WriteFile(disk, DetBytes("disk", 300<<10), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	SetFile(plan, &compiler.File{Path: "clusters/mesos01/nodes/fast/etc/mesos-slave/attributes/rack", Mode: 0o644, Data: []byte("r1\n" + gen)})
	SetFile(plan, &compiler.File{Path: "clusters/mesos01/haproxy/cron.d/haproxy-marathon-bridge", Mode: 0o755, Data: []byte("#!/bin/sh\necho bridge\n")})
	tp := compiler.NewTemplatePlan("mesos-node")
	tp.GuestOS, tp.CPU, tp.MemoryMB = "centos64Guest", 2, 4096
	tp.Disks = []*compiler.Input{{Src: disk, Rel: "disks/node.vmdk", Dest: "ovf/mesos-node/node.vmdk", Size: 300 << 10}}
	for i, old := range plan.Templates {
		if old.Name == tp.Name {
			plan.Templates[i] = tp
			return
		}
	}
	plan.Templates = append(plan.Templates, tp)
}

// SetFile puts f into the plan, replacing a rendered file of the same path.
func SetFile(plan *compiler.Plan, f *compiler.File) {
	for i, old := range plan.Files {
		if old.Path == f.Path {
			plan.Files[i] = f
			return
		}
	}
	plan.Files = append(plan.Files, f)
}

// DetBytes returns n deterministic pseudo-random bytes seeded by seed.
func DetBytes(seed string, n int) []byte {
	out := make([]byte, 0, n+32)
	block := sha256.Sum256([]byte(seed))
	for len(out) < n {
		out = append(out, block[:]...)
		block = sha256.Sum256(block[:])
	}
	return out[:n]
}

// FakeTemplates writes a small .ovf, .mf and .ova for each template.
type FakeTemplates struct{}

func (FakeTemplates) WriteTemplate(ctx context.Context, root string, tp *compiler.TemplatePlan) error {
	ovf := fmt.Sprintf("<Envelope><VirtualSystem ovf:id=%q><cpu>%d</cpu></VirtualSystem></Envelope>\n", tp.Name, tp.CPU)
	if err := os.WriteFile(filepath.Join(root, tp.OVFPath), []byte(ovf), 0o600); err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(ovf))
	mf := fmt.Sprintf("SHA256(%s)= %x\n", path.Base(tp.OVFPath), sum)
	if err := os.WriteFile(filepath.Join(root, tp.MFPath), []byte(mf), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, tp.OVAPath), []byte(ovf+mf), 0o644)
}

// FakeImages writes a minimal OCI layout with one blob per image.
type FakeImages struct{ Salt string }

func (f FakeImages) WriteImages(ctx context.Context, dir string, images []*compiler.ImagePlan) ([]manifest.ImageInfo, error) {
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return nil, err
	}
	var infos []manifest.ImageInfo
	index := `{"schemaVersion":2,"manifests":[`
	for i, im := range images {
		blob := []byte(im.Ref + f.Salt)
		sum := sha256.Sum256(blob)
		d := hex.EncodeToString(sum[:])
		if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", d), blob, 0o644); err != nil {
			return nil, err
		}
		if i > 0 {
			index += ","
		}
		index += fmt.Sprintf(`{"digest":"sha256:%s","size":%d}`, d, len(blob))
		infos = append(infos, manifest.ImageInfo{Name: im.Name, Ref: im.Ref, Repository: "library/" + im.Name, Digest: "sha256:" + d, Platforms: im.Platforms})
	}
	index += "]}\n"
	return infos, os.WriteFile(filepath.Join(dir, "index.json"), []byte(index), 0o644)
}

// Command returns the command name with args run in dir, failing the test
// when the tool is not installed.
func Command(t testing.TB, dir, name string, args ...string) *exec.Cmd {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is needed by this test: %v", name, err)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	return cmd
}
