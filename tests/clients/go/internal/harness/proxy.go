package harness

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
)

// Proxy is an in-process TCP relay in front of a server that records what clients send,
// so a check can see which commands a library issued on its own (handshakes, health-check
// PINGs) and how many connections it opened, without changing what the server sees.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	conns   int
	sent    []byte // everything every client sent, in arrival order per read
	replied []byte // everything the server sent back
	open    []net.Conn
}

// StartProxy relays 127.0.0.1:<free port> to target until t's cleanups run.
func StartProxy(t *T, target string) *Proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Must(err, "proxy listen")
	p := &Proxy{ln: ln, target: target}
	t.Defer(p.close)
	go p.accept()
	return p
}

func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns++
		p.open = append(p.open, c, s)
		p.mu.Unlock()
		go p.pipe(c, s, &p.sent)
		go p.pipe(s, c, &p.replied)
	}
}

func (p *Proxy) pipe(from, to net.Conn, log *[]byte) {
	defer to.Close()
	defer from.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 {
			p.mu.Lock()
			*log = append(*log, buf[:n]...)
			p.mu.Unlock()
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.open {
		c.Close()
	}
}

// Conns is how many client connections the proxy accepted.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns
}

// Replied is a copy of every byte the server sent back so far.
func (p *Proxy) Replied() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.replied...)
}

// Commands parses what clients sent as RESP arrays of bulk strings and returns each
// command as its words joined by spaces (binary arguments are kept as they are). Only
// meaningful with one client connection, as parts of two connections' writes interleave.
func (p *Proxy) Commands() []string {
	p.mu.Lock()
	sent := append([]byte(nil), p.sent...)
	p.mu.Unlock()
	return ParseCommands(sent)
}

// ParseCommands splits a client's RESP byte stream into commands; parsing stops at the
// first incomplete or non-array frame.
func ParseCommands(b []byte) []string {
	r := bufio.NewReader(bytes.NewReader(b))
	var out []string
	for {
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "*") {
			return out
		}
		n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
		if err != nil {
			return out
		}
		words := make([]string, 0, n)
		for i := 0; i < n; i++ {
			h, err := r.ReadString('\n')
			if err != nil || !strings.HasPrefix(h, "$") {
				return out
			}
			l, err := strconv.Atoi(strings.TrimSpace(h[1:]))
			if err != nil || l < 0 {
				return out
			}
			arg := make([]byte, l+2)
			if _, err := io.ReadFull(r, arg); err != nil {
				return out
			}
			words = append(words, string(arg[:l]))
		}
		out = append(out, strings.Join(words, " "))
	}
}
