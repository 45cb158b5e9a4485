package dockername

import "testing"

func TestNames(t *testing.T) {
	repos := []struct {
		name string
		ok   bool
	}{
		{"nginx", true},
		{"library/nginx", true},
		{"registry.localdomain:5000/library/nginx", true},
		{"Nginx", false},
		{"", false},
		{"nginx/", false},
		{"a//b", false},
	}
	for _, tc := range repos {
		if got := ValidRepository(tc.name); got != tc.ok {
			t.Errorf("ValidRepository(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
	tags := []struct {
		tag string
		ok  bool
	}{
		{"1.7.9", true},
		{"sha256-" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true},
		{"", false},
		{".hidden", false},
		{"a:b", false},
		{"a/b", false},
		{string(make([]byte, 129)), false},
	}
	for _, tc := range tags {
		if got := ValidTag(tc.tag); got != tc.ok {
			t.Errorf("ValidTag(%q) = %v, want %v", tc.tag, got, tc.ok)
		}
	}
}
