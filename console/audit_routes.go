package console

import (
	"io/fs"
	"net/http"
)

// auditRoutes adds the admin audit API and the audit page.
func (s *Service) auditRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/audit", s.authed(RoleAdmin, s.apiAudit))
	mux.HandleFunc("GET /api/audit.csv", s.authed(RoleAdmin, s.apiAuditCSV))
	static, _ := fs.Sub(webFS, "web")
	mux.HandleFunc("GET /console/audit", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		http.ServeFileFS(w, r, static, "audit.html")
	})
}
