package ovf_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi/ovf/importer"

	"github.com/bdebundle/bundle/images/ovf"
)

// corrupt writes a modified copy of a demo disk.
func corrupt(t *testing.T, dir, name string, f func([]byte) []byte) string {
	t.Helper()
	src := demoDisk(t, t.TempDir(), "src.vmdk", 64)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, f(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func setCapacity(sectors uint64) func([]byte) []byte {
	return func(b []byte) []byte {
		binary.LittleEndian.PutUint64(b[12:], sectors)
		binary.LittleEndian.PutUint64(b[len(b)-1024+12:], sectors) // the footer
		return b
	}
}

func TestProbeVMDKBad(t *testing.T) {
	dir := t.TempDir()
	monolithic := func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[8:], 1) // flags without compression
		return b
	}
	for _, tc := range []struct {
		name, file string
		data       func([]byte) []byte
		want       string
	}{
		{"missing", "missing.vmdk", nil, "no such file"},
		{"not a vmdk", "iso.vmdk", func([]byte) []byte { return []byte("CD001 this is an ISO image, honestly") }, `not a VMDK: magic "CD00"`},
		{"text descriptor", "desc.vmdk", func([]byte) []byte { return []byte("# Disk DescriptorFile\nversion=1\n") }, "text descriptor"},
		{"empty", "empty.vmdk", func([]byte) []byte { return nil }, "not a VMDK: file too short"},
		{"truncated header", "hdr.vmdk", func(b []byte) []byte { return b[:300] }, "truncated header"},
		{"truncated descriptor", "desc2.vmdk", func(b []byte) []byte { return b[:700] }, "truncated header: the descriptor ends"},
		{"truncated stream", "cut.vmdk", func(b []byte) []byte { return b[:len(b)-2048] }, "truncated: no end-of-stream marker"},
		{"truncated mid-grain", "cut2.vmdk", func(b []byte) []byte { return b[:70000] }, "truncated"},
		{"monolithic sparse", "mono.vmdk", monolithic, "not stream-optimized: header flags"},
		{"other createType", "ct.vmdk", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`createType="streamOptimized"`), []byte(`createType="monolithicSparse"`), 1)
		}, `createType="monolithicSparse"`},
		{"capacity below populated size", "small.vmdk", setCapacity(64), "capacity 32768 bytes < populated size 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.file)
			if tc.data != nil {
				p = corrupt(t, dir, tc.file, tc.data)
			}
			_, err := ovf.ProbeVMDK(p)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name %q and say %q", err, p, tc.want)
			}
		})
	}
}

func TestWriteBad(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	good := demoDisk(t, src, "good.vmdk", 64)
	truncated := corrupt(t, src, "truncated.vmdk", func(b []byte) []byte { return b[:len(b)-600] })
	notVMDK := corrupt(t, src, "readme.vmdk", func([]byte) []byte { return []byte("hello, not a disk\n") })
	base := ovf.Template{Name: "node", CPUs: 1, MemoryMB: 1024, Disks: []ovf.Disk{{Path: good}}, NICs: []ovf.NIC{{Network: "VM Network"}}}
	with := func(f func(*ovf.Template)) ovf.Template {
		t := base
		t.Disks = append([]ovf.Disk(nil), base.Disks...)
		f(&t)
		return t
	}
	for _, tc := range []struct {
		name string
		tpl  ovf.Template
		want []string
	}{
		{"missing disk", with(func(t *ovf.Template) { t.Disks[0].Path = filepath.Join(src, "nope.vmdk") }), []string{"nope.vmdk", "no such file"}},
		{"not a VMDK", with(func(t *ovf.Template) { t.Disks[0].Path = notVMDK }), []string{"readme.vmdk", "not a VMDK"}},
		{"truncated VMDK", with(func(t *ovf.Template) { t.Disks[0].Path = truncated }), []string{"truncated.vmdk", "truncated"}},
		{"duplicate property keys", with(func(t *ovf.Template) {
			t.Properties = []ovf.Property{{Key: "role"}, {Key: "zk"}, {Key: "role", Type: "int"}}
		}), []string{`duplicate property key "role" (properties 1 and 3)`}},
		{"bad property value", with(func(t *ovf.Template) {
			t.Properties = []ovf.Property{{Key: "n", Type: "int", Default: "three"}}
		}), []string{`property "n": default "three" is not an int`}},
		{"zero CPUs and memory", with(func(t *ovf.Template) { t.CPUs, t.MemoryMB = 0, -1 }), []string{"cpu must be between", "memory_mb must be between"}},
		{"bad name", with(func(t *ovf.Template) { t.Name = "../etc" }), []string{"invalid name"}},
		{"bad firmware", with(func(t *ovf.Template) { t.Firmware = "uefi" }), []string{`firmware must be "bios" or "efi"`}},
		{"no disks", with(func(t *ovf.Template) { t.Disks = nil }), []string{"no disks"}},
		{"empty disk without capacity", with(func(t *ovf.Template) { t.Disks = append(t.Disks, ovf.Disk{}) }), []string{"disk 2: an empty disk needs a capacity"}},
		{"disk smaller than its file", with(func(t *ovf.Template) { t.Disks[0].CapacityMB = 10 }), []string{"capacity 10 MB is smaller"}},
		{"unknown adapter", with(func(t *ovf.Template) { t.NICs = []ovf.NIC{{Network: "x", Adapter: "rtl8139"}} }), []string{`unknown adapter "rtl8139"`}},
		{"unknown manifest hash", base, []string{`unknown manifest hash "MD5"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			opts := ovf.Options{}
			if tc.name == "unknown manifest hash" {
				opts.ManifestHash = "md5"
			}
			_, err := ovf.Write(ctx, out, tc.tpl, opts)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if _, serr := os.Stat(out); !os.IsNotExist(serr) {
				t.Errorf("output directory exists after a failed write")
			}
			left, _ := os.ReadDir(filepath.Dir(out))
			if len(left) != 0 {
				t.Errorf("left behind %v", left)
			}
		})
	}
}

func TestWriteKeepsOldOnFailure(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	tpl := ovf.Template{Name: "node", CPUs: 1, MemoryMB: 1024, Disks: []ovf.Disk{{Path: demoDisk(t, src, "a.vmdk", 64)}}}
	out := filepath.Join(t.TempDir(), "node")
	if _, err := ovf.Write(ctx, out, tpl, ovf.Options{}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(out, "node.ovf"))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	tpl.CPUs = 2
	if _, err := ovf.Write(cancelled, out, tpl, ovf.Options{}); err == nil {
		t.Fatal("cancelled write succeeded")
	}
	after, _ := os.ReadFile(filepath.Join(out, "node.ovf"))
	if !bytes.Equal(before, after) {
		t.Error("a failed write changed the existing template")
	}
	// A successful rewrite replaces it.
	if _, err := ovf.Write(ctx, out, tpl, ovf.Options{}); err != nil {
		t.Fatal(err)
	}
	after, _ = os.ReadFile(filepath.Join(out, "node.ovf"))
	if !bytes.Contains(after, []byte("<rasd:VirtualQuantity>2</rasd:VirtualQuantity>")) {
		t.Error("rewrite did not replace the template")
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("siblings left behind: %v", entries)
	}
}

func TestDiskChangedAfterManifest(t *testing.T) {
	ctx := context.Background()
	e := newSim(t)
	tpl := simTemplate(t)
	dir := filepath.Join(t.TempDir(), tpl.Name)
	if _, err := ovf.Write(ctx, dir, tpl, ovf.Options{ManifestHash: "SHA1"}); err != nil {
		t.Fatal(err)
	}
	// Same size, different bytes: flip one byte inside the descriptor padding.
	disk := filepath.Join(dir, ovf.DiskFileName(tpl.Name, 1))
	b, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	b[1000] ^= 0xff
	if err := os.WriteFile(disk, b, 0o644); err != nil {
		t.Fatal(err)
	}
	err = ovf.VerifyManifest(dir, tpl.Name)
	if err == nil || !strings.Contains(err.Error(), disk) || !strings.Contains(err.Error(), "changed after the manifest") {
		t.Errorf("VerifyManifest: %v", err)
	}
	// vSphere's import with manifest verification rejects it too.
	ovfPath := filepath.Join(dir, tpl.Name+".ovf")
	_, err = e.importer(&importer.FileArchive{Path: ovfPath}).Import(ctx, ovfPath, importer.Options{})
	if err == nil || !strings.Contains(err.Error(), "mismatch") {
		t.Errorf("simulator import of a changed disk: %v", err)
	}
	// A missing manifest entry is named as well.
	mf := filepath.Join(dir, tpl.Name+".mf")
	lines, _ := os.ReadFile(mf)
	kept := strings.Join(strings.SplitAfter(string(lines), "\n")[:2], "")
	if err := os.WriteFile(mf, []byte(kept), 0o644); err != nil {
		t.Fatal(err)
	}
	err = ovf.VerifyManifest(dir, tpl.Name)
	if err == nil || !strings.Contains(err.Error(), "is not listed") {
		t.Errorf("VerifyManifest with a missing entry: %v", err)
	}
}

func TestOVA(t *testing.T) {
	ctx := context.Background()
	tpl := simTemplate(t)
	dir := filepath.Join(t.TempDir(), tpl.Name)
	if _, err := ovf.Write(ctx, dir, tpl, ovf.Options{}); err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	for _, w := range []*bytes.Buffer{&a, &b} {
		if err := ovf.WriteOVA(ctx, w, dir, tpl.Name, 1426032000); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two OVAs of the same template differ")
	}
	tr := tar.NewReader(&a)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Format != tar.FormatUSTAR || h.Uid != 0 || h.Gid != 0 || h.Mode != 0o644 || h.ModTime.Unix() != 1426032000 || h.Uname != "" {
			t.Errorf("%s: header %+v", h.Name, h)
		}
		data, _ := io.ReadAll(tr)
		disk, _ := os.ReadFile(filepath.Join(dir, h.Name))
		if !bytes.Equal(data, disk) {
			t.Errorf("%s: content differs from the directory", h.Name)
		}
	}
	want := []string{"mesos-agent.ovf", "mesos-agent.mf", "mesos-agent-disk1.vmdk", "mesos-agent-disk2.vmdk"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("entries %v, want %v", names, want)
	}

	// A disk whose size no longer matches the descriptor is refused.
	disk := filepath.Join(dir, ovf.DiskFileName(tpl.Name, 0))
	f, _ := os.OpenFile(disk, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(make([]byte, 512))
	f.Close()
	err := ovf.WriteOVA(ctx, io.Discard, dir, tpl.Name, 0)
	if err == nil || !strings.Contains(err.Error(), disk) {
		t.Errorf("grown disk: %v", err)
	}
	// A missing directory names the descriptor.
	err = ovf.WriteOVA(ctx, io.Discard, filepath.Join(dir, "nope"), tpl.Name, 0)
	if err == nil || !strings.Contains(err.Error(), "mesos-agent.ovf") {
		t.Errorf("missing dir: %v", err)
	}
}

// TestVerifyManifestBadFiles feeds VerifyManifest broken .mf and .ovf files:
// each is an error naming the file and the problem.
func TestVerifyManifestBadFiles(t *testing.T) {
	tpl := simTemplate(t)
	base := filepath.Join(t.TempDir(), tpl.Name)
	if _, err := ovf.Write(context.Background(), base, tpl, ovf.Options{}); err != nil {
		t.Fatal(err)
	}
	mfName, ovfName := tpl.Name+".mf", tpl.Name+".ovf"
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"mf line without a digest", mfName, "SHA256 mesos-agent.ovf abc\n", "want ALG(file)= digest"},
		{"mf unknown algorithm", mfName, "MD5(mesos-agent.ovf)= 0123\n", `unknown digest algorithm "MD5"`},
		{"mf digest not hex", mfName, "SHA256(mesos-agent.ovf)= xyz\n", `digest "xyz" is not hex`},
		{"mf empty digest", mfName, "SHA256(mesos-agent.ovf)= \n", "is not hex"},
		{"mf parent directory", mfName, "SHA256(..)= 00\n", `".." is not a plain file name`},
		{"mf path", mfName, "SHA256(../etc/passwd)= 00\n", "is not a plain file name"},
		{"mf missing", mfName, "", "no such file"},
		{"ovf not XML", ovfName, "<Envelope><References>", "parsing"},
		{"ovf reference outside", ovfName, `<Envelope><References><File href="../disk.vmdk" id="f"/></References></Envelope>`, "not a plain file name"},
		{"ovf missing", ovfName, "", "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tpl.Name)
			if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, tc.file)
			var err error
			if tc.content == "" && strings.Contains(tc.want, "no such file") {
				err = os.Remove(p)
			} else {
				err = os.WriteFile(p, []byte(tc.content), 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
			err = ovf.VerifyManifest(dir, tpl.Name)
			if err == nil || !strings.Contains(err.Error(), tc.file) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("VerifyManifest: %v; want an error naming %s and saying %q", err, tc.file, tc.want)
			}
		})
	}
}
