// Command wasmmap reads a Go wasm module's own line table (pclntab) and its
// code section, and writes what a debug build needs as JSON on stdout: a v3
// source map's sources, names and mappings (one mapping per resume block of
// every function, columns = byte offsets into the whole module file, as V8
// reads wasm positions), and Go's own spelling of each function's name by wasm
// function index, for the module's name section.
//
//	wasmmap MODULE.wasm > out.json
//
// In Go's wasm port a PC is (0x1000 + index of the function among the module's
// own functions) << 16 | B, B a resume-block number; pclntab records entries as
// the function index alone, so they are shifted left by 16 before debug/gosym
// reads the table (cmd/internal/obj/wasm/wasmobj.go, cmd/link/internal/wasm).
// Every function opens with nested blocks and a `local.get; br_table`
// dispatcher whose table sends each B to its block; the k-th `end` closing
// those blocks starts resume block k.
package main

import (
	"bytes"
	"debug/gosym"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

const funcValueOffset = 0x1000

// pclntab's header for Go 1.20+ on wasm: magic, two zero bytes, the minimum
// instruction size (1) and the pointer size (8).
var pclnHeader = []byte{0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8}

type reader struct {
	b []byte
	p int
}

func (r *reader) byte() byte { r.p++; return r.b[r.p-1] }

func (r *reader) u32() uint64 {
	var v uint64
	for s := uint(0); ; s += 7 {
		c := r.byte()
		v |= uint64(c&0x7f) << s
		if c&0x80 == 0 {
			return v
		}
	}
}

func (r *reader) s64() int64 {
	var v int64
	var s uint
	for {
		c := r.byte()
		v |= int64(c&0x7f) << s
		s += 7
		if c&0x80 == 0 {
			if s < 64 && c&0x40 != 0 {
				v |= -1 << s
			}
			return v
		}
	}
}

type section struct{ start, end int }

// module is what wasmmap needs of a wasm binary: where its function bodies
// are, how many functions it imports, and its linear memory's initial bytes.
type module struct {
	data     []byte
	imported int
	bodies   []section
	memory   []byte
}

func parse(data []byte) (*module, error) {
	if len(data) < 8 || !bytes.Equal(data[:4], []byte("\x00asm")) {
		return nil, errors.New("not a WebAssembly module")
	}
	m := &module{data: data}
	r := &reader{b: data, p: 8}
	for r.p < len(data) {
		id := r.byte()
		size := int(r.u32())
		start, end := r.p, r.p+size
		s := &reader{b: data, p: start}
		switch id {
		case 2: // imports
			for n := s.u32(); n > 0; n-- {
				s.p += int(s.u32())
				s.p += int(s.u32())
				switch kind := s.byte(); kind {
				case 0:
					s.u32()
					m.imported++
				case 1:
					s.byte()
					if s.byte()&1 != 0 {
						s.u32()
					}
					s.u32()
				case 2:
					if s.byte()&1 != 0 {
						s.u32()
					}
					s.u32()
				case 3:
					s.byte()
					s.byte()
				default:
					return nil, fmt.Errorf("import kind %d", kind)
				}
			}
		case 10: // code
			for n := s.u32(); n > 0; n-- {
				size := int(s.u32())
				m.bodies = append(m.bodies, section{s.p, s.p + size})
				s.p += size
			}
		case 11: // data: Go writes active segments at constant offsets
			for n := s.u32(); n > 0; n-- {
				if flags := s.u32(); flags != 0 {
					return nil, fmt.Errorf("data segment flags %d", flags)
				}
				if s.byte() != 0x41 {
					return nil, errors.New("data segment offset is not i32.const")
				}
				offset := int(s.s64())
				s.byte() // end
				size := int(s.u32())
				if need := offset + size; need > len(m.memory) {
					m.memory = append(m.memory, make([]byte, need-len(m.memory))...)
				}
				copy(m.memory[offset:], data[s.p:s.p+size])
				s.p += size
			}
		}
		r.p = end
	}
	return m, nil
}

// lineTable finds pclntab in the initial memory and shifts its function
// entry offsets left by 16, so that debug/gosym's PCs are Go's wasm PCs.
func lineTable(memory []byte) (*gosym.Table, error) {
	at := bytes.Index(memory, pclnHeader)
	if at < 0 {
		return nil, errors.New("no Go line table (pclntab) in the module's data")
	}
	tab := bytes.Clone(memory[at:])
	le := binary.LittleEndian
	nfunc := int(le.Uint64(tab[8:]))
	functab := int(le.Uint64(tab[8+7*8:])) // pclnOffset
	for i := 0; i <= nfunc; i++ {
		entry := functab + 8*i
		le.PutUint32(tab[entry:], le.Uint32(tab[entry:])<<16)
		if i < nfunc { // each _func starts with its own entry offset
			fn := functab + int(le.Uint32(tab[entry+4:]))
			le.PutUint32(tab[fn:], le.Uint32(tab[fn:])<<16)
		}
	}
	return gosym.NewTable(nil, gosym.NewLineTable(tab, 0))
}

// blockStarts returns, for one function body, the file offset where each
// resume block begins and the first B that lands in it (from the dispatcher's
// br_table): the entry block first.
func blockStarts(data []byte, body section) (offsets []int, pcs []uint64, err error) {
	defer func() {
		if recover() != nil {
			err = errors.New("truncated function body")
		}
	}()
	r := &reader{b: data, p: body.start}
	for n := r.u32(); n > 0; n-- {
		r.u32()
		r.byte()
	}
	// The body's first instruction: B = 0.
	offsets, pcs = []int{r.p}, []uint64{0}
	var open []byte            // the control blocks open now: 'd' the dispatcher's, 'i' an if, 'b' others
	var blocks []uint64        // the first B of each resume block, from the dispatcher's table
	ended := 0                 // dispatcher blocks closed so far
	pc1InEntry := true         // B = 1 is still the entry block (no call before the frame is set up)
	prologue := false          // the frame's SP was set
	run, runAtGet := 0, 0      // consecutive `block`s just before (at the last local.get)
	lastGet := -1              // offset of the last local.get
	p1, p2, last := -1, -1, -1 // offsets of the two instructions before this one, and of this one
	for r.p < body.end {
		op := r.byte()
		at := r.p - 1
		p2, p1, last = p1, last, at
		switch {
		case op == 0x02 || op == 0x03 || op == 0x04:
			r.s64()
			open = append(open, map[byte]byte{0x02: 'b', 0x03: 'b', 0x04: 'i'}[op])
			if op == 0x02 {
				run++
				continue
			}
		case op == 0x0b:
			if len(open) > 0 {
				if open[len(open)-1] == 'd' && ended < len(blocks) {
					offsets, pcs = append(offsets, r.p), append(pcs, blocks[ended])
					ended++
				}
				open = open[:len(open)-1]
			}
		case op == 0x0e:
			labels := make([]uint64, r.u32()+1)
			for i := range labels {
				labels[i] = r.u32()
			}
			if blocks == nil && lastGet == at-2 && r.b[lastGet+1] == 0 && runAtGet > 0 {
				// The dispatcher: blocks, then local.get 0 (PC_B); br_table.
				for k := len(open) - runAtGet; k < len(open); k++ {
					open[k] = 'd'
				}
				for k := 0; k < runAtGet; k++ {
					blocks = append(blocks, firstIndex(labels, uint64(k)))
				}
				pc1InEntry = len(labels) > 1 && labels[1] == 0
			}
		case op == 0x24 && r.b[r.p] == 0 && !prologue && bytes.IndexByte(open, 'i') < 0 && ended <= 1 && lowered(data, p1, p2):
			// The frame is allocated (SP lowered: `i32.sub; [local.tee 1;] global.set 0`,
			// outside the morestack check): Go starts B = 1 there, and the entry block's
			// first statements run at it.
			r.u32()
			prologue = true
			if pc1InEntry {
				offsets, pcs = append(offsets, r.p), append(pcs, 1)
			}
		case op == 0x0c || op == 0x0d || op == 0x10 || (op >= 0x20 && op <= 0x26) || op == 0xd2:
			if op == 0x20 {
				lastGet, runAtGet = at, run
			}
			r.u32()
		case op == 0x11:
			r.u32()
			r.u32()
		case op == 0x1c:
			for n := r.u32(); n > 0; n-- {
				r.byte()
			}
		case op >= 0x28 && op <= 0x3e:
			r.u32()
			r.u32()
		case op == 0x3f || op == 0x40 || op == 0xd0:
			r.byte()
		case op == 0x41 || op == 0x42:
			r.s64()
		case op == 0x43:
			r.p += 4
		case op == 0x44:
			r.p += 8
		case op == 0xfc:
			switch sub := r.u32(); {
			case sub <= 7:
			case sub == 8 || sub == 12 || sub == 14:
				r.u32()
				r.u32()
			case sub == 10:
				r.byte()
				r.byte()
			case sub == 11:
				r.byte()
			default:
				r.u32()
			}
		case op <= 0x01 || op == 0x05 || op == 0x0f || op == 0x1a || op == 0x1b || (op >= 0x45 && op <= 0xc4) || op == 0xd1:
		default:
			return nil, nil, fmt.Errorf("opcode 0x%02x at %d", op, at)
		}
		run = 0
	}
	return offsets, pcs, nil
}

// lowered reports whether the instructions before a `global.set 0` lower SP:
// `i32.sub`, or `i32.sub; local.tee 1` (the function's cached SP).
func lowered(b []byte, p1, p2 int) bool {
	if p1 >= 0 && b[p1] == 0x6b {
		return true
	}
	return p1 >= 0 && b[p1] == 0x22 && b[p1+1] == 1 && p2 >= 0 && b[p2] == 0x6b
}

func firstIndex(labels []uint64, k uint64) uint64 {
	for i, l := range labels {
		if l == k {
			return uint64(i)
		}
	}
	return uint64(len(labels) - 1)
}

const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func vlq(out *strings.Builder, v int) {
	u := v << 1
	if v < 0 {
		u = (-v)<<1 | 1
	}
	for {
		digit := u & 31
		u >>= 5
		if u != 0 {
			digit |= 32
		}
		out.WriteByte(b64[digit])
		if u == 0 {
			return
		}
	}
}

type output struct {
	Sources  []string          `json:"sources"`
	Names    []string          `json:"names"`
	Mappings string            `json:"mappings"`
	Funcs    map[string]string `json:"functions"` // wasm function index -> Go name
}

func run(path string) (*output, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := parse(data)
	if err != nil {
		return nil, err
	}
	table, err := lineTable(m.memory)
	if err != nil {
		return nil, err
	}
	out := &output{Funcs: map[string]string{}}
	sources, names := map[string]int{}, map[string]int{}
	var mappings strings.Builder
	col, src, line, name := 0, 0, 0, 0
	for i := range table.Funcs {
		fn := &table.Funcs[i]
		index := int(fn.Entry>>16) - funcValueOffset
		if index < 0 || index >= len(m.bodies) {
			continue
		}
		out.Funcs[fmt.Sprint(m.imported+index)] = fn.Name
		offsets, pcs, err := blockStarts(data, m.bodies[index])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn.Name, err)
		}
		for k, offset := range offsets {
			file, ln, f := table.PCToLine(fn.Entry | pcs[k])
			if f == nil || file == "" || ln <= 0 {
				continue
			}
			s, ok := sources[file]
			if !ok {
				s = len(out.Sources)
				sources[file] = s
				out.Sources = append(out.Sources, file)
			}
			n, ok := names[fn.Name]
			if !ok {
				n = len(out.Names)
				names[fn.Name] = n
				out.Names = append(out.Names, fn.Name)
			}
			if mappings.Len() > 0 {
				mappings.WriteByte(',')
			}
			vlq(&mappings, offset-col)
			vlq(&mappings, s-src)
			vlq(&mappings, ln-1-line)
			vlq(&mappings, 0)
			vlq(&mappings, n-name)
			col, src, line, name = offset, s, ln-1, n
		}
		if end := m.bodies[index].end; mappings.Len() > 0 && col < end {
			// A one-field segment ends the function's last mapping at its body's end,
			// so no offset in a function without lines is taken for this one.
			mappings.WriteByte(',')
			vlq(&mappings, end-col)
			col = end
		}
	}
	out.Mappings = mappings.String()
	return out, nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: wasmmap MODULE.wasm")
		os.Exit(2)
	}
	out, err := run(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmmap:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "wasmmap:", err)
		os.Exit(1)
	}
}
