package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"onecall/router"
)

// agentConv returns the live chat connected to agent.
func (s *Service) agentConv(contact router.ContactID, agent router.AgentID) (*conv, error) {
	cv := s.conv(contact)
	if cv == nil {
		return nil, ErrUnknownChat
	}
	return cv, nil
}

// checkAgent is called with cv.mu held.
func (cv *conv) checkAgent(agent router.AgentID) error {
	if cv.ended {
		return ErrUnknownChat
	}
	if cv.rec.State != "talking" || cv.rec.Agent != agent {
		return ErrNotYours
	}
	return nil
}

func (s *Service) checkText(text string) error {
	if strings.TrimSpace(text) == "" {
		return ErrEmpty
	}
	if len(text) > s.opts.MaxTextBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(text), s.opts.MaxTextBytes)
	}
	if !utf8.ValidString(text) {
		return fmt.Errorf("chat: text is not valid UTF-8")
	}
	return nil
}

// AgentSend commits text from agent into the chat (durably) and then
// delivers it to the citizen under the agent's alias. It returns the
// message's sequence number. ErrNotYours if the chat is not connected to
// agent; ErrNotDurable if the store could not commit it.
func (s *Service) AgentSend(ctx context.Context, contact router.ContactID, agent router.AgentID, text string) (int64, error) {
	if err := s.checkText(text); err != nil {
		return 0, err
	}
	cv, err := s.agentConv(contact, agent)
	if err != nil {
		return 0, err
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if err := cv.checkAgent(agent); err != nil {
		return 0, err
	}
	m, err := cv.commit(ctx, Message{Sender: SenderAgent, SenderID: string(agent), Alias: cv.alias, Text: text})
	if err != nil {
		return 0, err
	}
	cv.resetIdle()
	return m.Seq, nil
}

// AgentTyping shows the typing indicator to the citizen.
func (s *Service) AgentTyping(contact router.ContactID, agent router.AgentID) error {
	cv, err := s.agentConv(contact, agent)
	if err != nil {
		return err
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if err := cv.checkAgent(agent); err != nil {
		return err
	}
	cv.send(encode(out{Type: "typing", From: SenderAgent, Alias: cv.alias}), 0)
	return nil
}

// AgentRead tells the citizen the agent read their messages up to seq.
func (s *Service) AgentRead(contact router.ContactID, agent router.AgentID, seq int64) error {
	cv, err := s.agentConv(contact, agent)
	if err != nil {
		return err
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if err := cv.checkAgent(agent); err != nil {
		return err
	}
	if seq > cv.lastSeq {
		seq = cv.lastSeq
	}
	if seq > cv.lastRead {
		cv.lastRead = seq
		cv.send(encode(out{Type: "receipt", Seq: seq, Status: "read"}), 0)
	}
	return nil
}

// EndByAgent ends the conversation from the agent side: routing gets
// ContactEnded (the agent goes to wrap-up) and the citizen is asked for a
// rating.
func (s *Service) EndByAgent(ctx context.Context, contact router.ContactID, agent router.AgentID) error {
	cv, err := s.agentConv(contact, agent)
	if err != nil {
		return err
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if err := cv.checkAgent(agent); err != nil {
		return err
	}
	if _, err := s.hub.Do(ctx, router.ContactEnded{Contact: contact, Reason: router.EndCompleted}); err != nil {
		return fmt.Errorf("chat: end: %w", err)
	}
	cv.finish("completed")
	return nil
}

// Transcript returns every committed message of contact, oldest first,
// with agent aliases filled in.
func (s *Service) Transcript(ctx context.Context, contact router.ContactID) ([]Message, error) {
	msgs, err := s.be.messages(ctx, contact, 0)
	if err != nil {
		return nil, err
	}
	s.fillAliases(contact, msgs)
	return msgs, nil
}

func (s *Service) fillAliases(contact router.ContactID, msgs []Message) {
	lang := "ko"
	if cv := s.conv(contact); cv != nil {
		cv.mu.Lock()
		lang = cv.rec.Language
		cv.mu.Unlock()
	}
	cache := map[string]string{}
	for i := range msgs {
		m := &msgs[i]
		if m.Sender != SenderAgent || m.Alias != "" {
			continue
		}
		a, ok := cache[m.SenderID]
		if !ok {
			a = s.alias(router.AgentID(m.SenderID), lang)
			cache[m.SenderID] = a
		}
		m.Alias = a
	}
}

// RecoveredChat names a chat that was live when onecall stopped.
type RecoveredChat struct {
	Contact router.ContactID
}

// Recover re-registers chats that were live (waiting or talking) when the
// previous process stopped, from their stored records, and re-enters each
// into routing with its original arrival time so it keeps its place in
// line. Their resume tokens stay valid (only hashes are stored). Call it
// once after the hub runs; do not also submit ContactArrived for them. A
// chat that was not recovered is recovered the same way when its citizen
// resumes. In a cluster (Options.Claim set) it does nothing: the store and
// the routing engine are shared, so a chat is taken over by the node its
// citizen resumes on, not by every node that starts.
func (s *Service) Recover(ctx context.Context, chats []RecoveredChat) error {
	if s.opts.Claim != nil {
		return nil
	}
	var firstErr error
	for _, rc := range chats {
		rec, err := s.be.contact(ctx, rc.Contact)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if _, err := s.recoverRec(ctx, rec); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// recoverRec registers rec (unless known) and re-enters it into routing
// if it was live.
func (s *Service) recoverRec(ctx context.Context, rec contactRec) (*conv, error) {
	s.mu.Lock()
	if cv, ok := s.convs[rec.ID]; ok {
		s.mu.Unlock()
		return cv, nil
	}
	cv := s.newConv(rec)
	cv.everTalked = rec.Talked
	live := rec.State == "waiting" || rec.State == "talking"
	if live {
		s.live.Add(1)
	} else {
		cv.ended = true
		if cv.rec.State != "ended" {
			cv.rec.State = "ended"
		}
	}
	s.convs[rec.ID] = cv
	s.byHash[rec.ResumeHash] = rec.ID
	s.mu.Unlock()

	cv.mu.Lock()
	defer cv.mu.Unlock()
	seq, err := s.be.lastSeq(ctx, rec.ID)
	if err != nil {
		return cv, err
	}
	cv.lastSeq = seq
	if !live {
		ended := rec.Ended
		if ended.IsZero() {
			ended = s.now()
		}
		id, hash := rec.ID, rec.ResumeHash
		cv.forget = time.AfterFunc(max(time.Until(ended.Add(s.opts.ResumeTTL)), time.Second), func() {
			s.mu.Lock()
			if s.convs[id] == cv {
				delete(s.convs, id)
				delete(s.byHash, hash)
			}
			s.mu.Unlock()
		})
		return cv, nil
	}
	cv.hadAgent = rec.State == "talking"
	cv.everTalked = cv.hadAgent || rec.Talked
	cv.rec.State = "waiting"
	cv.rec.Agent = ""
	if s.opts.Claim != nil {
		switch found, why, at := s.adopt(ctx, cv); found {
		case adopted:
			// A cluster's shared engine still routes it: taken over from
			// another node, in the state routing has.
			s.log.Info("chat recovered: still routed", "contact_id", rec.ID, "state", cv.rec.State)
			cv.detached(nil)
			return cv, nil
		case closedThere:
			// Routing ended it while its end was not yet stored: ended
			// here as routing decided, never entered again.
			s.log.Info("chat recovered: routing had ended it", "contact_id", rec.ID, "reason", why, "ended", at)
			cv.finishAt(endReasonName(why), at)
			return cv, nil
		case notAdopted:
		}
	}
	if _, err := s.hub.Do(ctx, s.arrival(rec)); err != nil {
		found, why, at := notAdopted, router.EndUnknown, time.Time{}
		if errors.Is(err, router.ErrDuplicate) || errors.Is(err, router.ErrClosed) {
			found, why, at = s.adopt(ctx, cv)
		}
		switch {
		case found == adopted:
			s.log.Info("chat recovered: still routed", "contact_id", rec.ID, "state", cv.rec.State)
			cv.detached(nil)
			return cv, nil
		case found == closedThere || errors.Is(err, router.ErrClosed):
			s.log.Info("chat recovered: routing had ended it", "contact_id", rec.ID, "reason", why, "err", err)
			// The engine closed it (this node's view of the engine may
			// not have the close yet: the reason is then unknown).
			if at.IsZero() {
				at = s.now()
			}
			cv.finishAt(endReasonName(why), at)
			return cv, nil
		}
		s.log.Warn("recovered chat not routed", "contact_id", rec.ID, "err", err)
		cv.finish("system_restart")
		return cv, err
	}
	if s.opts.Claim != nil {
		s.log.Info("chat recovered: entered into routing again", "contact_id", rec.ID, "arrived", rec.Arrived)
	}
	cv.detached(nil) // starts the grace timer until the citizen resumes
	cv.system(ctx, sysText(rec.Language, "restarted"))
	return cv, nil
}

func (s *Service) arrival(rec contactRec) router.ContactArrived {
	attrs := map[string]string{"topic": rec.Topic}
	if rec.Name != "" {
		attrs["name"] = rec.Name
	}
	if rec.Phone != "" {
		// Self-declared: shown as unverified, never an identity (see citizenOf).
		attrs[AttrPhoneUnverified] = rec.Phone
	}
	citizen := citizenOf(rec)
	var skills []router.SkillReq
	if lang := s.routeLang(rec); lang != "" && s.opts.SkillsFor != nil {
		if sk, ok := s.opts.SkillsFor(rec.Queue, lang); ok {
			skills = sk
		}
	}
	return router.ContactArrived{
		Contact:  rec.ID,
		Channel:  router.Chat,
		Number:   rec.Number,
		Queue:    rec.Queue,
		Language: rec.Language,
		Skills:   skills,
		Arrived:  rec.Arrived,
		Citizen:  citizen,
		Attrs:    attrs,
	}
}

// routeLang is the language a chat requires of its agent, by the rule
// calls follow: the chosen topic's language (the IVR menu choice's
// `language`); for a topic without one, the citizen's page language when
// the line routes that language to the same queue (1345: a Thai page on
// "other languages" needs a Thai speaker, as digit 5 does). "" = none.
func (s *Service) routeLang(rec contactRec) string {
	hl, topic, ok := s.lookup(rec.Number, rec.Topic)
	if !ok {
		return ""
	}
	if topic.Language != "" {
		return topic.Language
	}
	for _, t := range hl.Topics {
		if t.Language != "" && t.Language == rec.Language && t.Queue == topic.Queue {
			return t.Language
		}
	}
	return ""
}
