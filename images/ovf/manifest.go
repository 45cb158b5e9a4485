package ovf

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxDescriptor bounds how much of a .ovf or .mf is read into memory.
const maxDescriptor = 16 << 20

// reference is one References/File of a descriptor.
type reference struct {
	Href string `xml:"href,attr"`
	ID   string `xml:"id,attr"`
	Size *int64 `xml:"size,attr"`
}

// readReferences parses the References section of dir/<name>.ovf and checks
// every href is a plain file name inside dir.
func readReferences(dir, name string) ([]byte, []reference, error) {
	path := filepath.Join(dir, name+".ovf")
	data, err := readSmall(path)
	if err != nil {
		return nil, nil, err
	}
	var env struct {
		References struct {
			Files []reference `xml:"File"`
		} `xml:"References"`
	}
	if err := xml.Unmarshal(data, &env); err != nil {
		return nil, nil, fmt.Errorf("parsing %q: %w", path, err)
	}
	for _, r := range env.References.Files {
		if !plainName(r.Href) {
			return nil, nil, fmt.Errorf("parsing %q: file reference %q is not a plain file name", path, r.Href)
		}
	}
	return data, env.References.Files, nil
}

// plainName reports whether s names a file inside the template directory:
// not empty, not "." or "..", no path separators.
func plainName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\`)
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDescriptor+1))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	if len(data) > maxDescriptor {
		return nil, fmt.Errorf("reading %q: larger than %d bytes", path, maxDescriptor)
	}
	return data, nil
}

// manifestEntry is one "ALG(file)= digest" line.
type manifestEntry struct {
	algo, file, digest string
}

func parseManifest(path string, data []byte) ([]manifestEntry, error) {
	var out []manifestEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		open := strings.IndexByte(line, '(')
		close := strings.LastIndex(line, ")=")
		if open <= 0 || close < open {
			return nil, fmt.Errorf("%s:%d: want ALG(file)= digest, got %q", path, n, line)
		}
		e := manifestEntry{
			algo:   strings.ToUpper(strings.TrimSpace(line[:open])),
			file:   line[open+1 : close],
			digest: strings.ToLower(strings.TrimSpace(line[close+2:])),
		}
		if _, ok := hashes[e.algo]; !ok {
			return nil, fmt.Errorf("%s:%d: unknown digest algorithm %q", path, n, e.algo)
		}
		if !plainName(e.file) {
			return nil, fmt.Errorf("%s:%d: %q is not a plain file name", path, n, e.file)
		}
		if _, err := hex.DecodeString(e.digest); err != nil || e.digest == "" {
			return nil, fmt.Errorf("%s:%d: digest %q is not hex", path, n, e.digest)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// VerifyManifest recomputes every digest listed in dir/<name>.mf and checks
// that the .ovf and every file it references are listed. A mismatch names
// the file that changed after the manifest was written.
func VerifyManifest(dir, name string) error {
	return verifyManifest(context.Background(), dir, name)
}

func verifyManifest(ctx context.Context, dir, name string) error {
	mfPath := filepath.Join(dir, name+".mf")
	data, err := readSmall(mfPath)
	if err != nil {
		return err
	}
	entries, err := parseManifest(mfPath, data)
	if err != nil {
		return err
	}
	_, refs, err := readReferences(dir, name)
	if err != nil {
		return err
	}
	listed := map[string]bool{}
	for _, e := range entries {
		listed[e.file] = true
	}
	want := []string{name + ".ovf"}
	for _, r := range refs {
		want = append(want, r.Href)
	}
	for _, f := range want {
		if !listed[f] {
			return fmt.Errorf("%q: %q is not listed", mfPath, f)
		}
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.file)
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("verifying %q against %q: %w", path, mfPath, err)
		}
		h := hashes[e.algo]()
		_, err = copyCtx(ctx, h, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("verifying %q against %q: %w", path, mfPath, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != e.digest {
			return fmt.Errorf("%q changed after the manifest %q was written: %s is %s, the manifest says %s",
				path, mfPath, e.algo, got, e.digest)
		}
	}
	return nil
}
