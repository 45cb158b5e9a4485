package plainhttp

import "testing"

func TestAllowed(t *testing.T) {
	for _, tc := range []struct {
		host     string
		insecure []string
		want     bool
	}{
		{"127.0.0.1:5000", nil, true},
		{"127.3.4.5:5000", nil, true},
		{"[::1]:5000", nil, true},
		{"::1", nil, true},
		{"localhost:5000", nil, true},
		{"localhost", nil, true},
		{"10.0.0.5:5000", nil, false},
		{"192.168.1.10", nil, false},
		{"registry.localdomain:5000", nil, false},
		{"registry.local:5000", nil, false},
		{"localhost.example.com:5000", nil, false},
		{"10.0.0.5:5000", []string{"10.0.0.5:5000"}, true},
		{"10.0.0.5:5000", []string{"10.0.0.5"}, true},
		{"10.0.0.5", []string{"10.0.0.5"}, true},
		{"10.0.0.5:5000", []string{"10.0.0.5:5001"}, false},
		{"10.0.0.5", []string{"10.0.0.5:5000"}, false},
		{"registry.localdomain:5000", []string{"registry.localdomain"}, true},
		{"registry.localdomain:5000/", []string{"registry.localdomain:5000"}, true},
		{"other.localdomain:5000", []string{"registry.localdomain"}, false},
	} {
		if got := Allowed(tc.host, tc.insecure); got != tc.want {
			t.Errorf("Allowed(%q, %q) = %v, want %v", tc.host, tc.insecure, got, tc.want)
		}
	}
}

func TestLoopback(t *testing.T) {
	for h, want := range map[string]bool{
		"localhost": true, "127.0.0.1": true, "127.255.0.1": true, "::1": true, "[::1]": true,
		"10.0.0.1": false, "example.com": false, "": false, "0.0.0.0": false,
	} {
		if got := Loopback(h); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", h, got, want)
		}
	}
}
