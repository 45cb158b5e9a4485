package repo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/bdebundle/bundle/repo/rpmsig"
	"golang.org/x/sync/errgroup"

	"github.com/bdebundle/bundle/internal/osfs"
)

// scanCacheVersion names the layout of cache entries and the rules that
// turn a header into a Package; bump it when either changes. Changes to the
// fields of Package are picked up on their own (packageShape).
const scanCacheVersion = "rpm-scan-v1"

// ScanCache keeps what Scan learned about each RPM on disk, so a file that
// is unchanged since it was last scanned is not read again. An entry is
// keyed by the file's absolute path, size, modification and change times
// (nanoseconds), device and inode: replacing, rewriting, touching or moving
// the file changes the key. Each entry is one file,
// <dir>/rpm/<sha256 of the key>, written through a temporary file and a
// rename, so concurrent builds may share a directory. Entries that cannot be
// read or fail their checksum are ignored and written again. Nothing is
// ever removed: the directory may be deleted at any time.
//
// The methods of a ScanCache are safe for concurrent use.
type ScanCache struct {
	dir string
	// MinSize is the smallest file the cache keeps: reading a small RPM
	// costs about what reading its entry does, and writing an entry costs
	// more. OpenScanCache sets it to DefaultScanCacheMinSize.
	MinSize              int64
	hits, misses, stored atomic.Int64
}

// DefaultScanCacheMinSize is the default ScanCache.MinSize.
var DefaultScanCacheMinSize int64 = 256 << 10

// ScanCacheStats counts what a ScanCache did since it was opened.
type ScanCacheStats struct {
	// Hits are packages taken from the cache, without reading the file.
	Hits int64
	// Misses are files that had to be read.
	Misses int64
	// Stored are entries written.
	Stored int64
}

// OpenScanCache opens (creating it when needed) the scan cache under the
// cache directory dir, typically internal/cachedir.Dir's answer.
func OpenScanCache(dir string) (*ScanCache, error) {
	if dir == "" {
		return nil, errors.New("opening the scan cache: no cache directory")
	}
	d := filepath.Join(dir, "rpm")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, fmt.Errorf("opening the scan cache %q: %w", d, err)
	}
	return &ScanCache{dir: d, MinSize: DefaultScanCacheMinSize}, nil
}

// Stats reports the cache's counters.
func (c *ScanCache) Stats() ScanCacheStats {
	if c == nil {
		return ScanCacheStats{}
	}
	return ScanCacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Stored: c.stored.Load()}
}

// Scan is the package function Scan answered from the cache where it can:
// a file whose entry exists is not opened; every file read is recorded for
// the next run. With opts.Keyring set, an entry is used only when every key
// that verified the file's signatures when it was read is in the keyring,
// unchanged; otherwise the file is read (and its signatures checked) again.
// Results are the same as Scan's, byte for byte. opts.Cache, when set, is
// asked first. A nil ScanCache just calls Scan.
func (c *ScanCache) Scan(ctx context.Context, paths []string, opts ScanOptions) ([]*Package, error) {
	if c == nil {
		return Scan(ctx, paths, opts)
	}
	v := &scanView{c: c, next: opts.Cache, keyring: opts.Keyring, misses: map[string]missed{}}
	if opts.Keyring != nil {
		v.digests = make(map[*openpgp.Entity][32]byte, len(opts.Keyring))
		for _, e := range opts.Keyring {
			if d, ok := entityDigest(e); ok {
				v.digests[e] = d
			}
		}
	}
	opts.Cache = v
	pkgs, err := Scan(ctx, paths, opts)
	if err != nil {
		return nil, err
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i, p := range paths {
		m, ok := v.misses[p]
		if !ok {
			continue
		}
		delete(v.misses, p)
		pkg := pkgs[i]
		g.Go(func() error {
			if gctx.Err() == nil {
				v.store(m, pkg)
			}
			return nil
		})
	}
	_ = g.Wait()
	return pkgs, nil
}

// scanView answers the lookups of one Scan call.
type scanView struct {
	c       *ScanCache
	next    Cache
	keyring openpgp.EntityList
	digests map[*openpgp.Entity][32]byte

	mu     sync.Mutex
	misses map[string]missed
}

// missed is a file Scan had to read, with the key it had when looked up.
type missed struct{ path, abs, key string }

// scanEntry is what an entry file holds (gob-encoded).
type scanEntry struct {
	Key string
	// Sigs are the signatures the file was verified with, each with the
	// digest of the key that verified it; empty when no keyring was given.
	Sigs    []sigRecord
	Package Package
}

type sigRecord struct {
	Packet    []byte
	KeyDigest [32]byte
}

const entryMagic = "bundle scan cache\n"

func (v *scanView) Lookup(path string, fi fs.FileInfo) *Package {
	if v.next != nil {
		if p := v.next.Lookup(path, fi); p != nil {
			return p
		}
	}
	if fi.Size() < v.c.MinSize {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil
	}
	key, ok := scanKey(abs, fi)
	if !ok {
		return nil
	}
	if p := v.load(key); p != nil {
		v.c.hits.Add(1)
		return p
	}
	v.c.misses.Add(1)
	v.mu.Lock()
	v.misses[path] = missed{path: path, abs: abs, key: key}
	v.mu.Unlock()
	return nil
}

// load returns the package of the entry for key when it is sound and
// usable with the view's keyring.
func (v *scanView) load(key string) *Package {
	b, err := os.ReadFile(v.c.entryPath(key))
	if err != nil {
		return nil
	}
	e, ok := decodeEntry(b)
	if !ok || e.Key != key {
		return nil
	}
	p := &e.Package
	if v.keyring == nil {
		p.SignerKeyID = ""
		for i := range p.Signatures {
			p.Signatures[i].Verified = false
		}
		return p
	}
	if len(e.Sigs) == 0 || p.SignerKeyID == "" {
		return nil
	}
	for _, s := range e.Sigs {
		sig, ok := parseSigPacket(s.Packet)
		if !ok {
			return nil
		}
		ent := signingEntity(sig, v.keyring)
		if ent == nil {
			return nil
		}
		if d, ok := v.digests[ent]; !ok || d != s.KeyDigest {
			return nil
		}
	}
	return p
}

// store records pkg, read from m.path, unless the file changed since it
// was looked up. Failures are ignored: the cache only saves time.
func (v *scanView) store(m missed, pkg *Package) {
	e := scanEntry{Key: m.key, Package: *pkg}
	e.Package.Location = ""
	var fi fs.FileInfo
	var err error
	if v.keyring == nil {
		fi, err = os.Stat(m.path)
	} else {
		fi, err = v.signatures(m.path, pkg.HeaderStart, &e)
	}
	if err != nil {
		return
	}
	if key, ok := scanKey(m.abs, fi); !ok || key != m.key {
		return
	}
	b, ok := encodeEntry(&e)
	if !ok {
		return
	}
	if v.c.write(m.key, b) {
		v.c.stored.Add(1)
	}
}

// signatures records in e the signatures of the file at path, each with
// the digest of the key that verified it, and returns the file's state
// after reading them.
func (v *scanView) signatures(path string, sigEnd int64, e *scanEntry) (fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	blobs, err := signatureBlobs(f, sigEnd)
	if err != nil {
		return nil, err
	}
	if len(blobs) == 0 {
		return nil, errors.New("no signatures")
	}
	for _, b := range blobs {
		sig, ok := parseSigPacket(b)
		if !ok {
			return nil, errors.New("unknown signature packet")
		}
		ent := signingEntity(sig, v.keyring)
		d, ok := v.digests[ent]
		if ent == nil || !ok {
			return nil, errors.New("signing key not in the keyring")
		}
		e.Sigs = append(e.Sigs, sigRecord{Packet: b, KeyDigest: d})
	}
	return f.Stat()
}

func (c *ScanCache) entryPath(key string) string { return filepath.Join(c.dir, key) }

func (c *ScanCache) write(key string, b []byte) bool {
	f, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return false
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if werr != nil || cerr != nil || os.Rename(f.Name(), c.entryPath(key)) != nil {
		_ = os.Remove(f.Name())
		return false
	}
	return true
}

// encodeEntry lays an entry out as the magic, the sha256 of the body and
// the gob-encoded body.
func encodeEntry(e *scanEntry) ([]byte, bool) {
	var body bytes.Buffer
	if err := gob.NewEncoder(&body).Encode(e); err != nil {
		return nil, false
	}
	sum := sha256.Sum256(body.Bytes())
	out := make([]byte, 0, len(entryMagic)+len(sum)+body.Len())
	out = append(out, entryMagic...)
	out = append(out, sum[:]...)
	return append(out, body.Bytes()...), true
}

func decodeEntry(b []byte) (e *scanEntry, ok bool) {
	defer func() {
		if recover() != nil {
			e, ok = nil, false
		}
	}()
	if len(b) < len(entryMagic)+sha256.Size || string(b[:len(entryMagic)]) != entryMagic {
		return nil, false
	}
	sum := b[len(entryMagic) : len(entryMagic)+sha256.Size]
	body := b[len(entryMagic)+sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, false
	}
	e = new(scanEntry)
	if err := gob.NewDecoder(bytes.NewReader(body)).Decode(e); err != nil {
		return nil, false
	}
	return e, true
}

var packageShape = sync.OnceValue(func() string {
	h := sha256.New()
	shape(h, reflect.TypeFor[scanEntry](), map[reflect.Type]bool{})
	return hex.EncodeToString(h.Sum(nil))[:16]
})

// shape writes the field names and types of t, recursively.
func shape(w io.Writer, t reflect.Type, seen map[reflect.Type]bool) {
	fmt.Fprintf(w, "%s(", t.Kind())
	switch t.Kind() {
	case reflect.Struct:
		if seen[t] {
			fmt.Fprintf(w, "%s)", t.Name())
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			fmt.Fprintf(w, "%s:", f.Name)
			shape(w, f.Type, seen)
		}
	case reflect.Slice, reflect.Array, reflect.Pointer:
		shape(w, t.Elem(), seen)
	}
	fmt.Fprint(w, ")")
}

// scanKey is the entry key of the file at abs: the hex sha256 of the cache
// layout version and everything that identifies the file's content.
func scanKey(abs string, fi fs.FileInfo) (string, bool) {
	id, ok := osfs.ID(fi)
	if !ok {
		return "", false // no inode (Windows): no cache
	}
	k := fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%d\x00%d\x00%d\x00%d", scanCacheVersion, packageShape(), abs,
		fi.Size(), fi.ModTime().UnixNano(), osfs.ChangeTime(fi).UnixNano(), id.Dev, id.Ino)
	sum := sha256.Sum256([]byte(k))
	return hex.EncodeToString(sum[:]), true
}

// entityDigest is the sha256 of a key's public part (identities in name
// order): any change to the key (a new subkey, a revocation) makes it
// another key for the cache.
func entityDigest(e *openpgp.Entity) ([32]byte, bool) {
	h := sha256.New()
	err := e.PrimaryKey.Serialize(h)
	for _, s := range append(slices.Clone(e.Revocations), e.Signatures...) {
		err = errors.Join(err, s.Serialize(h))
	}
	names := slices.Sorted(maps.Keys(e.Identities))
	for _, n := range names {
		id := e.Identities[n]
		err = errors.Join(err, id.UserId.Serialize(h))
		for _, s := range id.Signatures {
			err = errors.Join(err, s.Serialize(h))
		}
	}
	for _, sub := range e.Subkeys {
		err = errors.Join(err, sub.PublicKey.Serialize(h))
		for _, s := range sub.Revocations {
			err = errors.Join(err, s.Serialize(h))
		}
		if sub.Sig != nil {
			err = errors.Join(err, sub.Sig.Serialize(h))
		}
	}
	if err != nil {
		return [32]byte{}, false
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d, true
}

func parseSigPacket(b []byte) (*rpmsig.Signature, bool) {
	s, err := rpmsig.Parse(b)
	if err != nil || s.KeyID == 0 {
		return nil, false
	}
	return s, true
}

// signingEntity finds the certificate whose primary key or a subkey has
// the signature's key id, as the scan's keyring does.
func signingEntity(sig *rpmsig.Signature, keyring openpgp.EntityList) *openpgp.Entity {
	for _, e := range keyring {
		if e.PrimaryKey != nil && e.PrimaryKey.KeyId == sig.KeyID {
			return e
		}
		for _, sub := range e.Subkeys {
			if sub.PublicKey != nil && sub.PublicKey.KeyId == sig.KeyID {
				return e
			}
		}
	}
	return nil
}

// Signature header tags holding OpenPGP signatures: DSA and RSA over the
// header, PGP and GPG over header and payload.
var sigTags = map[uint32]bool{267: true, 268: true, 1002: true, 1005: true}

// signatureBlobs returns the OpenPGP signature packets of the signature
// header, which ends at sigEnd.
func signatureBlobs(f *os.File, sigEnd int64) ([][]byte, error) {
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
