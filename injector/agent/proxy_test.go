package agent_test

import (
	"io"
	"net"
	"net/url"
	"sync"
)

// cutProxy forwards TCP to the API server and can be cut and restored, to
// take the API server away from an agent without stopping it.
type cutProxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
}

// newCutProxy starts a proxy to the API server at host (a URL or host:port).
func newCutProxy(host string) (*cutProxy, error) {
	target := host
	if u, err := url.Parse(host); err == nil && u.Host != "" {
		target = u.Host
	}
	p := &cutProxy{target: target, addr: "127.0.0.1:0", conns: map[net.Conn]struct{}{}}
	if err := p.restore(); err != nil {
		return nil, err
	}
	return p, nil
}

// URL is the proxy's address for a rest.Config.
func (p *cutProxy) URL() string { return "https://" + p.addr }

// cut closes the listener and every open connection.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
}

// restore listens again on the same address.
func (p *cutProxy) restore() error {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go p.serve(ln)
	return nil
}

func (p *cutProxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *cutProxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // cut meanwhile
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
}
