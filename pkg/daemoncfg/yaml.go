// Package daemoncfg is the schema of the three daemon configuration files the
// host writes into a bottle's state directory and the daemons read: egress'
// routes.yaml (Routes), pipelock's pipelock.yaml (Pipelock) and git-gate's
// repos.yaml (GitGate). Each has one shape: a type, Parse<Name> (strict: an
// unknown key is an error, then Validate), Validate (every problem at once)
// and Marshal. It depends on neither side: the translation from a manifest
// lives in pkg/bottle, the daemons only read.
package daemoncfg

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// decodeStrict decodes data into v, refusing unknown keys; what names the
// file in the error.
func decodeStrict(data []byte, what string, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("parse %s: %w", what, err)
	}
	return nil
}

// encode writes header (comment lines) and v as YAML indented by two.
func encode(header, what string, v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(header)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode %s: %w", what, err)
	}
	return b.Bytes(), enc.Close()
}
