package repo

import (
	"strconv"

	"github.com/bdebundle/bundle/repo/rpm"
)

const (
	nsCommon    = "http://linux.duke.edu/metadata/common"
	nsRPM       = "http://linux.duke.edu/metadata/rpm"
	nsFilelists = "http://linux.duke.edu/metadata/filelists"
	nsOther     = "http://linux.duke.edu/metadata/other"
	nsRepo      = "http://linux.duke.edu/metadata/repo"
	xmlDecl     = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
)

func primaryHead(n int) []byte {
	return []byte(xmlDecl + `<metadata xmlns="` + nsCommon + `" xmlns:rpm="` + nsRPM + `" packages="` + strconv.Itoa(n) + `">` + "\n")
}

func filelistsHead(n int) []byte {
	return []byte(xmlDecl + `<filelists xmlns="` + nsFilelists + `" packages="` + strconv.Itoa(n) + `">` + "\n")
}

func otherHead(n int) []byte {
	return []byte(xmlDecl + `<otherdata xmlns="` + nsOther + `" packages="` + strconv.Itoa(n) + `">` + "\n")
}

func elem(b []byte, indent, name, text string) []byte {
	b = append(b, indent...)
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = appendText(b, text)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, ">\n"...)
}

func attr(b []byte, name, val string) []byte {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, `="`...)
	b = appendAttr(b, val)
	return append(b, '"')
}

func appendVersion(b []byte, p *rpm.Package) []byte {
	b = append(b, "  <version"...)
	b = attr(b, "epoch", p.Epoch)
	b = attr(b, "ver", p.Version)
	b = attr(b, "rel", p.Release)
	return append(b, "/>\n"...)
}

func appendDeps(b []byte, name string, deps []rpm.Dep, requires bool) []byte {
	if len(deps) == 0 {
		return b
	}
	b = append(b, "    <rpm:"...)
	b = append(b, name...)
	b = append(b, ">\n"...)
	for _, d := range deps {
		b = append(b, "      <rpm:entry"...)
		b = attr(b, "name", d.Name)
		if d.Flags != "" {
			b = attr(b, "flags", d.Flags)
			if d.Epoch != "" {
				b = attr(b, "epoch", d.Epoch)
			}
			if d.Version != "" {
				b = attr(b, "ver", d.Version)
			}
			if d.Release != "" {
				b = attr(b, "rel", d.Release)
			}
		}
		if requires && d.Pre {
			b = append(b, ` pre="1"`...)
		}
		b = append(b, "/>\n"...)
	}
	b = append(b, "    </rpm:"...)
	b = append(b, name...)
	return append(b, ">\n"...)
}

func appendFile(b []byte, indent string, f rpm.File) []byte {
	b = append(b, indent...)
	b = append(b, "<file"...)
	if f.Type != "" {
		b = attr(b, "type", f.Type)
	}
	b = append(b, '>')
	b = appendText(b, f.Path)
	return append(b, "</file>\n"...)
}

// appendPrimary appends the primary.xml <package> element of p; fileTime is
// written as <time file>.
func appendPrimary(b []byte, p *rpm.Package, fileTime int64) []byte {
	b = appendPrimaryHead(b, p)
	b = strconv.AppendInt(b, fileTime, 10)
	return appendPrimaryTail(b, p)
}

// appendPrimaryHead appends the element up to the <time file> value, which
// is the one part of a package's metadata that depends on the whole
// repository (the epoch defaults to the newest build time).
func appendPrimaryHead(b []byte, p *rpm.Package) []byte {
	b = append(b, "<package type=\"rpm\">\n"...)
	b = elem(b, "  ", "name", p.Name)
	b = elem(b, "  ", "arch", p.Arch)
	b = appendVersion(b, p)
	b = append(b, `  <checksum type="sha256" pkgid="YES">`...)
	b = append(b, p.Checksum...)
	b = append(b, "</checksum>\n"...)
	b = elem(b, "  ", "summary", p.Summary)
	b = elem(b, "  ", "description", p.Description)
	b = elem(b, "  ", "packager", p.Packager)
	b = elem(b, "  ", "url", p.URL)
	return append(b, `  <time file="`...)
}

// appendPrimaryTail appends the rest of the element after the <time file>
// value.
func appendPrimaryTail(b []byte, p *rpm.Package) []byte {
	b = append(b, `" build="`...)
	b = strconv.AppendInt(b, p.BuildTime, 10)
	b = append(b, `"/>`+"\n"+`  <size package="`...)
	b = strconv.AppendInt(b, p.Size, 10)
	b = append(b, `" installed="`...)
	b = strconv.AppendInt(b, p.InstalledSize, 10)
	b = append(b, `" archive="`...)
	b = strconv.AppendInt(b, p.ArchiveSize, 10)
	b = append(b, `"/>`+"\n"+`  <location`...)
	b = attr(b, "href", p.Location)
	b = append(b, "/>\n  <format>\n"...)
	b = elem(b, "    ", "rpm:license", p.License)
	b = elem(b, "    ", "rpm:vendor", p.Vendor)
	b = elem(b, "    ", "rpm:group", p.Group)
	b = elem(b, "    ", "rpm:buildhost", p.BuildHost)
	b = elem(b, "    ", "rpm:sourcerpm", p.SourceRPM)
	b = append(b, `    <rpm:header-range start="`...)
	b = strconv.AppendInt(b, p.HeaderStart, 10)
	b = append(b, `" end="`...)
	b = strconv.AppendInt(b, p.HeaderEnd, 10)
	b = append(b, "\"/>\n"...)
	b = appendDeps(b, "provides", p.Provides, false)
	b = appendDeps(b, "requires", p.Requires, true)
	b = appendDeps(b, "conflicts", p.Conflicts, false)
	b = appendDeps(b, "obsoletes", p.Obsoletes, false)
	b = appendDeps(b, "suggests", p.Suggests, false)
	b = appendDeps(b, "enhances", p.Enhances, false)
	b = appendDeps(b, "recommends", p.Recommends, false)
	b = appendDeps(b, "supplements", p.Supplements, false)
	for _, f := range p.Files {
		if rpm.PrimaryFile(f.Path) {
			b = appendFile(b, "    ", f)
		}
	}
	return append(b, "  </format>\n</package>\n"...)
}

func appendPkgOpen(b []byte, p *rpm.Package) []byte {
	b = append(b, "<package"...)
	b = attr(b, "pkgid", p.Checksum)
	b = attr(b, "name", p.Name)
	b = attr(b, "arch", p.Arch)
	b = append(b, ">\n"...)
	return appendVersion(b, p)
}

func appendFilelists(b []byte, p *rpm.Package) []byte {
	b = appendPkgOpen(b, p)
	for _, f := range p.Files {
		b = appendFile(b, "  ", f)
	}
	return append(b, "</package>\n"...)
}

func appendOther(b []byte, p *rpm.Package) []byte {
	b = appendPkgOpen(b, p)
	for _, c := range p.Changelogs {
		b = append(b, "  <changelog"...)
		b = attr(b, "author", c.Author)
		b = append(b, ` date="`...)
		b = strconv.AppendInt(b, c.Date, 10)
		b = append(b, `">`...)
		b = appendText(b, c.Text)
		b = append(b, "</changelog>\n"...)
	}
	return append(b, "</package>\n"...)
}
