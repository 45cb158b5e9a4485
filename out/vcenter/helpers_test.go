package vcenter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/template"

	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator"
	"github.com/vmware/govmomi/vmdk"
)

const simPassword = "Sup3r-s3cret-pw"

// sim is an in-process vCenter simulator.
type sim struct {
	model *simulator.Model
	srv   *simulator.Server
	env   map[string]string
}

func newSim(t testing.TB) *sim {
	t.Helper()
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	m.Service.RegisterEndpoints = true
	m.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword("deployer", simPassword)}
	srv := m.Service.NewServer()
	t.Cleanup(func() { srv.Close(); m.Remove() })
	return &sim{model: m, srv: srv, env: map[string]string{
		"GOVC_URL":           srv.URL.String(),
		"GOVC_INSECURE":      "true",
		"GOVC_DATACENTER":    "DC0",
		"GOVC_DATASTORE":     "LocalDS_0",
		"GOVC_RESOURCE_POOL": "DC0_C0/Resources",
		"GOVC_NETWORK":       "VM Network",
	}}
}

// config resolves a Config for target t of the bundle with the sim's env.
func (s *sim) config(t testing.TB, tgt Target, o Overrides) Config {
	t.Helper()
	c, err := ResolveTarget(tgt, func(k string) string { return s.env[k] }, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dsFile reads a file of the simulator's datastore LocalDS_0.
func (s *sim) dsDir(t testing.TB) string {
	t.Helper()
	ds := s.model.Map().Any("Datastore")
	if ds == nil {
		t.Fatal("no datastore in simulator")
	}
	return ds.(*simulator.Datastore).Info.GetDatastoreInfo().Url
}

// bundleSpec describes a test bundle.
type bundleSpec struct {
	name, version string
	files         map[string][]byte    // relative to the bundle dir
	templates     map[string]int       // template name → disk seed
	derived       map[string][2]string // derived template → {base template, note in its descriptor}
	target        Target
}

func baseSpec(version string) *bundleSpec {
	files := map[string][]byte{
		"serengeti/www/yum/mesos.repo":                  []byte("[mesos]\nname=mesos\nbaseurl=https://bde.localdomain/yum/repos/mesos/0.22.0/\n"),
		"serengeti/www/distros/manifest":                []byte(`[{"name":"mesos","vendor":"MESOS","version":"0.22.0"}]` + "\n"),
		"serengeti/www/specs/map":                       []byte("[]\n"),
		"serengeti/www/specs/MESOS/spec.json":           []byte("{}\n"),
		"serengeti/conf/serengeti.properties.d/vendors": []byte("MESOS\n"),
		"clusters/mesos01/spec.json":                    []byte("{}\n"),
	}
	for i := range 6 {
		files[fmt.Sprintf("serengeti/www/yum/repos/mesos/0.22.0/pkg-%d-1.0.x86_64.rpm", i)] = randBytes(uint64(i), 20_000+i*1000)
	}
	return &bundleSpec{
		name: "mesos-site", version: version, files: files,
		templates: map[string]int{"mesos-node": 1},
		target:    Target{Name: "site", Datacenter: "DC1", Datastore: "vsanDatastore", Folder: "", Library: "bundles"},
	}
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

var ovfTmpl = template.Must(template.New("ovf").Parse(`<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References>
    <File ovf:href="{{.Disk}}" ovf:id="file1" ovf:size="{{.Size}}"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="4" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network ovf:name="VM Network"><Description>The VM Network network</Description></Network>
  </NetworkSection>
  <VirtualSystem ovf:id="{{.Name}}">
    <Info>A virtual machine{{.Note}}</Info>
    <Name>{{.Name}}</Name>
    <OperatingSystemSection ovf:id="107" vmw:osType="centos64Guest"><Info>The guest operating system</Info></OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemIdentifier>{{.Name}}</vssd:VirtualSystemIdentifier><vssd:VirtualSystemType>vmx-10</vssd:VirtualSystemType></System>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:Description>Number of Virtual CPUs</rasd:Description><rasd:ElementName>2 virtual CPU(s)</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:Description>Memory Size</rasd:Description><rasd:ElementName>2048MB of memory</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>2048</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:Description>SCSI Controller</rasd:Description><rasd:ElementName>SCSI controller 0</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>Hard disk 1</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>7</rasd:AddressOnParent><rasd:AutomaticAllocation>true</rasd:AutomaticAllocation><rasd:Connection>VM Network</rasd:Connection><rasd:ElementName>Network adapter 1</rasd:ElementName><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`))

// writeTemplate writes ovf/<name>/{<name>.ovf, <name>-disk1.vmdk, <name>.mf}.
func writeTemplate(t testing.TB, dir, name string, seed int) {
	t.Helper()
	td := filepath.Join(dir, "ovf", name)
	if err := os.MkdirAll(td, 0o755); err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(td, name+"-disk1.vmdk")
	w, err := vmdk.NewStreamOptimizedWriter(disk, 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat(randBytes(uint64(seed), 64<<10), 4)
	if err := w.Write(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(disk)
	if err != nil {
		t.Fatal(err)
	}
	writeDescriptor(t, td, name, name+"-disk1.vmdk", st.Size(), "")
}

// writeDescriptor writes <td>/<name>.ovf referencing the disk file, and
// <name>.mf.
func writeDescriptor(t testing.TB, td, name, disk string, size int64, note string) {
	t.Helper()
	var ovf bytes.Buffer
	if err := ovfTmpl.Execute(&ovf, map[string]any{"Name": name, "Disk": disk, "Size": size, "Note": note}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(td, name+".ovf"), ovf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var mf strings.Builder
	for _, f := range []string{name + ".ovf", disk} {
		fmt.Fprintf(&mf, "SHA256(%s)= %s\n", f, testutil.FileSHA256(t, filepath.Join(td, f)))
	}
	if err := os.WriteFile(filepath.Join(td, name+".mf"), []byte(mf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// write builds the bundle directory <root>/<name>-<version> from spec, as
// bundle build would: files, templates, bundle.json listing every file.
func (spec *bundleSpec) write(t testing.TB, root string) string {
	t.Helper()
	dir := filepath.Join(root, spec.name+"-"+spec.version)
	for p, data := range spec.files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var templates []map[string]string
	var names []string
	for n := range spec.templates {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		writeTemplate(t, dir, n, spec.templates[n])
		ovf := "ovf/" + n + "/" + n + ".ovf"
		templates = append(templates, map[string]string{"name": n, "ovf": ovf, "ova": "",
			"sha256": testutil.FileSHA256(t, filepath.Join(dir, filepath.FromSlash(ovf)))})
	}
	names = names[:0]
	for n := range spec.derived {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		base, note := spec.derived[n][0], spec.derived[n][1]
		td := filepath.Join(dir, "ovf", base)
		disk := base + "-disk1.vmdk"
		st, err := os.Stat(filepath.Join(td, disk))
		if err != nil {
			t.Fatal(err)
		}
		writeDescriptor(t, td, n, disk, st.Size(), note)
		ovf := "ovf/" + base + "/" + n + ".ovf"
		templates = append(templates, map[string]string{"name": n, "ovf": ovf, "ova": "", "base": base,
			"sha256": testutil.FileSHA256(t, filepath.Join(dir, filepath.FromSlash(ovf)))})
	}
	writeManifest(t, dir, spec, templates)
	return dir
}

func writeManifest(t testing.TB, dir string, spec *bundleSpec, templates []map[string]string) {
	t.Helper()
	var files []File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "bundle.json" || rel == "SHA256SUMS" || rel == "bundle.json.sig" {
			return nil
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, File{Path: rel, Size: st.Size(), SHA256: testutil.FileSHA256(t, p), Mode: "0644"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	if templates == nil {
		templates = []map[string]string{}
	}
	m := map[string]any{
		"schema": "bundle/v1", "name": spec.name, "version": spec.version, "epoch": 1426032000,
		"builder": "bundle test", "definition_sha256": strings.Repeat("0", 64),
		"inputs": []any{}, "files": files, "repos": []any{}, "distros": []any{}, "clusters": []any{},
		"images": []any{}, "templates": templates, "targets": []Target{spec.target},
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bundle.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// counter is an http.RoundTripper that counts requests by method and can
// fail uploads (PUT) after a number of them.
type counter struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs map[string]int
	puts atomic.Int64
	// failPut, when > 0, makes PUT number failPut and every later one drop
	// the connection after half the body (failOnce: only that one).
	failPut  int64
	failOnce bool
	// failPath fails PUTs whose URL path contains it.
	failPath string
}

func (c *counter) wrap(rt http.RoundTripper) http.RoundTripper {
	c.next = rt
	return c
}

func (c *counter) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reqs[key]
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.reqs == nil {
		c.reqs = map[string]int{}
	}
	c.reqs[r.Method]++
	c.mu.Unlock()
	if r.Method == http.MethodPut || r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/nfc/") {
		n := c.puts.Add(1)
		fail := c.failPut > 0 && (n == c.failPut || (!c.failOnce && n > c.failPut))
		if c.failPath != "" && strings.Contains(r.URL.Path, c.failPath) {
			fail = true
		}
		if fail && r.Body != nil {
			r.Body = &dropBody{r: r.Body, left: r.ContentLength / 2}
		}
	}
	return c.next.RoundTrip(r)
}

// dropBody ends the request body with a connection error after left bytes.
type dropBody struct {
	r    io.ReadCloser
	left int64
}

func (d *dropBody) Read(b []byte) (int, error) {
	if d.left <= 0 {
		return 0, errConnDropped
	}
	if int64(len(b)) > d.left {
		b = b[:d.left]
	}
	n, err := d.r.Read(b)
	d.left -= int64(n)
	return n, err
}

func (d *dropBody) Close() error { return d.r.Close() }

var errConnDropped = fmt.Errorf("connection reset by peer (injected)")

func ctxT(t testing.TB) context.Context { return t.Context() }

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o644) }
