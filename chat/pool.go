package chat

import "sync"

// syncPool adapts sync.Pool to websocket.BufferPool so idle connections
// hold no write buffer.
type syncPool struct{ p sync.Pool }

func (p *syncPool) Get() any  { return p.p.Get() }
func (p *syncPool) Put(x any) { p.p.Put(x) }
