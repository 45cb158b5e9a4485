package ovf

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/bdebundle/bundle/internal/regular"
	"io"
	"slices"
	"strings"
)

const (
	sectorSize      = 512
	vmdkMagic       = 0x564d444b // "KDMV" on disk
	flagCompressed  = 1 << 16
	flagEmbeddedLBA = 1 << 17
	gdAtEnd         = ^uint64(0)
	compressDeflate = 1
	markerFooter    = 3
	// maxDescriptorSectors bounds how much of the embedded descriptor is read.
	maxDescriptorSectors = 64
	// maxGTEs bounds a grain table so a hostile header cannot make us
	// allocate much.
	maxGTEs = 1 << 16
)

// VMDKInfo is what ProbeVMDK reads from a stream-optimized sparse extent.
type VMDKInfo struct {
	Path              string
	Version           uint32
	Flags             uint32
	CapacitySectors   uint64
	GrainSectors      uint64
	DescriptorOffset  uint64 // sectors
	DescriptorSize    uint64 // sectors
	CompressAlgorithm uint16 // 1 = deflate
	CreateType        string // from the embedded descriptor
	AdapterType       string // ddb.adapterType, when present
	FileSize          int64  // bytes on disk
	// PopulatedSize counts the bytes of allocated grains, from the grain
	// tables the footer points to.
	PopulatedSize int64
	Grains        int64 // allocated grains
}

// Capacity is the virtual disk size in bytes.
func (v *VMDKInfo) Capacity() int64 { return int64(v.CapacitySectors) * sectorSize }

// vmdkHeader is SparseExtentHeader (512 bytes, little endian).
type vmdkHeader struct {
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

// ProbeVMDK reads the sparse extent header, the embedded descriptor, the
// footer and the grain directory and tables of a stream-optimized VMDK. It
// seeks to the metadata and never reads the grain data, so it costs a few
// kilobytes per 32 MiB of capacity whatever the file size.
func ProbeVMDK(path string) (*VMDKInfo, error) {
	f, err := regular.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening disk %q: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("opening disk %q: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("disk %q: not a regular file", path)
	}
	info, err := probe(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("disk %q: %w", path, err)
	}
	info.Path = path
	return info, nil
}

func readHeader(r io.ReaderAt, off int64) (*vmdkHeader, error) {
	var buf [sectorSize]byte
	if _, err := r.ReadAt(buf[:], off); err != nil {
		return nil, err
	}
	var h vmdkHeader
	if err := binary.Read(bytes.NewReader(buf[:]), binary.LittleEndian, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

func probe(f io.ReaderAt, size int64) (*VMDKInfo, error) {
	if size < 4 {
		return nil, errors.New("not a VMDK: file too short")
	}
	var magic [4]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	if binary.LittleEndian.Uint32(magic[:]) != vmdkMagic {
		if bytes.HasPrefix(magic[:], []byte("# Di")) {
			return nil, errors.New("not a stream-optimized VMDK: this is a text descriptor; convert the disk with 'qemu-img convert -O vmdk -o subformat=streamOptimized' or 'vmware-vdiskmanager -r SRC -t 5 DST'")
		}
		return nil, fmt.Errorf("not a VMDK: magic %q, want \"KDMV\"", magic[:])
	}
	if size < sectorSize {
		return nil, fmt.Errorf("truncated header: file is %d bytes, the sparse extent header is %d", size, sectorSize)
	}
	h, err := readHeader(f, 0)
	if err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	info := &VMDKInfo{
		Version:           h.Version,
		Flags:             h.Flags,
		CapacitySectors:   h.Capacity,
		GrainSectors:      h.GrainSize,
		DescriptorOffset:  h.DescriptorOffset,
		DescriptorSize:    h.DescriptorSize,
		CompressAlgorithm: h.CompressAlgorithm,
		FileSize:          size,
	}
	if h.Version < 1 || h.Version > 3 {
		return nil, fmt.Errorf("unsupported sparse extent version %d", h.Version)
	}
	if h.Flags&flagCompressed == 0 || h.Flags&flagEmbeddedLBA == 0 {
		return nil, fmt.Errorf("not stream-optimized: header flags %#x lack compressed grains with embedded LBA (a monolithicSparse disk?); convert with 'qemu-img convert -O vmdk -o subformat=streamOptimized'", h.Flags)
	}
	if h.CompressAlgorithm != compressDeflate {
		return nil, fmt.Errorf("not stream-optimized: compressAlgorithm %d, want 1 (deflate)", h.CompressAlgorithm)
	}
	if h.GrainSize < 8 || h.GrainSize&(h.GrainSize-1) != 0 || h.GrainSize > 1<<16 {
		return nil, fmt.Errorf("invalid grain size %d sectors (want a power of two >= 8)", h.GrainSize)
	}
	if h.NumGTEsPerGT == 0 || h.NumGTEsPerGT > maxGTEs {
		return nil, fmt.Errorf("invalid numGTEsPerGT %d", h.NumGTEsPerGT)
	}
	if h.Capacity == 0 || h.Capacity > 1<<40 {
		return nil, fmt.Errorf("invalid capacity %d sectors", h.Capacity)
	}
	if h.DescriptorOffset == 0 || h.DescriptorSize == 0 {
		return nil, errors.New("no embedded descriptor (descriptorOffset or descriptorSize is 0)")
	}
	if h.DescriptorSize > maxDescriptorSectors {
		return nil, fmt.Errorf("descriptor of %d sectors is larger than %d", h.DescriptorSize, maxDescriptorSectors)
	}
	descEnd := int64(h.DescriptorOffset+h.DescriptorSize) * sectorSize
	if h.DescriptorOffset > uint64(size/sectorSize) || descEnd > size {
		return nil, fmt.Errorf("truncated header: the descriptor ends at byte %d but the file has %d", descEnd, size)
	}
	desc := make([]byte, h.DescriptorSize*sectorSize)
	if _, err := f.ReadAt(desc, int64(h.DescriptorOffset)*sectorSize); err != nil {
		return nil, fmt.Errorf("reading descriptor: %w", err)
	}
	parseDescriptor(desc, info)
	if info.CreateType != "streamOptimized" {
		return nil, fmt.Errorf("not stream-optimized: descriptor createType=%q, want \"streamOptimized\"", info.CreateType)
	}

	gdOffset := h.GDOffset
	if gdOffset == gdAtEnd {
		// Stream-optimized layout: ... footer marker, footer, end-of-stream marker.
		if size < 4*sectorSize {
			return nil, fmt.Errorf("truncated: %d bytes leave no room for the footer", size)
		}
		var eos [sectorSize]byte
		if _, err := f.ReadAt(eos[:], size-sectorSize); err != nil {
			return nil, fmt.Errorf("reading end-of-stream marker: %w", err)
		}
		if size%sectorSize != 0 || !allZero(eos[:]) {
			return nil, errors.New("truncated: no end-of-stream marker at the end of the file")
		}
		var fm [sectorSize]byte
		if _, err := f.ReadAt(fm[:], size-3*sectorSize); err != nil {
			return nil, fmt.Errorf("reading footer marker: %w", err)
		}
		if binary.LittleEndian.Uint32(fm[12:]) != markerFooter || binary.LittleEndian.Uint64(fm[0:]) != 1 {
			return nil, errors.New("truncated: no footer marker before the end-of-stream marker")
		}
		foot, err := readHeader(f, size-2*sectorSize)
		if err != nil {
			return nil, fmt.Errorf("reading footer: %w", err)
		}
		if foot.Magic != vmdkMagic {
			return nil, errors.New("corrupt footer: bad magic")
		}
		if foot.Capacity != h.Capacity || foot.GrainSize != h.GrainSize || foot.NumGTEsPerGT != h.NumGTEsPerGT {
			return nil, errors.New("corrupt footer: capacity or grain geometry differs from the header")
		}
		gdOffset = foot.GDOffset
		if gdOffset == gdAtEnd || gdOffset == 0 {
			return nil, errors.New("corrupt footer: no grain directory offset")
		}
	}
	if err := countGrains(f, size, h, gdOffset, info); err != nil {
		return nil, err
	}
	capBytes := info.Capacity()
	if info.PopulatedSize > capBytes {
		return nil, fmt.Errorf("capacity %d bytes < populated size %d bytes", capBytes, info.PopulatedSize)
	}
	return info, nil
}

// countGrains walks the grain directory and tables, one table at a time.
// The tables must lie inside the file, each at its own place: no two
// directory entries name the same table or overlapping ones, and no table
// overlaps the header, the descriptor or the directory. Every table is
// then read once and the tables together are no larger than the file, so
// the walk costs at most the file's size in reads whatever the header
// claims (a directory whose entries all named one table made a few MB
// claiming 512 TiB cost minutes). No grain may start inside that metadata.
func countGrains(f io.ReaderAt, size int64, h *vmdkHeader, gdOffset uint64, info *VMDKInfo) error {
	grains := (h.Capacity + h.GrainSize - 1) / h.GrainSize
	numGTs := (grains + uint64(h.NumGTEsPerGT) - 1) / uint64(h.NumGTEsPerGT)
	sectors := uint64(size / sectorSize)
	gdBytes := int64(numGTs) * 4
	if gdOffset >= sectors || int64(gdOffset)*sectorSize+gdBytes > size {
		return fmt.Errorf("truncated: grain directory at sector %d is past the end of the file", gdOffset)
	}
	gtBytes := int64(h.NumGTEsPerGT) * 4
	gtSectors := uint64((gtBytes + sectorSize - 1) / sectorSize)
	gdSectors := uint64((gdBytes + sectorSize - 1) / sectorSize)
	// The metadata the tables and grains must stay clear of: header and
	// descriptor, the directory, and (below) every table.
	type span struct{ start, end uint64 } // sectors, end exclusive
	fixed := []span{{0, max(1, h.DescriptorOffset+h.DescriptorSize)}, {gdOffset, gdOffset + gdSectors}}
	overlaps := func(a span, b span) bool { return a.start < b.end && b.start < a.end }
	// No marker is required before the directory: VMware tools write one,
	// qemu-img keeps the tables in space reserved after the header.
	gd := make([]uint32, numGTs) // bounded by the file: the directory fits in it
	if err := binary.Read(bufio.NewReaderSize(io.NewSectionReader(f, int64(gdOffset)*sectorSize, gdBytes), 4096), binary.LittleEndian, gd); err != nil {
		return fmt.Errorf("reading grain directory: %w", err)
	}
	tables := make([]span, 0, numGTs)
	for t, gtSector := range gd {
		if gtSector == 0 {
			continue
		}
		sp := span{uint64(gtSector), uint64(gtSector) + gtSectors}
		if int64(gtSector)*sectorSize+gtBytes > size {
			return fmt.Errorf("truncated: grain table %d at sector %d is past the end of the file", t, gtSector)
		}
		for _, m := range fixed {
			if overlaps(sp, m) {
				return fmt.Errorf("corrupt grain directory: grain table %d at sector %d overlaps the header, descriptor or grain directory", t, gtSector)
			}
		}
		tables = append(tables, sp)
	}
	sorted := slices.Clone(tables)
	slices.SortFunc(sorted, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].start < sorted[i-1].end {
			what := "overlap"
			if sorted[i].start == sorted[i-1].start {
				what = "are the same table"
			}
			return fmt.Errorf("corrupt grain directory: the grain tables at sectors %d and %d %s", sorted[i-1].start, sorted[i].start, what)
		}
	}
	inMetadata := func(s uint64) bool {
		for _, m := range fixed {
			if s >= m.start && s < m.end {
				return true
			}
		}
		i, found := slices.BinarySearchFunc(sorted, s, func(sp span, s uint64) int { return cmp.Compare(sp.start, s) })
		return found || i > 0 && s < sorted[i-1].end
	}
	gt := make([]byte, gtBytes)
	var allocated uint64
	t := -1
	for _, sp := range tables {
		for t++; gd[t] == 0; t++ {
		}
		if _, err := f.ReadAt(gt, int64(sp.start)*sectorSize); err != nil {
			return fmt.Errorf("reading grain table %d: %w", t, err)
		}
		for i := 0; i < len(gt); i += 4 {
			gs := uint64(binary.LittleEndian.Uint32(gt[i:]))
			if gs == 0 {
				continue
			}
			if gs == 1 {
				continue // a grain known to be zero
			}
			if gs >= sectors {
				return fmt.Errorf("truncated: grain %d at sector %d is past the end of the file", uint64(t)*uint64(h.NumGTEsPerGT)+uint64(i/4), gs)
			}
			if inMetadata(gs) {
				return fmt.Errorf("corrupt grain table %d: grain %d at sector %d lies inside the header, descriptor, grain directory or a grain table", t, uint64(t)*uint64(h.NumGTEsPerGT)+uint64(i/4), gs)
			}
			allocated++
		}
	}
	info.Grains = int64(allocated)
	info.PopulatedSize = int64(allocated * h.GrainSize * sectorSize)
	return nil
}

func parseDescriptor(desc []byte, info *VMDKInfo) {
	if i := bytes.IndexByte(desc, 0); i >= 0 {
		desc = desc[:i]
	}
	for line := range strings.SplitSeq(string(desc), "\n") {
		line = strings.TrimSpace(line)
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		k = strings.TrimSpace(k)
		v = strings.Trim(strings.TrimSpace(v), `"`)
		switch {
		case strings.EqualFold(k, "createType"):
			info.CreateType = v
		case k == "ddb.adapterType":
			info.AdapterType = v
		}
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
