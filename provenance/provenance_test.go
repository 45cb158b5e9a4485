package provenance

import (
	"bytes"
	"strings"
	"testing"
)

// The DSSE specification's example.
func TestPAE(t *testing.T) {
	got := PAE("http://example.com/HelloWorld", []byte("hello world"))
	if want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"; string(got) != want {
		t.Fatalf("PAE = %q, want %q", got, want)
	}
}

func testBuild() Build {
	return Build{Name: "site", Version: "1", DefinitionSHA256: strings.Repeat("d", 64), Epoch: 1, Builder: "bundle v1", Format: "tar.zst",
		Subjects: []Artifact{{Name: "site-1/bundle.json", SHA256: strings.Repeat("b", 64)}, {Name: "site-1.tar.zst", SHA256: strings.Repeat("a", 64)}},
		Inputs:   []Artifact{{Name: "rpms/z.rpm", SHA256: strings.Repeat("1", 64)}, {Name: "image:nginx", URI: "nginx:1.7.9", SHA256: strings.Repeat("2", 64)}}}
}

func TestStatement(t *testing.T) {
	a, err := Statement(testBuild())
	if err != nil {
		t.Fatal(err)
	}
	b := testBuild()
	b.Inputs[0], b.Inputs[1] = b.Inputs[1], b.Inputs[0]
	b.Subjects[0], b.Subjects[1] = b.Subjects[1], b.Subjects[0]
	again, err := Statement(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, again) {
		t.Fatal("Statement depends on the order of its input")
	}
	stmt, env, err := Open(a)
	if err != nil || env != nil || !bytes.Equal(stmt, a) {
		t.Fatalf("Open: %v %v", err, env)
	}
	subj, err := Subjects(stmt)
	if err != nil || subj["site-1.tar.zst"] != strings.Repeat("a", 64) || subj["site-1/bundle.json"] != strings.Repeat("b", 64) {
		t.Fatalf("Subjects: %v %v", subj, err)
	}
	for _, want := range []string{`"_type": "https://in-toto.io/Statement/v1"`, `"predicateType": "https://slsa.dev/provenance/v1"`, `"uri": "nginx:1.7.9"`, `"bundle": "bundle v1"`} {
		if !bytes.Contains(a, []byte(want)) {
			t.Errorf("statement lacks %s", want)
		}
	}
	envData, err := Envelope(a, "KEY", []byte("sig"))
	if err != nil {
		t.Fatal(err)
	}
	stmt, env, err = Open(envData)
	if err != nil || env == nil || !bytes.Equal(stmt, a) || env.Signatures[0].KeyID != "KEY" || env.Signatures[0].Sig != "c2ln" {
		t.Fatalf("Open(envelope): %v %+v", err, env)
	}
}

func TestStatementRefuses(t *testing.T) {
	cases := map[string]func(b *Build){
		"no subject":     func(b *Build) { b.Subjects = nil },
		"bad digest":     func(b *Build) { b.Subjects[0].SHA256 = "ABC" },
		"nameless input": func(b *Build) { b.Inputs[0].Name = "" },
		"upper-case hex": func(b *Build) { b.Inputs[1].SHA256 = strings.Repeat("A", 64) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			b := testBuild()
			mutate(&b)
			if _, err := Statement(b); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"not JSON":      "x",
		"other type":    `{"_type":"https://example.org/x"}`,
		"bad payload":   `{"payloadType":"application/vnd.in-toto+json","payload":"!!","signatures":[]}`,
		"wrong subject": `{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://example.org/p"}`,
	} {
		t.Run(name, func(t *testing.T) {
			stmt, _, err := Open([]byte(doc))
			if err == nil {
				_, err = Subjects(stmt)
			}
			if err == nil {
				t.Fatalf("accepted %s", doc)
			}
		})
	}
}
