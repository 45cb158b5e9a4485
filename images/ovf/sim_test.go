package ovf_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/ovf/importer"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
	_ "github.com/vmware/govmomi/vapi/simulator"
	"github.com/vmware/govmomi/vapi/vcenter"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/bdebundle/bundle/images/ovf"
	"github.com/bdebundle/bundle/internal/vmtemplate"
)

type simEnv struct {
	c      *govmomi.Client
	finder *find.Finder
	dc     *object.Datacenter
	ds     *object.Datastore
	pool   *object.ResourcePool
	folder *object.Folder
	srv    *simulator.Server
}

func newSim(t *testing.T) *simEnv {
	t.Helper()
	ctx := context.Background()
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Remove)
	m.Service.RegisterEndpoints = true
	srv := m.Service.NewServer()
	t.Cleanup(srv.Close)
	c, err := govmomi.NewClient(ctx, srv.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	e := &simEnv{c: c, srv: srv, finder: find.NewFinder(c.Client)}
	if e.dc, err = e.finder.DefaultDatacenter(ctx); err != nil {
		t.Fatal(err)
	}
	e.finder.SetDatacenter(e.dc)
	if e.ds, err = e.finder.DefaultDatastore(ctx); err != nil {
		t.Fatal(err)
	}
	if e.pool, err = e.finder.ResourcePool(ctx, "DC0_C0/Resources"); err != nil {
		t.Fatal(err)
	}
	folders, err := e.dc.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.folder = folders.VmFolder
	return e
}

func (e *simEnv) importer(a importer.Archive) *importer.Importer {
	return &importer.Importer{
		Client: e.c.Client, Finder: e.finder, Datacenter: e.dc, Datastore: e.ds,
		ResourcePool: e.pool, Folder: e.folder, Archive: a, VerifyManifest: true,
		Log: func(string) (int, error) { return 0, nil },
	}
}

// simTemplate is imported into the simulator. Every disk has a file: the
// simulator's CreateImportSpec dereferences ovf:fileRef without a nil check.
func simTemplate(t *testing.T) ovf.Template {
	src := t.TempDir()
	return ovf.Template{
		Name: "mesos-agent", GuestOS: "centos64Guest", CPUs: 4, MemoryMB: 8192,
		Disks: []ovf.Disk{{Path: demoDisk(t, src, "boot.vmdk", 64)}, {Path: demoDisk(t, src, "data.vmdk", 32), CapacityMB: 100}},
		NICs:  []ovf.NIC{{Network: "VM Network"}, {Network: "DC0_DVPG0", Adapter: "E1000"}},
		Properties: []ovf.Property{
			{Key: "role", Default: "mesos_slave", UserConfigurable: true, Label: "Role"},
			{Key: "attributes", Default: "rack:r1", UserConfigurable: true},
			{Key: "secret", Password: true, UserConfigurable: true},
		},
		Product: "mesos-site", Vendor: "MESOS", Version: "0.22.0",
	}
}

func TestSimulatorImport(t *testing.T) {
	ctx := context.Background()
	e := newSim(t)
	tpl := simTemplate(t)
	dir := filepath.Join(t.TempDir(), tpl.Name)
	if _, err := ovf.Write(ctx, dir, tpl, ovf.Options{ManifestHash: "SHA1"}); err != nil {
		t.Fatal(err)
	}
	ovaPath := filepath.Join(t.TempDir(), tpl.Name+".ova")
	f, err := os.Create(ovaPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := ovf.WriteOVA(ctx, f, dir, tpl.Name, 1426032000); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	netmap := []importer.Network{{Name: "VM Network", Network: "VM Network"}, {Name: "DC0_DVPG0", Network: "DC0_DVPG0"}}
	ovfPath := filepath.Join(dir, tpl.Name+".ovf")
	for _, tc := range []struct {
		name    string
		archive importer.Archive
		path    string
	}{
		{"ovf", &importer.FileArchive{Path: ovfPath, Opener: importer.Opener{Client: e.c.Client}}, ovfPath},
		{"ova", &importer.TapeArchive{Path: ovaPath, Opener: importer.Opener{Client: e.c.Client}}, "*.ovf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vmName := "vm-from-" + tc.name
			ref, err := e.importer(tc.archive).Import(ctx, tc.path, importer.Options{
				Name: &vmName, DiskProvisioning: "thin", NetworkMapping: netmap,
				PropertyMapping: []importer.Property{{KeyValue: importer.KeyValue{Key: "role", Value: "mesos_master"}}},
			})
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			checkVM(t, e, *ref, tpl, map[string]string{"role": "mesos_master"})
		})
	}
}

// checkVM asserts the imported VM has the template's hardware and vApp
// properties.
func checkVM(t *testing.T, e *simEnv, ref types.ManagedObjectReference, tpl ovf.Template, values map[string]string) {
	t.Helper()
	var vm mo.VirtualMachine
	if err := e.c.PropertyCollector().RetrieveOne(context.Background(), ref, []string{"config"}, &vm); err != nil {
		t.Fatal(err)
	}
	cfg := vm.Config
	if int(cfg.Hardware.NumCPU) != tpl.CPUs || int(cfg.Hardware.MemoryMB) != tpl.MemoryMB || cfg.GuestId != tpl.GuestOS {
		t.Errorf("VM has %d CPUs, %d MB, guest %q", cfg.Hardware.NumCPU, cfg.Hardware.MemoryMB, cfg.GuestId)
	}
	devs := object.VirtualDeviceList(cfg.Hardware.Device)
	disks := devs.SelectByType((*types.VirtualDisk)(nil))
	if len(disks) != len(tpl.Disks) {
		t.Errorf("%d disks, want %d", len(disks), len(tpl.Disks))
	}
	var caps []int64
	for _, d := range disks {
		caps = append(caps, d.(*types.VirtualDisk).CapacityInKB)
	}
	sort.Slice(caps, func(i, j int) bool { return caps[i] < caps[j] })
	if len(caps) == 2 && (caps[0] != 64<<10 || caps[1] != 100<<10) {
		t.Errorf("disk capacities %v KB, want [65536 102400]", caps)
	}
	nics := devs.SelectByType((*types.VirtualEthernetCard)(nil))
	if len(nics) != len(tpl.NICs) {
		t.Errorf("%d NICs, want %d", len(nics), len(tpl.NICs))
	}
	var kinds []string
	for _, n := range nics {
		kinds = append(kinds, fmt.Sprintf("%T", n))
	}
	sort.Strings(kinds)
	if strings.Join(kinds, ",") != "*types.VirtualE1000,*types.VirtualVmxnet3" {
		t.Errorf("NIC types %v", kinds)
	}
	if cfg.VAppConfig == nil {
		t.Fatal("VM has no vApp config")
	}
	got := map[string]types.VAppPropertyInfo{}
	for _, p := range cfg.VAppConfig.GetVmConfigInfo().Property {
		got[p.Id] = p
	}
	if len(got) != len(tpl.Properties) {
		t.Errorf("vApp properties %v, want %d", got, len(tpl.Properties))
	}
	for _, p := range tpl.Properties {
		g, ok := got[p.Key]
		if !ok {
			t.Errorf("vApp property %q missing", p.Key)
			continue
		}
		if g.DefaultValue != p.Default || g.Type != "string" || g.UserConfigurable == nil || *g.UserConfigurable != p.UserConfigurable {
			t.Errorf("vApp property %q = %+v", p.Key, g)
		}
		if v, ok := values[p.Key]; ok && g.Value != v {
			t.Errorf("vApp property %q value %q, want %q", p.Key, g.Value, v)
		}
	}
}

func TestSimulatorNetworks(t *testing.T) {
	ctx := context.Background()
	e := newSim(t)
	nets, err := e.finder.NetworkList(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	var known []string
	for _, n := range nets {
		known = append(known, path.Base(n.GetInventoryPath()))
	}
	tpl := ovf.Template{Name: "n", NICs: []ovf.NIC{{Network: "VM Network"}, {Network: "DC0_DVPG0"}}}
	if err := vmtemplate.CheckNetworks(tpl, known); err != nil {
		t.Errorf("networks of the simulator %v: %v", known, err)
	}
	tpl.NICs = append(tpl.NICs, ovf.NIC{Network: "storage-net"})
	if err := vmtemplate.CheckNetworks(tpl, known); err == nil || !strings.Contains(err.Error(), "storage-net") {
		t.Errorf("unknown network: %v", err)
	}
}

func TestSimulatorContentLibrary(t *testing.T) {
	ctx := context.Background()
	e := newSim(t)
	tpl := simTemplate(t)
	dir := filepath.Join(t.TempDir(), tpl.Name)
	res, err := ovf.Write(ctx, dir, tpl, ovf.Options{})
	if err != nil {
		t.Fatal(err)
	}

	rc := rest.NewClient(e.c.Client)
	if err := rc.Login(ctx, e.srv.URL.User); err != nil {
		t.Fatal(err)
	}
	lm := library.NewManager(rc)
	libID, err := lm.CreateLibrary(ctx, library.Library{
		Name: "bundles", Type: "LOCAL",
		Storage: []library.StorageBacking{{DatastoreID: e.ds.Reference().Value, Type: "DATASTORE"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	itemID, err := lm.CreateLibraryItem(ctx, library.Item{Name: tpl.Name, Type: library.ItemTypeOVF, LibraryID: libID})
	if err != nil {
		t.Fatal(err)
	}
	session, err := lm.CreateLibraryItemUpdateSession(ctx, library.Session{LibraryItemID: itemID})
	if err != nil {
		t.Fatal(err)
	}
	// The manifest's SHA256 digests go along; the library checks them.
	for _, f := range res.Files {
		up, err := lm.AddLibraryItemFile(ctx, session, library.UpdateFile{
			Name: f.Name, SourceType: "PUSH", Size: f.Size,
			Checksum: &library.Checksum{Algorithm: res.ManifestHash, Checksum: f.Digest},
		})
		if err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(up.UploadEndpoint.URI)
		if err != nil {
			t.Fatal(err)
		}
		p := soap.DefaultUpload
		p.ContentLength = f.Size
		err = rc.Upload(ctx, fh, u, &p)
		fh.Close()
		if err != nil {
			t.Fatalf("uploading %s: %v", f.Name, err)
		}
	}
	if err := lm.CompleteLibraryItemUpdateSession(ctx, session); err != nil {
		t.Fatal(err)
	}
	files, err := lm.ListLibraryItemFiles(ctx, itemID)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(res.Files) {
		t.Fatalf("library item has %d files, want %d", len(files), len(res.Files))
	}
	for _, f := range files {
		if f.Cached == nil || !*f.Cached {
			t.Errorf("library file %s not cached", f.Name)
		}
	}

	ref, err := vcenter.NewManager(rc).DeployLibraryItem(ctx, itemID, vcenter.Deploy{
		DeploymentSpec: vcenter.DeploymentSpec{
			Name: "node-from-library", DefaultDatastoreID: e.ds.Reference().Value, AcceptAllEULA: true,
			AdditionalParams: []vcenter.AdditionalParams{{
				Class: vcenter.ClassPropertyParams, Type: vcenter.TypePropertyParams,
				Properties: []vcenter.Property{{ID: "role", Value: "zookeeper"}},
			}},
		},
		Target: vcenter.Target{ResourcePoolID: e.pool.Reference().Value, FolderID: e.folder.Reference().Value},
	})
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	checkVM(t, e, *ref, tpl, map[string]string{"role": "zookeeper"})
}

// TestSimulatorDerived writes a template with two derived templates beside
// it: each has its own .ovf and .mf over the shared disk files, verifies,
// and imports with its own property defaults.
func TestSimulatorDerived(t *testing.T) {
	ctx := context.Background()
	e := newSim(t)
	tpl := simTemplate(t)
	fast, err := tpl.Derive("mesos-agent-fast", map[string]string{"role": "mesos_slave,mesos_docker", "attributes": "rack:r1;storage_profile:vsan"})
	if err != nil {
		t.Fatal(err)
	}
	bulk, err := tpl.Derive("mesos-agent-bulk", map[string]string{"attributes": "rack:r2;storage_profile:vmax"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), tpl.Name)
	res, err := ovf.Write(ctx, dir, tpl, ovf.Options{ManifestHash: "SHA1", Derived: []ovf.Template{fast, bulk}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Derived, []string{"mesos-agent-fast", "mesos-agent-bulk"}) {
		t.Errorf("Derived = %v", res.Derived)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	want := []string{"mesos-agent-bulk.mf", "mesos-agent-bulk.ovf", "mesos-agent-disk1.vmdk", "mesos-agent-disk2.vmdk",
		"mesos-agent-fast.mf", "mesos-agent-fast.ovf", "mesos-agent.mf", "mesos-agent.ovf"}
	if !slices.Equal(names, want) {
		t.Errorf("files %v, want %v (disks once)", names, want)
	}
	netmap := []importer.Network{{Name: "VM Network", Network: "VM Network"}, {Name: "DC0_DVPG0", Network: "DC0_DVPG0"}}
	for _, d := range []ovf.Template{tpl, fast, bulk} {
		if err := ovf.VerifyManifest(dir, d.Name); err != nil {
			t.Errorf("VerifyManifest %s: %v", d.Name, err)
		}
		checkWithGovmomi(t, dir, d)
		ovfPath := filepath.Join(dir, d.Name+".ovf")
		vmName := "vm-" + d.Name
		ref, err := e.importer(&importer.FileArchive{Path: ovfPath, Opener: importer.Opener{Client: e.c.Client}}).Import(ctx, ovfPath,
			importer.Options{Name: &vmName, DiskProvisioning: "thin", NetworkMapping: netmap})
		if err != nil {
			t.Fatalf("import %s: %v", d.Name, err)
		}
		checkVM(t, e, *ref, d, nil)
	}

	// A derived template's manifest covers its own descriptor.
	desc := filepath.Join(dir, "mesos-agent-fast.ovf")
	b, err := os.ReadFile(desc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(desc, bytes.Replace(b, []byte("rack:r1"), []byte("rack:r9"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ovf.VerifyManifest(dir, "mesos-agent-fast"); err == nil || !strings.Contains(err.Error(), "mesos-agent-fast.ovf") {
		t.Errorf("VerifyManifest after editing the derived descriptor: %v", err)
	}
	if err := ovf.VerifyManifest(dir, "mesos-agent-bulk"); err != nil {
		t.Errorf("VerifyManifest of the untouched sibling: %v", err)
	}
}

func TestWriteDerivedBad(t *testing.T) {
	tpl := simTemplate(t)
	other := tpl
	other.Disks = tpl.Disks[:1]
	cases := []struct {
		name    string
		derived []ovf.Template
		want    string
	}{
		{"other disks", []ovf.Template{func() ovf.Template { d, _ := other.Derive("x", nil); return d }()}, "other disks"},
		{"same name as the base", []ovf.Template{func() ovf.Template { d, _ := tpl.Derive(tpl.Name, nil); return d }()}, "used twice"},
		{"name twice", []ovf.Template{func() ovf.Template { d, _ := tpl.Derive("y", nil); return d }(), func() ovf.Template { d, _ := tpl.Derive("y", nil); return d }()}, "used twice"},
		{"bad name", []ovf.Template{func() ovf.Template { d, _ := tpl.Derive("../y", nil); return d }()}, "invalid derived template name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tpl.Name)
			_, err := ovf.Write(context.Background(), dir, tpl, ovf.Options{Derived: tc.derived})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("%s exists after a failed write", dir)
			}
		})
	}
}
