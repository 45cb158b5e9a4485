package ovf

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"sync/atomic"
	"testing"
)

// craftVMDK lays out a stream-optimized sparse extent by hand: header,
// descriptor, the grain tables at the sectors gd names (each table's
// entries from grain), the directory, footer marker, footer and
// end-of-stream marker. Sectors not covered are zero.
func craftVMDK(capacity, grainSize uint64, gtes uint32, gd []uint32, grain func(t, i int) uint32, sectors int) []byte {
	b := make([]byte, sectors*sectorSize)
	gdSector := uint64(sectors - 3 - (len(gd)*4+sectorSize-1)/sectorSize)
	hdr := func(off int, gdOff uint64) {
		h := vmdkHeader{Magic: vmdkMagic, Version: 3, Flags: 1 | flagCompressed | flagEmbeddedLBA, Capacity: capacity,
			GrainSize: grainSize, DescriptorOffset: 1, DescriptorSize: 1, NumGTEsPerGT: gtes, GDOffset: gdOff,
			SingleEndLine: '\n', NonEndLine: ' ', DoubleEndLineChar1: '\r', DoubleEndLineChar2: '\n', CompressAlgorithm: 1}
		var buf bytes.Buffer
		_ = binary.Write(&buf, binary.LittleEndian, h)
		copy(b[off:], buf.Bytes())
	}
	seen := map[uint32]bool{}
	for t, s := range gd {
		if s == 0 || seen[s] || (int(s)*sectorSize+4*int(gtes)) > len(b) {
			continue
		}
		seen[s] = true
		for i := 0; i < int(gtes); i++ {
			binary.LittleEndian.PutUint32(b[int(s)*sectorSize+4*i:], grain(t, i))
		}
	}
	hdr(0, gdAtEnd)
	copy(b[sectorSize:], "# Disk DescriptorFile\nversion=1\ncreateType=\"streamOptimized\"\n")
	for t, s := range gd {
		binary.LittleEndian.PutUint32(b[int(gdSector)*sectorSize+4*t:], s)
	}
	fm := (sectors - 3) * sectorSize
	binary.LittleEndian.PutUint64(b[fm:], 1)
	binary.LittleEndian.PutUint32(b[fm+12:], markerFooter)
	hdr((sectors-2)*sectorSize, gdSector)
	return b
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// probeBounded probes b and requires the probe to have read no more than
// the file's size plus its fixed reads (header, descriptor, footer).
func probeBounded(t testing.TB, b []byte) (*VMDKInfo, error) {
	t.Helper()
	cr := &countingReader{r: bytes.NewReader(b)}
	info, err := probe(cr, int64(len(b)))
	if limit := int64(len(b)) + 8*sectorSize; cr.n.Load() > limit {
		t.Fatalf("the probe read %d bytes of a %d-byte file", cr.n.Load(), len(b))
	}
	return info, err
}

func TestVMDKGrainTablesBounded(t *testing.T) {
	const gtes = 512
	noGrains := func(int, int) uint32 { return 0 }
	oneGrain := func(t, i int) uint32 {
		if i == 0 {
			return 40
		}
		return 0
	}
	sameTable := make([]uint32, 4096) // 4096 tables of 512 grains of 64 KiB: 128 GiB claimed
	for i := range sameTable {
		sameTable[i] = 8
	}
	for _, tc := range []struct {
		name     string
		capacity uint64
		gd       []uint32
		grain    func(t, i int) uint32
		sectors  int
		want     string
	}{
		{"every directory entry names one grain table", 4096 * gtes * 128, sameTable, noGrains, 64, "are the same table"},
		{"grain tables overlap", 2 * gtes * 128, []uint32{8, 9}, noGrains, 64, "overlap"},
		{"grain table over the header", 2 * gtes * 128, []uint32{0, 1}, noGrains, 64, "overlaps the header, descriptor or grain directory"},
		{"grain table past the end of the file", 2 * gtes * 128, []uint32{8, 62}, noGrains, 64, "truncated"},
		{"grain table over the directory, inside the file", 2 * gtes * 128, []uint32{8, 57}, noGrains, 64, "overlaps the header, descriptor or grain directory"},
		{"grain inside a grain table", 2 * gtes * 128, []uint32{8, 16}, func(t, i int) uint32 {
			if i == 0 {
				return 17
			}
			return 0
		}, 64, "lies inside"},
		{"grain inside the header", 1 * gtes * 128, []uint32{8}, func(t, i int) uint32 {
			if i == 3 {
				return 0
			}
			if i == 4 {
				return 1 // the zero-grain marker: allowed
			}
			if i == 5 {
				return 2 // no: sector 2 is past the descriptor (sector 1), 3 would be fine too
			}
			return 0
		}, 64, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := craftVMDK(tc.capacity, 128, gtes, tc.gd, tc.grain, tc.sectors)
			_, err := probeBounded(t, b)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("probe says %v; want %q", err, tc.want)
			}
		})
	}
	// The same layout with tables of their own is a valid disk.
	b := craftVMDK(2*gtes*128, 128, gtes, []uint32{8, 12}, oneGrain, 64)
	info, err := probeBounded(t, b)
	if err != nil || info.Grains != 2 {
		t.Fatalf("valid crafted disk: %+v, %v", info, err)
	}
}

// FuzzVMDKGrainTables: whatever a header, directory or table says, the
// probe reads at most the file's size (plus its fixed reads) and never
// counts more grains than table entries fit in the file.
func FuzzVMDKGrainTables(f *testing.F) {
	f.Add(uint32(8), uint32(12), uint32(40), uint64(2*512*128), uint32(512), uint16(0), uint32(0))
	f.Add(uint32(8), uint32(8), uint32(40), uint64(2*512*128), uint32(512), uint16(0), uint32(0))
	f.Add(uint32(8), uint32(12), uint32(40), uint64(1<<40), uint32(512), uint16(600), uint32(0xffffffff))
	f.Fuzz(func(t *testing.T, gt0, gt1, grain uint32, capacity uint64, gtes uint32, at uint16, val uint32) {
		gtes = gtes%1024 + 1
		b := craftVMDK(2*512*128, 128, 512, []uint32{gt0 % 64, gt1 % 64}, func(int, int) uint32 { return grain % 80 }, 64)
		// then the header's claims and one word anywhere
		binary.LittleEndian.PutUint64(b[12:], capacity)
		binary.LittleEndian.PutUint64(b[len(b)-1024+12:], capacity)
		binary.LittleEndian.PutUint32(b[44:], gtes)
		binary.LittleEndian.PutUint32(b[len(b)-1024+44:], gtes)
		if o := int(at) % (len(b) - 4); true {
			binary.LittleEndian.PutUint32(b[o:], val)
		}
		info, err := probeBounded(t, b)
		if err == nil && info.Grains > int64(len(b)/4) {
			t.Fatalf("%d grains counted in a %d-byte file", info.Grains, len(b))
		}
	})
}
