package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/bdebundle/bundle/internal/rpmdep"
	"github.com/bdebundle/bundle/repo"
	"github.com/bdebundle/bundle/repo/rpm"
	"github.com/hashicorp/hcl/v2"
)

const site = `bundle "s" {
  version = "1"
}

repo "mesos" {
  version  = "0.22.0"
  packages = ["rpms"]
  base_url = "https://bde/yum/repos/mesos/0.22.0/"
}

distro "mesos" {
  vendor  = "MESOS"
  version = "0.22.0"
  repos   = [repo.mesos]
  roles   = ["mesos_master", "mesos_marathon"]
  BASELINE
}
`

// writeSite writes the site with the baseline block given, and the stand-in
// mesos and marathon RPMs of 0.22.0.
func writeSite(t *testing.T, baseline string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(strings.Replace(site, "BASELINE", baseline, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range demoinputs.Mesos("0.22.0")[:2] {
		p.PayloadKB = 0
		if _, err := demoinputs.WriteRPM(filepath.Join(dir, "rpms"), p, demoinputs.Epoch); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const fullBaseline = `baseline {
    provides = ["cyrus-sasl-md5", "subversion", "libcurl", "apr", "apr-util", "zlib", "/bin/sh", "chkconfig", "initscripts", "java"]
  }`

func find(diags hcl.Diagnostics, summary string) *hcl.Diagnostic {
	for _, d := range diags {
		if d.Summary == summary {
			return d
		}
	}
	return nil
}

func TestCompileGathersFacts(t *testing.T) {
	dir := writeSite(t, fullBaseline)
	res, diags := Compile(context.Background(), CompileRequest{Path: dir})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	pk := res.Facts.Packages["mesos"]
	if len(pk) != 2 || pk[0].Name != "marathon" || pk[1].Name != "mesos" || pk[1].Version != "0.22.0" {
		t.Fatalf("package facts: %+v", pk)
	}
	if len(res.Inputs.Packages["mesos"]) != 2 || res.Inputs.Packages["mesos"][1].Checksum == "" {
		t.Fatal("scanned packages not kept with their checksums")
	}
}

func TestUnresolvedDependency(t *testing.T) {
	dir := writeSite(t, strings.Replace(fullBaseline, `"java"`, `"jre"`, 1))
	_, diags := Compile(context.Background(), CompileRequest{Path: dir})
	d := find(diags, "Unresolved dependency")
	if d == nil || d.Severity != hcl.DiagError {
		t.Fatalf("no unresolved-dependency error: %v", diags)
	}
	if !strings.Contains(d.Detail, "marathon-0.8.0-1.0.146.el6.x86_64 requires java") {
		t.Errorf("detail does not name package and requirement: %s", d.Detail)
	}
	if d.Subject == nil || d.Subject.Start.Line != 14 {
		t.Errorf("subject %v, want the distro's repos attribute (line 14)", d.Subject)
	}
	// allow_unresolved downgrades it to a warning.
	dir = writeSite(t, strings.Replace(fullBaseline, `"java"`, `"jre"`, 1)+"\n  allow_unresolved = [\"ja*\"]")
	_, diags = Compile(context.Background(), CompileRequest{Path: dir})
	if d := find(diags, "Unresolved dependency"); d == nil || d.Severity != hcl.DiagWarning || diags.HasErrors() {
		t.Fatalf("allow_unresolved: %v", diags)
	}
}

func TestUnresolvedDependencyGrouped(t *testing.T) {
	tests := []struct {
		name     string
		baseline string
		want     []string // the details' opening, one per diagnostic, in order
	}{
		{"one capability, two packages", strings.Replace(fullBaseline, `"/bin/sh", `, "", 1),
			[]string{"2 packages require /bin/sh (marathon-0.8.0-1.0.146.el6.x86_64, mesos-0.22.0-1.0.centos65.x86_64), which"}},
		{"two capabilities, sorted", strings.Replace(strings.Replace(fullBaseline, `"/bin/sh", `, "", 1), `"zlib", `, "", 1),
			[]string{"2 packages require /bin/sh (", "mesos-0.22.0-1.0.centos65.x86_64 requires zlib, which"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Compile(context.Background(), CompileRequest{Path: writeSite(t, tt.baseline)})
			var got []string
			for _, d := range diags {
				if d.Summary == "Unresolved dependency" {
					got = append(got, d.Detail)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d unresolved-dependency diagnostics, want %d: %q", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("diagnostic %d: %q, want it to start %q", i, got[i], w)
				}
			}
		})
	}
}

func TestBadRPMIsADiagnostic(t *testing.T) {
	dir := writeSite(t, fullBaseline)
	bad := filepath.Join(dir, "rpms", "broken-1-1.x86_64.rpm")
	if err := os.WriteFile(bad, []byte("not an rpm at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, diags := Compile(context.Background(), CompileRequest{Path: dir})
	d := find(diags, "Bad package in repo mesos")
	if d == nil || !strings.Contains(d.Detail, "broken-1-1.x86_64.rpm") {
		t.Fatalf("no diagnostic naming the bad RPM: %v", diags)
	}
}

func TestRequiredSignatureMissing(t *testing.T) {
	dir := writeSite(t, fullBaseline)
	src := strings.Replace(string(must(os.ReadFile(filepath.Join(dir, "site.hcl")))), `packages = ["rpms"]`, "packages = [\"rpms\"]\n  gpg_keys = [\"key.asc\"]", 1)
	must0(os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(src), 0o644))
	must0(os.WriteFile(filepath.Join(dir, "key.asc"), []byte(testKey), 0o644))
	_, diags := Compile(context.Background(), CompileRequest{Path: dir})
	d := find(diags, "Bad package in repo mesos")
	if d == nil {
		t.Fatalf("unsigned RPMs passed a repo with gpg_keys: %v", diags)
	}
	must0(os.WriteFile(filepath.Join(dir, "key.asc"), []byte("garbage"), 0o644))
	_, diags = Compile(context.Background(), CompileRequest{Path: dir})
	if find(diags, "Cannot read GPG key") == nil {
		t.Fatalf("a garbage key file gave no diagnostic: %v", diags)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func must0(err error) {
	if err != nil {
		panic(err)
	}
}

func TestBadDiskIsADiagnostic(t *testing.T) {
	dir := writeSite(t, fullBaseline)
	tmpl := "\nvm_template \"node\" {\n  guest_os  = \"centos64Guest\"\n  cpu       = 2\n  memory_mb = 4096\n  disk      = \"disk.vmdk\"\n}\n"
	f, err := os.OpenFile(filepath.Join(dir, "site.hcl"), os.O_APPEND|os.O_WRONLY, 0)
	must0(err)
	_, err = f.WriteString(tmpl)
	must0(err)
	must0(f.Close())
	must0(os.WriteFile(filepath.Join(dir, "disk.vmdk"), []byte("this is no disk"), 0o644))
	_, diags := Compile(context.Background(), CompileRequest{Path: dir})
	d := find(diags, "Invalid VM template")
	if d == nil || !strings.Contains(d.Detail, "disk.vmdk") || !strings.Contains(d.Detail, "not a VMDK") {
		t.Fatalf("a garbage disk gave no diagnostic naming it: %v", diags)
	}
	must0(demoinputs.Disk(filepath.Join(dir, "disk.vmdk"), 16))
	if _, diags := Compile(context.Background(), CompileRequest{Path: dir}); diags.HasErrors() {
		t.Fatalf("a valid disk: %v", diags)
	}
}

// TestBaselineRepodata: the OS's repodata given as baseline satisfies
// requirements; a baseline directory without repodata, or with repodata
// that does not match its repomd.xml, is an error naming it.
func TestBaselineRepodata(t *testing.T) {
	withRepodata := strings.Replace(fullBaseline, `"java"]`, `]`+"\n    repodata = [\"os\"]", 1)
	dir := writeSite(t, withRepodata)
	osDir := filepath.Join(dir, "os")
	jre := &rpm.Package{NEVRA: rpmdep.NEVRA{Name: "java-1.7.0-openjdk", Epoch: "1", Version: "1.7.0.75", Release: "2.5.4.el6", Arch: "x86_64"},
		Location: "Packages/java-1.7.0-openjdk.rpm", Checksum: strings.Repeat("ab", 32), Size: 1,
		Provides: []rpm.Dep{{Name: "java"}, {Name: "java-1.7.0-openjdk", Flags: "EQ", Epoch: "1", Version: "1.7.0.75", Release: "2.5.4.el6"}}}
	if err := os.MkdirAll(osDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := repo.WriteRepodata(context.Background(), osDir, []*rpm.Package{jre}, repo.WriteOptions{Timestamp: 1}); err != nil {
		t.Fatal(err)
	}
	if _, diags := Compile(context.Background(), CompileRequest{Path: dir}); diags.HasErrors() {
		t.Fatalf("java from the baseline repodata: %v", diags)
	}
	// A baseline directory whose repodata is gone is an error naming it.
	if err := os.RemoveAll(filepath.Join(osDir, "repodata")); err != nil {
		t.Fatal(err)
	}
	_, diags := Compile(context.Background(), CompileRequest{Path: dir})
	if d := find(diags, "Cannot read baseline repodata"); d == nil || !strings.Contains(d.Detail, "repomd.xml") || d.Subject == nil {
		t.Errorf("baseline without repodata: %v", diags)
	}

	if err := repo.WriteRepodata(context.Background(), osDir, []*rpm.Package{jre}, repo.WriteOptions{Timestamp: 1}); err != nil {
		t.Fatal(err)
	}
	prim, err := filepath.Glob(filepath.Join(osDir, "repodata", "*-primary.xml.gz"))
	if err != nil || len(prim) != 1 {
		t.Fatalf("primary: %v %v", prim, err)
	}
	if err := os.WriteFile(prim[0], []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, diags = Compile(context.Background(), CompileRequest{Path: dir})
	if d := find(diags, "Cannot read baseline repodata"); d == nil || !strings.Contains(d.Detail, filepath.Base(prim[0])) {
		t.Errorf("baseline with a broken primary: %v", diags)
	}
}

// TestGatherFailureKeepsDefinitionErrors: when an input cannot be read, the
// definition's own errors are reported in the same run, beside the input
// error and sorted by position, and the compiler's echo of the unread
// input is not repeated.
func TestGatherFailureKeepsDefinitionErrors(t *testing.T) {
	cases := []struct {
		name     string
		baseline string
		edit     func(t *testing.T, dir string, src string) string
		gathered string // the input error's summary
	}{
		{name: "corrupt RPM", baseline: fullBaseline, gathered: "Bad package in repo mesos",
			edit: func(t *testing.T, dir, src string) string {
				p := filepath.Join(dir, "rpms", demoinputs.Mesos("0.22.0")[0].FileName())
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(p, fi.Size()/2); err != nil {
					t.Fatal(err)
				}
				return src
			}},
		{name: "GPG key that is no key", baseline: fullBaseline, gathered: "Cannot read GPG key",
			edit: func(t *testing.T, dir, src string) string {
				if err := os.WriteFile(filepath.Join(dir, "key.asc"), []byte("not a key\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return strings.Replace(src, `packages = ["rpms"]`, `packages = ["rpms"]`+"\n  gpg_keys = [\"key.asc\"]", 1)
			}},
		{name: "baseline repodata missing", gathered: "Cannot read baseline repodata",
			baseline: strings.Replace(fullBaseline, "baseline {", "baseline {\n    repodata = [\"os\"]", 1)},
		{name: "manifest that is a directory", baseline: fullBaseline, gathered: "Cannot read manifest",
			edit: func(t *testing.T, dir, src string) string {
				if err := os.Mkdir(filepath.Join(dir, "old-manifest"), 0o755); err != nil {
					t.Fatal(err)
				}
				return src + "\nupgrade {\n  manifest = \"old-manifest\"\n}\n"
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeSite(t, tc.baseline)
			p := filepath.Join(dir, "site.hcl")
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			// A definition error no fact is needed for, above the input
			// that fails: the bundle's version.
			src := strings.Replace(string(b), `version = "1"`, `version = "1 x"`, 1)
			if tc.edit != nil {
				src = tc.edit(t, dir, src)
			}
			if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			res, diags := Compile(context.Background(), CompileRequest{Path: dir})
			if res.Plan != nil {
				t.Fatal("a plan although an input could not be read")
			}
			var errs []string
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					errs = append(errs, d.Summary)
				}
			}
			want := []string{"Invalid bundle version", tc.gathered}
			if strings.Join(errs, "|") != strings.Join(want, "|") {
				t.Fatalf("errors %q, want %q (in this order)\n%s", errs, want, diags.Error())
			}
		})
	}
}

// TestKeyRpmRefusesIsAWarning: a gpg_keys file holding a key rpm 4.18
// would not import (here ECDSA, which rpm 4.18 does not import; the
// verdicts are checked against rpmkeys in package repo) gives a warning
// naming the file and the key id; the test key gives none.
func TestKeyRpmRefusesIsAWarning(t *testing.T) {
	dir := writeSite(t, fullBaseline)
	src := strings.Replace(string(must(os.ReadFile(filepath.Join(dir, "site.hcl")))), `packages = ["rpms"]`, "packages = [\"rpms\"]\n  gpg_keys = [\"key.asc\"]", 1)
	must0(os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(src), 0o644))
	must0(os.WriteFile(filepath.Join(dir, "key.asc"), []byte(testKey), 0o644))
	_, diags := Compile(context.Background(), CompileRequest{Path: dir})
	if d := find(diags, "GPG key rpm refuses to import"); d != nil {
		t.Fatalf("the test key was reported: %s", d.Detail)
	}
	e := must(openpgp.NewEntity("ecdsa", "", "test@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoECDSA, Curve: packet.CurveNistP256}))
	var b bytes.Buffer
	w := must(armor.Encode(&b, openpgp.PublicKeyType, nil))
	must0(e.Serialize(w))
	must0(w.Close())
	must0(os.WriteFile(filepath.Join(dir, "key.asc"), b.Bytes(), 0o644))
	_, diags = Compile(context.Background(), CompileRequest{Path: dir})
	d := find(diags, "GPG key rpm refuses to import")
	id := fmt.Sprintf("%016x", e.PrimaryKey.KeyId)
	if d == nil || d.Severity != hcl.DiagWarning || !strings.Contains(d.Detail, "key.asc") || !strings.Contains(d.Detail, id) || !strings.Contains(d.Detail, "ECDSA") {
		t.Fatalf("no warning naming key.asc, key %s and ECDSA: %v", id, diags)
	}
	if d.Subject == nil {
		t.Error("the warning has no source range")
	}
}
