package chatbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"onecall/chat"
	"onecall/cluster"
	"onecall/console"
	"onecall/router"
)

// OwnerBucket is the JetStream KV bucket of chat owners: key the contact
// id (decimal), value the id of the node holding the chat.
const OwnerBucket = "onecall_chat_owner"

// ownerTTL bounds how long an owner entry outlives its last claim; a chat
// (with its resume window) is over long before.
const ownerTTL = 24 * time.Hour

// Subjects of the chat's cross-node traffic.
func reqSubject(node string) string { return "onecall.chat." + node + ".req" }
func evSubject(c router.ContactID) string {
	return "onecall.chat.ev." + strconv.FormatUint(uint64(c), 10)
}

// ClusterOptions configure a Cluster. Zero values take the defaults noted.
type ClusterOptions struct {
	Timeout   time.Duration // default 5s: a request to the owner node
	SubBuffer int           // default 256 events per console subscription
	Logger    *slog.Logger
}

// Cluster is console.ChatAgent on a node of a cluster. A chat lives on the
// node its citizen's WebSocket reached (its owner, in the KV bucket
// OwnerBucket); the agent's console may be on any node. For a chat held
// here Cluster calls the local service; otherwise it asks the owner over
// NATS (request/reply on onecall.chat.<node>.req). Every chat event is
// published on onecall.chat.ev.<contact> by whichever node holds the chat,
// so a console subscription follows the chat when it moves. Transcripts
// are read from the shared store on any node.
//
// Create it with NewCluster, give its Claim and Publish to the chat
// service's options, then Serve the service. Safe for concurrent use.
type Cluster struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	kv   jetstream.KeyValue
	node string
	opts ClusterOptions
	log  *slog.Logger

	mu     sync.Mutex
	local  *chat.Service
	owners map[router.ContactID]owned // from the bucket's watch; pruned after ownerTTL
	sub    *nats.Subscription
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

var _ console.ChatAgent = (*Cluster)(nil)

// NewCluster opens (or creates) the owner bucket on nd's JetStream, with
// the replicas of the cluster's event stream.
func NewCluster(ctx context.Context, nd *cluster.Node, o ClusterOptions) (*Cluster, error) {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.SubBuffer <= 0 {
		o.SubBuffer = 256
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	js := nd.JetStream()
	// Right after the nodes start, JetStream may not take the bucket at
	// once (its Raft groups still elect): tried every 250 ms, up to 30 s.
	var kv jetstream.KeyValue
	err := retry(ctx, 30*time.Second, func(ctx context.Context) error {
		st, err := js.Stream(ctx, cluster.EventStream)
		if err != nil {
			return fmt.Errorf("event stream: %w", err)
		}
		kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:   OwnerBucket,
			History:  1,
			TTL:      ownerTTL,
			Storage:  jetstream.FileStorage,
			Replicas: st.CachedInfo().Config.Replicas,
		})
		if err != nil {
			return fmt.Errorf("bucket %s: %w", OwnerBucket, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("chat cluster: %w", err)
	}
	return &Cluster{nc: nd.Conn(), js: js, kv: kv, node: nd.ID(), opts: o, log: o.Logger.With("component", "chat-cluster"),
		owners: make(map[router.ContactID]owned)}, nil
}

// retry runs fn (each try bounded by 5 s) until it succeeds, ctx ends or
// total passed.
func retry(ctx context.Context, total time.Duration, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, total)
	defer cancel()
	for {
		tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
		err := fn(tctx)
		tcancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Serve answers the other nodes' requests for the chats of local and
// watches the owners: a chat another node claims is released here. It
// returns once both run.
func (c *Cluster) Serve(local *chat.Service) error {
	ctx, stop := context.WithCancel(context.Background())
	// The watch lives as long as ctx and creates its consumer itself
	// (again, whenever it is lost with its server).
	w := cluster.WatchKV(ctx, c.js, OwnerBucket, c.log)
	c.mu.Lock()
	c.local = local
	c.stop = stop
	c.mu.Unlock()
	sub, err := c.nc.Subscribe(reqSubject(c.node), c.serveReq)
	if err == nil {
		err = c.nc.Flush()
	}
	if err != nil {
		stop()
		return fmt.Errorf("chat cluster: subscribe: %w", err)
	}
	c.mu.Lock()
	c.sub = sub
	c.mu.Unlock()
	c.wg.Add(1)
	go c.watch(ctx, w)
	return nil
}

// Close stops serving and watching. The owner entries stay: the chats'
// citizens resume on other nodes, which claim them.
func (c *Cluster) Close() {
	c.mu.Lock()
	sub, stop := c.sub, c.stop
	c.sub = nil
	c.mu.Unlock()
	if sub != nil {
		_ = sub.Unsubscribe()
	}
	if stop != nil {
		stop()
	}
	c.wg.Wait()
}

// owned is a chat's owner as last seen, and when it claimed the chat.
type owned struct {
	node string
	at   time.Time
}

func (c *Cluster) watch(ctx context.Context, w jetstream.KeyWatcher) {
	defer c.wg.Done()
	defer func() { _ = w.Stop() }()
	prune := time.NewTicker(ownerTTL / 24)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-prune.C:
			// The bucket's entries expire without a word to watchers.
			c.mu.Lock()
			for id, o := range c.owners {
				if now.Sub(o.at) > ownerTTL {
					delete(c.owners, id)
				}
			}
			c.mu.Unlock()
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil {
				continue // the initial values are in
			}
			id, err := strconv.ParseUint(e.Key(), 10, 64)
			if err != nil {
				continue
			}
			contact := router.ContactID(id)
			owner := ""
			if e.Operation() == jetstream.KeyValuePut {
				owner = string(e.Value())
			}
			c.mu.Lock()
			if owner == "" {
				delete(c.owners, contact)
			} else {
				c.owners[contact] = owned{owner, e.Created()}
			}
			local := c.local
			c.mu.Unlock()
			if owner != "" && owner != c.node && local != nil && local.Release(contact) {
				c.log.Info("chat taken over by another node", "contact_id", id, "owner", owner)
			}
		}
	}
}

// Claim records this node as the owner of contact (chat.Options.Claim): a
// compare-and-set on the entry's revision, so two nodes claiming at once
// both see the other's write. A failed write (a concurrent claim, or the
// bucket without a Raft leader for a moment) is tried again every 50 ms
// until ctx ends or claimTries ran out. When the chat came from another
// node the consoles following it are told to reload it (a resync event).
func (c *Cluster) Claim(ctx context.Context, contact router.ContactID) error {
	key := strconv.FormatUint(uint64(contact), 10)
	var err error
	for try := range claimTries {
		if try > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("chat cluster: claim %d: %w (%w)", contact, ctx.Err(), err)
			case <-time.After(50 * time.Millisecond):
			}
		}
		var e jetstream.KeyValueEntry
		e, err = c.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			if _, err = c.kv.Create(ctx, key, []byte(c.node)); err == nil {
				c.setOwner(contact, c.node)
				return nil
			}
		case err != nil:
		case string(e.Value()) == c.node:
			c.setOwner(contact, c.node)
			return nil
		default:
			if _, err = c.kv.Update(ctx, key, []byte(c.node), e.Revision()); err == nil {
				c.setOwner(contact, c.node)
				c.log.Info("chat taken over", "contact_id", uint64(contact), "from", string(e.Value()))
				c.publish(contact, wireEvent{Kind: chat.EventResync.String(), Sent: time.Now()})
				return nil
			}
		}
	}
	return fmt.Errorf("chat cluster: claim %d: %w", contact, err)
}

// claimTries bounds Claim's attempts (5 s of retries).
const claimTries = 100

func (c *Cluster) setOwner(contact router.ContactID, node string) {
	c.mu.Lock()
	c.owners[contact] = owned{node, time.Now()}
	c.mu.Unlock()
}

// OwnerNow is the node holding contact, read from the bucket itself (not
// the watch); chat.ErrUnknownChat when no node holds it.
func (c *Cluster) OwnerNow(ctx context.Context, contact router.ContactID) (string, error) {
	return c.owner(ctx, contact, true)
}

// owner is the node holding contact: the watched value, else the bucket's.
func (c *Cluster) owner(ctx context.Context, contact router.ContactID, fresh bool) (string, error) {
	if !fresh {
		c.mu.Lock()
		o, ok := c.owners[contact]
		c.mu.Unlock()
		if ok {
			return o.node, nil
		}
	}
	e, err := c.kv.Get(ctx, strconv.FormatUint(uint64(contact), 10))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", chat.ErrUnknownChat
	}
	if err != nil {
		// The bucket without a Raft leader for a moment (its node died):
		// the console says "timeout", as for an owner not answering.
		return "", &remoteError{msg: fmt.Sprintf("chat cluster: owner of %d not known now (%v); try again", contact, err), is: context.DeadlineExceeded}
	}
	c.setOwner(contact, string(e.Value()))
	return string(e.Value()), nil
}

// wireEvent is a chat event on onecall.chat.ev.<contact>.
type wireEvent struct {
	Node   string    `json:"n"` // the node holding the chat (delivery receipts go there)
	Kind   string    `json:"k"`
	Seq    int64     `json:"s,omitempty"`
	Sender string    `json:"f,omitempty"`
	Text   string    `json:"t,omitempty"`
	Sent   time.Time `json:"at"`
}

// Publish forwards one event of a chat held here to its subscribers on
// every node (chat.Options.Publish). It does not block.
func (c *Cluster) Publish(ev chat.Event) {
	we := wireEvent{Kind: ev.Kind.String(), Seq: ev.Seq, Sent: ev.At}
	if ev.Kind == chat.EventMessage {
		we.Sender, we.Text, we.Sent = ev.Message.Sender, ev.Message.Text, ev.Message.Sent
	}
	c.publish(ev.Contact, we)
}

func (c *Cluster) publish(contact router.ContactID, we wireEvent) {
	we.Node = c.node
	data, err := json.Marshal(we)
	if err == nil {
		err = c.nc.Publish(evSubject(contact), data)
	}
	if err != nil {
		c.log.Warn("chat event not published", "contact_id", uint64(contact), "err", err)
	}
}

// request is one call to the owner node.
type request struct {
	Op      string `json:"op"` // send | typing | read | end | delivered | hello
	Contact uint64 `json:"c"`
	Agent   string `json:"a,omitempty"`
	Text    string `json:"t,omitempty"`
	Seq     int64  `json:"s,omitempty"`
}

type reply struct {
	Seq  int64  `json:"s,omitempty"`
	Code string `json:"e,omitempty"` // see errCodes
	Msg  string `json:"m,omitempty"`
}

// errCodes carry the chat's errors between nodes.
var errCodes = []struct {
	code string
	err  error
}{
	{"unknown_chat", chat.ErrUnknownChat}, {"not_yours", chat.ErrNotYours}, {"too_large", chat.ErrTooLarge},
	{"empty", chat.ErrEmpty}, {"not_durable", chat.ErrNotDurable}, {"timeout", context.DeadlineExceeded},
}

// remoteError is an error the owner node returned: its text, and the
// sentinel it stands for (errors.Is), which the console maps to a code.
type remoteError struct {
	msg string
	is  error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.is }

func encodeErr(err error) reply {
	for _, m := range errCodes {
		if errors.Is(err, m.err) {
			return reply{Code: m.code, Msg: err.Error()}
		}
	}
	return reply{Code: "other", Msg: err.Error()}
}

func decodeErr(r reply) error {
	if r.Code == "" {
		return nil
	}
	for _, m := range errCodes {
		if m.code == r.Code {
			return &remoteError{msg: r.Msg, is: m.err}
		}
	}
	return errors.New(r.Msg)
}

func (c *Cluster) serveReq(m *nats.Msg) {
	var rq request
	if err := json.Unmarshal(m.Data, &rq); err != nil {
		return
	}
	c.mu.Lock()
	local := c.local
	c.mu.Unlock()
	if local == nil {
		return
	}
	// Requests run on their own goroutine: a slow store write for one
	// chat does not hold up the others.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
		defer cancel()
		seq, err := c.do(ctx, local, rq)
		if m.Reply == "" {
			return
		}
		rp := reply{Seq: seq}
		if err != nil {
			rp = encodeErr(err)
		}
		data, _ := json.Marshal(rp)
		_ = m.Respond(data)
	}()
}

// do carries out rq on the local service.
func (c *Cluster) do(ctx context.Context, local *chat.Service, rq request) (int64, error) {
	id, agent := router.ContactID(rq.Contact), router.AgentID(rq.Agent)
	if rq.Op != "hello" && !local.Holds(id) {
		return 0, chat.ErrUnknownChat // moved on, or never here
	}
	switch rq.Op {
	case "send":
		return local.AgentSend(ctx, id, agent, rq.Text)
	case "typing":
		return 0, local.AgentTyping(id, agent)
	case "read":
		return 0, local.AgentRead(id, agent, rq.Seq)
	case "end":
		return 0, local.EndByAgent(ctx, id, agent)
	case "delivered":
		local.Delivered(id, rq.Seq)
		return 0, nil
	case "hello":
		return 0, nil
	}
	return 0, fmt.Errorf("chat cluster: unknown op %q", rq.Op)
}

// call runs op for contact where the chat lives: here, or on its owner. A
// chat that moved meanwhile is followed once.
func (c *Cluster) call(ctx context.Context, rq request) (int64, error) {
	contact := router.ContactID(rq.Contact)
	var seq int64
	var err error
	for attempt := range 2 {
		var owner string
		owner, err = c.owner(ctx, contact, attempt > 0)
		if err != nil {
			return 0, err
		}
		c.mu.Lock()
		local := c.local
		c.mu.Unlock()
		if owner == c.node && local != nil {
			seq, err = c.do(ctx, local, rq)
		} else {
			seq, err = c.remote(ctx, owner, rq)
		}
		if err == nil || !(errors.Is(err, chat.ErrUnknownChat) || errors.Is(err, context.DeadlineExceeded)) {
			return seq, err
		}
	}
	return seq, err
}

// remote sends rq to node and waits for its answer within the timeout.
func (c *Cluster) remote(ctx context.Context, node string, rq request) (int64, error) {
	data, err := json.Marshal(rq)
	if err != nil {
		return 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	m, err := c.nc.RequestWithContext(rctx, reqSubject(node), data)
	if err != nil {
		// No responders: the node is gone (its citizen resumes elsewhere);
		// a timeout: it is too slow. Either way the console says "timeout".
		return 0, &remoteError{msg: fmt.Sprintf("chat's node %s is not answering (%v); try again", node, err), is: context.DeadlineExceeded}
	}
	var rp reply
	if err := json.Unmarshal(m.Data, &rp); err != nil {
		return 0, fmt.Errorf("chat cluster: bad reply from %s: %w", node, err)
	}
	return rp.Seq, decodeErr(rp)
}

// AgentSend implements console.ChatAgent.
func (c *Cluster) AgentSend(ctx context.Context, contact router.ContactID, a router.AgentID, text string) (int64, error) {
	return c.call(ctx, request{Op: "send", Contact: uint64(contact), Agent: string(a), Text: text})
}

// AgentTyping implements console.ChatAgent.
func (c *Cluster) AgentTyping(contact router.ContactID, a router.AgentID) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	_, err := c.call(ctx, request{Op: "typing", Contact: uint64(contact), Agent: string(a)})
	return err
}

// AgentRead implements console.ChatAgent.
func (c *Cluster) AgentRead(contact router.ContactID, a router.AgentID, seq int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	_, err := c.call(ctx, request{Op: "read", Contact: uint64(contact), Agent: string(a), Seq: seq})
	return err
}

// EndByAgent implements console.ChatAgent.
func (c *Cluster) EndByAgent(ctx context.Context, contact router.ContactID, a router.AgentID) error {
	_, err := c.call(ctx, request{Op: "end", Contact: uint64(contact), Agent: string(a)})
	if err == nil || !(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, chat.ErrUnknownChat)) {
		return err
	}
	// The chat's node does not answer, or no node holds it (its node died
	// as it started the chat, before its owner entry was written, and the
	// citizen has not resumed elsewhere): the agent's end still ends it, in
	// routing (only if routing has it talking with this agent).
	c.mu.Lock()
	local := c.local
	c.mu.Unlock()
	if local == nil {
		return err
	}
	rctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	if ferr := local.EndRouted(rctx, contact, a); ferr != nil {
		c.log.Warn("chat not ended in routing after its node did not answer", "contact_id", contact, "agent_id", a, "err", ferr)
		return err
	}
	c.log.Info("chat ended in routing: its node did not answer", "contact_id", contact, "agent_id", a)
	return nil
}

// Transcript implements console.ChatAgent: the store is shared, so any
// node reads it, also while the chat's node is down.
func (c *Cluster) Transcript(ctx context.Context, contact router.ContactID) ([]console.ChatLine, error) {
	c.mu.Lock()
	local := c.local
	c.mu.Unlock()
	if local == nil {
		return nil, chat.ErrUnknownChat
	}
	return (&Bridge{S: local}).Transcript(ctx, contact)
}

// Subscribe implements console.ChatAgent: it follows the chat's event
// subject, whichever node holds the chat. Events queue up to
// ClusterOptions.SubBuffer; beyond, they are dropped and fn later gets a
// "resync" (reload the transcript). A citizen message fn returned from is
// reported delivered to the citizen, through the chat's node.
func (c *Cluster) Subscribe(contact router.ContactID, fn func(console.ChatEvent)) func() {
	q := make(chan wireEvent, c.opts.SubBuffer)
	done := make(chan struct{})
	overflow := false // NATS calls the handler of one subscription serially
	sub, err := c.nc.Subscribe(evSubject(contact), func(m *nats.Msg) {
		var we wireEvent
		if json.Unmarshal(m.Data, &we) != nil {
			return
		}
		if overflow {
			select {
			case q <- wireEvent{Node: we.Node, Kind: chat.EventResync.String(), Sent: we.Sent}:
				overflow = false
			default:
				return
			}
		}
		select {
		case q <- we:
		default:
			overflow = true
		}
	})
	if err != nil {
		c.log.Warn("chat subscription failed", "contact_id", uint64(contact), "err", err)
		return func() {}
	}
	c.sync(contact)
	go func() {
		for {
			select {
			case <-done:
				return
			case we := <-q:
				ev := console.ChatEvent{Contact: contact, Kind: we.Kind, Seq: we.Seq, Sender: we.Sender, Text: we.Text, Sent: we.Sent}
				fn(ev)
				if we.Kind == chat.EventMessage.String() && we.Sender == chat.SenderCitizen {
					c.delivered(we.Node, contact, we.Seq)
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = sub.Unsubscribe()
			close(done)
		})
	}
}

// sync makes sure the chat's node knows of a new subscription before
// Subscribe returns: the interest travels to the other servers on the same
// route as a request, so once the owner answered one, it sees it.
func (c *Cluster) sync(contact router.ContactID) {
	if err := c.nc.Flush(); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	owner, err := c.owner(ctx, contact, false)
	if err != nil || owner == c.node {
		return
	}
	if _, err := c.remote(ctx, owner, request{Op: "hello", Contact: uint64(contact)}); err != nil {
		c.log.Debug("chat subscription sync", "contact_id", uint64(contact), "owner", owner, "err", err)
	}
}

// delivered tells the chat's node that a console received seq.
func (c *Cluster) delivered(node string, contact router.ContactID, seq int64) {
	c.mu.Lock()
	local := c.local
	c.mu.Unlock()
	if node == c.node && local != nil {
		local.Delivered(contact, seq)
		return
	}
	data, _ := json.Marshal(request{Op: "delivered", Contact: uint64(contact), Seq: seq})
	_ = c.nc.Publish(reqSubject(node), data)
}

// Holding returns, per owner node id, how many chats the owners' watch
// puts on it (for the repair of a lost node's chats).
func (c *Cluster) Holding() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for _, o := range c.owners {
		out[o.node]++
	}
	return out
}

// OwnedBy returns the chats the owners' watch puts on node, ascending.
func (c *Cluster) OwnedBy(node string) []router.ContactID {
	c.mu.Lock()
	var out []router.ContactID
	for id, o := range c.owners {
		if o.node == node {
			out = append(out, id)
		}
	}
	c.mu.Unlock()
	slices.Sort(out)
	return out
}

// Disown deletes contact's owner entry if node still owns it: the chat
// ended without its owner (the node was lost and its citizen did not
// resume elsewhere). A chat claimed meanwhile by another node keeps its
// entry.
func (c *Cluster) Disown(ctx context.Context, contact router.ContactID, node string) error {
	key := strconv.FormatUint(uint64(contact), 10)
	e, err := c.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		c.dropOwner(contact, node)
		return nil
	}
	if err != nil {
		return err
	}
	if string(e.Value()) != node {
		return nil
	}
	if err := c.kv.Delete(ctx, key, jetstream.LastRevision(e.Revision())); err != nil {
		return err
	}
	c.dropOwner(contact, node)
	return nil
}

// dropOwner forgets contact's owner here if it is still node (the watch
// brings the delete too; this makes it visible at once).
func (c *Cluster) dropOwner(contact router.ContactID, node string) {
	c.mu.Lock()
	if o, ok := c.owners[contact]; ok && o.node == node {
		delete(c.owners, contact)
	}
	c.mu.Unlock()
}
