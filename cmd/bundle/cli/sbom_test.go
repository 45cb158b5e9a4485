package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/bdebundle/bundle/internal/sbomcheck"
	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/out/builder"
	"github.com/bdebundle/bundle/out/diff"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/provenance"
)

type cdxDoc struct {
	SpecVersion  string         `json:"specVersion"`
	SerialNumber string         `json:"serialNumber"`
	Components   []cdxComponent `json:"components"`
	Dependencies []struct {
		Ref       string   `json:"ref"`
		DependsOn []string `json:"dependsOn"`
	} `json:"dependencies"`
}

type cdxComponent struct {
	Ref      string `json:"bom-ref"`
	Type     string `json:"type"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Purl     string `json:"purl"`
	Supplier *struct {
		Name string `json:"name"`
	} `json:"supplier"`
	Hashes []struct {
		Alg     string `json:"alg"`
		Content string `json:"content"`
	} `json:"hashes"`
	Licenses []struct {
		License struct {
			Name string `json:"name"`
		} `json:"license"`
	} `json:"licenses"`
	Properties []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"properties"`
	Components []cdxComponent `json:"components"`
}

func (c cdxComponent) sha() string {
	for _, h := range c.Hashes {
		if h.Alg == "SHA-256" {
			return h.Content
		}
	}
	return ""
}

func (c cdxComponent) prop(name string) string {
	for _, p := range c.Properties {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func buildJSON(t *testing.T, args ...string) builder.Result {
	t.Helper()
	code, stdout, stderr := run(t, append([]string{"build", "--json", "-q"}, args...)...)
	if code != 0 {
		t.Fatalf("build %v: exit %d\n%s%s", args, code, stdout, stderr)
	}
	var res builder.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("build --json: %v\n%s", err, stdout)
	}
	return res
}

// TestSBOMAndProvenance builds the test site twice and checks the SBOM with
// the CycloneDX project's strict validator and against rpm's own reading of
// every RPM, the provenance against the archive, and that both are
// byte-identical across builds from different output paths and placements.
func TestSBOMAndProvenance(t *testing.T) {
	t.Setenv("BUNDLE_CACHE_DIR", t.TempDir())
	src := site(t)
	res := buildJSON(t, src, "-o", filepath.Join(t.TempDir(), "dist"))
	res2 := buildJSON(t, src, "-o", filepath.Join(t.TempDir(), "other"), "--no-hardlinks", "--no-cache")
	sbomPath := filepath.Join(res.Dir, "sbom.cdx.json")
	for _, name := range []string{"sbom.cdx.json", "bundle.json"} {
		a, _ := os.ReadFile(filepath.Join(res.Dir, name))
		b, _ := os.ReadFile(filepath.Join(res2.Dir, name))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds of one definition", name)
		}
	}
	pa, _ := os.ReadFile(res.Provenance)
	pb, _ := os.ReadFile(res2.Provenance)
	if len(pa) == 0 || !bytes.Equal(pa, pb) {
		t.Errorf("provenance differs between two builds (%s, %s)", res.Provenance, res2.Provenance)
	}

	if err := sbomcheck.Validate(t.Context(), sbomPath); err != nil {
		t.Fatal(err)
	}

	m, err := manifest.Parse(readFile(t, filepath.Join(res.Dir, "bundle.json")))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(m.Files, func(f manifest.FileEntry) bool { return f.Path == "sbom.cdx.json" }) {
		t.Errorf("bundle.json does not list sbom.cdx.json")
	}
	var doc cdxDoc
	if err := json.Unmarshal(readFile(t, sbomPath), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SpecVersion < "1.5" || !strings.HasPrefix(doc.SerialNumber, "urn:uuid:") {
		t.Errorf("specVersion %q, serialNumber %q", doc.SpecVersion, doc.SerialNumber)
	}
	byRef := map[string]cdxComponent{}
	var walk func([]cdxComponent)
	walk = func(cs []cdxComponent) {
		for _, c := range cs {
			byRef[c.Ref] = c
			walk(c.Components)
		}
	}
	walk(doc.Components)

	// Every RPM by hash, with purl and license, as rpm itself reads it.
	var rpms []string
	for _, r := range m.Repos {
		for _, p := range r.Packages {
			rpms = append(rpms, r.Dir+"/"+p.Location)
		}
	}
	if len(rpms) != 12 {
		t.Fatalf("%d RPMs in bundle.json, want 12", len(rpms))
	}
	checkRPMs(t, res.Dir, rpms, byRef, nil)
	// marathon requires mesos >= 0.20.0: each marathon depends on the mesos of
	// its own distro's repo, not the other (Chronos' packages require only
	// coreutils and java).
	marathon := 0
	for _, dep := range doc.Dependencies {
		if !strings.Contains(dep.Ref, "/marathon-") {
			continue
		}
		marathon++
		dir := dep.Ref[:strings.LastIndex(dep.Ref, "/")]
		if len(dep.DependsOn) != 1 || !strings.HasPrefix(dep.DependsOn[0], dir+"/mesos-0.") {
			t.Errorf("%s depends on %v, want only the mesos RPM of %s", dep.Ref, dep.DependsOn, dir)
		}
	}
	if marathon != 2 {
		t.Errorf("%d dependency entries for marathon, want 2", marathon)
	}
	for _, im := range m.Images {
		c, ok := byRef["image:"+im.Name]
		if !ok || c.Version != im.Digest || !strings.HasPrefix(c.Purl, "pkg:oci/") || !strings.Contains(c.Purl, "@"+strings.ReplaceAll(im.Digest, ":", "%3A")) && !strings.Contains(c.Purl, "@"+im.Digest) {
			t.Errorf("image %s: component %+v", im.Name, c)
		}
	}
	for _, tm := range m.Templates {
		if c, ok := byRef["template:"+tm.Name]; !ok || c.sha() != tm.SHA256 {
			t.Errorf("template %s: component %+v", tm.Name, c)
		}
	}
	for _, f := range m.Files {
		if f.Path == "sbom.cdx.json" {
			continue
		}
		found := false
		for _, c := range byRef {
			if c.prop("bundle:path") == f.Path && c.sha() == f.SHA256 {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no component names it with sha256 %s", f.Path, f.SHA256)
		}
	}

	// The provenance names the archive and bundle.json by their digests.
	stmt, env, err := provenance.Open(pa)
	if err != nil || env != nil {
		t.Fatalf("provenance: %v (envelope %v without --sign-key)", err, env)
	}
	subj, err := provenance.Subjects(stmt)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := subj[filepath.Base(res.Archive)], fileSum(t, res.Archive); got != want || got != res.ArchiveSHA256 {
		t.Errorf("provenance subject %s is %s, the archive's sha256 is %s", filepath.Base(res.Archive), got, want)
	}
	if got, want := subj["mesos-site-2015.03.1/bundle.json"], fileSum(t, filepath.Join(res.Dir, "bundle.json")); got != want {
		t.Errorf("provenance subject bundle.json is %s, the file's sha256 is %s", got, want)
	}
	var st struct {
		Predicate struct {
			BuildDefinition struct {
				ExternalParameters struct {
					DefinitionSHA256 string `json:"definition_sha256"`
				} `json:"externalParameters"`
				ResolvedDependencies []struct {
					Name   string            `json:"name"`
					Digest map[string]string `json:"digest"`
				} `json:"resolvedDependencies"`
			} `json:"buildDefinition"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(stmt, &st); err != nil {
		t.Fatal(err)
	}
	if st.Predicate.BuildDefinition.ExternalParameters.DefinitionSHA256 != m.DefinitionSHA256 {
		t.Errorf("provenance definition digest %q, bundle.json %q", st.Predicate.BuildDefinition.ExternalParameters.DefinitionSHA256, m.DefinitionSHA256)
	}
	deps := map[string]string{}
	for _, d := range st.Predicate.BuildDefinition.ResolvedDependencies {
		deps[d.Name] = d.Digest["sha256"]
	}
	for _, in := range m.Inputs {
		if deps[in.Path] != in.SHA256 {
			t.Errorf("input %s: provenance has %q, bundle.json %s", in.Path, deps[in.Path], in.SHA256)
		}
	}
}

// TestSignedProvenance: with --sign-key the provenance is a DSSE envelope
// whose signature over PAE gpg accepts.
func TestSignedProvenance(t *testing.T) {
	t.Setenv("BUNDLE_CACHE_DIR", t.TempDir())
	secret, public, _, _ := keyFiles(t)
	res := buildJSON(t, site(t), "-o", filepath.Join(t.TempDir(), "dist"), "--sign-key", secret)
	data := readFile(t, res.Provenance)
	stmt, env, err := provenance.Open(data)
	if err != nil || env == nil || len(env.Signatures) != 1 {
		t.Fatalf("signed provenance: %v %+v", err, env)
	}
	subj, err := provenance.Subjects(stmt)
	if err != nil || subj[filepath.Base(res.Archive)] != res.ArchiveSHA256 {
		t.Fatalf("subjects %v, %v", subj, err)
	}
	dir := t.TempDir()
	pae := filepath.Join(dir, "pae")
	sig := filepath.Join(dir, "sig")
	if err := os.WriteFile(pae, provenance.PAE(env.PayloadType, stmt), 0o644); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sig, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	gpg := func(args ...string) ([]byte, error) {
		return exec.Command("gpg", append([]string{"--homedir", home, "--batch"}, args...)...).CombinedOutput()
	}
	if out, err := gpg("--import", public); err != nil {
		t.Fatalf("gpg --import (install the Debian package gnupg): %v\n%s", err, out)
	}
	if out, err := gpg("--verify", sig, pae); err != nil {
		t.Fatalf("gpg rejects the DSSE signature: %v\n%s", err, out)
	}
	// A changed payload no longer verifies.
	if err := os.WriteFile(pae, provenance.PAE(env.PayloadType, append(stmt, ' ')), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := gpg("--verify", sig, pae); err == nil {
		t.Fatalf("gpg accepts the signature over a changed payload:\n%s", out)
	}
	// The envelope is reproducible too.
	res2 := buildJSON(t, site(t), "-o", filepath.Join(t.TempDir(), "dist"), "--sign-key", secret)
	if !bytes.Equal(data, readFile(t, res2.Provenance)) {
		t.Errorf("signed provenance differs between two builds")
	}
}

// TestDiffListsSBOMChanges: a relicensed RPM and an added one show in
// `bundle diff` as SBOM changes, in text and JSON.
func TestDiffListsSBOMChanges(t *testing.T) {
	t.Setenv("BUNDLE_CACHE_DIR", t.TempDir())
	oldSrc, newSrc := site(t), site(t)
	dir := filepath.Join(newSrc, "rpms", "mesos-0.22.0")
	for _, p := range demoinputs.Mesos("0.22.0") {
		if p.Name != "haproxy" {
			continue
		}
		if err := os.Remove(filepath.Join(dir, p.FileName())); err != nil {
			t.Fatal(err)
		}
		p.License = "GPLv2+ and BSD"
		if _, err := demoinputs.WriteRPM(dir, p, 0); err != nil {
			t.Fatal(err)
		}
		p.Name = "haproxy-doc"
		p.Files = map[string]string{"/usr/share/doc/haproxy-doc/README": "docs\n"}
		p.Requires, p.Provides = nil, nil
		if _, err := demoinputs.WriteRPM(dir, p, 0); err != nil {
			t.Fatal(err)
		}
	}
	oldB := buildJSON(t, oldSrc, "-o", filepath.Join(t.TempDir(), "a"))
	newB := buildJSON(t, newSrc, "-o", filepath.Join(t.TempDir(), "b"))
	code, stdout, stderr := run(t, "diff", oldB.Archive, newB.Archive, "--json")
	if code != 0 {
		t.Fatalf("diff: exit %d\n%s%s", code, stdout, stderr)
	}
	var d diff.Delta
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range d.SBOM {
		got[c.Component+" "+c.What] = c.Old + " -> " + c.New
	}
	want := map[string]string{
		"rpm mesos/0.22.0/haproxy.x86_64 license":   "GPLv2+ -> GPLv2+ and BSD",
		"rpm mesos/0.22.0/haproxy-doc.x86_64 added": " -> 1.5.2-2.el6",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	code, stdout, _ = run(t, "diff", oldB.Dir, newB.Dir)
	if code != 0 || !strings.Contains(stdout, "\nSBOM:\n") || !strings.Contains(stdout, `~ rpm mesos/0.22.0/haproxy.x86_64 license: "GPLv2+" -> "GPLv2+ and BSD"`) || !strings.Contains(stdout, "+ rpm mesos/0.22.0/haproxy-doc.x86_64 1.5.2-2.el6") {
		t.Errorf("diff text: exit %d\n%s", code, stdout)
	}
}

// checkRPMs compares the SBOM component of each RPM (bundle paths under
// dir) with what rpm itself reads from the file: sha256, purl, license,
// supplier, epoch, arch and source RPM. ns gives the purl namespace of an
// RPM without a Vendor, by path prefix.
func checkRPMs(t *testing.T, dir string, rpms []string, byRef map[string]cdxComponent, ns map[string]string) {
	t.Helper()
	args := []string{"-qp", "--nosignature", "--nodigest", "--qf", `%{NAME}|%{EPOCHNUM}|%{VERSION}|%{RELEASE}|%{ARCH}|%{LICENSE}|%{VENDOR}|%{SOURCERPM}\n`}
	for _, p := range rpms {
		args = append(args, filepath.Join(dir, p))
	}
	rpmOut, err := exec.Command("rpm", args...).Output()
	if err != nil {
		t.Fatalf("rpm -qp (install the Debian package rpm): %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(rpmOut)), "\n")
	if len(lines) != len(rpms) {
		t.Fatalf("rpm printed %d lines for %d RPMs", len(lines), len(rpms))
	}
	unsafe := regexp.MustCompile(`[^a-z0-9._-]+`)
	for i, p := range rpms {
		f := strings.Split(lines[i], "|")
		name, epoch, ver, rel, arch, lic, vendor, srpm := f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]
		c, ok := byRef["rpm:"+p]
		if !ok {
			t.Errorf("%s: not in the SBOM", p)
			continue
		}
		if c.sha() != fileSum(t, filepath.Join(dir, p)) {
			t.Errorf("%s: SBOM sha256 %s is not the file's", p, c.sha())
		}
		space := strings.Trim(unsafe.ReplaceAllString(strings.ToLower(vendor), "-"), "-._")
		if vendor == "(none)" {
			vendor = ""
			for prefix, n := range ns {
				if strings.HasPrefix(p, prefix) {
					space = n
				}
			}
		}
		wantPurl := "pkg:rpm/" + space + "/" + name + "@" + ver + "-" + rel + "?arch=" + arch
		if epoch != "0" {
			wantPurl += "&epoch=" + epoch
		}
		if c.Purl != wantPurl {
			t.Errorf("%s: purl %q, want %q", p, c.Purl, wantPurl)
		}
		if lic == "(none)" || len(c.Licenses) != 1 || c.Licenses[0].License.Name != lic {
			t.Errorf("%s: licenses %+v, rpm says %q", p, c.Licenses, lic)
		}
		if vendor != "" && (c.Supplier == nil || c.Supplier.Name != vendor) || vendor == "" && c.Supplier != nil {
			t.Errorf("%s: supplier %+v, rpm says vendor %q", p, c.Supplier, vendor)
		}
		if srpm == "(none)" {
			srpm = ""
		}
		if c.prop("bundle:rpm:sourcerpm") != srpm || c.prop("bundle:rpm:epoch") != epoch || c.prop("bundle:rpm:arch") != arch || c.Name != name {
			t.Errorf("%s: %s %+v, rpm says %s", p, c.Name, c.Properties, lines[i])
		}
	}
}

// TestSBOMOfRealRPMs: CentOS 3 to 7 and EPEL packages (other projects' test
// data, through the Go module proxy) are named in the SBOM as rpm reads them,
// and the SBOM passes the strict validator.
func TestSBOMOfRealRPMs(t *testing.T) {
	t.Setenv("BUNDLE_CACHE_DIR", t.TempDir())
	td := centosTestdata(t)
	real, err := filepath.Glob(filepath.Join(td, "*.rpm"))
	if err != nil || len(real) < 5 {
		t.Fatalf("real RPMs: %v %v", real, err)
	}
	src := site(t)
	testutil.CopyFiles(t, filepath.Join(src, "rpms", "centos"), real...)
	hcl := filepath.Join(src, "site.hcl")
	b := readFile(t, hcl)
	b = append(b, []byte("\nrepo \"centos\" {\n  version  = \"7\"\n  packages = [\"rpms/centos\"]\n  base_url = \"http://yum.example.com/centos/7/\"\n}\n")...)
	if err := os.WriteFile(hcl, b, 0o644); err != nil {
		t.Fatal(err)
	}
	res := buildJSON(t, src, "-o", filepath.Join(t.TempDir(), "dist"))
	sbomPath := filepath.Join(res.Dir, "sbom.cdx.json")
	if err := sbomcheck.Validate(t.Context(), sbomPath); err != nil {
		t.Fatal(err)
	}
	var doc cdxDoc
	if err := json.Unmarshal(readFile(t, sbomPath), &doc); err != nil {
		t.Fatal(err)
	}
	byRef := map[string]cdxComponent{}
	for _, c := range doc.Components {
		byRef[c.Ref] = c
	}
	m, err := manifest.Parse(readFile(t, filepath.Join(res.Dir, "bundle.json")))
	if err != nil {
		t.Fatal(err)
	}
	var rpms []string
	ns := map[string]string{}
	for _, r := range m.Repos {
		if r.Name != "centos" {
			continue
		}
		ns[r.Dir+"/"] = "centos" // a repo of no distro names its own RPMs
		for _, p := range r.Packages {
			rpms = append(rpms, r.Dir+"/"+p.Location)
		}
	}
	if len(rpms) != len(real) {
		t.Fatalf("%d of %d real RPMs in bundle.json", len(rpms), len(real))
	}
	checkRPMs(t, res.Dir, rpms, byRef, ns)
	if code, stdout, _ := run(t, "verify", res.Archive); code != 0 {
		t.Errorf("verify: exit %d\n%s", code, stdout)
	}
}
