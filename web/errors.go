package web

import (
	"fmt"
	"net/http"
)

// Error is an HTTP error that keeps what the person sees apart from what is
// logged. Title and Message are public and must never contain an internal
// error's text; Err is logged and never shown.
type Error struct {
	Status  int
	Title   string
	Message string

	// Action, when set, is a link the error page offers, such as a way to
	// start again. Its URL must come from a trusted source (Hydra's client
	// record or this app), never from the request.
	Action *Link

	Err error
}

// Link is a labelled URL on a page.
type Link struct {
	Label string
	URL   string
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Title, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Title)
}

func (e *Error) Unwrap() error { return e.Err }

// BadRequest returns a 400 error with a public message.
func BadRequest(title, message string) *Error {
	return &Error{Status: http.StatusBadRequest, Title: title, Message: message}
}

// Unavailable returns the 503 error shown when a dependency such as Hydra
// cannot be reached. err is logged.
func Unavailable(err error) *Error {
	return &Error{
		Status:  http.StatusServiceUnavailable,
		Title:   "Service unavailable",
		Message: "The sign-in service cannot be reached right now. Wait a minute, then go back to the app and try again.",
		Err:     err,
	}
}

// Internal returns a 500 error whose cause is logged but not shown.
func Internal(err error) *Error {
	return &Error{
		Status:  http.StatusInternalServerError,
		Title:   "Something went wrong",
		Message: "The request failed on our side. Nothing was saved. Try again, and if it keeps failing, tell the administrator the request ID below.",
		Err:     err,
	}
}
