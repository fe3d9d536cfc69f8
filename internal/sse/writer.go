package sse

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
