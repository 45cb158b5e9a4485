// Package volume splits a bundle archive into numbered volumes for
// removable media and reads a volume set back as one stream.
//
// A volume set is the archive's bytes cut into pieces of one size (the last
// may be shorter), named <archive>.vol001, .vol002, ... (more digits past
// 999 volumes), and a volume manifest <archive>.volumes.json: the bundle's
// name, version and id (the sha256 of its bundle.json), the archive's name,
// size and sha256, and each volume's index, name, size and sha256, with an
// optional detached OpenPGP signature <archive>.volumes.json.sig made with
// the bundle's key as bundle.json.sig is. Concatenated, the volumes are the
// archive (cat works). Everything is byte-reproducible: the volumes are
// slices of a reproducible archive, the manifest is canonical JSON and the
// signature is made at the bundle's epoch.
//
// Open reads a volume set from its manifest or the directory holding it,
// checks the signature (when given a key), and before handing out a byte
// checks that every volume is there with its recorded size; Reader then
// streams the volumes in order from where they lie (read-only media work:
// nothing is written), hashing each as it passes and failing at the end of
// a volume whose sha256 is not the recorded one, naming it ("volume 3 of 7
// (x.vol003): ..."): a missing, truncated, swapped or corrupt volume, or one
// of another build, is named. CheckVolume verifies one volume on its own
// against the manifest beside it. ParseSize reads a volume size ("4.7GB",
// "4GiB", "700MB", "dvd", "fat32").
//
// It reads and writes only volume sets: the archive itself is package out's,
// the readers package out/read's, signing out/manifest's.
package volume
