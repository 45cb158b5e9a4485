package ovf_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	govf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/ovf/importer"

	"github.com/bdebundle/bundle/images/ovf"
	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/internal/vmtemplate"
)

var update = flag.Bool("update", false, "rewrite golden files")

// demoDisk writes a deterministic stream-optimized disk into dir.
func demoDisk(t testing.TB, dir, name string, mb int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := demoinputs.Disk(p, mb); err != nil {
		t.Fatal(err)
	}
	return p
}

// templates are the golden cases; src is a directory holding their disks.
func templates(t testing.TB, src string) map[string]ovf.Template {
	boot := demoDisk(t, src, "centos-6.6.vmdk", 64)
	data := demoDisk(t, src, "data.vmdk", 32)
	return map[string]ovf.Template{
		"minimal": {
			Name: "mesos-node", GuestOS: "centos64Guest", CPUs: 2, MemoryMB: 4096,
			Disks: []ovf.Disk{{Path: boot}},
			NICs:  []ovf.NIC{{Network: "VM Network"}},
		},
		"full": {
			Name: "mesos-master", GuestOS: "rhel6_64Guest", CPUs: 4, MemoryMB: 8192,
			Firmware: "efi", HardwareVersion: "vmx-11",
			Disks: []ovf.Disk{{Path: boot, CapacityMB: 128}, {Path: data}, {CapacityMB: 20480}},
			NICs:  []ovf.NIC{{Network: "VM Network"}, {Network: "DC0_DVPG0", Adapter: "e1000"}},
			Properties: []ovf.Property{
				{Key: "role", Default: "mesos_master", Label: "Role", Description: "BDE role of the node", UserConfigurable: true},
				{Key: "zk_count", Type: "int", Default: "3", UserConfigurable: true},
				{Key: "docker", Type: "boolean", Default: "True", UserConfigurable: true},
				{Key: "cpu_share", Type: "real", Default: "0.5"},
				{Key: "stats_password", Password: true, UserConfigurable: true, Label: "HAProxy stats <password> & \"auth\""},
				{Key: "hostname", Class: "guestinfo", UserConfigurable: true},
			},
			Annotation: "Mesos master for site <dc1> & friends",
			Product:    "mesos-site", Vendor: "MESOS", Version: "0.22.0",
		},
	}
}

func TestGolden(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	cases := templates(t, src)
	for name, tpl := range cases {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "ovf", tpl.Name)
			var c progress.Counter
			res, err := ovf.Write(ctx, out, tpl, ovf.Options{Progress: reporter{&c}})
			if err != nil {
				t.Fatal(err)
			}
			if c.N.Load() == 0 || c.Errs.Load() != 0 {
				t.Errorf("progress: %d bytes, %d errors", c.N.Load(), c.Errs.Load())
			}
			for _, f := range []string{res.OVF, res.Manifest} {
				got, err := os.ReadFile(filepath.Join(out, f))
				if err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", name+filepath.Ext(f))
				if *update {
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from %s (run go test -update and review the diff)", f, golden)
				}
			}
			if err := ovf.VerifyManifest(out, tpl.Name); err != nil {
				t.Error(err)
			}

			// Same input, same bytes; Link gives the same bytes too.
			again := filepath.Join(t.TempDir(), tpl.Name)
			if _, err := ovf.Write(ctx, again, tpl, ovf.Options{Link: true}); err != nil {
				t.Fatal(err)
			}
			assertSameTree(t, out, again)
			srcInfo, _ := os.Stat(tpl.Disks[0].Path)
			linked, _ := os.Stat(filepath.Join(again, ovf.DiskFileName(tpl.Name, 0)))
			copied, _ := os.Stat(filepath.Join(out, ovf.DiskFileName(tpl.Name, 0)))
			if !os.SameFile(srcInfo, linked) || os.SameFile(srcInfo, copied) {
				t.Error("Link did not hard-link the disk, or a copy is a link")
			}

			checkWithGovmomi(t, out, tpl)
		})
	}
}

type reporter struct{ c *progress.Counter }

func (r reporter) Start(string, int64) progress.Task { return r.c }

func assertSameTree(t *testing.T, a, b string) {
	t.Helper()
	ea, _ := os.ReadDir(a)
	eb, _ := os.ReadDir(b)
	if len(ea) != len(eb) {
		t.Fatalf("%d files vs %d", len(ea), len(eb))
	}
	for i := range ea {
		if ea[i].Name() != eb[i].Name() {
			t.Fatalf("file %q vs %q", ea[i].Name(), eb[i].Name())
		}
		da, _ := os.ReadFile(filepath.Join(a, ea[i].Name()))
		db, _ := os.ReadFile(filepath.Join(b, eb[i].Name()))
		if !bytes.Equal(da, db) {
			t.Errorf("%s differs between two writes", ea[i].Name())
		}
	}
}

// checkWithGovmomi parses the descriptor with govmomi and asks importer.Spec
// for the import options, as govc import.spec does.
func checkWithGovmomi(t *testing.T, dir string, tpl ovf.Template) {
	t.Helper()
	path := filepath.Join(dir, tpl.Name+".ovf")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env, err := govf.Unmarshal(f)
	if err != nil {
		t.Fatalf("govmomi ovf.Unmarshal: %v", err)
	}
	vs := env.VirtualSystem
	if vs == nil || vs.ID != tpl.Name || vs.OperatingSystem == nil || *vs.OperatingSystem.OSType != tpl.GuestOS {
		t.Fatalf("virtual system %+v", vs)
	}
	if len(env.Disk.Disks) != len(tpl.Disks) {
		t.Errorf("%d disks, want %d", len(env.Disk.Disks), len(tpl.Disks))
	}
	var files int
	for i, d := range tpl.Disks {
		got := env.Disk.Disks[i]
		if d.Path == "" {
			if got.FileRef != nil {
				t.Errorf("empty disk %d has fileRef %q", i+1, *got.FileRef)
			}
		} else {
			files++
			if got.FileRef == nil || *got.FileRef != env.References[files-1].ID {
				t.Errorf("disk %d fileRef %v", i+1, got.FileRef)
			}
			if got.PopulatedSize == nil || *got.PopulatedSize == 0 {
				t.Errorf("disk %d has no populatedSize", i+1)
			}
		}
	}
	if len(env.References) != files {
		t.Errorf("%d references, want %d", len(env.References), files)
	}
	counts := map[int]int{}
	hw := vs.VirtualHardware[0]
	for _, it := range hw.Item {
		counts[int(*it.ResourceType)]++
		switch *it.ResourceType {
		case 3:
			if int(*it.VirtualQuantity) != tpl.CPUs {
				t.Errorf("CPUs %d", *it.VirtualQuantity)
			}
		case 4:
			if int(*it.VirtualQuantity) != tpl.MemoryMB {
				t.Errorf("memory %d", *it.VirtualQuantity)
			}
		}
	}
	if counts[17] != len(tpl.Disks) || counts[10] != len(tpl.NICs) || counts[6] != 1 {
		t.Errorf("hardware item counts %v", counts)
	}
	fw := "bios"
	if tpl.Firmware != "" {
		fw = tpl.Firmware
	}
	if len(hw.Config) != 1 || hw.Config[0].Key != "firmware" || hw.Config[0].Value != fw {
		t.Errorf("vmw:Config %+v", hw.Config)
	}

	opts, err := importer.Spec(path, &importer.FileArchive{Path: path}, false, false)
	if err != nil {
		t.Fatalf("importer.Spec: %v", err)
	}
	var configurable []string
	for _, p := range tpl.Properties {
		if p.UserConfigurable {
			configurable = append(configurable, p.FullKey())
		}
	}
	var got []string
	for _, p := range opts.PropertyMapping {
		got = append(got, p.Key)
	}
	if strings.Join(got, ",") != strings.Join(configurable, ",") {
		t.Errorf("importer.Spec properties %v, want %v", got, configurable)
	}
	if opts.Annotation != tpl.Annotation {
		t.Errorf("annotation %q, want %q", opts.Annotation, tpl.Annotation)
	}
	nets := map[string]bool{}
	for _, n := range opts.NetworkMapping {
		nets[n.Name] = true
	}
	for _, n := range tpl.NICs {
		if !nets[n.Network] {
			t.Errorf("network %q missing from importer.Spec %v", n.Network, opts.NetworkMapping)
		}
	}
	// Password properties carry ovf:password.
	for _, ps := range vs.Product {
		for _, p := range ps.Property {
			want := false
			for _, tp := range tpl.Properties {
				if tp.Key == p.Key {
					want = tp.Password
				}
			}
			if got := p.Password != nil && *p.Password; got != want {
				t.Errorf("property %q password=%v, want %v", p.Key, got, want)
			}
		}
	}
}

func TestDerive(t *testing.T) {
	base := ovf.Template{Name: "mesos-node", Properties: []ovf.Property{
		{Key: "role"}, {Key: "count", Type: "int"}, {Key: "hostname", Class: "guestinfo"},
	}}
	d, err := base.Derive("mesos-node-fast", map[string]string{"role": "mesos_slave", "count": "5", "guestinfo.hostname": "a"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "mesos-node-fast" || d.Properties[0].Default != "mesos_slave" || d.Properties[1].Default != "5" || d.Properties[2].Default != "a" {
		t.Errorf("derived %+v", d)
	}
	if base.Properties[0].Default != "" {
		t.Error("Derive changed the base template")
	}
	twoClasses := ovf.Template{Name: "t", Properties: []ovf.Property{{Key: "ip", Class: "eth0"}, {Key: "ip", Class: "eth1"}}}
	if _, err := twoClasses.Derive("x", map[string]string{"ip": "10.0.0.1"}); err == nil || !strings.Contains(err.Error(), "eth0.ip, eth1.ip") {
		t.Errorf("a key of two classes: %v", err)
	}
	if d, err := twoClasses.Derive("x", map[string]string{"eth1.ip": "10.0.0.1"}); err != nil || d.Properties[1].Default != "10.0.0.1" || d.Properties[0].Default != "" {
		t.Errorf("class.key: %v %+v", err, d.Properties)
	}
	for _, bad := range []map[string]string{{"nosuch": "x"}, {"count": "many"}} {
		if _, err := base.Derive("x", bad); err == nil {
			t.Errorf("Derive accepted %v", bad)
		}
	}
	_, err = base.Derive("x", map[string]string{"nosuch": "x"})
	if err == nil || !strings.Contains(err.Error(), `unknown property "nosuch"`) {
		t.Errorf("error %v", err)
	}
}

func TestCheckNetworks(t *testing.T) {
	tpl := ovf.Template{Name: "n", NICs: []ovf.NIC{{Network: "VM Network"}, {Network: "storage"}}}
	err := vmtemplate.CheckNetworks(tpl, []string{"VM Network", "DC0_DVPG0"})
	if err == nil || !strings.Contains(err.Error(), `network "storage" is not in the target`) {
		t.Errorf("got %v", err)
	}
	if err := vmtemplate.CheckNetworks(tpl, []string{"storage", "VM Network"}); err != nil {
		t.Error(err)
	}
}
