package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/bdebundle/bundle/internal/testutil"
)

// exampleSite copies the example definition into a directory with the
// stand-in inputs, the chronos RPM of 0.22.0 replaced by chronos (nil:
// left out).
func exampleSite(t *testing.T, chronos *demoinputs.Pkg) string {
	t.Helper()
	dir := t.TempDir()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "examples", "mesos-site", "site.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.CopyExampleSiteManifest(t, dir)
	if _, err := demoinputs.Write(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	rpms := filepath.Join(dir, "rpms", "mesos-0.22.0")
	for _, p := range demoinputs.Mesos("0.22.0") {
		if p.Name == "chronos" {
			if err := os.Remove(filepath.Join(rpms, p.FileName())); err != nil {
				t.Fatal(err)
			}
		}
	}
	if chronos != nil {
		if _, err := demoinputs.WriteRPM(rpms, *chronos, demoinputs.Epoch); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func chronosBuild(release string, files map[string]string) *demoinputs.Pkg {
	for _, p := range demoinputs.Mesos("0.22.0") {
		if p.Name == "chronos" {
			p.Release, p.Files, p.PayloadKB = release, files, 0
			return &p
		}
	}
	return nil
}

// The init job's program comes from the file list in the RPM header the
// pipeline reads: a Chronos built after chronos-pkg moved to /usr gets
// /usr/bin/chronos, one that ships no launcher is refused at the group's
// roles, naming the package.
func TestInitJobFromRPMFileList(t *testing.T) {
	job := "exec /usr/bin/chronos\n"
	dir := exampleSite(t, chronosBuild("0.1.20150211000000", map[string]string{
		"/usr/bin/chronos": "#!/bin/sh\n", "/etc/init/chronos.conf": job}))
	res, diags := Compile(context.Background(), CompileRequest{Path: dir})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	found := false
	for _, f := range res.Plan.Files {
		if f.Path == "clusters/mesos01/nodes/master/etc/init/chronos.conf" {
			found = true
			if !strings.HasSuffix(string(f.Data), job) {
				t.Errorf("chronos.conf:\n%s", f.Data)
			}
		}
	}
	if !found {
		t.Fatal("no chronos.conf")
	}

	dir = exampleSite(t, chronosBuild("0.1.20150211000000", map[string]string{"/usr/share/java/chronos.jar": ""}))
	_, diags = Compile(context.Background(), CompileRequest{Path: dir})
	d := find(diags, "Program in no package")
	if d == nil || !strings.Contains(d.Detail, "chronos-2.3.0-0.1.20150211000000.x86_64") || d.Subject == nil || d.Subject.Start.Line == 0 {
		t.Fatalf("no diagnostic naming the chronos package at a position: %v", diags)
	}
}
