package metering

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// Journal errors. Both mean the events offered were not taken.
var (
	// errJournalFull: the records would take the journal past its byte bound.
	errJournalFull = errors.New("metering: spill journal full")
	// errJournalBroken: an earlier failed write could not be undone (or the writer runs
	// without a journal); the journal takes nothing until it has been replayed and emptied.
	errJournalBroken = errors.New("metering: spill journal unwritable")
)

// castagnoli is the CRC-32C table for record checksums (hardware-accelerated on amd64
// and arm64).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// journal is the writer's spill file: an append-only file of cost events that could not
// go to the store (queue full, store failing), replayed into the store when it accepts
// writes again, and read again from the start when the process restarts.
//
// Each record is one line: 8 hex digits of the CRC-32C of the JSON, a space, the event as
// JSON (which never holds a raw newline) and "\n". A line that is torn (no newline) or
// fails its checksum is skipped and counted; a torn tail left by a crash is cut off at
// open, so later records never run into it.
//
// The file is created on the first spill, held with an exclusive advisory lock (one
// process per journal), and never grows past maxBytes. Records are consumed from the
// head; when every record has been replayed the file is truncated to zero. Consumption is
// not recorded in the file: after a crash in mid-replay the whole file is replayed again,
// which the ledger's idempotence on request id makes harmless.
//
// Safe for concurrent use: append takes mu for one write; the replay side (read, commit)
// is the writer goroutine's alone.
type journal struct {
	path     string
	maxBytes int64

	mu      sync.Mutex
	f       *os.File // nil until opened
	size    int64    // bytes of whole records in the file
	readOff int64    // bytes at the head already replayed
	broken  bool

	pending atomic.Int64 // records in the file not yet replayed
	bytes   atomic.Int64 // size, for Stats without the lock
}

// newJournal returns the journal at path, opening it at once when the file exists (so
// records spilled before a restart are replayed); otherwise it is created on first use.
// An existing file that cannot be opened or locked is an error; the writer then runs
// without a journal.
func newJournal(path string, maxBytes int64) (*journal, error) {
	j := &journal{path: path, maxBytes: maxBytes}
	if _, err := os.Stat(path); err == nil {
		j.mu.Lock()
		defer j.mu.Unlock()
		if err := j.openLocked(); err != nil {
			return nil, err
		}
	}
	return j, nil
}

// openLocked opens and locks the file, cuts a torn tail and counts its records.
func (j *journal) openLocked() error {
	f, err := os.OpenFile(j.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("metering: spill journal: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return fmt.Errorf("metering: spill journal %s is in use by another process: %w", j.path, err)
	}
	size, records, err := scanJournal(f)
	if err == nil {
		err = f.Truncate(size) // drop a torn tail
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("metering: spill journal %s: %w", j.path, err)
	}
	j.f, j.size, j.readOff = f, size, 0
	j.pending.Store(records)
	j.bytes.Store(size)
	return nil
}

// scanJournal returns the length of f up to its last newline and the number of lines in
// it. It reads the file once, sequentially.
func scanJournal(f *os.File) (size, lines int64, err error) {
	buf := make([]byte, 256<<10)
	var off int64
	for {
		n, rerr := f.ReadAt(buf, off)
		chunk := buf[:n]
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			size = off + int64(i) + 1
		}
		lines += int64(bytes.Count(chunk, []byte{'\n'}))
		off += int64(n)
		if rerr == io.EOF {
			return size, lines, nil
		}
		if rerr != nil {
			return 0, 0, rerr
		}
	}
}

// encodeRecord appends ev's journal line to dst.
func encodeRecord(dst []byte, ev *Event) ([]byte, error) {
	js, err := jsonx.Marshal(ev)
	if err != nil {
		return dst, err
	}
	dst = fmt.Appendf(dst, "%08x ", crc32.Checksum(js, castagnoli))
	dst = append(dst, js...)
	return append(dst, '\n'), nil
}

// decodeRecord parses one journal line (without its newline).
func decodeRecord(line []byte, ev *Event) error {
	if len(line) < 10 || line[8] != ' ' {
		return errors.New("malformed record")
	}
	want, err := strconv.ParseUint(string(line[:8]), 16, 32)
	if err != nil {
		return errors.New("malformed record checksum")
	}
	js := line[9:]
	if crc32.Checksum(js, castagnoli) != uint32(want) {
		return errors.New("record checksum mismatch")
	}
	return jsonx.Unmarshal(js, ev)
}

// append writes the records of evs in one write, or none of them: it fails with
// errJournalFull past the bound, errJournalBroken after an unrecoverable failure, or the
// file's error (a full disk), after cutting off whatever part of the write landed.
func (j *journal) append(evs []Event) error {
	var buf []byte
	for i := range evs {
		var err error
		if buf, err = encodeRecord(buf, &evs[i]); err != nil {
			return fmt.Errorf("metering: spill journal: encode: %w", err)
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.broken {
		return errJournalBroken
	}
	if j.size+int64(len(buf)) > j.maxBytes {
		return errJournalFull
	}
	if j.f == nil {
		if err := j.openLocked(); err != nil {
			return err // tried again by the next append (EMFILE, say, can pass)
		}
		if j.size+int64(len(buf)) > j.maxBytes {
			return errJournalFull
		}
	}
	if _, err := j.f.Write(buf); err != nil {
		if terr := j.f.Truncate(j.size); terr != nil {
			j.broken = true // a partial record stays: take nothing more until emptied
		}
		return fmt.Errorf("metering: spill journal: %w", err)
	}
	j.size += int64(len(buf))
	j.bytes.Store(j.size)
	j.pending.Add(int64(len(evs)))
	return nil
}

// read decodes up to max records from the head of the journal (not yet committed) and
// returns them with the offset to commit once they are stored, and the number of lines
// that could not be decoded (skipped; commit consumes them too). It reads only records
// whole at the time of the call. Only the writer goroutine calls read and commit.
func (j *journal) read(max int) (evs []Event, next int64, bad int, err error) {
	j.mu.Lock()
	f, from, to := j.f, j.readOff, j.size
	j.mu.Unlock()
	if f == nil || from >= to {
		return nil, from, 0, nil
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, from, to-from), 64<<10)
	next = from
	for len(evs) < max {
		line, rerr := r.ReadBytes('\n')
		if rerr == io.EOF {
			break // only whole records are below to
		}
		if rerr != nil {
			return nil, from, 0, fmt.Errorf("metering: spill journal: read: %w", rerr)
		}
		next += int64(len(line))
		var ev Event
		if decodeRecord(line[:len(line)-1], &ev) != nil {
			bad++
			continue
		}
		evs = append(evs, ev)
	}
	return evs, next, bad, nil
}

// commit marks the records before off as replayed. When that is all of them, the file
// is emptied (and a broken journal is usable again).
func (j *journal) commit(off int64, records int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.readOff = off
	j.pending.Add(-int64(records))
	if j.readOff < j.size || j.f == nil {
		return
	}
	if err := j.f.Truncate(0); err != nil {
		return // keep the offsets: the records stay consumed, the space is reclaimed later
	}
	j.size, j.readOff, j.broken = 0, 0, false
	j.pending.Store(0)
	j.bytes.Store(0)
}

// empty reports whether every record has been replayed.
func (j *journal) empty() bool { return j.pending.Load() <= 0 }

// sync flushes the file to stable storage.
func (j *journal) sync() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	return j.f.Sync()
}

// close syncs and closes the file, releasing its lock. Records not replayed stay in it.
func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := errors.Join(j.f.Sync(), j.f.Close())
	j.f, j.broken = nil, true
	return err
}
