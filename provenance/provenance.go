package provenance

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/bdebundle/bundle/out/manifest"
)

// Type URIs.
const (
	StatementType = "https://in-toto.io/Statement/v1"
	PredicateType = "https://slsa.dev/provenance/v1"
	// BuildType names how this tool builds a bundle: externalParameters
	// and internalParameters below.
	BuildType = "https://github.com/bdebundle/bundle/build/v1"
	// BuilderID identifies the builder.
	BuilderID = "https://github.com/bdebundle/bundle"
	// PayloadType is the DSSE payload type of an in-toto statement.
	PayloadType = "application/vnd.in-toto+json"
)

// Build is what the provenance records of one build.
type Build struct {
	// Subjects are the build's outputs (the archive, bundle.json), by the
	// names users see them under.
	Subjects []Artifact
	// Name and Version are the bundle's; DefinitionSHA256 is the digest of
	// the normalized definition and variable values.
	Name, Version    string
	DefinitionSHA256 string
	Epoch            int64
	// Builder is "bundle <version>".
	Builder string
	// Format is the archive format ("tar.zst", …), "" without an archive.
	Format string
	// Inputs are every input file (by its path relative to the definition)
	// and every image (by its reference), with digests.
	Inputs []Artifact
}

// Artifact is a resource with a sha256: a subject or a resolved dependency.
type Artifact struct {
	Name   string
	URI    string // optional
	SHA256 string // hex
}

type resource struct {
	Name   string            `json:"name,omitempty"`
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest"`
}

type statement struct {
	Type          string     `json:"_type"`
	Subject       []resource `json:"subject"`
	PredicateType string     `json:"predicateType"`
	Predicate     predicate  `json:"predicate"`
}

type predicate struct {
	BuildDefinition buildDefinition `json:"buildDefinition"`
	RunDetails      runDetails      `json:"runDetails"`
}

type buildDefinition struct {
	BuildType            string             `json:"buildType"`
	ExternalParameters   externalParameters `json:"externalParameters"`
	InternalParameters   internalParameters `json:"internalParameters"`
	ResolvedDependencies []resource         `json:"resolvedDependencies"`
}

type externalParameters struct {
	Name             string `json:"name"`
	Version          string `json:"version"`
	DefinitionSHA256 string `json:"definition_sha256"`
}

type internalParameters struct {
	Epoch  int64  `json:"epoch"`
	Format string `json:"format,omitempty"`
}

type runDetails struct {
	Builder  builder  `json:"builder"`
	Metadata metadata `json:"metadata"`
}

type builder struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

type metadata struct {
	InvocationID string `json:"invocationId"`
}

func resources(as []Artifact, what string) ([]resource, error) {
	out := make([]resource, 0, len(as))
	for _, a := range as {
		if a.Name == "" && a.URI == "" {
			return nil, fmt.Errorf("%s without a name", what)
		}
		if !manifest.IsSHA256(a.SHA256) {
			return nil, fmt.Errorf("%s %q: sha256 %q is not 64 lowercase hex digits", what, a.Name, a.SHA256)
		}
		out = append(out, resource{Name: a.Name, URI: a.URI, Digest: map[string]string{"sha256": a.SHA256}})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].URI < out[j].URI
	})
	return out, nil
}

// Statement returns the in-toto statement of b as indented JSON with a
// final newline. The invocation id is derived from the definition digest
// and the subjects, so equal builds get equal bytes.
func Statement(b Build) ([]byte, error) {
	if len(b.Subjects) == 0 {
		return nil, errors.New("provenance: no subject")
	}
	subj, err := resources(b.Subjects, "subject")
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	deps, err := resources(b.Inputs, "input")
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	st := statement{Type: StatementType, Subject: subj, PredicateType: PredicateType,
		Predicate: predicate{
			BuildDefinition: buildDefinition{BuildType: BuildType,
				ExternalParameters:   externalParameters{Name: b.Name, Version: b.Version, DefinitionSHA256: b.DefinitionSHA256},
				InternalParameters:   internalParameters{Epoch: b.Epoch, Format: b.Format},
				ResolvedDependencies: deps},
			RunDetails: runDetails{Builder: builder{ID: BuilderID}},
		}}
	if b.Builder != "" {
		st.Predicate.RunDetails.Builder.Version = map[string]string{"bundle": b.Builder}
	}
	st.Predicate.RunDetails.Metadata.InvocationID = "bundle-build:" + b.DefinitionSHA256 + ":" + subj[0].Digest["sha256"]
	return encode(st)
}

func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	return buf.Bytes(), nil
}

// PAE is DSSE's pre-authentication encoding of a payload: the bytes a
// signature covers.
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

// DSSE is a DSSE envelope.
type DSSE struct {
	PayloadType string      `json:"payloadType"`
	Payload     string      `json:"payload"` // base64
	Signatures  []Signature `json:"signatures"`
}

// Signature is one signature of a DSSE envelope: sig is base64 of the
// signature over PAE(payloadType, payload).
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// Envelope wraps statement in a DSSE envelope carrying sig, a signature
// over PAE(PayloadType, statement) by the key keyID names.
func Envelope(statement []byte, keyID string, sig []byte) ([]byte, error) {
	return encode(DSSE{PayloadType: PayloadType, Payload: base64.StdEncoding.EncodeToString(statement),
		Signatures: []Signature{{KeyID: keyID, Sig: base64.StdEncoding.EncodeToString(sig)}}})
}

// Open returns the statement of a provenance file: the file itself, or the
// payload of a DSSE envelope (with the envelope, so a caller can check the
// signatures over PAE).
func Open(data []byte) (stmt []byte, env *DSSE, err error) {
	var probe struct {
		Type        string `json:"_type"`
		PayloadType string `json:"payloadType"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, nil, fmt.Errorf("provenance: %w", err)
	}
	switch {
	case probe.Type == StatementType:
		return data, nil, nil
	case probe.PayloadType == PayloadType:
		var e DSSE
		if err := json.Unmarshal(data, &e); err != nil {
			return nil, nil, fmt.Errorf("provenance: %w", err)
		}
		p, err := base64.StdEncoding.DecodeString(e.Payload)
		if err != nil {
			return nil, nil, fmt.Errorf("provenance: DSSE payload: %w", err)
		}
		return p, &e, nil
	}
	return nil, nil, errors.New("provenance: neither an in-toto statement nor a DSSE envelope of one")
}

// Subjects returns the subjects of a statement: name -> sha256.
func Subjects(stmt []byte) (map[string]string, error) {
	var st statement
	if err := json.Unmarshal(stmt, &st); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	if st.Type != StatementType || st.PredicateType != PredicateType {
		return nil, fmt.Errorf("provenance: _type %q, predicateType %q: not an in-toto SLSA provenance v1 statement", st.Type, st.PredicateType)
	}
	m := map[string]string{}
	for _, s := range st.Subject {
		m[s.Name] = s.Digest["sha256"]
	}
	return m, nil
}
