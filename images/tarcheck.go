package images

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/internal/regular"
)

// checkTarJSON refuses a docker archive whose JSON entries (manifest.json,
// the configs) are larger than the caps: go-containerregistry reads them
// whole into memory. Only the tar headers are read.
func checkTarJSON(path string) error {
	f, err := regular.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil // a damaged archive is reported by the reader
		}
		switch {
		case h.Name == "manifest.json" && h.Size > layout.MaxManifestSize:
			return fmt.Errorf("%w: manifest.json is %d bytes, the limit is %d", layout.ErrTooLarge, h.Size, layout.MaxManifestSize)
		case strings.HasSuffix(h.Name, ".json") && h.Size > layout.MaxConfigSize:
			return fmt.Errorf("%w: %s is %d bytes, the limit for a config is %d", layout.ErrTooLarge, h.Name, h.Size, layout.MaxConfigSize)
		}
	}
}

// checkTar reads a tar file to its end and says what is wrong with it.
func checkTar(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			return checkTarEnd(f)
		}
		if err != nil {
			return fmt.Errorf("not a complete tar file: %w after %d entries", err, n)
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return fmt.Errorf("not a complete tar file: entry %q: %w", h.Name, err)
		}
	}
}

// checkTarEnd checks that a tar file ends with the end-of-archive marker
// (two zero blocks), which Go's tar reader does not insist on.
func checkTarEnd(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	const marker = 1024
	if st.Size()%512 != 0 || st.Size() < marker {
		return fmt.Errorf("not a complete tar file: %d bytes is not a whole number of 512-byte blocks (truncated?)", st.Size())
	}
	tail := make([]byte, marker)
	if _, err := f.ReadAt(tail, st.Size()-marker); err != nil {
		return err
	}
	for _, b := range tail {
		if b != 0 {
			return errors.New("not a complete tar file: no end-of-archive marker (truncated?)")
		}
	}
	return nil
}
