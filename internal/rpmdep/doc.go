// Package rpmdep is rpm's dependency arithmetic as plain functions over
// data: the Dep type, an RPM's identity (NEVRA, which every package type
// of the project embeds), rpmvercmp and EVR ordering, rich (boolean)
// dependencies and the dependency-closure check. It reads nothing: repo fills it from RPM
// headers and repodata, and the compiler runs the closure check over the
// Facts it is given, so both share one implementation.
package rpmdep
