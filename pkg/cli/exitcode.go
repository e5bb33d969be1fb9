package cli

// ExitUnreachable is selftest's exit status when the bottle passed but a
// control could not reach its allowed host from this machine.
const ExitUnreachable = 3

// ExitCodeError is an error that asks for a particular exit status.
type ExitCodeError struct {
	Code int
	Err  error
}

func (e *ExitCodeError) Error() string { return e.Err.Error() }

func (e *ExitCodeError) Unwrap() error { return e.Err }
