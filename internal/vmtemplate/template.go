package vmtemplate

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Template describes one VM template: the virtual hardware, the disks and the
// vApp properties rendered into an OVF descriptor.
type Template struct {
	Name            string
	GuestOS         string // vSphere guest id, e.g. centos64Guest
	CPUs            int
	MemoryMB        int
	Firmware        string // bios (default) or efi
	HardwareVersion string // vmx-10 by default
	Disks           []Disk
	NICs            []NIC
	Properties      []Property
	Annotation      string
	Product         string
	Vendor          string
	Version         string
}

// Disk is one virtual disk. Path names a stream-optimized VMDK; an empty Path
// declares an empty disk of CapacityMB that vSphere creates on import.
// CapacityMB 0 with a Path takes the capacity from the VMDK header; a larger
// CapacityMB grows the disk on import.
type Disk struct {
	Path       string
	CapacityMB int64
}

// NIC is one network adapter connected to the named network.
type NIC struct {
	Network string
	Adapter string // VmxNet3 (default), E1000, E1000e, PCNet32, VmxNet2
}

// Property is one vApp property of the OVF ProductSection.
type Property struct {
	Key              string
	Type             string // string (default), int, boolean, real
	Default          string
	Label            string
	Description      string
	Password         bool
	UserConfigurable bool
	Class            string // optional ProductSection class; the key becomes class.key
}

// FullKey is the key vSphere uses in the OVF environment: [class.]key.
func (p Property) FullKey() string {
	if p.Class == "" {
		return p.Key
	}
	return p.Class + "." + p.Key
}

// Defaults used when the Template leaves a field empty.
const (
	DefaultHardwareVersion = "vmx-10"
	DefaultFirmware        = "bios"
	DefaultAdapter         = "VmxNet3"
	DefaultGuestOS         = "otherLinux64Guest"
)

// adapters maps the accepted NIC adapter names (case-insensitive) to their
// OVF ResourceSubType spelling.
var adapters = map[string]string{
	"vmxnet3": "VmxNet3",
	"vmxnet2": "VmxNet2",
	"e1000":   "E1000",
	"e1000e":  "E1000e",
	"pcnet32": "PCNet32",
}

var (
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$`)
	keyRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,127}$`)
	guestRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
	hwRE      = regexp.MustCompile(`^vmx-[0-9]{2}$`)
	propTypes = []string{"string", "int", "boolean", "real"}
	maxDisks  = 15 // one SCSI controller, unit 7 reserved
	maxNICs   = 10
	maxDiskMB = int64(62 * 1024 * 1024) // 62 TiB
	maxCPUs   = 768
	maxMemory = 24 * 1024 * 1024 // 24 TiB in MB
)

// WithDefaults fills the optional fields.
func (t Template) WithDefaults() Template {
	if t.HardwareVersion == "" {
		t.HardwareVersion = DefaultHardwareVersion
	}
	if t.Firmware == "" {
		t.Firmware = DefaultFirmware
	}
	if t.GuestOS == "" {
		t.GuestOS = DefaultGuestOS
	}
	t.NICs = slices.Clone(t.NICs)
	for i := range t.NICs {
		if t.NICs[i].Adapter == "" {
			t.NICs[i].Adapter = DefaultAdapter
		} else if a, ok := adapters[strings.ToLower(t.NICs[i].Adapter)]; ok {
			t.NICs[i].Adapter = a
		}
	}
	t.Properties = slices.Clone(t.Properties)
	for i := range t.Properties {
		if t.Properties[i].Type == "" {
			t.Properties[i].Type = "string"
		}
		if t.Properties[i].Type == "boolean" {
			t.Properties[i].Default = strings.ToLower(t.Properties[i].Default)
		}
	}
	return t
}

// Problems is the list of everything wrong with a template. It is an error.
type Problems []error

func (p Problems) Error() string {
	s := make([]string, len(p))
	for i, e := range p {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

// Unwrap lets errors.Is and errors.As look at every problem.
func (p Problems) Unwrap() []error { return p }

// Probe returns the capacity in bytes of disk i, the VMDK at path, or why it
// cannot be used. images/ovf reads the VMDK header; the compiler looks the
// disk up in the Facts gathered before compiling.
type Probe func(i int, path string) (capacity int64, err error)

// Check validates t: names, hardware, property keys and values, and every
// disk (through probe). It reads nothing itself and returns nil or Problems
// listing every problem found.
func Check(t Template, probe Probe) error {
	t = t.WithDefaults()
	var ps Problems
	add := func(format string, a ...any) {
		ps = append(ps, fmt.Errorf("template %q: "+format, append([]any{t.Name}, a...)...))
	}
	if !nameRE.MatchString(t.Name) {
		add("invalid name: use 1-80 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if !guestRE.MatchString(t.GuestOS) {
		add("invalid guest_os %q (a vSphere guest id such as centos64Guest)", t.GuestOS)
	}
	if t.CPUs <= 0 || t.CPUs > maxCPUs {
		add("cpu must be between 1 and %d, got %d", maxCPUs, t.CPUs)
	}
	if t.MemoryMB <= 0 || t.MemoryMB > maxMemory {
		add("memory_mb must be between 1 and %d, got %d", maxMemory, t.MemoryMB)
	} else if t.MemoryMB%4 != 0 {
		add("memory_mb must be a multiple of 4, got %d", t.MemoryMB)
	}
	if t.Firmware != "bios" && t.Firmware != "efi" {
		add("firmware must be \"bios\" or \"efi\", got %q", t.Firmware)
	}
	if !hwRE.MatchString(t.HardwareVersion) {
		add("hardware_version must look like vmx-10, got %q", t.HardwareVersion)
	}
	if len(t.Disks) == 0 {
		add("no disks")
	}
	if len(t.Disks) > maxDisks {
		add("%d disks, at most %d fit on one SCSI controller", len(t.Disks), maxDisks)
	}
	for i, d := range t.Disks {
		if d.CapacityMB < 0 || d.CapacityMB > maxDiskMB {
			add("disk %d: capacity %d MB out of range", i+1, d.CapacityMB)
			continue
		}
		if d.Path == "" {
			if d.CapacityMB == 0 {
				add("disk %d: an empty disk needs a capacity", i+1)
			}
			continue
		}
		capacity, err := probe(i, d.Path)
		if err != nil {
			add("disk %d: %w", i+1, err)
			continue
		}
		if d.CapacityMB != 0 && d.CapacityMB*(1<<20) < capacity {
			add("disk %d: capacity %d MB is smaller than the %d bytes of %q", i+1, d.CapacityMB, capacity, d.Path)
		}
	}
	if len(t.NICs) > maxNICs {
		add("%d network adapters, at most %d", len(t.NICs), maxNICs)
	}
	for i, n := range t.NICs {
		if strings.TrimSpace(n.Network) == "" || len(n.Network) > 80 || strings.ContainsAny(n.Network, "\x00\n\r\t") {
			add("network adapter %d: invalid network name %q", i+1, n.Network)
		}
		if _, ok := adapters[strings.ToLower(n.Adapter)]; !ok {
			add("network adapter %d: unknown adapter %q (VmxNet3, VmxNet2, E1000, E1000e, PCNet32)", i+1, n.Adapter)
		}
	}
	seen := map[string]int{}
	for i, p := range t.Properties {
		if !keyRE.MatchString(p.Key) {
			add("property %d: invalid key %q", i+1, p.Key)
		}
		if p.Class != "" && !keyRE.MatchString(p.Class) {
			add("property %q: invalid class %q", p.Key, p.Class)
		}
		if j, dup := seen[p.FullKey()]; dup {
			add("duplicate property key %q (properties %d and %d)", p.FullKey(), j+1, i+1)
		} else {
			seen[p.FullKey()] = i
		}
		if !slices.Contains(propTypes, p.Type) {
			add("property %q: unknown type %q (string, int, boolean, real)", p.Key, p.Type)
		} else if err := CheckValue(p.Type, p.Default); err != nil {
			add("property %q: default %w", p.Key, err)
		}
	}
	if len(ps) > 0 {
		return ps
	}
	return nil
}

// CheckValue checks v against an OVF property type; "" is always allowed.
func CheckValue(typ, v string) error {
	if v == "" {
		return nil
	}
	switch typ {
	case "int":
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("%q is not an int", v)
		}
	case "real":
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("%q is not a real", v)
		}
	case "boolean":
		if l := strings.ToLower(v); l != "true" && l != "false" {
			return fmt.Errorf("%q is not a boolean (true or false)", v)
		}
	}
	return nil
}

// CheckNetworks reports every network a template's adapters use that is not
// in known (the networks present in the target vCenter datacenter).
func CheckNetworks(t Template, known []string) error {
	var ps Problems
	for i, n := range t.NICs {
		if !slices.Contains(known, n.Network) {
			ps = append(ps, fmt.Errorf("template %q: network adapter %d: network %q is not in the target (have %s)",
				t.Name, i+1, n.Network, strings.Join(known, ", ")))
		}
	}
	if len(ps) > 0 {
		return ps
	}
	return nil
}

// Derive returns a copy of t named name with the defaults of the given
// properties replaced (keys are Key or Class.Key). An unknown key or a value
// of the wrong type is an error.
func (t Template) Derive(name string, props map[string]string) (Template, error) {
	d := t
	d.Name = name
	d.Disks = slices.Clone(t.Disks)
	d.NICs = slices.Clone(t.NICs)
	d.Properties = slices.Clone(t.Properties)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var ps Problems
	for _, k := range keys {
		i := slices.IndexFunc(d.Properties, func(p Property) bool { return p.FullKey() == k })
		if i < 0 {
			var classes []string
			for j, p := range d.Properties {
				if p.Key == k {
					i = j
					classes = append(classes, p.FullKey())
				}
			}
			if len(classes) > 1 {
				ps = append(ps, fmt.Errorf("deriving %q from template %q: property %q is ambiguous: say which of %s", name, t.Name, k, strings.Join(classes, ", ")))
				continue
			}
		}
		if i < 0 {
			ps = append(ps, fmt.Errorf("deriving %q from template %q: unknown property %q", name, t.Name, k))
			continue
		}
		typ := d.Properties[i].Type
		if typ == "" {
			typ = "string"
		}
		if err := CheckValue(typ, props[k]); err != nil {
			ps = append(ps, fmt.Errorf("deriving %q from template %q: property %q: %w", name, t.Name, k, err))
			continue
		}
		d.Properties[i].Default = props[k]
	}
	if len(ps) > 0 {
		return Template{}, ps
	}
	return d, nil
}

// ValidName reports whether name is a usable template name: 1-80 letters,
// digits, '.', '_' or '-', starting with a letter or digit.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// DiskFileName is the file name of disk i (from 0) of template name inside
// its directory: <name>-disk<i+1>.vmdk.
func DiskFileName(name string, i int) string { return fmt.Sprintf("%s-disk%d.vmdk", name, i+1) }
