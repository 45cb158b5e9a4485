package repo

import (
	"bytes"
	"strconv"
	"sync"
	"unsafe"

	"github.com/bdebundle/bundle/repo/rpm"
)

// Copying an old element is right only when it is what bundle would
// write for the package it describes: canonicalElement reads a checked
// element back into a Package, renders that as a full index would and
// compares. Repodata that bundle or createrepo_c 0.17 wrote passes; an
// element another tool formatted differently (attribute order, escaping,
// whitespace, numbers) does not, and --update then reads every package.

var renderPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// canonicalElement reports whether e, a well-formed <package> element of
// the given kind (checked by checkPackageElement; for primary with the
// <time file> value cut out, as the spill holds it), is exactly what
// bundle renders for the package it describes.
func canonicalElement(e []byte, kind metaKind) bool {
	p := pkgPool.Get().(*rpm.Package)
	defer pkgPool.Put(p)
	if !readElement(p, e, kind) {
		return false
	}
	bp := renderPool.Get().(*[]byte)
	defer renderPool.Put(bp)
	b := (*bp)[:0]
	switch kind {
	case primaryMeta:
		b = appendPrimaryTail(appendPrimaryHead(b, p), p)
	case filelistsMeta:
		b = appendFilelists(b, p)
	default:
		b = appendOther(b, p)
	}
	*bp = b
	return bytes.Equal(b, e)
}

// pkgPool holds the Packages canonicalElement reads into; their slices
// are kept for the next element.
var pkgPool = sync.Pool{New: func() any { return new(rpm.Package) }}

type xmlAttr struct{ name, val []byte }

// unsafeText is the text b holds: unescaped into a new string when it has
// a reference, else b itself as a string through unsafe.String, without a
// copy, which is valid only while b is unchanged. It serves text that
// lives only while e is compared (the Package is reset before its next
// use).
func unsafeText(b []byte) string {
	if bytes.IndexByte(b, '&') >= 0 {
		return unescape(b)
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func attrOfElem(attrs []xmlAttr, name string) string {
	for _, a := range attrs {
		if string(a.name) == name {
			return unsafeText(a.val)
		}
	}
	return ""
}

func numAttr(attrs []xmlAttr, name string) int64 {
	v, _ := strconv.ParseInt(attrOfElem(attrs, name), 10, 64)
	return v
}

// resetPackage empties p, keeping its slices' storage.
func resetPackage(p *rpm.Package) {
	*p = rpm.Package{
		Provides: p.Provides[:0], Requires: p.Requires[:0], Conflicts: p.Conflicts[:0], Obsoletes: p.Obsoletes[:0],
		Recommends: p.Recommends[:0], Suggests: p.Suggests[:0], Supplements: p.Supplements[:0], Enhances: p.Enhances[:0],
		Files: p.Files[:0], Changelogs: p.Changelogs[:0],
	}
}

// readElement reads a checked element into p (false when it has a shape
// bundle never writes). p's strings point into e.
func readElement(p *rpm.Package, e []byte, kind metaKind) bool {
	resetPackage(p)
	var stack [8][]byte
	depth := 0
	var attrBuf [8]xmlAttr
	attrs := attrBuf[:0]
	var deps *[]rpm.Dep
	textStart := 0
	for i := 0; i < len(e); {
		if e[i] != '<' {
			j := bytes.IndexByte(e[i:], '<')
			if j < 0 {
				j = len(e) - i
			}
			i += j
			continue
		}
		if e[i+1] == '/' {
			j := bytes.IndexByte(e[i:], '>')
			tag := stack[depth-1]
			text := e[textStart:i]
			switch {
			case depth == 2 && kind == primaryMeta:
				s := unsafeText(text)
				switch string(tag) {
				case "name":
					p.Name = s
				case "arch":
					p.Arch = s
				case "checksum":
					p.Checksum = s
				case "summary":
					p.Summary = s
				case "description":
					p.Description = s
				case "packager":
					p.Packager = s
				case "url":
					p.URL = s
				}
			case depth == 3 && kind == primaryMeta:
				s := unsafeText(text)
				switch string(tag) {
				case "rpm:license":
					p.License = s
				case "rpm:vendor":
					p.Vendor = s
				case "rpm:group":
					p.Group = s
				case "rpm:buildhost":
					p.BuildHost = s
				case "rpm:sourcerpm":
					p.SourceRPM = s
				case "file":
					p.Files[len(p.Files)-1].Path = s
				default:
					deps = nil
				}
			case depth == 2 && string(tag) == "file":
				p.Files[len(p.Files)-1].Path = unsafeText(text)
			case depth == 2 && string(tag) == "changelog":
				p.Changelogs[len(p.Changelogs)-1].Text = unsafeText(text)
			}
			depth--
			i += j + 1
			continue
		}
		// a start tag: its name and attributes (checked already)
		j := i + 1
		for j < len(e) && isNameByte(e[j]) {
			j++
		}
		tag := e[i+1 : j]
		attrs = attrs[:0]
		empty := false
		for {
			for isSpaceByte(e[j]) {
				j++
			}
			if e[j] == '>' {
				j++
				break
			}
			if e[j] == '/' {
				empty = true
				j += 2
				break
			}
			a := j
			for isNameByte(e[j]) {
				j++
			}
			name := e[a:j]
			for e[j] != '"' && e[j] != '\'' {
				j++
			}
			q := bytes.IndexByte(e[j+1:], e[j])
			attrs = append(attrs, xmlAttr{name, e[j+1 : j+1+q]})
			j += q + 2
		}
		attr := func(name string) string { return attrOfElem(attrs, name) }
		num := func(name string) int64 { return numAttr(attrs, name) }
		switch {
		case depth == 0:
			if kind != primaryMeta {
				p.Checksum, p.Name, p.Arch = attr("pkgid"), attr("name"), attr("arch")
			}
		case depth == 1 && string(tag) == "version":
			p.Epoch, p.Version, p.Release = attr("epoch"), attr("ver"), attr("rel")
		case depth == 1 && kind == primaryMeta && string(tag) == "time":
			p.BuildTime = num("build")
		case depth == 1 && kind == primaryMeta && string(tag) == "size":
			p.Size, p.InstalledSize, p.ArchiveSize = num("package"), num("installed"), num("archive")
		case depth == 1 && kind == primaryMeta && string(tag) == "location":
			p.Location = attr("href")
		case depth == 1 && kind != primaryMeta && string(tag) == "file",
			depth == 2 && kind == primaryMeta && string(tag) == "file":
			p.Files = append(p.Files, rpm.File{Type: attr("type")})
		case depth == 1 && kind == otherMeta && string(tag) == "changelog":
			p.Changelogs = append(p.Changelogs, rpm.Changelog{Author: attr("author"), Date: num("date")})
		case depth == 2 && kind == primaryMeta && string(tag) == "rpm:header-range":
			p.HeaderStart, p.HeaderEnd = num("start"), num("end")
		case depth == 2 && kind == primaryMeta:
			deps = depList(p, tag)
		case depth == 3 && deps != nil && string(tag) == "rpm:entry":
			*deps = append(*deps, rpm.Dep{Name: attr("name"), Flags: attr("flags"), Epoch: attr("epoch"),
				Version: attr("ver"), Release: attr("rel"), Pre: attr("pre") == "1"})
		}
		if !empty {
			if depth == len(stack) {
				return false
			}
			stack[depth] = tag
			depth++
			textStart = j
		}
		i = j
	}
	return true
}

// depList is the list of p a primary <rpm:provides> (etc.) element fills.
func depList(p *rpm.Package, tag []byte) *[]rpm.Dep {
	switch string(tag) {
	case "rpm:provides":
		return &p.Provides
	case "rpm:requires":
		return &p.Requires
	case "rpm:conflicts":
		return &p.Conflicts
	case "rpm:obsoletes":
		return &p.Obsoletes
	case "rpm:suggests":
		return &p.Suggests
	case "rpm:enhances":
		return &p.Enhances
	case "rpm:recommends":
		return &p.Recommends
	case "rpm:supplements":
		return &p.Supplements
	}
	return nil
}
