package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/bdebundle/bundle/internal/testutil"
)

// exampleSite copies examples/mesos-site (definition and lock file) into a
// temporary directory with its stand-in inputs: RPMs, the nginx image and
// the VM disk.
func exampleSite(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(testutil.ModuleRoot(t), "examples", "mesos-site")
	testutil.CopyFiles(t, dir, filepath.Join(root, "site.hcl"), filepath.Join(root, "bundle.lock.hcl"))
	testutil.CopyExampleSiteManifest(t, dir)
	if _, err := demoinputs.Write(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// editFile replaces old by new in dir/name; old must be there.
func editFile(t *testing.T, dir, name, old, new string) {
	t.Helper()
	p := filepath.Join(dir, name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", name, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// flipByte inverts one byte of p at offset off from its end.
func flipByte(t *testing.T, p string, off int) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-off] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// corruptTarMember rewrites the tar archive p with one byte inverted in the
// middle of the member whose name ends with suffix.
func corruptTarMember(t *testing.T, p, suffix string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	tr, tw := tar.NewReader(f), tar.NewWriter(&buf)
	done := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(h.Name, suffix) && !done {
			data[len(data)/2] ^= 0xff
			done = true
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if !done {
		t.Fatalf("%s has no member named *%s", p, suffix)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ociLayout turns the example's docker-archive image into an OCI layout
// (with skopeo), points the definition at it and drops the lock entry, and
// returns the path of its largest blob (the layer).
func ociLayout(t *testing.T, dir string) string {
	t.Helper()
	skopeo := testutil.RequireTool(t, "skopeo", "skopeo")
	layout := filepath.Join(dir, "img")
	if out, err := exec.Command(skopeo, "copy", "-q", "docker-archive:"+filepath.Join(dir, "images", "nginx-1.7.9.tar"), "oci:"+layout+":latest").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, out)
	}
	editFile(t, dir, "site.hcl", `ref      = "docker-archive:images/nginx-1.7.9.tar"`, `ref      = "oci-layout:img:latest"`)
	if err := os.Remove(filepath.Join(dir, "bundle.lock.hcl")); err != nil {
		t.Fatal(err)
	}
	blobs := filepath.Join(layout, "blobs", "sha256")
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
	return filepath.Join(blobs, big)
}

// errorsAt is the set of error diagnostics in a --json output, each as
// "summary @ file:line:col" (the file by base name).
func errorsAt(t *testing.T, stdout string) []string {
	t.Helper()
	var doc struct {
		Diagnostics []jsonDiag `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		return []string{"(no JSON diagnostics: " + strings.TrimSpace(stdout) + ")"}
	}
	var out []string
	for _, d := range doc.Diagnostics {
		if d.Severity != "error" {
			continue
		}
		at := ""
		if d.Range != nil {
			at = fmt.Sprintf(" @ %s:%d:%d", filepath.Base(d.Range.Filename), d.Range.Start.Line, d.Range.Start.Column)
		}
		out = append(out, d.Summary+at)
	}
	sort.Strings(out)
	return out
}

// TestBuildRefusesOnlyWhatValidateRefuses: for each fault of a definition
// or of its inputs, derived from the example site, build refuses it as
// validate does and build --plan does — exit 1 with the same diagnostics at
// the same file:line:col, before anything is written — and lock refuses
// the definition's own faults and its local images' with the same exit code
// and, for the images, the same diagnostics (it reads no other input, so a
// broken RPM or disk passes lock and is refused by the others). Each case
// used to pass validate and fail only while building (exit 3, no position),
// or is one build always refused first; the broken local images used to
// pass lock, which wrote a lock file naming them.
func TestBuildRefusesOnlyWhatValidateRefuses(t *testing.T) {
	t.Setenv("BUNDLE_CACHE_DIR", t.TempDir())
	rpm := func(dir, name string) string { return filepath.Join(dir, "rpms", "mesos-0.22.0", name) }
	cases := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		want    string // the summary of one of the errors
		lock    int    // lock's exit code: 1 for faults of the definition and of local images, 0 for inputs lock does not read
		image   bool   // a fault of a local image: lock reports validate's diagnostics
	}{
		{name: "two repos in one directory", want: "Duplicate repo directory", lock: 1,
			prepare: func(t *testing.T, d string) {
				editFile(t, d, "site.hcl", "path     = \"mesos\"\n  version  = \"0.21.0\"", "path     = \"mesos\"\n  version  = \"0.22.0\"")
			}},
		{name: "a package file named repodata", want: "Reserved package file name", lock: 0,
			prepare: func(t *testing.T, d string) {
				if err := os.Rename(rpm(d, "haproxy-1.5.2-2.el6.x86_64.rpm"), filepath.Join(d, "rpms", "repodata")); err != nil {
					t.Fatal(err)
				}
				editFile(t, d, "site.hcl", `packages = ["rpms/mesos-0.22.0"]`, `packages = ["rpms/mesos-0.22.0", "rpms/repodata"]`)
			}},
		{name: "OCI layout missing its layer", want: "Cannot resolve image", lock: 1, image: true,
			prepare: func(t *testing.T, d string) {
				if err := os.Remove(ociLayout(t, d)); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "OCI layout with a corrupt layer", want: "Cannot resolve image", lock: 1, image: true,
			prepare: func(t *testing.T, d string) { flipByte(t, ociLayout(t, d), 10) }},
		{name: "docker archive with a corrupt layer", want: "Cannot resolve image", lock: 1, image: true,
			prepare: func(t *testing.T, d string) {
				corruptTarMember(t, filepath.Join(d, "images", "nginx-1.7.9.tar"), ".tar.gz")
			}},
		{name: "docker archive with a corrupt layer, not pinned", want: "Cannot resolve image", lock: 1, image: true,
			prepare: func(t *testing.T, d string) {
				// Only the layer's diff_id can tell: the archive's digests
				// are computed from its bytes.
				corruptTarMember(t, filepath.Join(d, "images", "nginx-1.7.9.tar"), ".tar.gz")
				if err := os.Remove(filepath.Join(d, "bundle.lock.hcl")); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "lock file pinning another digest", want: "Cannot resolve image", lock: 1, image: true,
			prepare: func(t *testing.T, d string) {
				// Another valid digest: its first hex digit changed.
				b, err := os.ReadFile(filepath.Join(d, "bundle.lock.hcl"))
				if err != nil {
					t.Fatal(err)
				}
				i := strings.Index(string(b), `"sha256:`) + len(`"sha256:`)
				other := "0"
				if b[i] == '0' {
					other = "1"
				}
				editFile(t, d, "bundle.lock.hcl", string(b[i-len(`"sha256:`):i+1]), `"sha256:`+other)
			}},
		{name: "missing image archive", want: "Missing image source", lock: 1, image: true,
			prepare: func(t *testing.T, d string) {
				if err := os.Remove(filepath.Join(d, "images", "nginx-1.7.9.tar")); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "OCI layout given as a docker archive", want: "Cannot resolve image", lock: 1, image: true,
			prepare: func(t *testing.T, d string) {
				ociLayout(t, d)
				editFile(t, d, "site.hcl", `ref      = "oci-layout:img:latest"`, `ref      = "docker-archive:img"`)
			}},
		{name: "image reference that does not parse", want: "Cannot resolve image", lock: 1, image: true,
			prepare: func(t *testing.T, d string) {
				editFile(t, d, "site.hcl", `ref      = "docker-archive:images/nginx-1.7.9.tar"`, `ref      = "nginx:::bad"`)
			}},
		{name: "platform the image lacks", want: "Cannot resolve image", lock: 1, image: true,
			prepare: func(t *testing.T, d string) {
				// linux/amd64 stays: without it the example's docker-io 1.3.2
				// (docker load archives of linux/amd64) refuses the image first.
				editFile(t, d, "site.hcl", `platform = "linux/amd64"`, `platforms = ["linux/amd64", "linux/arm64"]`)
			}},
		{name: "image docker-io 1.3.2 cannot load", want: "Image cannot run on the cluster's Docker", lock: 1,
			prepare: func(t *testing.T, d string) {
				editFile(t, d, "site.hcl", `platform = "linux/amd64"`, `platform = "linux/arm64"`)
			}},
		{name: "truncated RPM", want: "Bad package in repo mesos", lock: 0,
			prepare: func(t *testing.T, d string) {
				p := rpm(d, "mesos-0.22.0-1.0.centos65.x86_64.rpm")
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(p, fi.Size()-100); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "RPM with a corrupt payload", want: "Bad package in repo mesos", lock: 0,
			prepare: func(t *testing.T, d string) { flipByte(t, rpm(d, "mesos-0.22.0-1.0.centos65.x86_64.rpm"), 50) }},
		{name: "package glob matching nothing", want: "No package matches", lock: 0,
			prepare: func(t *testing.T, d string) {
				editFile(t, d, "site.hcl", `packages = ["rpms/mesos-0.21.0"]`, `packages = ["rpms/mesos-0.21.0/*.srpm"]`)
			}},
		{name: "missing disk", want: "Missing disk file", lock: 0,
			prepare: func(t *testing.T, d string) {
				if err := os.Remove(filepath.Join(d, "disks", "centos-6.6.vmdk")); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "truncated disk", want: "Invalid VM template", lock: 0,
			prepare: func(t *testing.T, d string) {
				if err := os.Truncate(filepath.Join(d, "disks", "centos-6.6.vmdk"), 1000); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "baseline repodata that is not there", want: "Cannot read baseline repodata", lock: 0,
			prepare: func(t *testing.T, d string) {
				editFile(t, d, "site.hcl", "baseline {\n", "baseline {\n    repodata = [\"os\"]\n")
			}},
		{name: "manifest that is no JSON", want: "Invalid manifest", lock: 0,
			prepare: func(t *testing.T, d string) {
				if err := os.WriteFile(filepath.Join(d, "old-manifest"), []byte("[{"), 0o644); err != nil {
					t.Fatal(err)
				}
				editFile(t, d, "site.hcl", `manifest = "site/manifest"`, `manifest = "old-manifest"`)
			}},
		{name: "unknown role", want: "Unknown role", lock: 1,
			prepare: func(t *testing.T, d string) {
				editFile(t, d, "site.hcl", `roles           = ["mesos_slave", "mesos_docker"]`, `roles           = ["mesos_slave", "mesos_dokcer"]`)
			}},
		{name: "derived template name taken", want: "Duplicate template name", lock: 1,
			prepare: func(t *testing.T, d string) {
				editFile(t, d, "site.hcl", `vcenter "site" {`, "vm_template \"mesos-node-mesos01-fast\" {\n  guest_os = \"centos64Guest\"\n  disk = \"disks/centos-6.6.vmdk\"\n  cpu = 1\n  memory_mb = 512\n}\n\nvcenter \"site\" {")
			}},
		{name: "template property the template lacks", want: "Invalid template property", lock: 1,
			prepare: func(t *testing.T, d string) {
				editFile(t, d, "site.hcl", `attributes      = { rack = "r1" }`, `attributes      = { rack = "r1" }`+"\n    template_properties = { colour = \"red\" }")
			}},
		{name: "nested for over the list limit", want: "List too long", lock: 1,
			prepare: func(t *testing.T, d string) {
				editFile(t, d, "site.hcl", `attributes      = { rack = "r1" }`, `attributes      = { for a in range(1000) : "k${a}" => [for b in range(100) : b] }`)
			}},
		{name: "definition over the size limit", want: "Cannot read definition", lock: 1,
			prepare: func(t *testing.T, d string) {
				p := filepath.Join(d, "big.hcl")
				if err := os.WriteFile(p, []byte("# padding\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(p, 17<<20); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "host name with a newline", want: "Invalid host name", lock: 1,
			prepare: func(t *testing.T, d string) {
				editFile(t, d, "site.hcl", `"master-3.localdomain"]`, `"master-3.localdomain\nserver x 1.2.3.4:80"]`)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := exampleSite(t)
			tc.prepare(t, dir)
			dist := filepath.Join(t.TempDir(), "dist")
			verbs := []struct {
				name string
				args []string
			}{
				{"validate", []string{"validate", dir, "--json"}},
				{"build --plan", []string{"build", dir, "--plan", "--json"}},
				{"build", []string{"build", dir, "-o", dist, "--json", "-q", "--offline"}},
			}
			var first []string
			for _, v := range verbs {
				code, stdout, stderr := run(t, v.args...)
				if code != ExitUser {
					t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", v.name, code, ExitUser, stdout, stderr)
					continue
				}
				errs := errorsAt(t, stdout)
				if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
					t.Errorf("%s: no %q among the errors %q\nstderr: %s", v.name, tc.want, errs, stderr)
				}
				if first == nil {
					first = errs
				} else if strings.Join(errs, "\n") != strings.Join(first, "\n") {
					t.Errorf("%s reports\n  %s\nbut validate reports\n  %s", v.name, strings.Join(errs, "\n  "), strings.Join(first, "\n  "))
				}
			}
			if _, err := os.Stat(dist); err == nil {
				if entries, _ := os.ReadDir(dist); len(entries) > 0 {
					t.Errorf("the refused build wrote into %s: %v", dist, entries)
				}
			}
			lockFile := filepath.Join(dir, "bundle.lock.hcl")
			lockBefore, _ := os.ReadFile(lockFile)
			code, stdout, stderr := run(t, "lock", dir, "--json")
			if code != tc.lock {
				t.Errorf("lock: exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.lock, stdout, stderr)
			}
			if code == ExitUser && tc.image {
				if errs := errorsAt(t, stdout); strings.Join(errs, "\n") != strings.Join(first, "\n") {
					t.Errorf("lock reports\n  %s\nbut validate reports\n  %s", strings.Join(errs, "\n  "), strings.Join(first, "\n  "))
				}
			}
			if lockAfter, _ := os.ReadFile(lockFile); code != ExitOK && !bytes.Equal(lockBefore, lockAfter) {
				t.Errorf("a refused lock changed %s:\n%s", lockFile, lockAfter)
			}
		})
	}
}
