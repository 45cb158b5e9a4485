// Package dockername holds Docker 1.3's rules for the repository and tag
// names that `docker load` records: the compiler checks the names it plans
// with them, and images/dockersave writes archives under them.
package dockername

import "regexp"

// Docker 1.3's name rules: a repository is lower-case path components
// (optionally after a registry host), a tag is a word of at most 128
// characters that later Dockers accept too.
var (
	repoRE = regexp.MustCompile(`^([a-z0-9.-]+(:[0-9]+)?/)?[a-z0-9_.-]+(/[a-z0-9_.-]+)*$`)
	tagRE  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// ValidRepository reports whether name is a repository Docker 1.3 tags.
func ValidRepository(name string) bool { return len(name) <= 255 && repoRE.MatchString(name) }

// ValidTag reports whether tag is a tag every Docker accepts.
func ValidTag(tag string) bool { return tagRE.MatchString(tag) }
