package console

// consoleCSP is the Content-Security-Policy of every console response
// (/console, /console/static/..., the API): scripts, styles and
// connections from the console's own origin only, no inline script, no
// <base>, forms post only to the console, and no page may frame it.
const consoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
