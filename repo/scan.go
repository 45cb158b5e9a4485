package repo

import (
	"bufio"
	"context"
	"crypto"
	_ "crypto/sha1" // payload and header digests
	_ "crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/ProtonMail/go-crypto/openpgp"
	rpmutils "github.com/sassoftware/go-rpmutils"
	"golang.org/x/sync/errgroup"

	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/dualsha"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/repo/rpmsig"
)

// Cache supplies metadata already known for a file, so Scan need not read
// it again. Lookup returns nil when the file must be read.
type Cache interface {
	Lookup(path string, fi fs.FileInfo) *Package
}

// ScanOptions control Scan.
type ScanOptions struct {
	// Workers is the number of files read at once; 0 means GOMAXPROCS.
	Workers int
	// Keyring, when non-nil, requires every RPM to carry a valid signature
	// from one of its keys.
	Keyring openpgp.EntityList
	// Progress receives the bytes read.
	Progress progress.Reporter
	// Cache, when set, is asked before a file is read.
	Cache Cache
	// Root is the directory locations are relative to; when empty each
	// package's location is its file name.
	Root string
}

// Scan reads the header of every RPM in paths, checks its digests (and
// signature when a keyring is given) and computes its sha256, reading each
// file once. The payload is hashed, never decompressed. Packages come back
// in the order of paths. Every bad file is reported, each error naming the
// file and the problem.
func Scan(ctx context.Context, paths []string, opts ScanOptions) ([]*Package, error) {
	pkgs := make([]*Package, len(paths))
	var reuse func(int, string, fs.FileInfo) bool
	if opts.Cache != nil {
		reuse = func(i int, path string, fi fs.FileInfo) bool {
			p := opts.Cache.Lookup(path, fi)
			if p == nil {
				return false
			}
			cp := *p
			cp.Location, _ = location(opts.Root, path) // checked by scanEach first
			pkgs[i] = &cp
			return true
		}
	}
	err := scanEach(ctx, paths, opts, reuse, func(i int, p *Package) error {
		pkgs[i] = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pkgs, nil
}

// scanEach is Scan without the collecting: each file is offered to reuse
// (when set), which returns true when it has what it needs without reading
// the file; every other file is read and handed to emit with its index in
// paths and its Location set. reuse and emit are called from several
// goroutines at once; an error from emit stops the scan.
func scanEach(ctx context.Context, paths []string, opts ScanOptions, reuse func(i int, path string, fi fs.FileInfo) bool, emit func(i int, p *Package) error) error {
	return scanEachHooks(ctx, paths, opts, scanHooks{reuse: reuse, emit: emit})
}

// scanHooks are what scanEachHooks calls. reuse and emit are as for
// scanEach. admit, when set, is called (from one goroutine, in dispatch
// order) before the i-th file is handed to a worker, except for the few
// large files read first (scanOrder), and may block to bound the work in
// flight. settled, when set, is called once a file is done with,
// whether it was reused, emitted or failed (not for files never started
// because the scan was cancelled).
type scanHooks struct {
	reuse   func(i int, path string, fi fs.FileInfo) bool
	emit    func(i int, p *Package) error
	admit   func(i int)
	settled func(i int)
}

// largeFirst is how many of the largest files (of at least largeFile
// bytes) a scan starts with; the rest are read in the order given, so that
// a consumer of packages in path order is fed steadily.
const (
	largeFirst = 16
	largeFile  = 1 << 20
)

// scanOrder returns the order in which files are read: up to largeFirst
// of the largest files (at least largeFile bytes) first, largest first, so
// that no worker finishes a big file long after the rest are done; then
// the others in the order given. nfirst is the number of the former.
func scanOrder(sizes []int64) (order []int, nfirst int) {
	var big []int
	for i, s := range sizes {
		if s >= largeFile {
			big = append(big, i)
		}
	}
	sort.SliceStable(big, func(a, b int) bool { return sizes[big[a]] > sizes[big[b]] })
	big = big[:min(len(big), largeFirst)]
	first := make(map[int]bool, len(big))
	for _, i := range big {
		first[i] = true
	}
	order = append(make([]int, 0, len(sizes)), big...)
	for i := range sizes {
		if !first[i] {
			order = append(order, i)
		}
	}
	return order, len(big)
}

func scanEachHooks(ctx context.Context, paths []string, opts ScanOptions, h scanHooks) error {
	reuse, emit := h.reuse, h.emit
	settled := h.settled
	if settled == nil {
		settled = func(int) {}
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	rep := progress.Or(opts.Progress)
	var total int64
	// Only the sizes are kept (a FileInfo is a few hundred bytes, which
	// adds up over tens of thousands of packages); reuse gets a fresh one.
	sizes := make([]int64, len(paths))
	var errs []error
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %q: %w", p, err))
			continue
		}
		if !fi.Mode().IsRegular() {
			errs = append(errs, fmt.Errorf("reading %q: not a regular file", p))
			continue
		}
		sizes[i] = fi.Size()
		total += fi.Size()
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	var keyring *rpmsig.Keyring
	if opts.Keyring != nil {
		keyring = rpmsig.NewKeyring(opts.Keyring)
	}
	task := rep.Start(fmt.Sprintf("scanning %d RPMs", len(paths)), total)
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	order, nfirst := scanOrder(sizes)
	for pos, i := range order {
		path := paths[i]
		if h.admit != nil && pos >= nfirst {
			h.admit(i)
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			defer settled(i)
			loc, err := location(opts.Root, path)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return nil
			}
			size := sizes[i]
			if reuse != nil {
				fi, err := os.Stat(path)
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("reading %q: %w", path, err))
					mu.Unlock()
					return nil
				}
				if fi.Size() == size && reuse(i, path, fi) {
					task.Add(size)
					progress.AddItems(task, 1)
					return nil
				}
			}
			p, err := readRPM(gctx, path, size, keyring, task)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return nil
			}
			p.Location = loc
			progress.AddItems(task, 1)
			return emit(i, p)
		})
	}
	werr := g.Wait()
	if werr == nil {
		werr = ctx.Err()
	}
	if werr != nil {
		task.Done(werr)
		return werr
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
		err := errors.Join(errs...)
		task.Done(err)
		return err
	}
	task.Done(nil)
	return nil
}

func location(root, path string) (string, error) {
	if root == "" {
		return filepath.Base(path), nil
	}
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("reading %q: not inside the repository directory %q", path, root)
	}
	return filepath.ToSlash(rel), nil
}

// Limits rpm itself places on a header (hdrchkTags, hdrchkData), used
// where a header is located without being read (sigheader.go, scancache.go).
const (
	maxHeaderTags = headerTagsMax
	maxHeaderData = headerDataMax
)

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

// readRPM reads one RPM: header, digests, signature, sha256 of the file.
func readRPM(ctx context.Context, path string, size int64, keyring *rpmsig.Keyring, task progress.Task) (p *Package, err error) {
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
