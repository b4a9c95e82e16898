package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// decodeJSONBody decodes one JSON value from r into v, strictly: unknown
// fields, a key given twice in one object and anything after the value
// but white space are errors. A duplicate key is how two parsers are made
// to read one document differently (the first or the last value wins),
// and trailing data is a sign of a broken client; both are refused
// rather than guessed at.
func decodeJSONBody(r io.Reader, v any) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := checkDuplicateKeys(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("data after the JSON value (offset %d)", dec.InputOffset())
	}
	return nil
}

// checkDuplicateKeys reports the first object key that appears twice in
// one object of the JSON document data. Malformed JSON passes: the
// decoder that follows says what is wrong with it.
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	// One frame per open object (its keys) or array (nil).
	var stack []map[string]bool
	expectKey := func() bool { return len(stack) > 0 && stack[len(stack)-1] != nil }
	inKey := false // the next string in an object is a key
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // end, or malformed: left to the decoder
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, map[string]bool{})
				inKey = true
			case '[':
				stack = append(stack, nil)
				inKey = false
			case '}', ']':
				stack = stack[:len(stack)-1]
				inKey = expectKey()
			}
			continue
		case string:
			if inKey && expectKey() {
				keys := stack[len(stack)-1]
				if keys[t] {
					return fmt.Errorf("key %q given twice in one object", t)
				}
				keys[t] = true
				inKey = false
				continue
			}
		}
		// A value: in an object the next token is a key again.
		inKey = expectKey()
	}
}
