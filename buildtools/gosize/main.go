// Command gosize reports how many bytes of WebAssembly code each Go package
// takes in a module built by the Go toolchain (GOOS=js or wasip1), as JSON
// {"package": bytes, ...} on stdout. Built for the host by build.py's size audit.
//
//	gosize module.wasm
//
// Function names come from the module's pclntab (Go's own symbol table, which
// -ldflags=-s keeps), read with debug/gosym from linear memory as the data
// section lays it out. In Go's wasm port a PC is (0x1000 + the function's index
// among the module's own functions) << 16 | a resume block; the table stores
// entries unshifted, so a function's entry read with text start 0 is
// 0x1000 + its index, and its code is the code section body of that index.
package main

import (
	"bytes"
	"debug/gosym"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// The pclntab header of Go 1.20+ on a little-endian 64-bit target with 1-byte instructions.
var pclntabHeader = []byte{0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8}

type reader struct {
	data []byte
	pos  int
}

func (r *reader) u32() uint32 {
	var value uint32
	for shift := 0; ; shift += 7 {
		b := r.data[r.pos]
		r.pos++
		value |= uint32(b&0x7f) << shift
		if b < 0x80 {
			return value
		}
	}
}

func (r *reader) skipName() { n := int(r.u32()); r.pos += n }

// sections returns the module's code body sizes, the number of imported
// functions, and linear memory as its active data segments fill it.
func sections(wasm []byte) (bodies []int, imported int, memory []byte, err error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], []byte("\x00asm")) {
		return nil, 0, nil, errors.New("not a WebAssembly module")
	}
	r := &reader{data: wasm, pos: 8}
	for r.pos < len(wasm) {
		id := wasm[r.pos]
		r.pos++
		size := int(r.u32())
		end := r.pos + size
		s := &reader{data: wasm[:end], pos: r.pos}
		switch id {
		case 2: // imports
			for n := s.u32(); n > 0; n-- {
				s.skipName()
				s.skipName()
				kind := s.data[s.pos]
				s.pos++
				switch kind {
				case 0:
					imported++
					s.u32()
				case 1: // table: reftype, limits
					s.pos++
					if flags := s.u32(); flags&1 != 0 {
						s.u32()
					}
					s.u32()
				case 2: // memory: limits
					flags := s.u32()
					s.u32()
					if flags&1 != 0 {
						s.u32()
					}
				case 3: // global: type, mutability
					s.pos += 2
				}
			}
		case 10: // code
			for n := s.u32(); n > 0; n-- {
				length := int(s.u32())
				bodies = append(bodies, length)
				s.pos += length
			}
		case 11: // data: Go writes active segments at i32.const offsets
			for n := s.u32(); n > 0; n-- {
				if flags := s.u32(); flags != 0 {
					return nil, 0, nil, fmt.Errorf("data segment kind %d: not a Go module", flags)
				}
				if s.data[s.pos] != 0x41 {
					return nil, 0, nil, errors.New("data segment offset is not i32.const")
				}
				s.pos++
				offset := int(s.u32())
				s.pos++ // end
				length := int(s.u32())
				if grow := offset + length - len(memory); grow > 0 {
					memory = append(memory, make([]byte, grow)...)
				}
				copy(memory[offset:], s.data[s.pos:s.pos+length])
				s.pos += length
			}
		}
		r.pos = end
	}
	return bodies, imported, memory, nil
}

func packageSizes(wasm []byte) (map[string]int, error) {
	bodies, _, memory, err := sections(wasm)
	if err != nil {
		return nil, err
	}
	at := bytes.Index(memory, pclntabHeader)
	if at < 0 {
		return nil, errors.New("no Go pclntab in the module's data")
	}
	table, err := gosym.NewTable(nil, gosym.NewLineTable(memory[at:], 0))
	if err != nil {
		return nil, err
	}
	if len(table.Funcs) == 0 {
		return nil, errors.New("the pclntab lists no functions")
	}
	sizes := map[string]int{}
	for _, fn := range table.Funcs {
		index := int(fn.Entry) - 0x1000
		if index < 0 || index >= len(bodies) {
			return nil, fmt.Errorf("function %s: entry %#x is outside the code section", fn.Name, fn.Entry)
		}
		name := fn.PackageName()
		if name == "" {
			name = fn.Name
		}
		sizes[name] += bodies[index]
	}
	return sizes, nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gosize module.wasm")
		os.Exit(2)
	}
	wasm, err := os.ReadFile(os.Args[1])
	if err == nil {
		var sizes map[string]int
		if sizes, err = packageSizes(wasm); err == nil {
			err = json.NewEncoder(os.Stdout).Encode(sizes)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gosize %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
