package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bdebundle/bundle/out/builder"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/hashicorp/hcl/v2"
)

// TestBuildReusesScanDigests: an RPM the scan read and nobody touched since
// is not hashed again by the build (its digest comes from the scan); one
// rewritten after the scan is hashed again; bundle.json's digests are
// the files' either way.
func TestBuildReusesScanDigests(t *testing.T) {
	dir := writeSite(t, fullBaseline)
	rpms, err := filepath.Glob(filepath.Join(dir, "rpms", "*.rpm"))
	if err != nil || len(rpms) != 2 {
		t.Fatalf("fixture RPMs %v: %v", rpms, err)
	}
	build := func(touch string) *builder.Result {
		t.Helper()
		built, err := Build(context.Background(), BuildRequest{
			CompileRequest: CompileRequest{Path: dir, Mode: ModeBuild, Offline: true, NoCache: true, OutDir: t.TempDir()},
			BuilderVersion: "test", NoArchive: true,
			Compiled: func(_ *Compiled, diags hcl.Diagnostics) {
				if diags.HasErrors() || touch == "" {
					return
				}
				// Rewritten in place with the same bytes: only its times move.
				b := must(os.ReadFile(touch))
				time.Sleep(10 * time.Millisecond)
				must0(os.WriteFile(touch, b, 0o644))
			}})
		if err != nil {
			t.Fatal(err)
		}
		if built.Diagnostics.HasErrors() {
			t.Fatal(built.Diagnostics)
		}
		r := built.Bundle
		m, err := manifest.Parse(must(os.ReadFile(filepath.Join(r.Dir, manifest.FileName))))
		if err != nil {
			t.Fatal(err)
		}
		sums := map[string]string{}
		for _, in := range m.Inputs {
			sums[filepath.Base(in.Path)] = in.SHA256
		}
		for _, p := range rpms {
			sum := sha256.Sum256(must(os.ReadFile(p)))
			if got := sums[filepath.Base(p)]; got != hex.EncodeToString(sum[:]) {
				t.Errorf("bundle.json: %s has sha256 %q, want %x", filepath.Base(p), got, sum)
			}
		}
		return r
	}
	if r := build(""); r.ScannedHashes != len(rpms) {
		t.Errorf("untouched RPMs: %d digests from the scan, want %d", r.ScannedHashes, len(rpms))
	}
	if r := build(rpms[0]); r.ScannedHashes != len(rpms)-1 {
		t.Errorf("one RPM rewritten after the scan: %d digests from the scan, want %d", r.ScannedHashes, len(rpms)-1)
	}

	res, diags := Compile(context.Background(), CompileRequest{Path: dir, Mode: ModeBuild, Offline: true, NoCache: true})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	abs := must(filepath.Abs(rpms[1]))
	fi := must(os.Stat(abs))
	if _, ok := res.Inputs.InputDigest(abs, fi); !ok {
		t.Error("InputDigest does not know a scanned RPM")
	}
	if _, ok := res.Inputs.InputDigest(abs+".other", fi); ok {
		t.Error("InputDigest answered for a path the scan did not read")
	}
	other := must(os.Stat(must(filepath.Abs(rpms[0]))))
	if _, ok := res.Inputs.InputDigest(abs, other); ok {
		t.Error("InputDigest answered for another file at a scanned path")
	}
}
