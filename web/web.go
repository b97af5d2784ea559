// Package web holds the HTTP surface shared by every page: the echo
// instance, browser security headers, CSRF protection, request ids, the
// render helper and the central error handler that renders error pages.
package web

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/aiconsent/aiconsent/static"
	"github.com/aiconsent/aiconsent/templates"
)

// CSRFField is the name of the hidden form field that carries the CSRF
// token on every form.
const CSRFField = "csrf"

// ContentSecurityPolicy allows scripts and styles from this origin only,
// images from anywhere (client logos live on the client's own host), and
// no framing. form-action is left out on purpose: Chromium applies it to
// the redirects that follow a form post, and the flow continues to Hydra
// and then to the app's redirect URI.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: https: http:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// Options configure New. The zero value suits plain-HTTP development.
type Options struct {
	// Logger receives one line per failed request. Defaults to slog.Default().
	Logger *slog.Logger

	// SecureCookies marks cookies Secure; set it whenever the app is served
	// over HTTPS.
	SecureCookies bool

	// TrustProxy takes the client address from X-Forwarded-For. Leave it
	// off unless a reverse proxy sets that header, or clients can choose
	// their own address.
	TrustProxy bool

	// APIPrefixes are path prefixes of machine APIs, such as Hydra's token
	// hook, that authenticate every call with a key. Browser forms never
	// post there, so CSRF protection is skipped for them.
	APIPrefixes []string
}

type requestIDKey struct{}

// New returns an echo instance with the middleware every page needs.
// Callers add their routes to it.
func New(opt Options) *echo.Echo {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(opt.Logger, opt.APIPrefixes)
	e.IPExtractor = echo.ExtractIPDirect()
	if opt.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	}

	e.Use(requestID)
	e.Use(middleware.Recover())
	e.Use(securityHeaders)
	e.Use(middleware.BodyLimit("64K"))
	e.Use(middleware.CSRFWithConfig(middleware.CSRFConfig{
		Skipper: func(c echo.Context) bool {
			return isAPI(c.Request().URL.Path, opt.APIPrefixes)
		},
		TokenLookup:    "form:" + CSRFField,
		ContextKey:     "csrf",
		CookieName:     "aiconsent_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   opt.SecureCookies,
		CookieSameSite: http.SameSiteLaxMode,
		ErrorHandler: func(err error, c echo.Context) error {
			return &Error{
				Status:  http.StatusForbidden,
				Title:   "Form expired",
				Message: "This form could not be verified, so nothing was done. Go back, reload the page and submit it again.",
				Err:     err,
			}
		},
	}))

	e.StaticFS("/static", static.Files)
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	return e
}

// CSRFToken returns the token to put in the CSRFField of a form.
func CSRFToken(c echo.Context) string {
	token, _ := c.Get("csrf").(string)
	return token
}

// RequestID returns the id of the request, shown on error pages and added
// to every log line about it.
func RequestID(c echo.Context) string {
	id, _ := c.Request().Context().Value(requestIDKey{}).(string)
	return id
}

// Render writes comp as an HTML page with the given status.
func Render(c echo.Context, status int, comp templ.Component) error {
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	return comp.Render(c.Request().Context(), c.Response())
}

func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := rand.Text()[:16]
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		ctx := context.WithValue(c.Request().Context(), requestIDKey{}, id)
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if !strings.HasPrefix(c.Request().URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		return next(c)
	}
}

// errorHandler renders every error as a page with a public message and the
// request id, and logs internal causes. It never shows an error's text.
func errorHandler(log *slog.Logger, apiPrefixes []string) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}

		var page *Error
		var httpErr *echo.HTTPError
		switch {
		case errors.As(err, &page):
		case errors.As(err, &httpErr):
			page = fromEchoError(httpErr)
		default:
			page = Internal(err)
		}

		attrs := []any{
			slog.String("request_id", RequestID(c)),
			slog.String("method", c.Request().Method),
			slog.String("path", c.Request().URL.Path),
			slog.Int("status", page.Status),
		}
		if page.Err != nil {
			attrs = append(attrs, slog.Any("error", page.Err))
		}
		if page.Status >= 500 {
			log.Error("request failed", attrs...)
		} else {
			log.Info("request rejected", attrs...)
		}

		if isAPI(c.Request().URL.Path, apiPrefixes) {
			if rerr := c.JSON(page.Status, apiError(page)); rerr != nil {
				log.Error("writing error response failed", slog.Any("error", rerr))
			}
			return
		}

		view := templates.ErrorView{
			Status:    page.Status,
			Title:     page.Title,
			Message:   page.Message,
			RequestID: RequestID(c),
		}
		if page.Action != nil {
			view.ActionLabel, view.ActionURL = page.Action.Label, page.Action.URL
		}
		if rerr := Render(c, page.Status, templates.ErrorPage(view)); rerr != nil {
			log.Error("rendering error page failed", slog.Any("error", rerr))
		}
	}
}

// isAPI reports whether path belongs to a machine API, whose errors are
// JSON rather than pages.
func isAPI(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// apiError is the OAuth-style JSON body of an error on a machine API.
func apiError(page *Error) map[string]string {
	code := "invalid_request"
	switch {
	case page.Status == http.StatusNotFound:
		code = "not_found"
	case page.Status == http.StatusMethodNotAllowed:
		code = "method_not_allowed"
	case page.Status >= 500:
		code = "server_error"
	}
	return map[string]string{"error": code, "error_description": page.Message}
}

func fromEchoError(he *echo.HTTPError) *Error {
	switch he.Code {
	case http.StatusNotFound:
		return &Error{Status: he.Code, Title: "Page not found", Message: "There is no page at this address. Check the link, or go back to the app you came from."}
	case http.StatusMethodNotAllowed:
		return &Error{Status: he.Code, Title: "Method not allowed", Message: "This page does not accept that kind of request. Go back to the app you came from and start again."}
	case http.StatusRequestEntityTooLarge:
		return &Error{Status: he.Code, Title: "Request too large", Message: "The form sent more data than this page accepts. Go back and try again.", Err: he}
	}
	if he.Code >= 400 && he.Code < 500 {
		return &Error{Status: he.Code, Title: http.StatusText(he.Code), Message: "The request was not valid. Go back to the app you came from and start again.", Err: he}
	}
	return Internal(he)
}
