package vcenter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/soap"
)

// StateFile is the name of the state file kept in the datastore folder.
const StateFile = ".bundle-state.json"

// deployState records what is deployed, so a re-run only touches what
// changed and a run that failed resumes where it stopped.
type deployState struct {
	Schema  string `json:"schema"`
	Bundle  string `json:"bundle"`
	Version string `json:"version"`
	// BundleSHA256 is the sha256 of the bundle.json of the last deploy that
	// completed every step; "" while a deploy is under way or after one
	// that stopped. A delta checks its base against it.
	BundleSHA256 string            `json:"bundle_sha256,omitempty"`
	Files        map[string]string `json:"files"`            // path → sha256 of files fully uploaded
	Images       map[string]string `json:"images,omitempty"` // registry → digest of the pushed image set
	Guest        map[string]string `json:"guest,omitempty"`  // management VM → digest of the copied tree
}

const stateSchema = "bundle-state/v1"

func newState() *deployState {
	return &deployState{Schema: stateSchema, Files: map[string]string{}, Images: map[string]string{}, Guest: map[string]string{}}
}

func (s *deployState) clone() *deployState {
	c := *s
	c.Files = make(map[string]string, len(s.Files))
	for k, v := range s.Files {
		c.Files[k] = v
	}
	c.Images = map[string]string{}
	for k, v := range s.Images {
		c.Images[k] = v
	}
	c.Guest = map[string]string{}
	for k, v := range s.Guest {
		c.Guest[k] = v
	}
	return &c
}

// readState downloads dir/.bundle-state.json. A missing file is an empty
// state. An unreadable one is treated as empty too (every file is uploaded
// again, which is always safe) and reported in warning.
func readState(ctx context.Context, inv *inventory, dir string) (st *deployState, warning string, err error) {
	p := path.Join(dir, StateFile)
	r, _, err := inv.ds.Download(ctx, p, &soap.DefaultDownload)
	if err != nil {
		if httpStatus(err) == 404 {
			return newState(), "", nil
		}
		return nil, "", vcErr("reading "+inv.ds.Path(p), err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, "", vcErr("reading "+inv.ds.Path(p), err)
	}
	st = newState()
	if err := json.Unmarshal(data, st); err != nil || st.Schema != stateSchema {
		if err == nil {
			err = fmt.Errorf("schema %q, want %q", st.Schema, stateSchema)
		}
		return newState(), fmt.Sprintf("state file %s is unreadable (%v): every file is uploaded again", inv.ds.Path(p), err), nil
	}
	if st.Files == nil {
		st.Files = map[string]string{}
	}
	if st.Images == nil {
		st.Images = map[string]string{}
	}
	if st.Guest == nil {
		st.Guest = map[string]string{}
	}
	return st, "", nil
}

// writeState uploads the state file beside its final name, then moves it
// into place, so an interrupted write never leaves a torn state file.
func writeState(ctx context.Context, s *Session, inv *inventory, dir string, st *deployState) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	return uploadAtomic(ctx, s, inv, path.Join(dir, StateFile), data)
}

// uploadAtomic uploads data beside datastore path p, then moves it into
// place, so an interrupted write never leaves a torn file.
func uploadAtomic(ctx context.Context, s *Session, inv *inventory, p string, data []byte) error {
	tmp := p + ".tmp"
	up := soap.DefaultUpload
	up.ContentLength = int64(len(data))
	if err := inv.ds.Upload(ctx, bytes.NewReader(data), tmp, &up); err != nil {
		return vcErr("writing "+inv.ds.Path(tmp), err)
	}
	fm := object.NewFileManager(s.Vim)
	task, err := fm.MoveDatastoreFile(ctx, inv.ds.Path(tmp), inv.dc, inv.ds.Path(p), inv.dc, true)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		return vcErr("moving "+inv.ds.Path(tmp)+" to "+inv.ds.Path(p), err)
	}
	return nil
}
