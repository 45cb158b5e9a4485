package rpm

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// rpm's limits and sanity rules for a header blob, from lib/header.cc and
// lib/header_internal.hh (rpm 4.18 to 6.0): applied to the signature
// header and the main header before anything parses them, so a package
// rpm refuses as malformed is refused here too, at a cost linear in the
// header's size.
const (
	headerTagsMax     = 0x0000ffff         // HEADER_TAGS_MAX (hdrblobVerifyLengths)
	headerDataMax     = 0x0fffffff         // HEADER_DATA_MAX
	headerArrayMax    = 0x000fffff         // HEADER_ARRAY_MAX (hdrchkArray)
	headerMaxBytes    = 256 << 20          // headerMaxbytes (hdrblobInit)
	sigHeaderTagsMax  = 32                 // hdrblobVerifyLengths, RPMTAG_HEADERSIGNATURES
	sigHeaderDataMax  = 64 << 20           // hdrblobVerifyLengths, RPMTAG_HEADERSIGNATURES
	headerI18NTable   = 100                // HEADER_I18NTABLE: the lowest tag an entry may have (hdrchkTag)
	regionTagCount    = 16                 // REGION_TAG_COUNT: a region tag's data is one index entry
	regionSignatures  = 62                 // RPMTAG_HEADERSIGNATURES
	regionImmutable   = 63                 // RPMTAG_HEADERIMMUTABLE
	regionImage       = 61                 // RPMTAG_HEADERIMAGE
	rpmMaxType        = 9                  // RPM_MAX_TYPE (RPM_I18NSTRING_TYPE)
	typeString        = 6                  // RPM_STRING_TYPE
	typeBin           = 7                  // RPM_BIN_TYPE
	typeStringArray   = 8                  // RPM_STRING_ARRAY_TYPE
	typeI18NString    = 9                  // RPM_I18NSTRING_TYPE
	headerMagicPrefix = "\x8e\xad\xe8\x01" // rpm_header_magic, then four zero bytes
)

// typeAlign and typeSizes are rpm's tables of the same names (lib/header.cc)
// for types 0..9; -1: a string type, whose length is found by its NULs.
var (
	typeAlign = [rpmMaxType + 1]uint32{1, 1, 1, 2, 4, 8, 1, 1, 1, 1}
	typeSizes = [rpmMaxType + 1]int64{0, 1, 1, 2, 4, 8, -1, 1, -1, -1}
)

// headerLimits checks the tag count and data size of a header intro as
// hdrblobVerifyLengths does: at most 32 tags and 64 MiB in the signature
// header, 65535 tags and HEADER_DATA_MAX bytes in the main header; and the
// blob size against headerMaxbytes (hdrblobInit). il and dl come straight
// from the file, so this runs before anything is allocated for them.
func headerLimits(il, dl uint32, sig bool) error {
	ilMax, dlMax := uint32(headerTagsMax), uint32(headerDataMax)
	if sig {
		ilMax, dlMax = sigHeaderTagsMax, sigHeaderDataMax
	}
	if il > ilMax {
		return fmt.Errorf("%d tags, rpm allows at most %d", il, ilMax)
	}
	if dl > dlMax {
		return fmt.Errorf("%d data bytes, rpm allows at most %d", dl, dlMax)
	}
	if 8+16*int64(il)+int64(dl) >= headerMaxBytes {
		return fmt.Errorf("%d tags and %d data bytes make a header of 256 MiB or more", il, dl)
	}
	return nil
}

// checkHeaderBlob applies rpm's structural checks to one header blob b:
// the 16-byte intro (magic, tag count il, data size dl), the index and
// the data, exactly. sig selects the signature header's rules. The checks
// are rpm's hdrblobVerifyLengths, hdrblobInit, hdrblobVerifyRegion (with
// exact_size for the main header, as hdrblobRead is called for a package's
// header) and hdrblobVerifyInfo: a region tag first whose trailer lies
// inside the data, every other entry with a tag of at least 100, a known
// type, a count between 1 and the data size, aligned, its data inside the
// data area and after the previous entry's, in the main header of the type
// rpm gives the tag (hdrchkTagType) (no overlap, which also makes
// the cost of the string scans linear) and clear of the region trailer.
// It allocates nothing unless it fails.
func checkHeaderBlob(b []byte, sig bool) error {
	if len(b) < 16 || string(b[:4]) != headerMagicPrefix || binary.BigEndian.Uint32(b[4:8]) != 0 {
		return fmt.Errorf("bad magic")
	}
	il, dl := binary.BigEndian.Uint32(b[8:12]), binary.BigEndian.Uint32(b[12:16])
	if err := headerLimits(il, dl, sig); err != nil {
		return err
	}
	if int64(len(b)) != 16+16*int64(il)+int64(dl) {
		return fmt.Errorf("blob size %d, 16 + 16 * %d tags + %d data bytes", len(b), il, dl)
	}
	if il < 1 {
		return fmt.Errorf("region: no tags")
	}
	index := b[16 : 16+16*int(il)]
	data := b[16+16*int(il):]

	// hdrblobVerifyRegion
	want := uint32(regionImmutable)
	if sig {
		want = regionSignatures
	}
	tag, typ, off, count := entryAt(index, 0)
	if tag != want {
		// rpm reads a header without a region as a legacy one; every
		// rpm since 4.0 writes one, and the scan has always required it.
		return fmt.Errorf("first tag %d is not the region tag %d", tag, want)
	}
	if typ != typeBin || count != regionTagCount {
		return fmt.Errorf("region tag: BAD, tag %d type %d offset %d count %d", tag, typ, off, count)
	}
	if uint64(off)+regionTagCount > uint64(dl) {
		return fmt.Errorf("region offset: BAD, tag %d type %d offset %d count %d", tag, typ, off, count)
	}
	rdl := off + regionTagCount
	ttag, ttyp, toff, tcount := entryAt(data[off:], 0)
	toff = -toff // the trailer's offset is negative: minus the region's index size
	if sig && ttag == regionImage {
		ttag = regionSignatures // some old packages, as rpm allows
	}
	if ttag != want || ttyp != typeBin || tcount != regionTagCount {
		return fmt.Errorf("region trailer: BAD, tag %d type %d offset %d count %d", ttag, ttyp, int32(-toff), tcount)
	}
	ril := toff / 16
	if toff%16 != 0 || ril > il || rdl > dl {
		return fmt.Errorf("region %d size: BAD, ril %d il %d rdl %d dl %d", want, ril, il, rdl, dl)
	}
	if !sig && (il != ril || dl != rdl) {
		return fmt.Errorf("region %d: tag number mismatch il %d ril %d dl %d rdl %d", want, il, ril, dl, rdl)
	}

	// hdrblobVerifyInfo, past the region tag
	var end uint32
	for i := uint32(1); i < il; i++ {
		tag, typ, off, count := entryAt(index, i)
		bad := func(why string) error {
			return fmt.Errorf("tag[%d]: BAD, tag %d type %d offset %d count %d (%s)", i, tag, typ, off, count, why)
		}
		switch {
		case end > off:
			return bad("its data overlaps the previous entry's")
		case int32(tag) < headerI18NTable: // rpm_tag_t is signed
			return bad("tag number below 100")
		case typ > rpmMaxType:
			return bad("unknown type")
		case count < 1 || count > dl:
			return bad("count out of range")
		case off&(typeAlign[typ]-1) != 0:
			return bad("misaligned")
		case off > dl:
			return bad("offset past the data")
		case typ != typeBin && count&^headerArrayMax != 0:
			return bad("array too long")
		}
		if !sig && !tagTypeOK(tag, typ) {
			return bad("type does not match the tag's")
		}
		n, ok := dataLength(typ, data[off:], count)
		if !ok || n <= 0 || uint64(off)+uint64(n) > uint64(dl) {
			return bad("data does not fit")
		}
		if sig {
			if why := sigEntryRule(tag, typ, count, data[off:off+uint32(n)]); why != "" {
				return bad(why)
			}
		}
		end = off + uint32(n)
		if end > rdl-regionTagCount && off < rdl {
			return bad("data overlaps the region trailer")
		}
	}
	return nil
}

// tagTypeOK is rpm's hdrchkTagType: a tag rpm knows must have its type,
// except that string types stand in for each other; unknown tags pass.
func tagTypeOK(tag, typ uint32) bool {
	t, known := rpmTagTypes[tag]
	if !known || uint32(t) == typ {
		return true
	}
	return isStringType(uint32(t)) && isStringType(typ)
}

func isStringType(t uint32) bool {
	return t == typeString || t == typeStringArray || t == typeI18NString
}

// entryAt decodes index entry i.
func entryAt(index []byte, i uint32) (tag, typ, off, count uint32) {
	e := index[16*i : 16*i+16]
	return binary.BigEndian.Uint32(e), binary.BigEndian.Uint32(e[4:]), binary.BigEndian.Uint32(e[8:]), binary.BigEndian.Uint32(e[12:])
}

// dataLength is rpm's dataLength for data on disk: the bytes count values
// of type typ take at the start of d; ok is false when they do not fit (a
// string without its NUL).
func dataLength(typ uint32, d []byte, count uint32) (int64, bool) {
	switch typ {
	case typeString:
		if count != 1 {
			return 0, false
		}
		fallthrough
	case typeStringArray, typeI18NString:
		var n int64
		for ; count > 0; count-- {
			i := bytes.IndexByte(d[n:], 0)
			if i < 0 {
				return 0, false
			}
			n += int64(i) + 1
		}
		return n, true
	}
	n := typeSizes[typ] * int64(count)
	return n, n <= int64(len(d))
}

// checkLead applies rpm's rpmLeadCheck (lib/rpmlead.c) to the 96-byte
// lead, past its magic: format major version 3 or 4, signature type 5
// (RPMSIGTYPE_HEADERSIG, a signature header follows).
func checkLead(lead []byte) error {
	if major := lead[4]; major < 3 || major > 4 {
		return fmt.Errorf("unsupported RPM package version %d", major)
	}
	if st := binary.BigEndian.Uint16(lead[78:80]); st != 5 {
		return fmt.Errorf("illegal signature type %d", st)
	}
	return nil
}

// sigEntryRule is what rpmsinfoInit (lib/rpmvs.c) requires of the
// signature header's digests and signatures (its rpmvfytags table): the
// MD5 binary and 16 bytes, the signatures binary, SHA1HEADER and
// SHA256HEADER one string of 40 or 64 hex digits. "" when v passes.
func sigEntryRule(tag, typ, count uint32, v []byte) string {
	switch tag {
	case 1004: // MD5
		if typ != typeBin || count != 16 {
			return "MD5 must be 16 bytes of binary"
		}
	case 267, 268, 1002, 1005: // DSAHEADER, RSAHEADER, PGP, GPG
		if typ != typeBin {
			return "a signature must be binary"
		}
	case 269, 273: // SHA1HEADER, SHA256HEADER
		size := 41
		if tag == 273 {
			size = 65
		}
		if typ != typeString || len(v) != size {
			return fmt.Sprintf("a header digest must be a string of %d hex digits", size-1)
		}
		for _, c := range v[:size-1] {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return "a header digest must be hex"
			}
		}
	}
	return ""
}
