package cli

import (
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// registrySite writes a site with one registry image, pinned in its lock
// file, built once with the registry up into the returned dist directory;
// the registry is gone when it returns. It returns the definition
// directory, the dist directory and the reference.
func registrySite(t *testing.T) (dir, dist, ref string) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref = strings.TrimPrefix(srv.URL, "http://") + "/team/web:1"
	img, err := random.Image(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	site := baseSite + "\nimage \"web\" {\n  ref = \"" + ref + "\"\n}\n"
	site = strings.Replace(site, "  cmd       = \"python -m SimpleHTTPServer $PORT0\"\n", "  image     = image.web\n", 1)
	dir = writeSite(t, site)
	dist = filepath.Join(t.TempDir(), "dist")
	for _, args := range [][]string{{"lock", dir}, {"build", dir, "-o", dist, "-q"}} {
		if code, stdout, stderr := run(t, args...); code != 0 {
			t.Fatalf("bundle %v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	return dir, dist, ref
}

// TestValidateOfflineRefusesWhatBuildOfflineRefuses: for each fault of a
// registry image that only shows without the network, validate --offline
// and build --plan --offline refuse it as build --offline does (exit 1, the
// same diagnostics at the same file:line:col, nothing written), and plain
// validate passes with a warning that build --offline would refuse it. Each
// case used to pass validate --offline (no such flag: validate warned or
// said nothing), and the stale and corrupt ones failed build --offline only
// while building.
func TestValidateOfflineRefusesWhatBuildOfflineRefuses(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(t *testing.T, dir, dist, ref string) string // returns the dist to use
		want    string
	}{
		{name: "no previous bundle", want: "Cannot resolve image",
			prepare: func(t *testing.T, dir, dist, ref string) string { return filepath.Join(t.TempDir(), "dist") }},
		{name: "lock file pinning a digest the previous bundle lacks", want: "Cannot resolve image",
			prepare: func(t *testing.T, dir, dist, ref string) string {
				b, err := os.ReadFile(filepath.Join(dir, "bundle.lock.hcl"))
				if err != nil {
					t.Fatal(err)
				}
				i := strings.Index(string(b), `"sha256:`) + len(`"sha256:`)
				other := "0"
				if b[i] == '0' {
					other = "1"
				}
				editFile(t, dir, "bundle.lock.hcl", string(b[i-len(`"sha256:`):i+1]), `"sha256:`+other)
				return dist
			}},
		{name: "lock file out of date (the reference changed)", want: "Cannot resolve image",
			prepare: func(t *testing.T, dir, dist, ref string) string {
				editFile(t, dir, "site.hcl", ref, strings.TrimSuffix(ref, ":1")+":2")
				return dist
			}},
		{name: "previous bundle missing the image's layer", want: "Cannot resolve image",
			prepare: func(t *testing.T, dir, dist, ref string) string {
				removeLargestBlob(t, filepath.Join(dist, "site-1.0.0", "images"))
				return dist
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, dist, ref := registrySite(t)
			dist = tc.prepare(t, dir, dist, ref)
			before := treeSums(t, dist)
			var first []string
			for _, args := range [][]string{
				{"validate", dir, "--offline", "-o", dist, "--json"},
				{"build", dir, "--plan", "--offline", "-o", dist, "--json"},
				{"build", dir, "--offline", "-o", dist, "--json", "-q"},
			} {
				code, stdout, stderr := run(t, args...)
				if code != ExitUser {
					t.Errorf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, ExitUser, stdout, stderr)
					continue
				}
				errs := errorsAt(t, stdout)
				if !strings.Contains(strings.Join(errs, "\n"), tc.want+" @ site.hcl:") {
					t.Errorf("%v: no %q at site.hcl among the errors %q\nstderr: %s", args, tc.want, errs, stderr)
				}
				if first == nil {
					first = errs
				} else if strings.Join(errs, "\n") != strings.Join(first, "\n") {
					t.Errorf("%v reports\n  %s\nbut validate --offline reports\n  %s", args, strings.Join(errs, "\n  "), strings.Join(first, "\n  "))
				}
			}
			if after := treeSums(t, dist); after != before {
				t.Errorf("a refused build changed %s", dist)
			}
			code, stdout, stderr := run(t, "validate", dir, "-o", dist)
			if code != ExitOK || !strings.Contains(stdout+stderr, "Warning:") || !strings.Contains(stdout+stderr, "build --offline would refuse it") {
				t.Errorf("plain validate: exit %d, want 0 with a warning that build --offline would refuse it\n%s%s", code, stdout, stderr)
			}
		})
	}
}

// removeLargestBlob deletes the largest blob of the OCI layout at dir.
func removeLargestBlob(t *testing.T, dir string) {
	t.Helper()
	blobs := filepath.Join(dir, "blobs", "sha256")
	entries, err := os.ReadDir(blobs)
	if err != nil {
		t.Fatal(err)
	}
	var big string
	var size int64
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Size() > size {
			big, size = e.Name(), fi.Size()
		}
	}
	if err := os.Remove(filepath.Join(blobs, big)); err != nil {
		t.Fatal(err)
	}
}

// treeSums is a digest of every regular file under dir (path and content),
// "" when dir does not exist.
func treeSums(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == dir {
				return filepath.SkipAll
			}
			return err
		}
		if e.Type().IsRegular() {
			fmt.Fprintf(&b, "%s %s\n", p, fileSum(t, p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestRegistryFaultsSameInBuildAndLock: a registry that answers that the
// image is not there is a fault of the definition, refused by build and
// lock alike (exit 1, the same diagnostic at the image's ref); one that
// cannot be reached is the environment's (exit 3) in both. build used to
// exit 1 for the unreachable registry, and lock 3 for the unknown tag,
// without a position.
func TestRegistryFaultsSameInBuildAndLock(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	up := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		name string
		ref  string
		want int
	}{
		{"tag the registry does not have", up + "/team/web:404", ExitUser},
		{"registry that cannot be reached", "127.0.0.1:1/team/web:1", ExitEnv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := baseSite + "\nimage \"web\" {\n  ref = \"" + tc.ref + "\"\n}\n"
			site = strings.Replace(site, "  cmd       = \"python -m SimpleHTTPServer $PORT0\"\n", "  image     = image.web\n", 1)
			dir := writeSite(t, site)
			var first []string
			for _, args := range [][]string{
				{"build", dir, "-o", filepath.Join(t.TempDir(), "dist"), "-q", "--json"},
				{"lock", dir, "--json"},
			} {
				code, stdout, stderr := run(t, args...)
				if code != tc.want {
					t.Errorf("%v: exit %d, want %d\nstdout: %.2000s\nstderr: %.2000s", args, code, tc.want, stdout, stderr)
					continue
				}
				if tc.want != ExitUser {
					continue
				}
				errs := errorsAt(t, stdout)
				if !strings.Contains(strings.Join(errs, "\n"), "Cannot resolve image @ site.hcl:") {
					t.Errorf("%v: no Cannot resolve image at site.hcl among %q", args, errs)
				}
				if first == nil {
					first = errs
				} else if strings.Join(errs, "\n") != strings.Join(first, "\n") {
					t.Errorf("%v reports\n  %s\nbut build reports\n  %s", args, strings.Join(errs, "\n  "), strings.Join(first, "\n  "))
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "bundle.lock.hcl")); err == nil {
				t.Errorf("a refused lock wrote %s", filepath.Join(dir, "bundle.lock.hcl"))
			}
		})
	}
}
