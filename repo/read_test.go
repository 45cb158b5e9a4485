package repo

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

// TestReadRepodataRoundTrip: what ReadRepodata parses back equals what Scan
// read from the RPMs.
func TestReadRepodataRoundTrip(t *testing.T) {
	rpms := append(rpmfixture.SpecFixtures(t), rpmfixture.Corpus(t)...)
	dir := t.TempDir()
	rpmfixture.CopyFiles(t, dir, rpms, rpmfixture.Epoch)
	indexDir(t, dir, IndexOptions{})
	paths, err := findRPMs(dir)
	if err != nil {
		t.Fatal(err)
	}
	scanned, err := Scan(t.Context(), paths, ScanOptions{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	read, err := ReadRepodata(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(read) != len(scanned) {
		t.Fatalf("read %d packages, scanned %d", len(read), len(scanned))
	}
	for i := range read {
		// repodata does not record signatures
		scanned[i].Signatures = nil
		if !reflect.DeepEqual(read[i], scanned[i]) {
			t.Errorf("%s: read back\n%+v\nscanned\n%+v", scanned[i].Location, *read[i], *scanned[i])
		}
	}
}

func TestVerifyRepodata(t *testing.T) {
	rpms := rpmfixture.Corpus(t)
	setup := func(t *testing.T) string {
		dir := t.TempDir()
		rpmfixture.CopyFiles(t, dir, rpms, rpmfixture.Epoch)
		indexDir(t, dir, IndexOptions{})
		if err := VerifyRepodata(t.Context(), dir); err != nil {
			t.Fatalf("fresh repository does not verify: %v", err)
		}
		return dir
	}
	tests := []struct {
		name   string
		break_ func(t *testing.T, dir string)
		want   []string
	}{
		{"missing package", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "centos-release-7-2.1511.el7.centos.2.10.x86_64.rpm"))
		}, []string{"centos-release-7-2.1511.el7.centos.2.10.x86_64.rpm: listed but missing"}},
		{"unlisted package", func(t *testing.T, dir string) {
			rpmfixture.CopyFiles(t, filepath.Join(dir, "extra"), rpms[:1], rpmfixture.Epoch)
		}, []string{"extra/centos-release-3.1-1.i386.rpm: not listed"}},
		{"changed package", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "epel-release-7-5.noarch.rpm")
			b, _ := os.ReadFile(p)
			b[len(b)-1] ^= 1
			os.WriteFile(p, b, 0o644)
		}, []string{"epel-release-7-5.noarch.rpm: sha256"}},
		{"resized package", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "epel-release-7-5.noarch.rpm")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-1], 0o644)
		}, []string{"epel-release-7-5.noarch.rpm: size"}},
		{"corrupt metadata", func(t *testing.T, dir string) {
			m, _ := filepath.Glob(filepath.Join(dir, "repodata", "*-other.xml.gz"))
			b, _ := os.ReadFile(m[0])
			b[len(b)/2] ^= 0xff
			os.WriteFile(m[0], b, 0o644)
		}, []string{"other.xml.gz", "sha256"}},
		{"several problems", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "centos-release-7-2.1511.el7.centos.2.10.x86_64.rpm"))
			os.Remove(filepath.Join(dir, "centos-release-3.1-1.i386.rpm"))
		}, []string{"centos-release-7-2.1511", "centos-release-3.1-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := setup(t)
			tt.break_(t, dir)
			err := VerifyRepodata(t.Context(), dir)
			if err == nil {
				t.Fatal("VerifyRepodata passed")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
