package cli

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/vcenter"
	"github.com/bdebundle/bundle/pipeline"
)

// The states of a deploy step in its report.
const (
	stepDone    = "done"
	stepFailed  = "failed"
	stepNotRun  = "not_run"
	stepNothing = "nothing_to_do"
	stepLeftOut = "left_out"
)

// deployStep is what one step of a deploy did: the lines of the summary
// and, with --json, the fields of the "result" event.
type deployStep struct {
	Step  string `json:"step"` // files, templates, images, management_server, cluster_config
	State string `json:"state"`
	// Done and Bytes count what the step carried out (files uploaded,
	// templates imported, images pushed, clusters configured); Planned
	// what it had to do; Skipped and SkippedBytes what it left as it was.
	Done         int      `json:"done"`
	Bytes        int64    `json:"bytes"`
	Planned      int      `json:"planned"`
	Skipped      int      `json:"skipped"`
	SkippedBytes int64    `json:"skipped_bytes"`
	Deleted      int      `json:"deleted,omitempty"`
	Where        string   `json:"where,omitempty"` // the registry, the BDE server
	Names        []string `json:"names,omitempty"` // the clusters configured
	Reason       string   `json:"reason,omitempty"`
}

// deployReport is the whole of a deploy's outcome.
type deployReport struct {
	Event   string       `json:"event"` // "result"
	OK      bool         `json:"ok"`
	Bundle  string       `json:"bundle"`
	Version string       `json:"version"`
	Steps   []deployStep `json:"steps"`
	// Finish is the command that finishes a deploy that stopped.
	Finish string `json:"finish,omitempty"`
	// Hint says what to change in it.
	Hint string `json:"hint,omitempty"`
}

// planned counts the items of p of kind k that change something.
func planned(p *vcenter.DeployPlan, k vcenter.Kind) (n int, size int64) {
	if p == nil {
		return 0, 0
	}
	for _, it := range p.Items {
		if it.Kind == k && it.Action != vcenter.Leave && it.Action != vcenter.Delete {
			n++
			size += it.Size
		}
	}
	return n, size
}

// newDeployReport says what each step did; err is the deploy's error (nil
// when it succeeded). rerun is the command as given, flags included.
func newDeployReport(res *pipeline.DeployResult, err error, rerun []string) *deployReport {
	out := res.Outcome
	r := &deployReport{Event: "result", OK: err == nil, Bundle: out.Bundle, Version: out.Version}
	failedAt := out.Failed
	var sse *pipeline.SiteStepError
	switch {
	case err != nil && failedAt == "" && errors.As(err, &sse):
		failedAt = sse.Step
	case err != nil && failedAt == "":
		failedAt = "cluster_config"
	}
	order := []string{vcenter.StepFiles, vcenter.StepTemplates, vcenter.StepImages, vcenter.StepGuest, "cluster_config", "apps", "jobs"}
	idx := func(s string) int {
		for i, o := range order {
			if o == s {
				return i
			}
		}
		return len(order)
	}
	stop := idx(failedAt)
	state := func(step string, nothing bool) string {
		switch i := idx(step); {
		case err != nil && i == stop:
			return stepFailed
		case nothing:
			return stepNothing
		case err != nil && i > stop:
			return stepNotRun
		}
		return stepDone
	}
	reason := ""
	if err != nil {
		reason = shortReason(err)
	}

	files, _ := planned(out.Plan, vcenter.KindFile)
	deletes := 0
	if out.Plan != nil {
		for _, it := range out.Plan.Items {
			if it.Kind == vcenter.KindFile && it.Action == vcenter.Delete {
				deletes++
			}
		}
	}
	st := deployStep{Step: vcenter.StepFiles, State: state(vcenter.StepFiles, files+deletes == 0), Done: out.Uploads, Bytes: out.UploadBytes,
		Planned: files, Skipped: out.Unchanged, SkippedBytes: out.UnchangedBytes, Deleted: out.Deleted}
	r.Steps = append(r.Steps, st)

	tmpl, _ := planned(out.Plan, vcenter.KindTemplate)
	r.Steps = append(r.Steps, deployStep{Step: vcenter.StepTemplates, State: state(vcenter.StepTemplates, tmpl == 0), Done: out.Templates, Planned: tmpl, Skipped: out.TemplatesUnchanged})

	imgs, _ := planned(out.Plan, vcenter.KindImages)
	is := deployStep{Step: vcenter.StepImages, State: state(vcenter.StepImages, imgs == 0), Planned: imgs, Where: out.Registry}
	if out.Pushed != nil {
		is.Done, is.Bytes, is.SkippedBytes = out.Pushed.Images, out.Pushed.Bytes, out.Pushed.SkippedBytes
	}
	if is.Where == "" && out.Plan != nil {
		for _, it := range out.Plan.Items {
			if it.Kind == vcenter.KindImages {
				is.Where = strings.TrimPrefix(it.Where, "registry ")
			}
		}
	}
	r.Steps = append(r.Steps, is)

	if guest, _ := planned(out.Plan, vcenter.KindGuest); guest > 0 {
		gs := deployStep{Step: "management_server", State: state(vcenter.StepGuest, false), Planned: guest}
		if gs.State == stepDone {
			gs.Done = guest
		}
		r.Steps = append(r.Steps, gs)
	}

	cs := deployStep{Step: "cluster_config", Names: res.Configured, Done: len(res.Configured)}
	if cp := res.ClusterPlan; cp != nil {
		cs.Planned, cs.Where = len(cp.Moves), cp.Server
		if cp.LeftOut != "" && len(cp.Moves) > 0 {
			cs.State, cs.Reason = stepLeftOut, cp.LeftOut
		}
	}
	if cs.State == "" {
		cs.State = state("cluster_config", cs.Planned == 0)
	}
	r.Steps = append(r.Steps, cs)
	for _, sp := range res.SitePlans {
		if sp.LeftOut != "" {
			continue // the plan said so
		}
		ss := deployStep{Step: sp.Step, Planned: sp.Planned()}
		ss.State = state(sp.Step, ss.Planned == 0)
		if ss.State == stepDone {
			ss.Done = ss.Planned
		}
		r.Steps = append(r.Steps, ss)
	}
	for i := range r.Steps {
		if r.Steps[i].State == stepFailed {
			r.Steps[i].Reason = reason
			if r.Steps[i].Where != "" && !strings.Contains(reason, r.Steps[i].Where) {
				r.Steps[i].Reason = r.Steps[i].Where + ": " + reason
			}
		}
	}
	if err != nil {
		r.Finish, r.Hint = finishCommand(failedAt, err, rerun, is.Where)
	}
	return r
}

// The end of an error chain is its cause ("no such host", "connection
// refused"); a BDE or vCenter message is kept whole.
var reasonTail = regexp.MustCompile(`(no such host|connection refused|i/o timeout|server gave HTTP response to HTTPS client|certificate [^:]*|refused the login[^(]*|401 Unauthorized|403 Forbidden)`)

// shortReason is the cause of err in a few words.
func shortReason(err error) string {
	msg := err.Error()
	var cce *pipeline.ClusterConfigError
	if errors.As(err, &cce) {
		msg = cce.Err.Error()
	}
	if m := reasonTail.FindString(msg); m != "" {
		return strings.TrimSpace(m)
	}
	return msg
}

// finishCommand is the command that finishes a deploy that stopped at
// step, and what to change in it.
func finishCommand(step string, err error, rerun []string, registry string) (cmd, hint string) {
	drop := ""
	var add []string
	switch step {
	case vcenter.StepImages:
		drop = "--registry"
		add = []string{"--registry", "HOST:PORT"}
		hint = "HOST:PORT is a registry this machine reaches that serves the site's images; add --insecure-registry HOST:PORT if it speaks plain HTTP; once the site registry answers, the command without --registry finishes too"
		if strings.Contains(err.Error(), "HTTP response to HTTPS client") && registry != "" {
			hint = registry + " speaks plain HTTP: --insecure-registry allows it"
			drop, add = "", []string{"--insecure-registry", registry}
		}
	case "cluster_config":
		var unreachable *pipeline.BDEUnreachableError
		var auth *pipeline.BDEAuthError
		switch {
		case errors.As(err, &unreachable):
			drop = "--bde-url"
			add = []string{"--bde-url", "HOST"}
			hint = "HOST is a BDE server this machine reaches (or set BDE_URL); or --skip-clusters to leave the clusters step out"
		case errors.As(err, &auth):
			hint = "with the BDE user's password in BDE_PASSWORD (BDE_USERNAME or --bde-user names the user); or --skip-clusters to leave the clusters step out"
		default:
			hint = "once the fault BDE reports is mended; the upload is skipped, the clusters step plans again from what BDE has"
		}
	default:
		hint = "the deploy resumes: what is done is not sent again"
	}
	var parts []string
	for i := 0; i < len(rerun); i++ {
		a := rerun[i]
		if drop != "" && (a == drop || strings.HasPrefix(a, drop+"=")) {
			if a == drop {
				i++
			}
			continue
		}
		parts = append(parts, shellWord(a))
	}
	return strings.Join(append(parts, add...), " "), hint
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_./:=@%+,-]+$`)

// shellWord quotes s for a POSIX shell when it needs it.
func shellWord(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// line is the summary line of one step.
func (s deployStep) line() string {
	name := map[string]string{vcenter.StepFiles: "Files", vcenter.StepTemplates: "Templates", vcenter.StepImages: "Images",
		"management_server": "Management server", "cluster_config": "Cluster config", "apps": "Apps", "jobs": "Jobs"}[s.Step]
	var what string
	switch s.Step {
	case vcenter.StepFiles:
		what = fmt.Sprintf("%d uploaded (%s)", s.Done, progress.Bytes(s.Bytes))
		if s.State == stepFailed || s.State == stepNotRun {
			what = fmt.Sprintf("%d of %d uploaded (%s)", s.Done, s.Planned, progress.Bytes(s.Bytes))
		}
		if s.Deleted > 0 {
			what += fmt.Sprintf(", %d deleted", s.Deleted)
		}
		what += fmt.Sprintf(", %d unchanged (%s)", s.Skipped, progress.Bytes(s.SkippedBytes))
	case vcenter.StepTemplates:
		what = fmt.Sprintf("%d imported", s.Done)
		if s.State == stepFailed || s.State == stepNotRun {
			what = fmt.Sprintf("%d of %d imported", s.Done, s.Planned)
		}
		what += fmt.Sprintf(", %d unchanged", s.Skipped)
	case vcenter.StepImages:
		switch s.State {
		case stepDone:
			what = fmt.Sprintf("%s pushed to %s (%s sent, %s already there)", plural(s.Done, "image"), s.Where, progress.Bytes(s.Bytes), progress.Bytes(s.SkippedBytes))
		case stepNothing:
			what = "none to push"
		default:
			what = "not pushed"
		}
	case "management_server":
		what = map[bool]string{true: "tree copied", false: "not copied"}[s.State == stepDone]
	case "apps", "jobs":
		switch s.State {
		case stepDone:
			what = fmt.Sprintf("%d changed", s.Done)
		case stepNothing:
			what = "none to change"
		case stepLeftOut:
			what = "left out: " + s.Reason
		default:
			what = "not changed"
		}
	case "cluster_config":
		switch s.State {
		case stepDone:
			what = "run on " + strings.Join(s.Names, ", ")
		case stepNothing:
			what = "none to run"
		case stepLeftOut:
			what = "left out: " + s.Reason
		default:
			what = "not run"
			if len(s.Names) > 0 {
				what = "run on " + strings.Join(s.Names, ", ") + ", not on the rest"
			}
		}
	}
	if s.State == stepFailed {
		if s.Step == vcenter.StepFiles || s.Step == vcenter.StepTemplates {
			what += "; stopped: " + s.Reason
		} else {
			what += " (" + s.Reason + ")"
		}
	}
	return name + ": " + what + "."
}

// writeStopped prints where a failed deploy stopped and how to finish it.
func (r *deployReport) writeStopped(w io.Writer) {
	fmt.Fprintf(w, "Deploy of bundle %s %s stopped.\n", r.Bundle, r.Version)
	for _, s := range r.Steps {
		fmt.Fprintf(w, "  %s\n", s.line())
	}
	fmt.Fprintf(w, "Finish with: %s\n  (%s)\n", r.Finish, r.Hint)
}
