package rpm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	rpmutils "github.com/sassoftware/go-rpmutils"

	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/repo/rpmsig"
)

// signatureInfo describes the signature packet blob of signature header
// tag name, as a package read in full lists it.
func signatureInfo(name string, blob []byte) Signature {
	info := Signature{Tag: name}
	sig, err := rpmsig.Parse(blob)
	if err != nil {
		info.Kind = "unreadable: " + err.Error()
		return info
	}
	info.Kind, info.KeyID, info.Created = sig.Kind(), sig.KeyIDString(), sig.Created.Unix()
	return info
}

var sigBufPool = sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }}

// ReadSignatures lists the OpenPGP signatures of an RPM by reading only
// its lead and signature header (a few KiB), for packages whose metadata
// --update reuses: the same list a full read gives, without checking
// anything a full read checks.
func ReadSignatures(path string) ([]Signature, error) {
	f, err := regular.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	defer f.Close()
	bp := sigBufPool.Get().(*[]byte)
	defer sigBufPool.Put(bp)
	buf := (*bp)[:cap(*bp)]
	n, _ := f.ReadAt(buf, 0)
	buf = buf[:n]
	if n < 96+16 || binary.BigEndian.Uint32(buf) != 0xedabeedb || buf[96] != 0x8e || buf[97] != 0xad || buf[98] != 0xe8 {
		return nil, fmt.Errorf("reading %q: no RPM signature header", path)
	}
	tags := int64(binary.BigEndian.Uint32(buf[96+8:]))
	data := int64(binary.BigEndian.Uint32(buf[96+12:]))
	if err := headerLimits(uint32(tags), uint32(data), true); tags == 0 || err != nil {
		return nil, fmt.Errorf("reading %q: corrupt signature header (%d tags, %d data bytes)", path, tags, data)
	}
	length := 96 + 16 + tags*16 + data
	if int64(len(buf)) < length {
		more := make([]byte, length)
		if _, err := f.ReadAt(more, 0); err != nil {
			return nil, fmt.Errorf("reading %q: %w", path, err)
		}
		buf = more
	}
	index := buf[96+16 : 96+16+tags*16]
	store := buf[96+16+tags*16 : length]
	// As go-rpmutils reads the header: the last entry of a tag wins.
	var blobs [4][]byte
	var present [4]bool
	for i := int64(0); i < tags; i++ {
		e := index[i*16:]
		tag := int(binary.BigEndian.Uint32(e))
		for j, st := range sigTagOrder {
			if tag != st.tag%16384 { // go-rpmutils numbers PGP and GPG 16384 up
				continue
			}
			present[j] = true
			blobs[j] = nil
			typ, off, count := binary.BigEndian.Uint32(e[4:]), int64(binary.BigEndian.Uint32(e[8:])), int64(binary.BigEndian.Uint32(e[12:]))
			if typ != rpmutils.RPM_BIN_TYPE {
				continue
			}
			if off+count > int64(len(store)) {
				return nil, fmt.Errorf("reading %q: corrupt signature header (%s out of bounds)", path, st.name)
			}
			blobs[j] = store[off : off+count]
		}
	}
	var sigs []Signature
	for j, st := range sigTagOrder {
		if present[j] {
			sigs = append(sigs, signatureInfo(st.name, blobs[j]))
		}
	}
	return sigs, nil
}

// Signature header tags holding OpenPGP signatures: DSA and RSA over the
// header, PGP and GPG over header and payload.
var sigTags = map[uint32]bool{267: true, 268: true, 1002: true, 1005: true}

// SignatureBlobs returns the OpenPGP signature packets of the signature
// header, which ends at sigEnd.
func SignatureBlobs(f *os.File, sigEnd int64) ([][]byte, error) {
	const start = 96
	if sigEnd <= start+16 || sigEnd > start+16+maxHeaderTags*16+maxHeaderData+8 {
		return nil, errors.New("bad signature header range")
	}
	b := make([]byte, sigEnd-start)
	if _, err := f.ReadAt(b, start); err != nil {
		return nil, err
	}
	if b[0] != 0x8e || b[1] != 0xad || b[2] != 0xe8 {
		return nil, errors.New("bad signature header magic")
	}
	n := int64(binary.BigEndian.Uint32(b[8:12]))
	size := int64(binary.BigEndian.Uint32(b[12:16]))
	if n > maxHeaderTags || 16+n*16+size > int64(len(b)) {
		return nil, errors.New("bad signature header size")
	}
	data := b[16+n*16 : 16+n*16+size]
	var out [][]byte
	for i := int64(0); i < n; i++ {
		ent := b[16+i*16 : 32+i*16]
		tag := binary.BigEndian.Uint32(ent[0:4])
		typ := binary.BigEndian.Uint32(ent[4:8])
		off := int64(binary.BigEndian.Uint32(ent[8:12]))
		cnt := int64(binary.BigEndian.Uint32(ent[12:16]))
		if !sigTags[tag] {
			continue
		}
		if typ != 7 || off+cnt > size {
			return nil, fmt.Errorf("bad signature tag %d", tag)
		}
		out = append(out, bytes.Clone(data[off:off+cnt]))
	}
	return out, nil
}
