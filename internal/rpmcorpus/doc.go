// Package rpmcorpus generates RPM corpora for the benchmarks that index
// or pack repositories: packages shaped like a distribution's (file lists,
// changelogs, dependency webs, payload sizes drawn from distributions
// taken from real repodata; docs/repo.md gives the sources), written with
// rpmpack and reproducible from a seed.
package rpmcorpus
