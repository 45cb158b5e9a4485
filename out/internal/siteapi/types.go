package siteapi

// Change is one write a step would make to a site API (or "unchanged").
type Change struct {
	Kind   string `json:"kind"`   // "app", "job"
	Name   string `json:"name"`   // e.g. "/web", "backup"
	Action string `json:"action"` // "create", "update", "unchanged"
	Detail string `json:"detail"` // one line, never a secret
}

// Status is one row of `bundle status`.
type Status struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	Want string `json:"want"`
	Have string `json:"have"`
	OK   bool   `json:"ok"`
}

// Writes reports whether a change writes to the site.
func (c Change) Writes() bool { return c.Action != "unchanged" && c.Action != "" }
