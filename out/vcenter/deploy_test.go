package vcenter

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/vapi/library"
)

func deployOpts() Options {
	return Options{Parallel: 2, RetryDelay: 20 * time.Millisecond, BatchFiles: 3, LockGrace: 50 * time.Millisecond}
}

// performed turns plan items and outcome items into comparable lines.
func itemLines(items []Item, skipLeave bool) []string {
	var out []string
	for _, it := range items {
		if skipLeave && it.Action == Leave {
			continue
		}
		out = append(out, string(it.Kind)+" "+it.Name+" "+string(it.Action))
	}
	return sortStrings(out)
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

func TestDeployLibraryEndToEnd(t *testing.T) {
	ctx := ctxT(t)
	s := newSim(t)
	root := t.TempDir()
	spec := baseSpec("2015.03.1")
	dir := spec.write(t, root)
	cnt := &counter{}
	cfg := s.config(t, spec.target, Overrides{})
	cfg.WrapTransport = cnt.wrap

	// Dry run: a plan, nothing changed.
	opts := deployOpts()
	opts.DryRun = true
	dry, err := Deploy(ctx, dir, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := cnt.count("PUT"); got != 0 {
		t.Fatalf("dry run made %d uploads", got)
	}
	var buf bytes.Buffer
	if err := dry.Plan.Write(&buf, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+ library  bundles", "+ template mesos-node", "+ file     serengeti/www/yum/mesos.repo", "Plan: 13 to create"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, buf.String())
		}
	}

	// The real run does exactly what the dry run planned.
	out, err := Deploy(ctx, dir, cfg, deployOpts())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := itemLines(out.Done, false), itemLines(dry.Plan.Items, true); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("performed:\n%s\nplanned:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if out.Uploads != 11 || out.Templates != 1 {
		t.Errorf("uploads=%d templates=%d, want 11 and 1", out.Uploads, out.Templates)
	}
	checkDatastore(t, s, dir, "bundles/mesos-site")
	checkLibrary(t, s, cfg, "bundles", map[string]string{"mesos-node": "mesos-site 2015.03.1"})

	// Re-deploy: no changes, no uploads, no imports.
	puts := cnt.count("PUT")
	out, err = Deploy(ctx, dir, cfg, deployOpts())
	if err != nil {
		t.Fatal(err)
	}
	if !out.NoChanges || len(out.Done) != 0 || cnt.count("PUT") != puts {
		t.Fatalf("re-deploy changed things: nochanges=%v done=%v puts=%d→%d", out.NoChanges, out.Done, puts, cnt.count("PUT"))
	}
	buf.Reset()
	if err := out.Plan.Write(&buf, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "No changes. The site matches bundle mesos-site 2015.03.1.") {
		t.Errorf("re-deploy plan:\n%s", buf.String())
	}

	// A newer bundle: one package changed, one added, one removed, a new disk.
	spec2 := baseSpec("2015.04.0")
	spec2.files["serengeti/www/yum/repos/mesos/0.22.0/pkg-0-1.0.x86_64.rpm"] = randBytes(100, 21_000)
	spec2.files["serengeti/www/yum/repos/mesos/0.22.0/pkg-9-1.0.x86_64.rpm"] = randBytes(101, 1_000)
	delete(spec2.files, "serengeti/www/yum/repos/mesos/0.22.0/pkg-5-1.0.x86_64.rpm")
	spec2.templates["mesos-node"] = 2
	dir2 := spec2.write(t, root)
	opts = deployOpts()
	opts.DryRun = true
	dry, err = Deploy(ctx, dir2, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	wantPlan := []string{
		"file serengeti/www/yum/repos/mesos/0.22.0/pkg-0-1.0.x86_64.rpm update",
		"file serengeti/www/yum/repos/mesos/0.22.0/pkg-5-1.0.x86_64.rpm delete",
		"file serengeti/www/yum/repos/mesos/0.22.0/pkg-9-1.0.x86_64.rpm create",
		"template mesos-node replace",
	}
	if got := itemLines(dry.Plan.Items, true); strings.Join(got, "\n") != strings.Join(wantPlan, "\n") {
		t.Fatalf("upgrade plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantPlan, "\n"))
	}
	out, err = Deploy(ctx, dir2, cfg, deployOpts())
	if err != nil {
		t.Fatal(err)
	}
	if got := itemLines(out.Done, false); strings.Join(got, "\n") != strings.Join(wantPlan, "\n") {
		t.Errorf("upgrade performed:\n%s", strings.Join(got, "\n"))
	}
	if out.Uploads != 2 || out.Deleted != 1 || out.Templates != 1 {
		t.Errorf("upgrade: uploads=%d deleted=%d templates=%d", out.Uploads, out.Deleted, out.Templates)
	}
	checkDatastore(t, s, dir2, "bundles/mesos-site")
	checkLibrary(t, s, cfg, "bundles", map[string]string{"mesos-node": "mesos-site 2015.04.0"})
}

// checkDatastore asserts the datastore folder holds exactly the bundle's
// serengeti/ tree plus the state file, byte for byte.
func checkDatastore(t *testing.T, s *sim, bundleDir, dsPath string) {
	t.Helper()
	b, err := LoadBundle(bundleDir)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(s.dsDir(t), filepath.FromSlash(dsPath))
	want := map[string]bool{StateFile: true}
	for _, f := range b.serengetiFiles() {
		want[f.Path] = true
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Errorf("datastore lacks %s: %v", f.Path, err)
			continue
		}
		local, _ := os.ReadFile(filepath.Join(bundleDir, filepath.FromSlash(f.Path)))
		if !bytes.Equal(got, local) {
			t.Errorf("datastore %s differs from the bundle", f.Path)
		}
	}
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			if !want[filepath.ToSlash(rel)] {
				t.Errorf("datastore has extra file %s", rel)
			}
		}
		return nil
	})
}

// checkLibrary asserts the library holds exactly the named OVF items, each
// deployed from the given bundle, and no partial item.
func checkLibrary(t *testing.T, s *sim, cfg Config, name string, want map[string]string) {
	t.Helper()
	ctx := ctxT(t)
	sess, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Logout(ctx)
	rc, err := sess.restClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := library.NewManager(rc)
	lib, err := m.GetLibraryByName(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	items, err := m.GetLibraryItems(ctx, lib.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(want) {
		var names []string
		for _, it := range items {
			names = append(names, it.Name)
		}
		t.Errorf("library %s has items %v, want %d", name, names, len(want))
	}
	for _, it := range items {
		from, ok := want[it.Name]
		if !ok {
			t.Errorf("unexpected library item %q", it.Name)
			continue
		}
		if it.Description == nil || !strings.Contains(*it.Description, "bundle "+from+".") {
			t.Errorf("item %s description %v, want from %s", it.Name, it.Description, from)
		}
		files, err := m.ListLibraryItemFiles(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 2 {
			t.Errorf("item %s has %d files, want the .ovf and the disk", it.Name, len(files))
		}
	}
}

// TestDeployDerivedTemplates deploys node groups' derived templates, which
// share their base template's directory and disk: each is its own library
// item, and a change to one descriptor replaces only that item.
func TestDeployDerivedTemplates(t *testing.T) {
	ctx := ctxT(t)
	s := newSim(t)
	root := t.TempDir()
	spec := baseSpec("2015.03.1")
	spec.derived = map[string][2]string{
		"mesos-node-mesos01-fast": {"mesos-node", " for fast"},
		"mesos-node-mesos01-bulk": {"mesos-node", " for bulk"},
	}
	dir := spec.write(t, root)
	cfg := s.config(t, spec.target, Overrides{})
	out, err := Deploy(ctx, dir, cfg, deployOpts())
	if err != nil {
		t.Fatal(err)
	}
	if out.Templates != 3 {
		t.Errorf("imported %d templates, want 3", out.Templates)
	}
	all := map[string]string{"mesos-node": "mesos-site 2015.03.1", "mesos-node-mesos01-fast": "mesos-site 2015.03.1", "mesos-node-mesos01-bulk": "mesos-site 2015.03.1"}
	checkLibrary(t, s, cfg, "bundles", all)
	if out, err = Deploy(ctx, dir, cfg, deployOpts()); err != nil || !out.NoChanges {
		t.Fatalf("re-deploy: %v, no changes %v", err, out != nil && out.NoChanges)
	}

	// One group's descriptor changes: only its template is replaced.
	spec2 := baseSpec("2015.03.2")
	spec2.derived = map[string][2]string{
		"mesos-node-mesos01-fast": {"mesos-node", " for fast, rack r3"},
		"mesos-node-mesos01-bulk": {"mesos-node", " for bulk"},
	}
	dir2 := spec2.write(t, root)
	if out, err = Deploy(ctx, dir2, cfg, deployOpts()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(itemLines(out.Done, false), "\n"); got != "template mesos-node-mesos01-fast replace" {
		t.Errorf("after one descriptor changed, performed:\n%s", got)
	}
	all["mesos-node-mesos01-fast"] = "mesos-site 2015.03.2"
	checkLibrary(t, s, cfg, "bundles", all)

	// The shared disk changes: every template using it is replaced.
	spec3 := baseSpec("2015.04.0")
	spec3.templates["mesos-node"] = 7
	spec3.derived = spec2.derived
	dir3 := spec3.write(t, root)
	if out, err = Deploy(ctx, dir3, cfg, deployOpts()); err != nil {
		t.Fatal(err)
	}
	want := "template mesos-node replace\ntemplate mesos-node-mesos01-bulk replace\ntemplate mesos-node-mesos01-fast replace"
	if got := strings.Join(itemLines(out.Done, false), "\n"); got != want {
		t.Errorf("after the disk changed, performed:\n%s\nwant:\n%s", got, want)
	}
	for k := range all {
		all[k] = "mesos-site 2015.04.0"
	}
	checkLibrary(t, s, cfg, "bundles", all)
}

// TestDeployDamagedStateFile: a state file that is garbage or of another
// schema makes deploy upload every file again (with a warning) and write a
// good one; a state file listing files outside the serengeti/ tree never
// makes deploy delete them.
func TestDeployDamagedStateFile(t *testing.T) {
	ctx := ctxT(t)
	s := newSim(t)
	spec := baseSpec("2015.03.1")
	spec.templates = nil
	dir := spec.write(t, t.TempDir())
	cfg := s.config(t, spec.target, Overrides{})
	if _, err := Deploy(ctx, dir, cfg, deployOpts()); err != nil {
		t.Fatal(err)
	}
	stateFile := filepath.Join(s.dsDir(t), "bundles", "mesos-site", StateFile)
	files := 0 // deploy uploads the serengeti/ tree
	for p := range spec.files {
		if strings.HasPrefix(p, "serengeti/") {
			files++
		}
	}
	for _, tc := range []struct{ name, content string }{
		{"garbage", "{ this is not json"},
		{"other schema", `{"schema": "bundle-state/v9", "files": {}}`},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(stateFile, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := Deploy(ctx, dir, cfg, deployOpts())
			if err != nil {
				t.Fatal(err)
			}
			if out.Uploads != files || len(out.Plan.Warnings) != 1 || !strings.Contains(out.Plan.Warnings[0], "every file is uploaded again") {
				t.Errorf("uploads %d (want %d), warnings %q", out.Uploads, files, out.Plan.Warnings)
			}
			checkDatastore(t, s, dir, "bundles/mesos-site")
			if out, err := Deploy(ctx, dir, cfg, deployOpts()); err != nil || !out.NoChanges {
				t.Errorf("the deploy after it: %v, no changes %v", err, out != nil && out.NoChanges)
			}
		})
	}

	// A state file naming files deploy does not own.
	foreign := filepath.Join(s.dsDir(t), "bundles", "mesos-site", "notes.txt")
	if err := os.WriteFile(foreign, []byte("the admin's notes"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(b), `"files": {`, `"files": {"notes.txt": "`+strings.Repeat("0", 64)+`", "../../other": "`+strings.Repeat("0", 64)+`", `, 1)
	if edited == string(b) {
		t.Fatalf("state file has no files map:\n%s", b)
	}
	if err := os.WriteFile(stateFile, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := Deploy(ctx, dir, cfg, deployOpts())
	if err != nil {
		t.Fatal(err)
	}
	if out.Deleted != 0 {
		t.Errorf("deleted %d files", out.Deleted)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("a file the bundle does not own was removed: %v", err)
	}
}
