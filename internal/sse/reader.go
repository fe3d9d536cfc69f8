// Package sse is the project's one Server-Sent Events reader and writer.
//
// The reader splits a byte stream into events without copying in the common case: an
// event's Raw bytes and its Data are views into the reader's buffer, valid until the next
// call to Next. Only events with several data lines have their Data joined into a copy.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// ErrEventTooLarge is returned when one event exceeds the reader's maximum size.
var ErrEventTooLarge = errors.New("sse: event too large")

// Event is one SSE event. All slices are valid only until the next Reader.Next call.
type Event struct {
	// Raw is the whole event as received, including its terminating blank line.
	Raw []byte
	// Name is the value of the "event:" field, empty when absent.
	Name []byte
	// Data is the event's data: the "data:" lines joined with '\n'.
	Data []byte
	// ID is the value of the "id:" field, empty when absent.
	ID []byte
}

// IsDone reports whether the event is OpenAI's "[DONE]" sentinel.
func (e *Event) IsDone() bool { return bytes.Equal(e.Data, doneData) }

var doneData = []byte("[DONE]")

// Reader reads events from a stream. It is not safe for concurrent use.
type Reader struct {
	br     *bufio.Reader
	max    int
	buf    []byte // the current event's raw bytes
	joined []byte // data for multi-line events
	ev     Event
}

// NewReader returns a reader over r; max bounds one event's size in bytes (0 means 1 MiB).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = 1 << 20
	}
	return &Reader{br: bufio.NewReaderSize(r, 4<<10), max: max}
}

// Reset makes the reader read from r, keeping its buffers.
func (r *Reader) Reset(src io.Reader) {
	r.br.Reset(src)
	r.buf = r.buf[:0]
}

// Next returns the next event. It returns io.EOF when the stream ends cleanly between
// events and io.ErrUnexpectedEOF when it ends inside one. Comment-only blocks are skipped.
func (r *Reader) Next() (*Event, error) {
	for {
		r.buf = r.buf[:0]
		for {
			line, err := r.br.ReadSlice('\n')
			if len(line) > 0 {
				if len(r.buf)+len(line) > r.max {
					return nil, ErrEventTooLarge
				}
				r.buf = append(r.buf, line...)
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil {
				if err == io.EOF {
					if len(bytes.TrimSpace(r.buf)) == 0 {
						return nil, io.EOF
					}
					return nil, io.ErrUnexpectedEOF
				}
				return nil, err
			}
			if isBlank(line) {
				if isBlank(r.buf) { // stray blank line between events
					r.buf = r.buf[:0]
					continue
				}
				break
			}
		}
		if r.parse() {
			return &r.ev, nil
		}
	}
}

func isBlank(b []byte) bool {
	return len(b) == 0 || (len(b) == 1 && b[0] == '\n') || (len(b) == 2 && b[0] == '\r' && b[1] == '\n')
}

// parse fills r.ev from r.buf; it reports false for a block with no fields (comments only).
func (r *Reader) parse() bool {
	r.ev = Event{Raw: r.buf}
	r.joined = r.joined[:0]
	dataLines := 0
	any := false
	rest := r.buf
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		line := rest
		if i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 || line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if c := bytes.IndexByte(line, ':'); c >= 0 {
			field, value = line[:c], line[c+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		any = true
		switch string(field) {
		case "data":
			dataLines++
			switch dataLines {
			case 1:
				r.ev.Data = value
			case 2:
				r.joined = append(append(append(r.joined[:0], r.ev.Data...), '\n'), value...)
				r.ev.Data = r.joined
			default:
				r.joined = append(append(r.joined, '\n'), value...)
				r.ev.Data = r.joined
			}
		case "event":
			r.ev.Name = value
		case "id":
			r.ev.ID = value
		}
	}
	return any
}
