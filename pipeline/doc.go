// Package pipeline runs the front half of a build: it loads a definition,
// gathers Facts about its inputs (the files its paths and globs name, RPM
// headers and signatures, baseline repodata, existing manifests, image
// digests, VM disk headers) and compiles the Plan with one compiler.Compile
// call. It also supplies out's writer hooks with the real repo, images and
// ovf implementations, and pushes and lists a bundle's images (PushImages,
// ListImages, and DeployImagePusher for deploy's image step) and runs the
// lock flow (Lock: check, resolve every image, write the lock file) and
// verify with its deep checks (Verify: repodata, image layout, OVF). The CLI's
// validate, build, lock, verify, deploy, inspect and images verbs call it;
// nothing here prints.
package pipeline
