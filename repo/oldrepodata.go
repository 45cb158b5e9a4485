package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/bdebundle/bundle/internal/rpmdep"
	"github.com/bdebundle/bundle/repo/rpm"
)

// The old repodata of --update is not parsed into packages: its elements
// are split out of the three files and copied into the spill as they are,
// and only what deciding reuse needs (location, size, build time, pkgid,
// name and version) is taken from primary. Each <package> element is
// checked to be well-formed (balanced tags, quoted attributes, known
// entity and character references, UTF-8), and to be exactly what a full
// index renders for the package it describes (canonicalElement), before it
// is copied: the new files are well-formed and have the bytes of a full
// index. Repodata another tool formatted is not copied.

// oldPackage is what --update learns about one package of the old
// repodata.
type oldPackage struct {
	rec   spillRec
	nevra string
}

// maxOldElement bounds one <package> element of old repodata, which is
// held in memory while it is checked.
const maxOldElement = 256 << 20

// fragment is one <package> element cut out of a metadata file.
type fragment struct {
	b *[]byte // the element and a newline; primary's without the <time file> value
	// primary only: where the <time file> value was, and the fields
	split           int
	loc, sum, nevra string
	size, buildTime int64
	pkgid           string // filelists and other
}

var fragPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// loadOldRepodata streams dir's primary, filelists and other (checked
// against repomd.xml's checksums) into sp and calls add with each package,
// in primary's order. An error names the file and what is wrong with it.
func loadOldRepodata(ctx context.Context, dir string, sp *spill, add func(loc string, op oldPackage)) error {
	md, err := readRepomd(dir)
	if err != nil {
		return err
	}
	var datas [3]*repomdData
	for i, k := range metaKinds {
		if datas[i] = md.data(k.String()); datas[i] == nil || datas[i].Location.Href == "" {
			return fmt.Errorf("reading %q: no %s metadata listed", filepath.Join(dir, "repodata", "repomd.xml"), k)
		}
	}
	where := func(i int) string { return filepath.Join(dir, filepath.FromSlash(datas[i].Location.Href)) }
	var chans [3]<-chan fragment
	var errs [3]error
	g, gctx := errgroup.WithContext(ctx)
	for i, k := range metaKinds {
		chans[i] = produce(gctx, g, &errs[i], func(emit func(fragment) error) error {
			return splitMetadata(gctx, dir, datas[i], k, emit)
		})
	}
	g.Go(func() error {
		drain := func() {
			for _, ch := range chans {
				for f := range ch {
					fragPool.Put(f.b)
				}
			}
		}
		defer drain()
		for n := 1; ; n++ {
			var fs [3]fragment
			var oks [3]bool
			for i := range chans {
				fs[i], oks[i] = <-chans[i]
			}
			put := func() {
				for i := range fs {
					if oks[i] {
						fragPool.Put(fs[i].b)
					}
				}
			}
			if !oks[0] || !oks[1] || !oks[2] {
				put()
				if oks[0] == oks[1] && oks[1] == oks[2] {
					return nil
				}
				drain()
				if errs[0] != nil || errs[1] != nil || errs[2] != nil {
					return nil // the parser's error is the one reported
				}
				for i := 1; i < 3; i++ {
					if oks[i] != oks[0] {
						return fmt.Errorf("reading %q: the number of packages differs from primary's (package %d is missing in one of them)", where(i), n)
					}
				}
				return nil
			}
			for i := 1; i < 3; i++ {
				if fs[i].pkgid != fs[0].sum {
					put()
					return fmt.Errorf("reading %q: package %d has pkgid %s, primary says %s", where(i), n, fs[i].pkgid, fs[0].sum)
				}
			}
			rec, err := sp.putRaw(*fs[0].b, fs[0].split, *fs[1].b, *fs[2].b, fs[0].size, fs[0].buildTime)
			put()
			if err != nil {
				return err
			}
			add(fs[0].loc, oldPackage{rec: rec, nevra: fs[0].nevra})
		}
	})
	return g.Wait()
}

// splitMetadata reads one metadata file (decompressing .gz), hands each
// <package> element to emit, and checks the file against the checksum
// repomd.xml gives.
func splitMetadata(ctx context.Context, repoDir string, d *repomdData, kind metaKind, emit func(fragment) error) error {
	m, err := openMetadata(repoDir, d)
	if err != nil {
		return err
	}
	defer m.Close()
	s := &elemSplitter{r: m.R, buf: make([]byte, 0, 256<<10)}
	if err := s.run(ctx, kind, emit); err != nil {
		return m.errorf(err)
	}
	return m.check()
}

// elemSplitter cuts the <package> children of a metadata document out of
// a stream. buf[pos:] is unread; off is the stream offset of buf[0].
type elemSplitter struct {
	r   io.Reader
	buf []byte
	pos int
	off int64
	eof bool
	err error
}

// more reads more of the stream, keeping buf[keep:]; it returns false at
// the end of the stream (or on a read error, left in s.err).
func (s *elemSplitter) more(keep int) bool {
	if s.eof {
		return false
	}
	if keep > 0 {
		n := copy(s.buf, s.buf[keep:])
		s.off += int64(keep)
		s.pos -= keep
		s.buf = s.buf[:n]
	}
	if len(s.buf) == cap(s.buf) {
		if cap(s.buf) >= maxOldElement {
			s.err = fmt.Errorf("an element at offset %d is larger than %d MiB", s.off, maxOldElement>>20)
			s.eof = true
			return false
		}
		s.buf = append(s.buf, make([]byte, cap(s.buf))...)[:len(s.buf)]
	}
	n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
	s.buf = s.buf[:len(s.buf)+n]
	if err == io.EOF {
		s.eof = true
	} else if err != nil {
		s.err, s.eof = err, true
	}
	return n > 0 || !s.eof
}

// find returns the index in buf of the next sep at or after from, reading
// more of the stream (keeping buf[keep:]) as needed; -1 at the end.
// Indexes shift by what more drops: from and keep are relative to pos.
func (s *elemSplitter) find(from int, sep string) int {
	for {
		if i := bytes.Index(s.buf[s.pos+from:], []byte(sep)); i >= 0 {
			return s.pos + from + i
		}
		from = max(0, len(s.buf)-s.pos-len(sep)+1)
		if !s.more(s.pos) {
			return -1
		}
	}
}

// ensure makes at least n unread bytes available, if the stream has them.
func (s *elemSplitter) ensure(n int) bool {
	for len(s.buf)-s.pos < n {
		if !s.more(s.pos) {
			return false
		}
	}
	return true
}

func (s *elemSplitter) failf(format string, args ...any) error {
	if s.err != nil {
		return s.err
	}
	return fmt.Errorf("offset %d: %s", s.off+int64(s.pos), fmt.Sprintf(format, args...))
}

func (s *elemSplitter) run(ctx context.Context, kind metaKind, emit func(fragment) error) error {
	root := kind.root()
	const (
		before = iota // before the root element
		inside
		after
	)
	state := before
	count := 0
	for {
		lt := s.find(0, "<")
		if lt < 0 {
			if s.err != nil {
				return s.err
			}
			if !isSpace(s.buf[s.pos:]) {
				return s.failf("text outside the <%s> element", root)
			}
			if state != after {
				return s.failf("the file ends before </%s> (truncated?)", root)
			}
			return nil
		}
		if !isSpace(s.buf[s.pos:lt]) {
			return s.failf("text outside the <package> elements")
		}
		s.pos = lt
		if !s.ensure(10) {
			return s.failf("the file ends inside a tag (truncated?)")
		}
		rest := s.buf[s.pos:]
		switch {
		case bytes.HasPrefix(rest, []byte("<?")) && state == before:
			end := s.find(2, "?>")
			if end < 0 {
				return s.failf("the file ends inside <? (truncated?)")
			}
			s.pos = end + 2
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := s.find(4, "-->")
			if end < 0 {
				return s.failf("the file ends inside a comment (truncated?)")
			}
			s.pos = end + 3
		case state == before && bytes.HasPrefix(rest, []byte("<"+root)) && len(rest) > len(root)+1 && (isSpaceByte(rest[len(root)+1]) || rest[len(root)+1] == '>'):
			end := s.find(0, ">")
			if end < 0 {
				return s.failf("the file ends inside <%s> (truncated?)", root)
			}
			// The elements are copied under the root bundle writes: its
			// namespaces must be the ones they were written under.
			for _, ns := range rootNamespaces[root] {
				if !bytes.Contains(s.buf[s.pos:end], []byte(ns)) {
					return s.failf("<%s> does not declare %s", root, ns)
				}
			}
			if s.buf[end-1] == '/' {
				state = after
			} else {
				state = inside
			}
			s.pos = end + 1
		case state == inside && bytes.HasPrefix(rest, []byte("</"+root)):
			end := s.find(0, ">")
			if end < 0 || !isSpace(s.buf[s.pos+2+len(root):end]) {
				return s.failf("bad </%s>", root)
			}
			state = after
			s.pos = end + 1
		case state == inside && bytes.HasPrefix(rest, []byte("<package")) && (isSpaceByte(rest[8]) || rest[8] == '>'):
			count++
			if count%512 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			end := s.find(8, "</package>")
			if end < 0 {
				return s.failf("the file ends inside package %d (truncated?)", count)
			}
			end += len("</package>")
			f, err := checkPackageElement(s.buf[s.pos:end], kind)
			if err != nil {
				return s.failf("package %d: %v", count, err)
			}
			s.pos = end
			if err := emit(f); err != nil {
				return err
			}
		default:
			n := min(len(rest), 20)
			return s.failf("unexpected %q", rest[:n])
		}
	}
}

// rootNamespaces are the declarations the root element of each metadata
// file must carry (those bundle writes).
var rootNamespaces = map[string][]string{
	"metadata":  {`xmlns="` + nsCommon + `"`, `xmlns:rpm="` + nsRPM + `"`},
	"filelists": {`xmlns="` + nsFilelists + `"`},
	"otherdata": {`xmlns="` + nsOther + `"`},
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

func isSpace(b []byte) bool {
	for _, c := range b {
		if !isSpaceByte(c) {
			return false
		}
	}
	return true
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ':' || c == '-' || c == '.' || c >= 0x80
}

// checkPackageElement checks that e, which runs from "<package" to the
// first "</package>", is one well-formed element, and copies it (and a
// newline) into a pooled buffer; for primary without the <time file>
// value, with the fields reuse needs.
func checkPackageElement(e []byte, kind metaKind) (fragment, error) {
	primary := kind == primaryMeta
	var f fragment
	if !utf8.Valid(e) {
		return f, errors.New("not UTF-8")
	}
	var stack [8][]byte
	depth := 0
	var name, arch, epoch, ver, rel, sum, loc []byte
	var textStart int
	cutFrom, cutTo := -1, -1
	for i := 0; i < len(e); {
		if e[i] != '<' {
			j := bytes.IndexByte(e[i:], '<')
			if j < 0 {
				j = len(e) - i
			}
			if !validRefs(e[i : i+j]) {
				return f, errors.New("bad entity reference in text")
			}
			i += j
			continue
		}
		if i+1 >= len(e) {
			return f, errors.New("unterminated tag")
		}
		if e[i+1] == '!' || e[i+1] == '?' {
			return f, errors.New("comment, CDATA or processing instruction inside the element")
		}
		if e[i+1] == '/' {
			j := i + 2
			for j < len(e) && isNameByte(e[j]) {
				j++
			}
			tag := e[i+2 : j]
			for j < len(e) && isSpaceByte(e[j]) {
				j++
			}
			if j >= len(e) || e[j] != '>' {
				return f, fmt.Errorf("bad end tag </%s", tag)
			}
			if depth == 0 || !bytes.Equal(stack[depth-1], tag) {
				return f, fmt.Errorf("</%s> does not close the open element", tag)
			}
			if depth == 2 && primary {
				text := e[textStart:i]
				switch string(tag) {
				case "name":
					name = text
				case "arch":
					arch = text
				case "checksum":
					sum = text
				}
			}
			depth--
			i = j + 1
			if depth == 0 && i != len(e) {
				return f, errors.New("text after </package>")
			}
			continue
		}
		// a start tag
		j := i + 1
		for j < len(e) && isNameByte(e[j]) {
			j++
		}
		tag := e[i+1 : j]
		if len(tag) == 0 {
			return f, errors.New("bad tag")
		}
		empty := false
		for {
			k := j
			for j < len(e) && isSpaceByte(e[j]) {
				j++
			}
			if j >= len(e) {
				return f, fmt.Errorf("unterminated <%s>", tag)
			}
			if e[j] == '>' {
				j++
				break
			}
			if e[j] == '/' {
				if j+1 >= len(e) || e[j+1] != '>' {
					return f, fmt.Errorf("bad <%s>", tag)
				}
				empty = true
				j += 2
				break
			}
			if j == k {
				return f, fmt.Errorf("bad attribute in <%s>", tag)
			}
			a := j
			for j < len(e) && isNameByte(e[j]) {
				j++
			}
			attrName := e[a:j]
			for j < len(e) && isSpaceByte(e[j]) {
				j++
			}
			if len(attrName) == 0 || j+1 >= len(e) || e[j] != '=' {
				return f, fmt.Errorf("bad attribute in <%s>", tag)
			}
			if bytes.HasPrefix(attrName, []byte("xmlns")) {
				return f, fmt.Errorf("a namespace declaration in <%s>", tag)
			}
			j++
			for j < len(e) && isSpaceByte(e[j]) {
				j++
			}
			if j >= len(e) || e[j] != '"' && e[j] != '\'' {
				return f, fmt.Errorf("unquoted attribute %s in <%s>", attrName, tag)
			}
			q := bytes.IndexByte(e[j+1:], e[j])
			if q < 0 {
				return f, fmt.Errorf("unterminated attribute %s in <%s>", attrName, tag)
			}
			vs, ve := j+1, j+1+q
			val := e[vs:ve]
			if bytes.IndexByte(val, '<') >= 0 || !validRefs(val) {
				return f, fmt.Errorf("bad value of attribute %s in <%s>", attrName, tag)
			}
			j = ve + 1
			switch {
			case depth == 0 && !primary && string(attrName) == "pkgid":
				f.pkgid = unescape(val)
			case depth != 1 || !primary:
			case string(tag) == "version":
				switch string(attrName) {
				case "epoch":
					epoch = val
				case "ver":
					ver = val
				case "rel":
					rel = val
				}
			case string(tag) == "time" && string(attrName) == "file":
				cutFrom, cutTo = vs, ve
			case string(tag) == "time" && string(attrName) == "build":
				f.buildTime, _ = strconv.ParseInt(string(val), 10, 64)
			case string(tag) == "size" && string(attrName) == "package":
				f.size, _ = strconv.ParseInt(string(val), 10, 64)
			case string(tag) == "location" && string(attrName) == "href":
				loc = val
			}
		}
		if depth == 0 && string(tag) != "package" {
			return f, fmt.Errorf("<%s> is not <package>", tag)
		}
		if !empty {
			if depth == len(stack) {
				return f, errors.New("elements nested too deeply")
			}
			stack[depth] = tag
			depth++
			textStart = j
		} else if depth == 0 {
			return f, errors.New("empty <package/>")
		}
		i = j
	}
	if depth != 0 {
		return f, errors.New("unbalanced tags")
	}
	bp := fragPool.Get().(*[]byte)
	b := (*bp)[:0]
	if primary {
		if cutFrom < 0 {
			return f, errors.New("no <time file> attribute")
		}
		if len(loc) == 0 || len(sum) == 0 {
			return f, errors.New("no <location href> or <checksum>")
		}
		f.loc, f.sum = unescape(loc), strings.TrimSpace(unescape(sum))
		n := rpmdep.NEVRA{Name: unescape(name), Arch: unescape(arch), Epoch: unescape(epoch), Version: unescape(ver), Release: unescape(rel)}
		f.nevra = n.String()
		b = append(b, e[:cutFrom]...)
		f.split = len(b)
		b = append(b, e[cutTo:]...)
	} else {
		b = append(b, e...)
	}
	b = append(b, '\n')
	*bp = b
	if !canonicalElement(b, kind) {
		fragPool.Put(bp)
		return f, errors.New("not in the form bundle (and createrepo_c 0.17) writes it: repodata another tool wrote is not copied")
	}
	f.b = bp
	return f, nil
}

// validRefs reports whether every & in b starts a predefined entity or a
// character reference.
func validRefs(b []byte) bool {
	for {
		i := bytes.IndexByte(b, '&')
		if i < 0 {
			return true
		}
		b = b[i+1:]
		j := bytes.IndexByte(b, ';')
		if j < 1 {
			return false
		}
		if _, ok := refValue(b[:j]); !ok {
			return false
		}
		b = b[j+1:]
	}
}

func refValue(r []byte) (rune, bool) {
	switch string(r) {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "quot":
		return '"', true
	case "apos":
		return '\'', true
	}
	if len(r) < 2 || r[0] != '#' {
		return 0, false
	}
	var v uint64
	var err error
	if r[1] == 'x' {
		v, err = strconv.ParseUint(string(r[2:]), 16, 32)
	} else {
		v, err = strconv.ParseUint(string(r[1:]), 10, 32)
	}
	if err != nil || v > utf8.MaxRune || !utf8.ValidRune(rune(v)) || rpm.ForbiddenRune(rune(v)) && v != 0x9 && v != 0xa && v != 0xd {
		return 0, false
	}
	return rune(v), true
}

// unescape resolves the references of checked XML text.
func unescape(b []byte) string {
	if bytes.IndexByte(b, '&') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for {
		i := bytes.IndexByte(b, '&')
		if i < 0 {
			return string(append(out, b...))
		}
		out = append(out, b[:i]...)
		b = b[i+1:]
		j := bytes.IndexByte(b, ';')
		r, _ := refValue(b[:j])
		out = utf8.AppendRune(out, r)
		b = b[j+1:]
	}
}
