package ovf

import "github.com/bdebundle/bundle/internal/vmtemplate"

// The template model lives in internal/vmtemplate (the compiler plans with
// it without importing this package); these names keep ovf's API whole.
type (
	// Template describes one VM template (see vmtemplate.Template).
	Template = vmtemplate.Template
	// Disk is one virtual disk.
	Disk = vmtemplate.Disk
	// NIC is one network adapter.
	NIC = vmtemplate.NIC
	// Property is one vApp property of the OVF ProductSection.
	Property = vmtemplate.Property
	// Problems is the list of everything wrong with a template.
	Problems = vmtemplate.Problems
)

// Defaults used when the Template leaves a field empty.
const (
	DefaultHardwareVersion = vmtemplate.DefaultHardwareVersion
	DefaultFirmware        = vmtemplate.DefaultFirmware
	DefaultAdapter         = vmtemplate.DefaultAdapter
	DefaultGuestOS         = vmtemplate.DefaultGuestOS
)

// check returns the probed disks (nil for empty disks) along with problems.
func check(t Template) ([]*VMDKInfo, error) {
	infos := make([]*VMDKInfo, len(t.Disks))
	err := vmtemplate.Check(t, func(i int, path string) (int64, error) {
		info, err := ProbeVMDK(path)
		if err != nil {
			return 0, err
		}
		infos[i] = info
		return info.Capacity(), nil
	})
	if err != nil {
		return nil, err
	}
	return infos, nil
}
