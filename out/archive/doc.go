// Package archive is the bundle's archive format, both ways: Write packs a
// bundle directory into a byte-reproducible tar (sorted entries, owner 0:0,
// mtimes from the epoch, modes 0644/0755), compressed as tar.zst (parallel
// independent frames, the same bytes for any number of workers), tar.gz or
// plain tar; Walk and WalkFiles read one back as a stream. Every entry is
// checked before its data is read (no links, absolute paths, "..", sparse
// files or entries outside the top directory) and the stream is bounded by
// the sizes bundle.json records (bounds.go): a compression bomb or a header
// that lies about its size stops before its data is read. Faults of an
// archive's content are *Error. A volume set (out/volume: its manifest or
// the directory holding it) is read as the archive it was cut from, each
// volume checked as it passes; IsArchive counts it as an archive. It knows bundle.json only through
// out/manifest and imports no builder, reader or deployer.
package archive
