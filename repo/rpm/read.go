package rpm

import (
	"bufio"
	"context"
	"crypto"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/dualsha"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/repo/rpmsig"
	rpmutils "github.com/sassoftware/go-rpmutils"
)

// Limits rpm itself places on a header (hdrchkTags, hdrchkData), used
// where a header is located without being read (sigheader.go, scancache.go).
const (
	maxHeaderTags = headerTagsMax
	maxHeaderData = headerDataMax
)

// MaxHeadersEnd is the largest offset at which rpm's limits let the main
// header of a package end: the lead, the signature header with its
// padding and the main header, each at its largest.
const MaxHeadersEnd = 96 + 16 + sigHeaderTagsMax*16 + sigHeaderDataMax + 8 + 16 + maxHeaderTags*16 + maxHeaderData

// headerBufPool holds the buffers precheck reads both headers into.
var headerBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// precheck validates the lead and both headers with rpm's rules
// (checkHeaderBlob) before go-rpmutils reads them, and returns the main
// header (intro, index and data) read into a pooled buffer for readPackage
// to digest; release returns the buffer.
func precheck(f *os.File, size int64) (header []byte, headerAt int64, release func(), err error) {
	if size == 0 {
		return nil, 0, nil, errors.New("empty file")
	}
	var lead [96 + 16]byte
	if n, _ := f.ReadAt(lead[:], 0); n < len(lead) {
		if n >= 4 && binary.BigEndian.Uint32(lead[:4]) != 0xedabeedb {
			return nil, 0, nil, errors.New("not an RPM (bad lead magic)")
		}
		return nil, 0, nil, errors.New("truncated (file ends inside the RPM lead)")
	}
	if binary.BigEndian.Uint32(lead[:4]) != 0xedabeedb {
		return nil, 0, nil, errors.New("not an RPM (bad lead magic)")
	}
	if err := checkLead(lead[:96]); err != nil {
		return nil, 0, nil, fmt.Errorf("corrupt RPM lead (%w)", err)
	}
	// Locate both headers from their intros, checking rpm's limits on
	// the sizes before reading (or allocating) anything of those sizes.
	off := int64(96)
	var starts, lens [2]int64
	for i, name := range []string{"signature header", "header"} {
		var intro [16]byte
		if i == 0 {
			copy(intro[:], lead[96:])
		} else if n, _ := f.ReadAt(intro[:], off); n < 16 {
			return nil, 0, nil, fmt.Errorf("truncated (file ends before the %s)", name)
		}
		if intro[0] != 0x8e || intro[1] != 0xad || intro[2] != 0xe8 {
			return nil, 0, nil, fmt.Errorf("corrupt %s (bad magic)", name)
		}
		tags := binary.BigEndian.Uint32(intro[8:12])
		data := binary.BigEndian.Uint32(intro[12:16])
		if err := headerLimits(tags, data, i == 0); err != nil {
			return nil, 0, nil, fmt.Errorf("corrupt %s (%w)", name, err)
		}
		length := 16 + int64(tags)*16 + int64(data)
		starts[i], lens[i] = off, length
		if i == 0 {
			length = (length + 7) / 8 * 8 // padded to 8 bytes
		}
		if off+length > size {
			return nil, 0, nil, fmt.Errorf("truncated (file ends inside the %s)", name)
		}
		off += length
	}
	bp := headerBufPool.Get().(*[]byte)
	release = func() {
		if cap(*bp) <= 4<<20 { // a rare huge header is not kept
			headerBufPool.Put(bp)
		}
	}
	n := int(off - 96)
	if cap(*bp) < n {
		*bp = make([]byte, n)
	}
	buf := (*bp)[:n]
	if _, err := f.ReadAt(buf, 96); err != nil {
		release()
		return nil, 0, nil, fmt.Errorf("reading the headers: %w", err)
	}
	sig := buf[:lens[0]]
	main := buf[starts[1]-96 : starts[1]-96+lens[1]]
	if err := checkHeaderBlob(sig, true); err != nil {
		release()
		return nil, 0, nil, fmt.Errorf("corrupt signature header (%w)", err)
	}
	if err := checkHeaderBlob(main, false); err != nil {
		release()
		return nil, 0, nil, fmt.Errorf("corrupt header (%w)", err)
	}
	return main, starts[1], release, nil
}

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// payloadChunk is the size of the reads that feed the payload to the
// hashes: small enough that the pooled buffers, dropped at each garbage
// collection, cost little to allocate again.
var payloadChunk = 64 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, payloadChunk); return &b }}

// ReadFile reads the RPM at path, size bytes long, in one pass: it checks
// the lead and both headers with rpm's rules, verifies every digest (and,
// with a keyring, the signatures) and computes the sha256 of the file,
// counting the bytes read on task. The Package has no Location.
func ReadFile(ctx context.Context, path string, size int64, keyring *rpmsig.Keyring, task progress.Task) (p *Package, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("reading %q: corrupt RPM header (%v)", path, r)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	defer f.Close()
	header, headerAt, release, err := precheck(f, size)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	defer release()
	br := readerPool.Get().(*bufio.Reader)
	defer readerPool.Put(br)
	src := ctxio.Reader(ctx, progress.Reader(f, task))
	br.Reset(src)
	var (
		hdr *rpmutils.RpmHeader
		sum [32]byte
	)
	p = &Package{Size: size}
	hdr, p.Signatures, p.SignerKeyID, sum, err = readPackage(f, br, src, keyring, header, headerAt)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("reading %q: %s", path, err)
	}
	p.Checksum = hex.EncodeToString(sum[:])
	if err := fromHeader(hdr, p); err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	return p, nil
}

// writerA feeds a dualsha.Pair's file stream.
type writerA struct{ p *dualsha.Pair }

func (w writerA) Write(b []byte) (int, error) { return w.p.WriteA(b) }

// payloadDigest returns the header's payload digest and its algorithm, 0
// when there is none.
func payloadDigest(hdr *rpmutils.RpmHeader) (string, crypto.Hash) {
	digests, err := hdr.GetStrings(rpmutils.PAYLOADDIGEST)
	if err != nil || len(digests) == 0 {
		return "", 0
	}
	algos, err := hdr.GetUint32s(rpmutils.PAYLOADDIGESTALGO)
	if err != nil || len(algos) == 0 {
		return "", 0
	}
	if h, ok := payloadHashes[algos[0]]; ok {
		return digests[0], h
	}
	return "", 0
}

// payloadHashes maps rpm's PAYLOADDIGESTALGO values to hashes.
var payloadHashes = map[uint32]crypto.Hash{
	rpmutils.HASH_MD5:    crypto.MD5,
	rpmutils.HASH_SHA1:   crypto.SHA1,
	rpmutils.HASH_SHA256: crypto.SHA256,
	rpmutils.HASH_SHA384: crypto.SHA384,
	rpmutils.HASH_SHA512: crypto.SHA512,
	rpmutils.HASH_SHA224: crypto.SHA224,
}

// describeVerifyError turns go-rpmutils' messages into ones that say what
// is wrong with the file.
func describeVerifyError(err error) string {
	var knf rpmutils.KeyNotFoundError
	if errors.As(err, &knf) {
		return fmt.Sprintf("signed by key %s, which is not among the trusted keys", strings.TrimPrefix(knf.Error(), "keyid "))
	}
	msg := err.Error()
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || strings.Contains(msg, "unexpected EOF"):
		return "truncated (" + msg + ")"
	case strings.Contains(msg, "mismatch in signature header"):
		return "header digest mismatch: the header is corrupt (" + msg + ")"
	case strings.Contains(msg, "payload") && strings.Contains(msg, "mismatch"):
		return "payload digest mismatch: the payload is corrupt or truncated (" + msg + ")"
	case strings.Contains(msg, "md5 digest mismatch"):
		return "MD5 digest mismatch: the file is corrupt or truncated"
	case strings.Contains(msg, "not an RPM"):
		return "not an RPM"
	case strings.Contains(msg, "openpgp") || strings.Contains(msg, "signature"):
		return "bad signature (" + msg + ")"
	}
	return msg
}
