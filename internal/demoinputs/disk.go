// Package demoinputs writes small, deterministic stand-ins for the large
// inputs a site definition refers to, so the demo and the tests can build a
// complete bundle without downloading anything.
package demoinputs

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"path/filepath"

	"github.com/bdebundle/bundle/internal/atomicfs"
)

// Layout constants of a stream-optimized sparse extent (VMware "Virtual Disk
// Format 5.0", open-vmdk vmware_vmdk.h).
const (
	sectorSize     = 512
	grainSectors   = 128 // 64 KiB grains
	gtesPerGT      = 512 // grain table entries per grain table
	descSectors    = 1   // embedded descriptor size
	overheadSector = 128 // the first grain marker starts at sector 128

	magicKDMV        = 0x564d444b
	flagNewline      = 1 << 0
	flagCompressed   = 1 << 16
	flagEmbeddedLBA  = 1 << 17
	gdAtEnd          = ^uint64(0)
	compressDeflate  = 1
	markerEOS        = 0
	markerGT         = 1
	markerGD         = 2
	markerFooter     = 3
	diskSignatureOff = 510
)

type sparseHeader struct {
	Magic              uint32
	Version            uint32
	Flags              uint32
	Capacity           uint64
	GrainSize          uint64
	DescriptorOffset   uint64
	DescriptorSize     uint64
	NumGTEsPerGT       uint32
	RGDOffset          uint64
	GDOffset           uint64
	Overhead           uint64
	UncleanShutdown    byte
	SingleEndLine      byte
	NonEndLine         byte
	DoubleEndLineChar1 byte
	DoubleEndLineChar2 byte
	CompressAlgorithm  uint16
	Pad                [433]byte
}

// Disk writes a stream-optimized VMDK of capacityMB mebibytes to path. The
// disk holds two populated grains (a boot-sector-like first grain and a
// labelled last grain) and is otherwise empty, so it stays under 100 KiB
// whatever its capacity. The same arguments always give the same bytes.
// The file is written to a temporary sibling and renamed into place.
func Disk(path string, capacityMB int64) error {
	if capacityMB <= 0 {
		return fmt.Errorf("writing demo disk %q: capacity %d MB must be positive", path, capacityMB)
	}
	data, err := streamOptimized(filepath.Base(path), capacityMB)
	if err != nil {
		return fmt.Errorf("writing demo disk %q: %w", path, err)
	}
	if err := atomicfs.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing demo disk: %w", err)
	}
	return nil
}

// streamOptimized renders the whole disk in memory; demo disks are tiny.
func streamOptimized(name string, capacityMB int64) ([]byte, error) {
	capSectors := uint64(capacityMB) * (1 << 20) / sectorSize
	grains := capSectors / grainSectors
	numGTs := (grains + gtesPerGT - 1) / gtesPerGT

	cid := uint32(0x0bde0000) | uint32(capacityMB&0xffff)
	desc := fmt.Sprintf(`# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=%08x
parentCID=ffffffff
createType="streamOptimized"

# Extent description
RW %d SPARSE %q

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.geometry.cylinders = "%d"
ddb.geometry.heads = "255"
ddb.geometry.sectors = "63"
ddb.virtualHWVersion = "10"
`, cid, capSectors, name, max(1, capSectors/(255*63)))
	if len(desc) > descSectors*sectorSize {
		return nil, fmt.Errorf("descriptor of %d bytes does not fit in %d sectors", len(desc), descSectors)
	}

	hdr := sparseHeader{
		Magic:              magicKDMV,
		Version:            3,
		Flags:              flagNewline | flagCompressed | flagEmbeddedLBA,
		Capacity:           capSectors,
		GrainSize:          grainSectors,
		DescriptorOffset:   1,
		DescriptorSize:     descSectors,
		NumGTEsPerGT:       gtesPerGT,
		GDOffset:           gdAtEnd,
		Overhead:           overheadSector,
		SingleEndLine:      '\n',
		NonEndLine:         ' ',
		DoubleEndLineChar1: '\r',
		DoubleEndLineChar2: '\n',
		CompressAlgorithm:  compressDeflate,
	}

	var out bytes.Buffer
	if err := binary.Write(&out, binary.LittleEndian, &hdr); err != nil {
		return nil, err
	}
	out.WriteString(desc)
	pad(&out, overheadSector*sectorSize)

	// Populated grains: grain 0 and the last grain.
	content := map[uint64][]byte{0: firstGrain(name)}
	if grains > 1 {
		content[grains-1] = labelGrain(fmt.Sprintf("last grain of %s, %d MiB\n", name, capacityMB))
	}

	gd := make([]uint32, numGTs)
	for t := uint64(0); t < numGTs; t++ {
		gt := make([]uint32, gtesPerGT)
		used := false
		for e := uint64(0); e < gtesPerGT; e++ {
			g := t*gtesPerGT + e
			raw, ok := content[g]
			if !ok {
				continue
			}
			used = true
			gt[e] = uint32(out.Len() / sectorSize)
			var z bytes.Buffer
			zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
			if err != nil {
				return nil, err
			}
			if _, err := zw.Write(raw); err != nil {
				return nil, err
			}
			if err := zw.Close(); err != nil {
				return nil, err
			}
			_ = binary.Write(&out, binary.LittleEndian, g*grainSectors)
			_ = binary.Write(&out, binary.LittleEndian, uint32(z.Len()))
			out.Write(z.Bytes())
			pad(&out, roundUp(out.Len(), sectorSize))
		}
		if !used {
			continue
		}
		marker(&out, gtesPerGT*4/sectorSize, markerGT)
		gd[t] = uint32(out.Len() / sectorSize)
		_ = binary.Write(&out, binary.LittleEndian, gt)
		pad(&out, roundUp(out.Len(), sectorSize))
	}

	gdSectors := (numGTs*4 + sectorSize - 1) / sectorSize
	marker(&out, gdSectors, markerGD)
	gdOffset := uint64(out.Len() / sectorSize)
	_ = binary.Write(&out, binary.LittleEndian, gd)
	pad(&out, roundUp(out.Len(), sectorSize))

	marker(&out, 1, markerFooter)
	footer := hdr
	footer.GDOffset = gdOffset
	_ = binary.Write(&out, binary.LittleEndian, &footer)

	marker(&out, 0, markerEOS)
	return out.Bytes(), nil
}

// firstGrain looks like a boot sector: a label and the 0x55AA signature.
func firstGrain(name string) []byte {
	g := labelGrain("bundle demo disk " + name + "\n")
	g[diskSignatureOff] = 0x55
	g[diskSignatureOff+1] = 0xaa
	return g
}

func labelGrain(label string) []byte {
	g := make([]byte, grainSectors*sectorSize)
	copy(g[3:], label)
	return g
}

// marker writes a 512-byte metadata marker.
func marker(out *bytes.Buffer, numSectors uint64, typ uint32) {
	var m [sectorSize]byte
	binary.LittleEndian.PutUint64(m[0:], numSectors)
	binary.LittleEndian.PutUint32(m[8:], 0)
	binary.LittleEndian.PutUint32(m[12:], typ)
	out.Write(m[:])
}

func pad(out *bytes.Buffer, to int) {
	if n := to - out.Len(); n > 0 {
		out.Write(make([]byte, n))
	}
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }
