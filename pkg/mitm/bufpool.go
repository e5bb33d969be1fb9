package mitm

import "sync"

// copyBufSize is the size of the buffers httputil.ReverseProxy copies
// bodies through (its default).
const copyBufSize = 32 << 10

// BufferPool lends httputil.ReverseProxy its copy buffers. Without one the
// proxy allocates a fresh 32 KiB buffer for every response it forwards,
// which on small requests is most of the garbage egress and pipelock make.
// Only the bytes read into a buffer are ever written out of it, so a
// buffer's earlier contents never reach another response.
type BufferPool struct{ p sync.Pool }

// Get returns a buffer of copyBufSize bytes.
func (bp *BufferPool) Get() []byte {
	if b, ok := bp.p.Get().(*[copyBufSize]byte); ok {
		return b[:]
	}
	return make([]byte, copyBufSize)
}

// Put returns a buffer that Get lent.
func (bp *BufferPool) Put(b []byte) {
	if len(b) == copyBufSize {
		bp.p.Put((*[copyBufSize]byte)(b))
	}
}
