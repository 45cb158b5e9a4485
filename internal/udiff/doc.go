// Package udiff writes unified diffs of two texts that `git apply` and
// `patch -p1` accept: hunk ranges counted as diff(1) counts them (an empty
// side is "-0,0" or "+0,0"), a missing final newline marked with
// "\ No newline at end of file", and /dev/null for an added or removed
// file. `bundle diff` and `bundle fmt -diff` print their patches with it.
package udiff
