package rpmfixture

import "encoding/binary"

// HeaderView gives the index and data of the header at Off in B, for
// tests that change a header entry in place.
type HeaderView struct {
	B          []byte
	Off        int
	IL, DL     int
	Index, Dat []byte
}

// ViewHeader views the header at off in b.
func ViewHeader(b []byte, off int) HeaderView {
	il := int(binary.BigEndian.Uint32(b[off+8:]))
	dl := int(binary.BigEndian.Uint32(b[off+12:]))
	return HeaderView{B: b, Off: off, IL: il, DL: dl, Index: b[off+16 : off+16+il*16], Dat: b[off+16+il*16 : off+16+il*16+dl]}
}

// Field is field f (0 tag, 1 type, 2 offset, 3 count) of index entry i.
func (h HeaderView) Field(i, f int) uint32 { return binary.BigEndian.Uint32(h.Index[i*16+f*4:]) }

// Set sets field f of index entry i.
func (h HeaderView) Set(i, f int, v uint32) { binary.BigEndian.PutUint32(h.Index[i*16+f*4:], v) }

// Find returns the index entry of tag.
func (h HeaderView) Find(tag uint32) (int, bool) {
	for i := 0; i < h.IL; i++ {
		if h.Field(i, 0) == tag {
			return i, true
		}
	}
	return 0, false
}
