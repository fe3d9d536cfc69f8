package router

import (
	"fmt"
	"strings"
)

// Class is the kind of failure an upstream attempt ended with; fallbacks match on it.
type Class uint8

// Error classes.
const (
	ClassConnect       Class = 1 << iota // the connection could not be opened
	ClassTimeout                         // no answer in time
	ClassRateLimit                       // 429
	ClassServerError                     // 5xx, or a broken connection
	ClassContextLength                   // the prompt does not fit the model's window
	ClassContentFilter                   // the provider's content filter refused
)

// ClassSet is a set of classes.
type ClassSet uint8

// Has reports whether s contains c.
func (s ClassSet) Has(c Class) bool { return uint8(s)&uint8(c) != 0 }

var classNames = map[string]Class{
	"connect": ClassConnect, "timeout": ClassTimeout, "rate_limit": ClassRateLimit,
	"server_error": ClassServerError, "context_length": ClassContextLength, "content_filter": ClassContentFilter,
}

// ParseClasses parses class names; "any" means every class.
func ParseClasses(names []string) (ClassSet, error) {
	var s ClassSet
	for _, n := range names {
		if n == "any" {
			for _, c := range classNames {
				s |= ClassSet(c)
			}
			continue
		}
		c, ok := classNames[n]
		if !ok {
			return 0, fmt.Errorf("unknown error class %q (want %s or any)", n, strings.Join(ClassNames(), ", "))
		}
		s |= ClassSet(c)
	}
	return s, nil
}

// ClassNames lists the class names in a stable order.
func ClassNames() []string {
	return []string{"connect", "timeout", "rate_limit", "server_error", "context_length", "content_filter"}
}

func (c Class) String() string {
	for n, v := range classNames {
		if v == c {
			return n
		}
	}
	return "none"
}

// Retryable reports whether the same deployment may be tried again for this class:
// a context-length or content-filter failure will repeat, the others may not.
func (c Class) Retryable() bool {
	return c == ClassConnect || c == ClassTimeout || c == ClassRateLimit || c == ClassServerError
}

// Unhealthy reports whether the class counts against the deployment's health. Client
// errors that are the request's fault (context length, content filter) do not.
func (c Class) Unhealthy() bool { return c.Retryable() }
