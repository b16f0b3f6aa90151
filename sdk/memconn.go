package edgebox

import (
	"bytes"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// An in-memory connection between the SDK and Go's http.Server, whose writes
// never block: each direction is a buffer. net.Pipe hands every write to a
// waiting read, a goroutine switch per write, and needs a goroutine to write
// a request the handler may not read; under wasm that was a third of a request.

// memPipe returns the two ends of a new connection.
func memPipe() (*memConn, *memConn) {
	up, down := newMemBuffer(), newMemBuffer()
	return &memConn{in: down, out: up}, &memConn{in: up, out: down}
}

// memConn is one end: it reads in and writes out.
type memConn struct {
	in, out *memBuffer
}

func (c *memConn) Read(p []byte) (int, error)  { return c.in.read(p) }
func (c *memConn) Write(p []byte) (int, error) { return c.out.write(p) }

// Close ends both directions; the other end still reads what was written before.
func (c *memConn) Close() error {
	c.in.close()
	c.out.close()
	return nil
}

func (c *memConn) LocalAddr() net.Addr  { return edgeboxAddr{} }
func (c *memConn) RemoteAddr() net.Addr { return edgeboxAddr{} }

func (c *memConn) SetDeadline(t time.Time) error {
	c.in.setDeadline(&c.in.readDeadline, t)
	c.out.setDeadline(&c.out.writeDeadline, t)
	return nil
}
func (c *memConn) SetReadDeadline(t time.Time) error {
	c.in.setDeadline(&c.in.readDeadline, t)
	return nil
}
func (c *memConn) SetWriteDeadline(t time.Time) error {
	c.out.setDeadline(&c.out.writeDeadline, t)
	return nil
}

// unread is how many written bytes the other end has not read yet.
func (c *memConn) unread() int {
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	return c.out.data.Len()
}

type memBuffer struct {
	mu     sync.Mutex
	ready  *sync.Cond
	data   bytes.Buffer
	closed bool
	// net.Conn's deadlines: the reading end's and the writing end's, each its own.
	readDeadline, writeDeadline time.Time
	timer                       *time.Timer // wakes a read waiting when its deadline passes
	waiting                     func()      // run once by a read about to wait for the writer
}

func newMemBuffer() *memBuffer {
	b := &memBuffer{}
	b.ready = sync.NewCond(&b.mu)
	return b
}

func expired(deadline time.Time) bool {
	return !deadline.IsZero() && !time.Now().Before(deadline)
}

func (b *memBuffer) read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	told := false
	for {
		switch {
		case b.data.Len() > 0:
			return b.data.Read(p)
		case b.closed:
			return 0, io.EOF
		case expired(b.readDeadline):
			return 0, os.ErrDeadlineExceeded
		case !told && b.waiting != nil:
			told = true
			waiting := b.waiting
			b.mu.Unlock()
			waiting()
			b.mu.Lock()
			continue
		}
		b.ready.Wait()
	}
}

// beforeWait sets what a read runs, once, before it waits for the writer (nil: nothing).
func (b *memBuffer) beforeWait(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waiting = f
}

func (b *memBuffer) write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return 0, io.ErrClosedPipe
	case expired(b.writeDeadline):
		return 0, os.ErrDeadlineExceeded
	}
	b.data.Write(p)
	b.ready.Broadcast()
	return len(p), nil
}

func (b *memBuffer) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.timer != nil {
		b.timer.Stop()
	}
	b.ready.Broadcast()
}

func (b *memBuffer) setDeadline(deadline *time.Time, t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	*deadline = t
	if deadline != &b.readDeadline {
		return // a write never waits
	}
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if d := time.Until(t); !t.IsZero() && d > 0 {
		b.timer = time.AfterFunc(d, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.ready.Broadcast()
		})
	}
	b.ready.Broadcast()
}

// memListener hands the server the connections the SDK opens.
type memListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newMemListener() *memListener {
	return &memListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case conn := <-l.conns:
		return conn, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// offer gives conn to the server; false once the listener is closed.
func (l *memListener) offer(conn net.Conn) bool {
	select {
	case l.conns <- conn:
		return true
	case <-l.closed:
		return false
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *memListener) Addr() net.Addr { return edgeboxAddr{} }

// edgeboxAddr is both ends' address: what a handler sees as r.RemoteAddr.
type edgeboxAddr struct{}

func (edgeboxAddr) Network() string { return "edgebox" }
func (edgeboxAddr) String() string  { return "edgebox:0" }
