package demoinputs_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi/vmdk"

	"github.com/bdebundle/bundle/images/ovf"
	"github.com/bdebundle/bundle/internal/demoinputs"
)

func TestDiskDeterministic(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.vmdk"), filepath.Join(dir, "b", "a.vmdk")
	if err := os.Mkdir(filepath.Dir(b), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{a, b} {
		if err := demoinputs.Disk(p, 64); err != nil {
			t.Fatal(err)
		}
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if !bytes.Equal(da, db) {
		t.Fatal("two calls with the same arguments gave different bytes")
	}
	if len(da) > 100<<10 {
		t.Errorf("demo disk is %d bytes, want under 100 KiB", len(da))
	}
	if err := demoinputs.Disk(filepath.Join(dir, "c.vmdk"), 0); err == nil {
		t.Error("capacity 0 accepted")
	}
}

func TestDiskReadable(t *testing.T) {
	for _, mb := range []int64{1, 64, 100} {
		path := filepath.Join(t.TempDir(), "node.vmdk")
		if err := demoinputs.Disk(path, mb); err != nil {
			t.Fatal(err)
		}

		// Our own probe.
		info, err := ovf.ProbeVMDK(path)
		if err != nil {
			t.Fatalf("%d MB: ProbeVMDK: %v", mb, err)
		}
		if info.Capacity() != mb<<20 || info.CreateType != "streamOptimized" || info.GrainSectors != 128 {
			t.Errorf("%d MB: probe = %+v", mb, info)
		}
		const wantGrains = 2
		if info.Grains != wantGrains || info.PopulatedSize != wantGrains*64<<10 {
			t.Errorf("%d MB: %d grains, populated %d; want %d grains", mb, info.Grains, info.PopulatedSize, wantGrains)
		}

		// govmomi's reader.
		gi, err := vmdk.Stat(path)
		if err != nil {
			t.Fatalf("%d MB: govmomi vmdk.Stat: %v", mb, err)
		}
		if gi.Capacity != mb<<20 || gi.Descriptor.Type != "streamOptimized" {
			t.Errorf("%d MB: govmomi reads capacity %d, createType %q", mb, gi.Capacity, gi.Descriptor.Type)
		}
		if len(gi.Descriptor.Extent) != 1 || gi.Descriptor.Extent[0].Size != mb*2048 || gi.Descriptor.Extent[0].Type != "SPARSE" {
			t.Errorf("%d MB: govmomi extents %+v", mb, gi.Descriptor.Extent)
		}

		// Walk the stream as a streaming reader would: grain markers with
		// embedded LBA and zlib data, then metadata markers, up to EOS.
		decodeStream(t, path, mb)
	}
}

func decodeStream(t *testing.T, path string, mb int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	overhead := binary.LittleEndian.Uint64(data[4+4+4+8+8+8+8+4+8+8:])
	off := int(overhead) * 512
	var grains []uint64
	var markers []uint32
	for {
		if off+512 > len(data) {
			t.Fatalf("stream ends without EOS at %d", off)
		}
		lba := binary.LittleEndian.Uint64(data[off:])
		size := binary.LittleEndian.Uint32(data[off+8:])
		if size != 0 {
			zr, err := zlib.NewReader(bytes.NewReader(data[off+12 : off+12+int(size)]))
			if err != nil {
				t.Fatalf("grain at lba %d: %v", lba, err)
			}
			raw, err := io.ReadAll(zr)
			if err != nil || len(raw) != 65536 {
				t.Fatalf("grain at lba %d: %d bytes, %v", lba, len(raw), err)
			}
			if lba == 0 && (raw[510] != 0x55 || raw[511] != 0xaa || !strings.Contains(string(raw[:64]), "bundle demo disk")) {
				t.Errorf("first grain lacks its label or signature")
			}
			grains = append(grains, lba)
			off += (12 + int(size) + 511) / 512 * 512
			continue
		}
		typ := binary.LittleEndian.Uint32(data[off+12:])
		markers = append(markers, typ)
		if typ == 0 {
			if off+512 != len(data) {
				t.Errorf("EOS at %d, file is %d bytes", off, len(data))
			}
			break
		}
		off += 512 + int(lba)*512
	}
	if grains[0] != 0 || len(grains) != 2 || grains[1] != uint64(mb*2048-128) {
		t.Errorf("grain LBAs %v", grains)
	}
	// GT markers, then GD, footer, EOS.
	if n := len(markers); n < 4 || markers[n-3] != 2 || markers[n-2] != 3 || markers[n-1] != 0 || markers[0] != 1 {
		t.Errorf("marker sequence %v", markers)
	}
}
