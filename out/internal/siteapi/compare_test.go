package siteapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestDifferences(t *testing.T) {
	for _, tc := range []struct{ name, want, have, diff string }{
		{"same, site adds fields", `{"a":1,"b":{"c":"x"}}`, `{"a":1.0,"b":{"c":"x","d":2},"version":"v"}`, ""},
		{"number", `{"a":1}`, `{"a":2}`, "a"},
		{"nested", `{"b":{"c":"x"}}`, `{"b":{"c":"y"}}`, "b.c"},
		{"missing on site", `{"a":1}`, `{}`, "a"},
		{"empty want, missing on site", `{"a":[],"m":{},"s":""}`, `{}`, ""},
		{"array length", `{"p":[1,2]}`, `{"p":[1]}`, "p"},
		{"array element object subset", `{"p":[{"x":1}]}`, `{"p":[{"x":1,"y":3}]}`, ""},
		{"array element differs", `{"p":[{"x":1}]}`, `{"p":[{"x":2}]}`, "p"},
		{"type", `{"a":"1"}`, `{"a":1}`, "a"},
		{"null on site", `{"c":{"t":"DOCKER"}}`, `{"c":null}`, "c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w, h any
			if err := Decode([]byte(tc.want), &w); err != nil {
				t.Fatal(err)
			}
			if err := Decode([]byte(tc.have), &h); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(Differences(w, h), ","); got != tc.diff {
				t.Fatalf("Differences = %q, want %q", got, tc.diff)
			}
		})
	}
	if err := Decode([]byte(`{} {}`), new(any)); err == nil {
		t.Fatal("two values decoded as one")
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		raw      string
		insecure bool
		want     string
		err      string
	}{
		{"127.0.0.1", false, "http://127.0.0.1:8080", ""},
		{"https://marathon.site:8443/", false, "https://marathon.site:8443", ""},
		{"marathon.site", false, "", "plain http"},
		{"marathon.site", true, "http://marathon.site:8080", ""},
		{"http://ops:s3cret@marathon site:8080", true, "", `"http://marathon site:8080" is not a host or URL`},
		{"ops:s3cret@marathon site", true, "", `"marathon site" is not a host or URL`},
		{"ftp://x", false, "", "http or https"},
		{"", false, "", "no Marathon URL"},
	} {
		u, err := ParseURL("Marathon", tc.raw, tc.insecure, "8080")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("ParseURL(%q) err = %v, want %q and no password", tc.raw, err, tc.err)
			}
			continue
		}
		if err != nil || u.String() != tc.want {
			t.Errorf("ParseURL(%q) = %v, %v; want %s", tc.raw, u, err, tc.want)
		}
	}
}

func TestRedirects(t *testing.T) {
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s", r.Method, b)
	}))
	defer leader.Close()
	follower := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := http.StatusTemporaryRedirect
		if r.URL.Path == "/found" {
			code = http.StatusFound
		}
		http.Redirect(w, r, leader.URL+r.URL.Path, code)
	}))
	defer follower.Close()
	u, _ := url.Parse(follower.URL)
	c := New("Chronos", u, false, 0, nil)
	st, b, err := c.Do(context.Background(), http.MethodPost, "/scheduler/iso8601", []byte(`{"name":"a"}`))
	if err != nil || st != 200 || string(b) != `POST {"name":"a"}` {
		t.Fatalf("307: %d %q %v", st, b, err)
	}
	if _, _, err := c.Do(context.Background(), http.MethodPost, "/found", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "leader") {
		t.Fatalf("302 on a POST: %v", err)
	}
}
