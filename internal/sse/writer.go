package sse

import "bytes"

// AppendData appends one event with a single data field ("data: <data>\n\n") to dst.
// data must not contain newlines (JSON from an encoder never does).
func AppendData(dst, data []byte) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, data...)
	return append(dst, '\n', '\n')
}

// AppendEvent appends an event with a name and a single data field to dst.
func AppendEvent(dst []byte, name string, data []byte) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, name...)
	dst = append(dst, '\n')
	return AppendData(dst, data)
}

// AppendDone appends OpenAI's "data: [DONE]" terminator.
func AppendDone(dst []byte) []byte { return append(dst, "data: [DONE]\n\n"...) }

// Comment appends a comment line, which clients ignore (used as a keep-alive).
func Comment(dst []byte, text string) []byte {
	dst = append(dst, ':', ' ')
	dst = append(dst, text...)
	return append(dst, '\n', '\n')
}

// EachData calls fn with the data of every single-line "data: " field in frames, a run
// of complete events as a writer produced them. It does not copy: data aliases frames.
func EachData(frames []byte, fn func(data []byte)) {
	for len(frames) > 0 {
		line := frames
		if i := bytes.IndexByte(frames, '\n'); i >= 0 {
			line, frames = frames[:i], frames[i+1:]
		} else {
			frames = nil
		}
		if len(line) > 6 && string(line[:6]) == "data: " {
			fn(line[6:])
		}
	}
}
