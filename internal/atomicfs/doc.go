// Package atomicfs replaces files and directories so that a reader sees
// either the old or the new content, never a mix and never nothing, and a
// crash leaves one of the two on disk.
//
// WriteFile and Write go through a temporary file in the destination's
// directory, flushed before it is renamed over the destination. ReplaceDir
// and Exchange swap a staged directory into place: with one atomic
// exchange where the system has one (renameat2 RENAME_EXCHANGE on Linux,
// renamex_np RENAME_SWAP on macOS), otherwise by renaming the previous
// directory aside first; a process killed between those two renames leaves
// the previous directory under AsidePrefix, which Recover puts back.
// RenameNoReplace, SyncTree, SyncDir and Lock are the other steps a
// staged build needs. Each has a Linux implementation and a portable
// fallback, chosen by build tags.
package atomicfs
