package verify

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/inspect"
	"github.com/bdebundle/bundle/out/internal/builttest"
	"github.com/bdebundle/bundle/out/internal/outtest"
	"github.com/bdebundle/bundle/out/manifest"
)

// copyTree copies a bundle dir so a test can damage the copy.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	return dst
}

func hasProblem(rep *Report, path, substr string) bool {
	for _, p := range rep.Problems {
		if p.Path == path && strings.Contains(p.Problem, substr) {
			return true
		}
	}
	return false
}

const rpmPath = "serengeti/www/yum/repos/mesos/0.22.0/mesos-0.22.0-1.0.centos65.x86_64.rpm"
const cfgPath = "clusters/mesos01/nodes/fast/etc/mesos-slave/attributes/rack"

func TestVerifyCatchesDamage(t *testing.T) {
	opts := builttest.Options(t)
	opts.NoHardLinks = true // the test damages files; keep the inputs safe
	_, res := builttest.BuildSite(t, "1", opts)
	cases := []struct {
		name, path, want string
		damage           func(t *testing.T, dir string)
	}{
		{"flipped byte in an RPM", rpmPath, "sha256 is", func(t *testing.T, dir string) {
			p := filepath.Join(dir, rpmPath)
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0x01
			os.WriteFile(p, b, 0o644)
		}},
		{"changed config file", cfgPath, "size is", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, cfgPath), []byte("r9\nchanged"), 0o644)
		}},
		{"mode changed", cfgPath, "mode is 0755", func(t *testing.T, dir string) {
			os.Chmod(filepath.Join(dir, cfgPath), 0o755)
		}},
		{"added file", "clusters/extra.cfg", "extra file", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "clusters/extra.cfg"), []byte("x"), 0o644)
		}},
		{"removed file", rpmPath, "missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, rpmPath))
		}},
		{"symlink", "clusters/link", "not a regular file", func(t *testing.T, dir string) {
			os.Symlink("/etc/passwd", filepath.Join(dir, "clusters/link"))
		}},
		{"tampered bundle.json hash", rpmPath, "bundle.json says", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "bundle.json")
			b, _ := os.ReadFile(p)
			m, _ := manifest.Parse(b)
			for i := range m.Files {
				if m.Files[i].Path == rpmPath {
					m.Files[i].SHA256 = strings.Repeat("0", 64)
				}
			}
			nb, _ := m.Encode()
			os.WriteFile(p, nb, 0o644)
		}},
		{"tampered bundle.json package", rpmPath, "different size or sha256", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "bundle.json")
			b, _ := os.ReadFile(p)
			m, _ := manifest.Parse(b)
			m.Repos[0].Packages[4].SHA256 = strings.Repeat("1", 64)
			nb, _ := m.Encode()
			os.WriteFile(p, nb, 0o644)
		}},
		{"unparseable bundle.json", "bundle.json", "parsing", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "bundle.json"), []byte(`{"schema": "bundle/v1", "name": `), 0o644)
		}},
		{"data after bundle.json's object", "bundle.json", "data after the JSON object", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "bundle.json")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, append(b, []byte(`{"files": []}`+"\n")...), 0o644)
		}},
		{"unknown field in bundle.json", "bundle.json", "unknown field", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "bundle.json")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(`"schema"`), []byte(`"extra": 1, "schema"`), 1), 0o644)
		}},
		{"SHA256SUMS edited", "SHA256SUMS", "does not match", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "SHA256SUMS")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte("a"), []byte("b"), 1), 0o644)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyTree(t, res.Dir)
			mustVerify(t, dir, Options{})
			c.damage(t, dir)
			rep, err := Verify(context.Background(), dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !hasProblem(rep, c.path, c.want) {
				t.Fatalf("want a problem %q at %s; got %+v", c.want, c.path, rep.Problems)
			}
		})
	}
}

// writeTar writes an uncompressed tar with the given headers (file data is
// "x" repeated to the size).
func writeTar(t *testing.T, hdrs []*tar.Header) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
		}
	}
	tw.Close()
	p := filepath.Join(t.TempDir(), "evil.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerifyRefusesUnsafeArchives(t *testing.T) {
	top := &tar.Header{Name: "b-1/", Typeflag: tar.TypeDir, Mode: 0o755}
	cases := map[string][]*tar.Header{
		"dotdot":         {top, {Name: "b-1/../../escaped", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}},
		"absolute":       {top, {Name: "/tmp/escaped", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}},
		"symlink out":    {top, {Name: "b-1/link", Typeflag: tar.TypeSymlink, Linkname: "../../../etc/passwd"}},
		"hardlink out":   {top, {Name: "b-1/link", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}},
		"other prefix":   {top, {Name: "other/file", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}},
		"device":         {top, {Name: "b-1/dev", Typeflag: tar.TypeChar, Mode: 0o644}},
		"top-level file": {{Name: "escaped", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}},
	}
	for name, hdrs := range cases {
		t.Run(name, func(t *testing.T) {
			p := writeTar(t, hdrs)
			cwd, _ := os.Getwd()
			rep, err := Verify(context.Background(), p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || !strings.Contains(rep.Problems[0].Problem, "refused archive entry") {
				t.Fatalf("not refused: %+v", rep.Problems)
			}
			for _, q := range []string{filepath.Join(filepath.Dir(p), "escaped"), "/tmp/escaped", filepath.Join(cwd, "escaped")} {
				if _, err := os.Lstat(q); err == nil {
					t.Fatalf("%s was written", q)
				}
			}
			if _, err := inspect.Bundle(context.Background(), p); err == nil || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("inspect accepted an unsafe archive: %v", err)
			}
		})
	}
}

func TestVerifyArchiveDamage(t *testing.T) {
	opts := builttest.Options(t)
	opts.Format = archive.FormatTar
	_, res := builttest.BuildSite(t, "1", opts)
	data, err := os.ReadFile(res.Archive)
	if err != nil {
		t.Fatal(err)
	}
	// Flip a byte inside the RPM's data (it follows its 512-byte header).
	i := bytes.Index(data, []byte("mesos-site-2015.03.1/"+rpmPath))
	if i < 0 {
		t.Fatal("RPM entry not found")
	}
	data[i+512+1000] ^= 0x80
	p := filepath.Join(t.TempDir(), "mesos-site-2015.03.1.tar")
	os.WriteFile(p, data, 0o644)
	rep, err := Verify(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasProblem(rep, rpmPath, "sha256 is") {
		t.Fatalf("flipped byte not caught: %+v", rep.Problems)
	}
}

func TestSignature(t *testing.T) {
	sec, pub := testutil.KeyPair(t, "release")
	_, otherPub := testutil.KeyPair(t, "intruder")
	opts := builttest.Options(t)
	opts.SignKey = sec
	_, res := builttest.BuildSite(t, "1", opts)
	if !res.Signed {
		t.Fatal("not signed")
	}
	for _, p := range []string{res.Dir, res.Archive} {
		rep := mustVerify(t, p, Options{Key: pub})
		if !rep.Signed || !strings.Contains(rep.SignedBy, "release") {
			t.Errorf("%s: signed %v by %q", p, rep.Signed, rep.SignedBy)
		}
		rep, _ = Verify(context.Background(), p, Options{Key: otherPub})
		if !hasProblem(rep, manifest.SignatureName, "bad signature") {
			t.Errorf("%s: a signature by another key passed: %+v", p, rep.Problems)
		}
	}
	// bundle.json edited in a way the file list cannot see.
	dir := copyTree(t, res.Dir)
	mp := filepath.Join(dir, manifest.FileName)
	b, _ := os.ReadFile(mp)
	os.WriteFile(mp, bytes.Replace(b, []byte(`"mesos_master"`), []byte(`"mesos_slave0"`), 1), 0o644)
	if rep := mustVerifyNoKey(t, dir); !rep.OK() {
		t.Fatalf("role edit should pass without a key: %+v", rep.Problems)
	}
	rep, _ := Verify(context.Background(), dir, Options{Key: pub})
	if !hasProblem(rep, manifest.SignatureName, "bad signature") {
		t.Fatalf("tampered bundle.json passed the signature check: %+v", rep.Problems)
	}
	// A key but no signature.
	_, unsigned := builttest.BuildSite(t, "1", builttest.Options(t))
	rep, _ = Verify(context.Background(), unsigned.Dir, Options{Key: pub})
	if !hasProblem(rep, manifest.SignatureName, "not signed") {
		t.Fatalf("missing signature passed: %+v", rep.Problems)
	}
	// gpg agrees.
	home := t.TempDir()
	os.Chmod(home, 0o700)
	pubFile := filepath.Join(home, "pub.asc")
	os.WriteFile(pubFile, pub, 0o644)
	gpg := func(args ...string) ([]byte, error) {
		cmd := outtest.Command(t, res.Dir, "gpg", append([]string{"--homedir", home, "--batch"}, args...)...)
		return cmd.CombinedOutput()
	}
	if out, err := gpg("--import", pubFile); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, out)
	}
	if out, err := gpg("--verify", "bundle.json.sig", "bundle.json"); err != nil || !strings.Contains(string(out), "Good signature") {
		t.Fatalf("gpg --verify: %v\n%s", err, out)
	}
	if out, err := gpg("--verify", filepath.Join(dir, "bundle.json.sig"), filepath.Join(dir, "bundle.json")); err == nil {
		t.Fatalf("gpg accepted a tampered bundle.json:\n%s", out)
	}
}

func mustVerifyNoKey(t *testing.T, p string) *Report {
	rep, err := Verify(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestSignedArchiveIsReproducible(t *testing.T) {
	sec, _ := testutil.KeyPair(t, "release")
	var sums []string
	for range 2 {
		opts := builttest.Options(t)
		opts.SignKey = sec
		_, res := builttest.BuildSite(t, "1", opts)
		sums = append(sums, res.ArchiveSHA256)
		time.Sleep(1100 * time.Millisecond)
	}
	if sums[0] != sums[1] {
		t.Fatal("signed archives differ between runs")
	}
}
