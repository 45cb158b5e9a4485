package vcenter

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/bdebundle/bundle/out/manifest"
)

// vmsIn lists the VM names in folder p of DC0.
func vmsIn(t *testing.T, cfg Config, p string) map[string]mo.VirtualMachine {
	t.Helper()
	ctx := ctxT(t)
	sess, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Logout(ctx)
	f := find.NewFinder(sess.Vim)
	vms, err := f.VirtualMachineList(ctx, p+"/*")
	out := map[string]mo.VirtualMachine{}
	if err != nil {
		var nf *find.NotFoundError
		if errors.As(err, &nf) {
			return out
		}
		t.Fatal(err)
	}
	for _, vm := range vms {
		var m mo.VirtualMachine
		if err := vm.Properties(ctx, vm.Reference(), []string{"name", "config"}, &m); err != nil {
			t.Fatal(err)
		}
		out[m.Name] = m
	}
	return out
}

func createFolder(t *testing.T, cfg Config, name string) {
	t.Helper()
	ctx := ctxT(t)
	sess, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Logout(ctx)
	f := find.NewFinder(sess.Vim)
	dc, err := f.Datacenter(ctx, "DC0")
	if err != nil {
		t.Fatal(err)
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	parent := folders.VmFolder
	for _, el := range strings.Split(name, "/") {
		parent, err = parent.CreateFolder(ctx, el)
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestDeployFolderTemplates(t *testing.T) {
	ctx := ctxT(t)
	s := newSim(t)
	root := t.TempDir()
	spec := baseSpec("2015.03.1")
	spec.target.Library = ""
	spec.target.Folder = "bde/templates"
	dir := spec.write(t, root)
	cfg := s.config(t, spec.target, Overrides{})

	// A missing folder is a clear error and nothing is touched.
	_, err := Deploy(ctx, dir, cfg, deployOpts())
	var ve *VCenterError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), `folder "bde/templates"`) {
		t.Fatalf("missing folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.dsDir(t), "bundles")); !os.IsNotExist(err) {
		t.Fatalf("a failed plan touched the datastore: %v", err)
	}

	createFolder(t, cfg, "bde/templates")
	out, err := Deploy(ctx, dir, cfg, deployOpts())
	if err != nil {
		t.Fatal(err)
	}
	if out.Templates != 1 {
		t.Fatalf("templates=%d", out.Templates)
	}
	vms := vmsIn(t, cfg, "/DC0/vm/bde/templates")
	vm, ok := vms["mesos-node"]
	if len(vms) != 1 || !ok || !vm.Config.Template || markerDigest(vm.Config.Annotation) == "" {
		t.Fatalf("folder holds %v", vms)
	}
	out, err = Deploy(ctx, dir, cfg, deployOpts())
	if err != nil || !out.NoChanges {
		t.Fatalf("re-deploy: %v %+v", err, out)
	}

	spec2 := baseSpec("2015.04.0")
	spec2.target = spec.target
	spec2.templates["mesos-node"] = 7
	dir2 := spec2.write(t, root)
	out, err = Deploy(ctx, dir2, cfg, deployOpts())
	if err != nil {
		t.Fatal(err)
	}
	if got := itemLines(out.Done, false); strings.Join(got, ",") != "template mesos-node replace" {
		t.Fatalf("upgrade did %v", got)
	}
	vms = vmsIn(t, cfg, "/DC0/vm/bde/templates")
	if vm, ok := vms["mesos-node"]; len(vms) != 1 || !ok || !strings.Contains(vm.Config.Annotation, "2015.04.0") {
		t.Fatalf("after upgrade folder holds %v", vms)
	}
}

// A connection dropped mid-upload: transient drops are retried within the
// run; a persistent outage fails the run, and the next run resumes,
// uploading only what the failed run did not finish.
func TestDeployDroppedConnection(t *testing.T) {
	ctx := ctxT(t)
	s := newSim(t)
	root := t.TempDir()
	spec := baseSpec("2015.03.1")
	spec.templates = nil
	dir := spec.write(t, root)

	t.Run("transient", func(t *testing.T) {
		cnt := &counter{failPut: 2, failOnce: true}
		cfg := s.config(t, spec.target, Overrides{DatastorePath: "transient"})
		cfg.WrapTransport = cnt.wrap
		out, err := Deploy(ctx, dir, cfg, deployOpts())
		if err != nil {
			t.Fatal(err)
		}
		if out.Retried != 1 || out.Uploads != 11 {
			t.Fatalf("retried=%d uploads=%d", out.Retried, out.Uploads)
		}
		checkDatastore(t, s, dir, "transient")
	})

	t.Run("outage", func(t *testing.T) {
		// PUT 1 writes the lock's owner file; 2-4 the first batch, 5
		// the state file; 6 and later fail.
		cnt := &counter{failPut: 6}
		cfg := s.config(t, spec.target, Overrides{DatastorePath: "outage"})
		cfg.WrapTransport = cnt.wrap
		opts := deployOpts()
		opts.Parallel = 1
		opts.Retries = 2
		out, err := Deploy(ctx, dir, cfg, opts)
		if err == nil || !strings.Contains(err.Error(), "injected") {
			t.Fatalf("outage: %v", err)
		}
		var ve *VCenterError
		if !errors.As(err, &ve) {
			t.Fatalf("outage error is %T, want *VCenterError", err)
		}
		if out.Retried != 2 {
			t.Errorf("retried=%d, want 2", out.Retried)
		}
		first := out.Uploads
		if first == 0 || first >= 11 {
			t.Fatalf("failed run uploaded %d files", first)
		}

		cfg.WrapTransport = nil
		out, err = Deploy(ctx, dir, cfg, deployOpts())
		if err != nil {
			t.Fatal(err)
		}
		if out.Uploads+first != 11 {
			t.Errorf("resume uploaded %d after %d, want %d", out.Uploads, first, 11-first)
		}
		checkDatastore(t, s, dir, "outage")
		out, err = Deploy(ctx, dir, cfg, deployOpts())
		if err != nil || !out.NoChanges {
			t.Fatalf("after resume: %v %+v", err, out)
		}
	})
}

// vCenter failing a template import (a dropped NFC or library upload)
// leaves no half-imported VM or library item; the next run completes.
func TestDeployImportFailureLeavesNothing(t *testing.T) {
	for _, mode := range []string{"library", "folder"} {
		t.Run(mode, func(t *testing.T) {
			ctx := ctxT(t)
			s := newSim(t)
			spec := baseSpec("2015.03.1")
			if mode == "folder" {
				spec.target.Library = ""
			}
			dir := spec.write(t, t.TempDir())
			cnt := &counter{failPath: ".vmdk"}
			if mode == "folder" {
				cnt.failPath = "/nfc/"
			}
			cfg := s.config(t, spec.target, Overrides{})
			cfg.WrapTransport = cnt.wrap
			opts := deployOpts()
			opts.Retries = -1
			_, err := Deploy(ctx, dir, cfg, opts)
			if err == nil || !strings.Contains(err.Error(), "importing template mesos-node") {
				t.Fatalf("import failure: %v", err)
			}
			if mode == "library" {
				checkLibrary(t, s, cfg, "bundles", map[string]string{})
			} else {
				if vms := vmsIn(t, cfg, "/DC0/vm"); hasPrefix(vms, "mesos-node") {
					t.Fatalf("half-imported VM left: %v", keys(vms))
				}
			}
			cfg.WrapTransport = nil
			out, err := Deploy(ctx, dir, cfg, deployOpts())
			if err != nil {
				t.Fatal(err)
			}
			if got := itemLines(out.Done, false); strings.Join(got, ",") != "template mesos-node create" {
				t.Fatalf("resume did %v", got)
			}
			if mode == "library" {
				checkLibrary(t, s, cfg, "bundles", map[string]string{"mesos-node": "mesos-site 2015.03.1"})
			} else if vms := vmsIn(t, cfg, "/DC0/vm"); !hasKey(vms, "mesos-node") || hasPrefix(vms, "mesos-node.bundle-") {
				t.Fatalf("after resume: %v", keys(vms))
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return sortStrings(out)
}

func hasKey[V any](m map[string]V, k string) bool { _, ok := m[k]; return ok }

func hasPrefix[V any](m map[string]V, p string) bool {
	for k := range m {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

func TestDeployBadConfig(t *testing.T) {
	ctx := ctxT(t)
	s := newSim(t)
	spec := baseSpec("2015.03.1")
	dir := spec.write(t, t.TempDir())

	t.Run("wrong credentials", func(t *testing.T) {
		env := map[string]string{}
		for k, v := range s.env {
			env[k] = v
		}
		env["GOVC_PASSWORD"] = "not-the-Password-42"
		cfg, err := ResolveTarget(spec.target, func(k string) string { return env[k] }, Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Deploy(ctx, dir, cfg, deployOpts())
		var ve *VCenterError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), `logging in to vCenter`) || !strings.Contains(err.Error(), "Login failure") {
			t.Fatalf("wrong credentials: %v", err)
		}
		if strings.Contains(err.Error(), "not-the-Password-42") || strings.Contains(err.Error(), simPassword) {
			t.Fatalf("error shows a password: %v", err)
		}
	})

	for _, tc := range []struct {
		name string
		o    Overrides
		want string
	}{
		{"missing datastore", Overrides{Datastore: "vsanDatastore"}, `finding datastore "vsanDatastore"`},
		{"missing datacenter", Overrides{Datacenter: "DC1"}, `finding datacenter "DC1"`},
		{"missing resource pool", Overrides{ResourcePool: "nope/Resources"}, `finding resource pool "nope/Resources"`},
		{"missing network", Overrides{Network: "Storage Network"}, `finding network "Storage Network"`},
		{"missing management server", Overrides{ManagementServer: "bde-server"}, `finding management server VM "bde-server"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := s.config(t, spec.target, tc.o)
			_, err := Deploy(ctx, dir, cfg, deployOpts())
			var ve *VCenterError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a vCenter error with %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(s.dsDir(t), "bundles")); !os.IsNotExist(err) {
		t.Fatalf("a failed plan touched the datastore: %v", err)
	}

	t.Run("missing library is created", func(t *testing.T) {
		cfg := s.config(t, spec.target, Overrides{Library: "site-templates"})
		out, err := Deploy(ctx, dir, cfg, Options{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := itemLines(out.Plan.Items, true); !slices.Contains(got, "library site-templates create") {
			t.Fatalf("plan %v", got)
		}
	})
}

func TestDeployTamperedBundle(t *testing.T) {
	ctx := ctxT(t)
	s := newSim(t)
	spec := baseSpec("2015.03.1")
	dir := spec.write(t, t.TempDir())
	cfg := s.config(t, spec.target, Overrides{})
	p := filepath.Join(dir, "serengeti/www/yum/mesos.repo")
	if err := os.WriteFile(p, []byte("[mesos]\nbaseurl=http://evil.example/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Deploy(ctx, dir, cfg, deployOpts())
	var ve *manifest.VerifyError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), `"serengeti/www/yum/mesos.repo"`) {
		t.Fatalf("tampered bundle: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.dsDir(t), "bundles")); !os.IsNotExist(err) {
		t.Fatalf("a tampered bundle touched the datastore: %v", err)
	}
	// A custom verifier is honoured, and its error is a verification error.
	_, err = Deploy(ctx, dir, cfg, Options{}, caller{verify: func(context.Context, string) (string, error) { return "", errors.New("bad signature") }})
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "bad signature") {
		t.Fatalf("custom verify: %v", err)
	}
	// A bundle the caller verified is deployed as given: Verify is not
	// called and bundle.json is not read again.
	b, err := LoadBundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	called := false
	dry, err := Deploy(ctx, dir, cfg, Options{DryRun: true}, caller{bundle: b, verify: func(context.Context, string) (string, error) {
		called = true
		return "", errors.New("not to be called")
	}})
	if err != nil || called || dry.Bundle != b.Name {
		t.Fatalf("deploy of a verified bundle: called Verify %v, %+v, %v", called, dry, err)
	}
}

// The simulator runs guest operations only in container-backed VMs; on a
// plain VM it answers GuestOperationsUnavailable. The deploy reports that
// clearly, keeps what it finished, and retries only the guest copy.
func TestDeployManagementServerGuestOps(t *testing.T) {
	ctx := ctxT(t)
	s := newSim(t)
	spec := baseSpec("2015.03.1")
	spec.templates = nil
	spec.target.ManagementServer = "DC0_H0_VM0"
	spec.files["serengeti/chef/cookbooks/bundle_mesos_site/metadata.rb"] = []byte("name \"bundle_mesos_site\"\n")
	spec.files["serengeti/chef/cookbooks/bundle_mesos_site/recipes/haproxy.rb"] = []byte("package 'haproxy'\n")
	spec.files["serengeti/chef/roles/bundle_mesos_site_haproxy.json"] = []byte("{}\n")
	spec.files["serengeti/chef/roles/bundle_mesos_site_before_mesos.json"] = []byte("{}\n")
	dir := spec.write(t, t.TempDir())
	s.env["BUNDLE_GUEST_USERNAME"] = "serengeti"
	s.env["BUNDLE_GUEST_PASSWORD"] = "guest-pw-123"
	cfg := s.config(t, spec.target, Overrides{})
	out, err := Deploy(ctx, dir, cfg, deployOpts())
	if err == nil || !strings.Contains(err.Error(), "management server DC0_H0_VM0") || !strings.Contains(err.Error(), "VMware Tools") {
		t.Fatalf("guest ops: %v", err)
	}
	if out.Uploads != 15 {
		t.Fatalf("uploads=%d", out.Uploads)
	}
	dry, err := Deploy(ctx, dir, cfg, Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := itemLines(dry.Plan.Items, true); strings.Join(got, ",") != "guest serengeti/ update" {
		t.Fatalf("after a failed guest copy the plan is %v", got)
	}
	// The plan lists the guest's commands: exactly the bundle's cookbook,
	// from the unpacked tree, and its role files by name.
	var steps []string
	for _, it := range dry.Plan.Items {
		if it.Kind == KindGuest {
			steps = it.Steps
		}
	}
	want := []string{
		"/bin/tar -xzf /tmp/bundle-mesos-site-2015.03.1.tar.gz -C /opt/serengeti --strip-components=1",
		"/usr/bin/knife cookbook upload bundle_mesos_site -o /opt/serengeti/chef/cookbooks",
		"/usr/bin/knife role from file /opt/serengeti/chef/roles/bundle_mesos_site_before_mesos.json /opt/serengeti/chef/roles/bundle_mesos_site_haproxy.json",
		"/sbin/service tomcat restart",
		"/bin/rm -f /tmp/bundle-mesos-site-2015.03.1.tar.gz",
	}
	if !slices.Equal(steps, want) {
		t.Fatalf("guest steps:\n%s\nwant:\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}
	var b strings.Builder
	if err := dry.Plan.Write(&b, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "then: /usr/bin/knife cookbook upload bundle_mesos_site -o /opt/serengeti/chef/cookbooks\n") {
		t.Fatalf("the printed plan does not list the knife upload:\n%s", b.String())
	}
}

// A bundle whose cookbook or role file names would not survive the guest's
// command line is refused before anything is copied.
func TestGuestCommandsRefuseOddNames(t *testing.T) {
	for _, path := range []string{
		"serengeti/chef/cookbooks/bad name/metadata.rb",
		"serengeti/chef/cookbooks/x;rm -rf/metadata.rb",
		"serengeti/chef/roles/-o.json",
		"serengeti/chef/roles/a$(id).json",
	} {
		b := &Bundle{Manifest: &manifest.Manifest{Name: "s", Version: "1", Files: []File{{Path: path}}}}
		if _, err := GuestCommands(b, "/tmp/a.tar.gz"); err == nil {
			t.Errorf("%s: accepted", path)
		}
	}
	b := &Bundle{Manifest: &manifest.Manifest{Name: "s", Version: "1", Files: []File{{Path: "serengeti/www/specs/map"}}}}
	cmds, err := GuestCommands(b, "/tmp/a.tar.gz")
	if err != nil || len(cmds) != 3 {
		t.Fatalf("a bundle without Chef content: %v %v", cmds, err)
	}
}

func TestDeployImagesHook(t *testing.T) {
	ctx := ctxT(t)
	s := newSim(t)
	spec := baseSpec("2015.03.1")
	spec.templates = nil
	spec.target.Registry = "registry.site.local:5000"
	spec.files["images/index.json"] = []byte(`{"schemaVersion":2,"manifests":[]}`)
	spec.files["images/oci-layout"] = []byte(`{"imageLayoutVersion":"1.0.0"}`)
	dir := spec.write(t, t.TempDir())
	// bundle.json images[] must name an image for the push to be planned.
	b, _ := os.ReadFile(filepath.Join(dir, "bundle.json"))
	b = []byte(strings.Replace(string(b), `"images": []`, `"images": [{"name":"nginx","ref":"nginx:1.7.9","repository":"library/nginx","digest":"sha256:`+strings.Repeat("a", 64)+`","platforms":["linux/amd64"]}]`, 1))
	if err := os.WriteFile(filepath.Join(dir, "bundle.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := s.config(t, spec.target, Overrides{})
	var pushes []string
	opts := deployOpts()
	push := caller{push: func(_ context.Context, layout, registry string) (ImagesPushed, error) {
		if _, err := os.Stat(filepath.Join(layout, "oci-layout")); err != nil {
			return ImagesPushed{}, err
		}
		pushes = append(pushes, registry)
		return ImagesPushed{Images: 1, Bytes: 42}, nil
	}}
	first, err := Deploy(ctx, dir, cfg, opts, push)
	if err != nil {
		t.Fatal(err)
	}
	if first.Registry != "registry.site.local:5000" || first.Pushed == nil || first.Pushed.Images != 1 || first.Pushed.Bytes != 42 || first.Failed != "" {
		t.Fatalf("outcome of the push: registry %q pushed %+v failed %q", first.Registry, first.Pushed, first.Failed)
	}
	out, err := Deploy(ctx, dir, cfg, opts, push)
	if err != nil || !out.NoChanges {
		t.Fatalf("re-deploy: %v", err)
	}
	if len(pushes) != 1 || pushes[0] != "registry.site.local:5000" {
		t.Fatalf("pushes %v", pushes)
	}
	// Without a push hook, a registry target is a clear error.
	cfg2 := s.config(t, spec.target, Overrides{Registry: "other.local:5000"})
	_, err = Deploy(ctx, dir, cfg2, deployOpts())
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("no push hook: %v", err)
	}
}
