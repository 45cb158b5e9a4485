package volume

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/regular"
)

// Info names the bundle a volume set carries.
type Info struct {
	Name, Version string
	BundleSHA256  string // sha256 of the bundle's bundle.json, hex
}

// Signer signs the encoded volume manifest (a detached armored OpenPGP
// signature, made as bundle.json.sig is); nil writes no signature.
type Signer func(data []byte) ([]byte, error)

// Split cuts the archive at archive into volumes of size bytes in dir
// (created when missing) and writes the volume manifest and, with sign,
// its signature. Each file is written under a temporary name, flushed, and
// renamed into place only when every volume is written and the archive
// read to its end at the size it had when Split began; volumes of an
// earlier set of the same archive past the new count are removed, as is a
// signature the new set does not have. It returns the manifest and its
// path.
func Split(ctx context.Context, archive, dir string, size int64, info Info, sign Signer) (*Manifest, string, error) {
	if size < 1 {
		return nil, "", fmt.Errorf("volume size %d: must be positive", size)
	}
	if !isHex(info.BundleSHA256) {
		return nil, "", fmt.Errorf("bundle id %q: not a sha256 digest in hex", info.BundleSHA256)
	}
	f, err := regular.Open(archive)
	if err != nil {
		return nil, "", fmt.Errorf("reading %q: %w", archive, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, "", fmt.Errorf("reading %q: %w", archive, err)
	}
	total := fi.Size()
	if total == 0 {
		return nil, "", fmt.Errorf("reading %q: the archive is empty", archive)
	}
	n64 := (total + size - 1) / size
	if n64 > MaxVolumes {
		return nil, "", fmt.Errorf("splitting %q (%d bytes) into volumes of %d bytes makes %d volumes, more than %d", archive, total, size, n64, MaxVolumes)
	}
	n := int(n64)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", fmt.Errorf("creating %q: %w", dir, err)
	}
	base := filepath.Base(archive)
	m := &Manifest{Schema: Schema, Name: info.Name, Version: info.Version, BundleSHA256: info.BundleSHA256,
		Archive: base, ArchiveSize: total, VolumeSize: size}
	var temps []string
	cleanup := func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}
	whole := sha256.New()
	src := bufio.NewReaderSize(ctxio.Reader(ctx, f), 1<<20)
	for i := 1; i <= n; i++ {
		want := size
		if i == n {
			want = total - size*int64(n-1)
		}
		name := volumeName(base, i, n)
		tmp, sum, err := writeVolume(dir, name, io.TeeReader(io.LimitReader(src, want), whole), want)
		if tmp != "" {
			temps = append(temps, tmp)
		}
		if err != nil {
			cleanup()
			return nil, "", fmt.Errorf("writing volume %d of %d (%s) of %q: %w", i, n, name, archive, err)
		}
		m.Volumes = append(m.Volumes, Entry{Index: i, Name: name, Size: want, SHA256: sum})
	}
	if k, _ := src.Read(make([]byte, 1)); k != 0 {
		cleanup()
		return nil, "", fmt.Errorf("reading %q: the archive grew while it was split", archive)
	}
	m.ArchiveSHA256 = hex.EncodeToString(whole.Sum(nil))
	data := m.Encode()
	mpath := filepath.Join(dir, ManifestName(base))
	spath := filepath.Join(dir, base+SignatureSuffix)
	tmp, err := writeTemp(dir, ManifestName(base), data)
	if tmp != "" {
		temps = append(temps, tmp)
	}
	if err != nil {
		cleanup()
		return nil, "", fmt.Errorf("writing %q: %w", mpath, err)
	}
	var sigTmp string
	if sign != nil {
		sig, err := sign(data)
		if err != nil {
			cleanup()
			return nil, "", fmt.Errorf("signing %q: %w", mpath, err)
		}
		sigTmp, err = writeTemp(dir, base+SignatureSuffix, sig)
		if sigTmp != "" {
			temps = append(temps, sigTmp)
		}
		if err != nil {
			cleanup()
			return nil, "", fmt.Errorf("writing %q: %w", spath, err)
		}
	}
	if err := ctx.Err(); err != nil {
		cleanup()
		return nil, "", err
	}
	// Everything is written: the volumes go into place, then the
	// signature, the manifest last.
	for i, v := range m.Volumes {
		if err := os.Rename(temps[i], filepath.Join(dir, v.Name)); err != nil {
			cleanup()
			return nil, "", fmt.Errorf("writing volume %d of %d: %w", v.Index, n, err)
		}
	}
	if sigTmp != "" {
		if err := os.Rename(sigTmp, spath); err != nil {
			cleanup()
			return nil, "", fmt.Errorf("writing %q: %w", spath, err)
		}
	} else if err := os.Remove(spath); err != nil && !errors.Is(err, os.ErrNotExist) {
		cleanup()
		return nil, "", fmt.Errorf("removing the old signature %q: %w", spath, err)
	}
	if err := os.Rename(temps[n], mpath); err != nil {
		cleanup()
		return nil, "", fmt.Errorf("writing %q: %w", mpath, err)
	}
	if err := removeStale(dir, base, n); err != nil {
		return nil, "", err
	}
	return m, mpath, nil
}

// writeVolume copies want bytes of r into a temporary file beside
// dir/name, flushed, and returns its path and the bytes' sha256.
func writeVolume(dir, name string, r io.Reader, want int64) (string, string, error) {
	out, err := os.CreateTemp(dir, "."+name+".tmp-")
	if err != nil {
		return "", "", err
	}
	tmp := out.Name()
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(out, h), 1<<20)
	k, err := io.Copy(bw, r)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && k != want {
		err = fmt.Errorf("the archive ended after %d of this volume's %d bytes (it shrank while it was split)", k, want)
	}
	err = closeSynced(out, err)
	return tmp, sumHex(h), err
}

func writeTemp(dir, name string, data []byte) (string, error) {
	out, err := os.CreateTemp(dir, "."+name+".tmp-")
	if err != nil {
		return "", err
	}
	_, err = out.Write(data)
	return out.Name(), closeSynced(out, err)
}

func closeSynced(f *os.File, err error) error {
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func sumHex(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// removeStale removes dir's volumes of archive base numbered past n: the
// rest of an earlier, larger set.
func removeStale(dir, base string, n int) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading %q: %w", dir, err)
	}
	for _, e := range ents {
		i, ok := volumeIndex(base, e.Name())
		if !ok || i <= n && e.Name() == volumeName(base, i, n) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("removing the old volume %q: %w", e.Name(), err)
		}
	}
	return nil
}

// volumeIndex parses name as a volume of archive base.
func volumeIndex(base, name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, base+".vol")
	if !ok || len(rest) < 3 {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	if err != nil || i < 1 || strings.TrimLeft(rest, "0123456789") != "" {
		return 0, false
	}
	return i, true
}
