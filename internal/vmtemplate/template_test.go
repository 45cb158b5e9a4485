package vmtemplate

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckUsesProbe(t *testing.T) {
	tpl := Template{Name: "node", CPUs: 1, MemoryMB: 1024, Disks: []Disk{{Path: "/d/a.vmdk", CapacityMB: 1}, {CapacityMB: 10}}}
	var probed []string
	probe := func(i int, path string) (int64, error) {
		probed = append(probed, path)
		return 2 << 20, nil
	}
	err := Check(tpl, probe)
	if len(probed) != 1 || probed[0] != "/d/a.vmdk" {
		t.Errorf("probed %v, want only the disk with a path", probed)
	}
	if err == nil || !strings.Contains(err.Error(), "capacity 1 MB is smaller than the 2097152 bytes") {
		t.Errorf("capacity below the probed size: %v", err)
	}
	err = Check(tpl, func(int, string) (int64, error) { return 0, errors.New("not a VMDK") })
	if err == nil || !strings.Contains(err.Error(), `template "node": disk 1: not a VMDK`) {
		t.Errorf("probe failure: %v", err)
	}
	tpl.Disks[0].CapacityMB = 0
	if err := Check(tpl, probe); err != nil {
		t.Errorf("good template: %v", err)
	}
}
