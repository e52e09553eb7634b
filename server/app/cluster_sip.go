package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"onecall/console"
	"onecall/router"
	"onecall/server"
	"onecall/sip"
)

// Voice across nodes (issue 14, docs/cluster.md "Voice across nodes"). A
// call's SIP dialogs and RTP stay on the node that answered it, whose
// number its contact id carries (server.ContactIDNode); the agent's console
// may be on another node. clusterCalls is the console's CallControl on a
// node of a cluster: a call on this node goes to the local SIP service, a
// call on another node to that node's SIP service by NATS request/reply on
// onecall.sip.<node>.call, where serveCallControls answers. Errors come
// back as the console's sentinels, so the console answers with the same
// codes as on a single node; a node that does not answer (down: its calls
// ended with it) is ErrCallGone, a reply that does not come in time is
// context.DeadlineExceeded (code "timeout").

// callSubject is the subject node (its NATS id, "n1") answers call
// controls on.
func callSubject(node string) string { return "onecall.sip." + node + ".call" }

// Call control timeouts when the console's context has no deadline: the
// quick ones act on the call's own goroutine; the slow ones may ring a
// phone or an outside number first.
const (
	callQuickTimeout = 5 * time.Second
	callSlowTimeout  = 60 * time.Second
	callMaxTimeout   = 2 * time.Minute
	// callServeSlots bounds the requests a node serves at once.
	callServeSlots = 256
)

// callRequest is one call control on the wire.
type callRequest struct {
	Op      string             `json:"op"`
	Contact router.ContactID   `json:"contact"`
	Queue   string             `json:"queue,omitempty"`
	Agent   router.AgentID     `json:"agent,omitempty"`
	Number  string             `json:"number,omitempty"`
	By      router.AgentID     `json:"by,omitempty"`
	Note    string             `json:"note,omitempty"`
	Mode    string             `json:"mode,omitempty"`
	Lang    string             `json:"lang,omitempty"`
	Step    router.ConsultStep `json:"step,omitempty"`
	// TimeoutMS is what the caller gives the owner to answer.
	TimeoutMS int64 `json:"timeout_ms"`
}

// callReply is the answer: no Code and no Err is success.
type callReply struct {
	Code string `json:"code,omitempty"` // a callErrors name
	Err  string `json:"err,omitempty"`
}

// callErrors are the errors that keep their identity across nodes, by
// name; the first that matches names an error.
var callErrors = []struct {
	name string
	err  error
}{
	{"call_gone", console.ErrCallGone}, {"no_outside", console.ErrNoOutside},
	{"number_not_allowed", console.ErrNumberNotAllowed}, {"outside_failed", console.ErrOutsideFailed},
	{"three_way", console.ErrThreeWay}, {"no_interpreter", console.ErrNoInterpreter},
	{"consult_active", console.ErrConsultActive}, {"no_consult", console.ErrNoConsult},
	{"consult_ringing", console.ErrConsultRinging}, {"no_conference", console.ErrNoConference},
	{"monitor_no_phone", console.ErrMonitorNoPhone}, {"monitor_no_answer", console.ErrMonitorNoAnswer},
	{"monitor_busy", console.ErrMonitorBusy}, {"monitor_rejected", console.ErrMonitorRejected},
	{"monitored", console.ErrMonitored}, {"monitor_elsewhere", console.ErrMonitorElsewhere},
	{"not_monitoring", console.ErrNotMonitoring},
	{"no_call", sip.ErrNoCall}, {"not_talking", sip.ErrNotTalking},
	{"unknown_queue", router.ErrUnknownQueue}, {"unknown_agent", router.ErrUnknownAgent},
	{"unknown_contact", router.ErrUnknownContact}, {"invalid_state", router.ErrInvalidState},
	{"queue_full", router.ErrQueueFull}, {"no_agent_free", router.ErrNoAgentFree},
	{"busy", server.ErrBusy}, {"stopped", server.ErrStopped}, {"not_leader", server.ErrNotLeader},
	{"timeout", context.DeadlineExceeded}, {"canceled", context.Canceled},
}

// remoteError is an error from another node's SIP service: its text, and
// the sentinel it wrapped there.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

func encodeCallError(err error) callReply {
	if err == nil {
		return callReply{}
	}
	for _, m := range callErrors {
		if errors.Is(err, m.err) {
			return callReply{Code: m.name, Err: err.Error()}
		}
	}
	return callReply{Err: err.Error()}
}

func decodeCallError(r callReply) error {
	if r.Code == "" && r.Err == "" {
		return nil
	}
	for _, m := range callErrors {
		if m.name == r.Code {
			return &remoteError{msg: r.Err, sentinel: m.err}
		}
	}
	return errors.New(r.Err)
}

// clusterCalls has every optional call control the local adapter has.
var (
	_ console.CallControl      = clusterCalls{}
	_ console.CallMuter        = clusterCalls{}
	_ console.ConsultControl   = clusterCalls{}
	_ console.Interpreting     = clusterCalls{}
	_ console.InterpreterQueue = clusterCalls{}
	_ console.CallMonitor      = clusterCalls{}
)

// clusterCalls is the console's CallControl on a node of a cluster.
type clusterCalls struct {
	local callControl
	node  uint16 // this node's number
	nc    *nats.Conn
	// owner is the node a call lives on (server.ContactIDNode).
	owner func(router.ContactID) uint16
}

func newClusterCalls(local callControl, node uint16, nc *nats.Conn) clusterCalls {
	return clusterCalls{local: local, node: node, nc: nc, owner: server.ContactIDNode}
}

// remote returns the node that owns contact when it is not this one.
func (c clusterCalls) remote(contact router.ContactID) (uint16, bool) {
	n := c.owner(contact)
	return n, n != 0 && n != c.node
}

// do runs the call control req: on the node that owns its call (def is
// the timeout when ctx has none), or here with doCallControl, as the
// owner would.
func (c clusterCalls) do(ctx context.Context, req callRequest, def time.Duration) error {
	if n, ok := c.remote(req.Contact); ok {
		return c.call(ctx, n, req, def)
	}
	return doCallControl(ctx, c.local, req)
}

// call sends req to the owner node and waits for its answer.
func (c clusterCalls) call(ctx context.Context, owner uint16, req callRequest, def time.Duration) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, def)
		defer cancel()
	}
	dl, _ := ctx.Deadline()
	// The owner gets a little less time than we wait, so its answer (even
	// a timeout) still reaches us.
	req.TimeoutMS = max(time.Until(dl).Milliseconds()-100, 1)
	data, err := json.Marshal(req)
	if err != nil {
		return err
	}
	node := server.NodeName(owner)
	msg, err := c.nc.RequestWithContext(ctx, callSubject(node), data)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return fmt.Errorf("%w (node %s does not answer: its calls ended with it)", console.ErrCallGone, node)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return fmt.Errorf("call control %s on node %s: %w", req.Op, node, context.DeadlineExceeded)
	case err != nil:
		return fmt.Errorf("call control %s on node %s: %w", req.Op, node, err)
	}
	var r callReply
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		return fmt.Errorf("call control %s on node %s: bad reply: %w", req.Op, node, err)
	}
	return decodeCallError(r)
}

func (c clusterCalls) Hold(ctx context.Context, contact router.ContactID) error {
	return c.do(ctx, callRequest{Op: "hold", Contact: contact}, callQuickTimeout)
}

func (c clusterCalls) Resume(ctx context.Context, contact router.ContactID) error {
	return c.do(ctx, callRequest{Op: "resume", Contact: contact}, callQuickTimeout)
}

func (c clusterCalls) Hangup(ctx context.Context, contact router.ContactID) error {
	return c.do(ctx, callRequest{Op: "hangup", Contact: contact}, callQuickTimeout)
}

func (c clusterCalls) Mute(ctx context.Context, contact router.ContactID) error {
	return c.do(ctx, callRequest{Op: "mute", Contact: contact}, callQuickTimeout)
}

func (c clusterCalls) Unmute(ctx context.Context, contact router.ContactID) error {
	return c.do(ctx, callRequest{Op: "unmute", Contact: contact}, callQuickTimeout)
}

func (c clusterCalls) Transfer(ctx context.Context, contact router.ContactID, to router.TransferTarget, by router.AgentID, note string) error {
	return c.do(ctx, callRequest{Op: "transfer", Contact: contact, Queue: to.Queue, Agent: to.Agent, Number: to.Number,
		By: by, Note: note}, callSlowTimeout)
}

func (c clusterCalls) Interpret(ctx context.Context, contact router.ContactID, number string, by router.AgentID) error {
	return c.do(ctx, callRequest{Op: "interpret", Contact: contact, Number: number, By: by}, callSlowTimeout)
}

func (c clusterCalls) RequestInterpreter(ctx context.Context, contact router.ContactID, lang string, by router.AgentID, note string) error {
	return c.do(ctx, callRequest{Op: "request_interpreter", Contact: contact, Lang: lang, By: by, Note: note}, callSlowTimeout)
}

func (c clusterCalls) DropInterpreter(ctx context.Context, contact router.ContactID, by router.AgentID) error {
	return c.do(ctx, callRequest{Op: "drop_interpreter", Contact: contact, By: by}, callSlowTimeout)
}

func (c clusterCalls) Consult(ctx context.Context, contact router.ContactID, to router.TransferTarget, by router.AgentID, note string) error {
	return c.do(ctx, callRequest{Op: "consult", Contact: contact, Queue: to.Queue, Agent: to.Agent, Number: to.Number,
		By: by, Note: note}, callSlowTimeout)
}

func (c clusterCalls) ConsultEnd(ctx context.Context, contact router.ContactID, step router.ConsultStep) error {
	return c.do(ctx, callRequest{Op: "consult_end", Contact: contact, Step: step}, callSlowTimeout)
}

func (c clusterCalls) Monitor(ctx context.Context, contact router.ContactID, by router.AgentID, mode string) error {
	return c.do(ctx, callRequest{Op: "monitor", Contact: contact, By: by, Mode: mode}, callSlowTimeout)
}

func (c clusterCalls) StopMonitor(ctx context.Context, contact router.ContactID, by router.AgentID) error {
	return c.do(ctx, callRequest{Op: "stop_monitor", Contact: contact, By: by}, callSlowTimeout)
}

// serveCallControls answers the call controls other nodes send to node
// (its NATS id) with the local SIP service, each request in its own
// goroutine (a consult or a supervisor's phone may ring for a while), at
// most callServeSlots at once; beyond that a request waits for a slot
// within its timeout.
func serveCallControls(nc *nats.Conn, node string, local callControl, log *slog.Logger) (*nats.Subscription, error) {
	slots := make(chan struct{}, callServeSlots)
	return nc.Subscribe(callSubject(node), func(m *nats.Msg) {
		var req callRequest
		if err := json.Unmarshal(m.Data, &req); err != nil {
			log.Warn("bad call control request", "err", err)
			data, _ := json.Marshal(callReply{Err: "bad call control request"})
			_ = m.Respond(data)
			return
		}
		timeout := min(max(time.Duration(req.TimeoutMS)*time.Millisecond, time.Millisecond), callMaxTimeout)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			var err error
			select {
			case slots <- struct{}{}:
				err = doCallControl(ctx, local, req)
				<-slots
			case <-ctx.Done():
				err = ctx.Err()
			}
			if err != nil {
				log.Debug("remote call control", "op", req.Op, "contact_id", req.Contact, "err", err)
			}
			data, _ := json.Marshal(encodeCallError(err))
			if err := m.Respond(data); err != nil {
				log.Debug("call control reply", "op", req.Op, "err", err)
			}
		}()
	})
}

func doCallControl(ctx context.Context, c callControl, r callRequest) error {
	to := router.TransferTarget{Queue: r.Queue, Agent: r.Agent, Number: r.Number}
	switch r.Op {
	case "hold":
		return c.Hold(ctx, r.Contact)
	case "resume":
		return c.Resume(ctx, r.Contact)
	case "hangup":
		return c.Hangup(ctx, r.Contact)
	case "mute":
		return c.Mute(ctx, r.Contact)
	case "unmute":
		return c.Unmute(ctx, r.Contact)
	case "transfer":
		return c.Transfer(ctx, r.Contact, to, r.By, r.Note)
	case "interpret":
		return c.Interpret(ctx, r.Contact, r.Number, r.By)
	case "request_interpreter":
		return c.RequestInterpreter(ctx, r.Contact, r.Lang, r.By, r.Note)
	case "drop_interpreter":
		return c.DropInterpreter(ctx, r.Contact, r.By)
	case "consult":
		return c.Consult(ctx, r.Contact, to, r.By, r.Note)
	case "consult_end":
		return c.ConsultEnd(ctx, r.Contact, r.Step)
	case "monitor":
		return c.Monitor(ctx, r.Contact, r.By, r.Mode)
	case "stop_monitor":
		return c.StopMonitor(ctx, r.Contact, r.By)
	}
	return fmt.Errorf("unknown call control %q", r.Op)
}

// clusterSIP is what a node of a cluster adds to its SIP service: the
// shared registrar bindings and the call controls it serves to other
// nodes. Zero on a single node.
type clusterSIP struct {
	shared *sip.SharedBindings
	sub    *nats.Subscription
}

// bindingStore is the registrar's binding store and OnChange: on a single
// node the store's registrations table; on a node of a cluster the shared
// bucket (sip.RegistrarBucket), where the consoles learn about phones from
// the cluster-wide view (startClusterSIP) and the local OnChange only logs
// a demo agent in.
func (a *App) bindingStore(ctx context.Context) (sip.BindingStore, func(string, bool), error) {
	if a.node == nil {
		return sip.NewStoreAdapter(a.st), a.phoneChanged, nil
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sh, err := sip.OpenSharedBindings(octx, a.node.JetStream(), sip.SharedBindingsOptions{
		Node:     a.node.ID(),
		Replicas: a.node.Replicas(),
		TTL:      a.cfg.Server.SIP.RegisterMax.D() + time.Minute,
		Logger:   a.log,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: registrar bucket: %w", err)
	}
	a.csip.shared = sh
	return sh, a.demoLogin, nil
}

// locator finds agents' phones: on a node of a cluster, registered with
// any node.
func (a *App) locator() sip.Locator {
	if a.csip.shared == nil {
		return a.registrar
	}
	return a.csip.shared.Locator(a.registrar)
}

// callControls are the console's call controls: on a node of a cluster,
// a call on another node is controlled there.
func (a *App) callControls() console.CallControl {
	if a.node == nil {
		return callControl{a.sip}
	}
	return newClusterCalls(callControl{a.sip}, uint16(a.cfg.Server.Cluster.Node), a.node.Conn())
}

// startClusterSIP serves this node's calls to the other nodes' consoles
// and tells the local consoles which agents' phones are registered on any
// node.
func (a *App) startClusterSIP() error {
	if a.node == nil {
		return nil
	}
	sub, err := serveCallControls(a.node.Conn(), a.node.ID(), callControl{a.sip}, a.log.With("component", "cluster-sip"))
	if err != nil {
		return fmt.Errorf("cluster: call controls: %w", err)
	}
	a.csip.sub = sub
	a.csip.shared.OnChange(func(user string, registered bool) {
		a.console.PhoneRegistered(router.AgentID(user), registered)
	})
	return nil
}

// stopClusterSIP stops serving call controls and watching the bindings.
func (a *App) stopClusterSIP() {
	if a.csip.sub != nil {
		if err := a.csip.sub.Unsubscribe(); err != nil {
			a.log.Debug("unsubscribe call controls", "err", err)
		}
	}
	if a.csip.shared != nil {
		a.csip.shared.Close()
	}
}
