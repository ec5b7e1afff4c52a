package auth

import (
	"crypto/sha256"
	"net/http"
	"strings"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/problem"
)

// Directory answers who owns a token hash. *config.Config implements it
// with constant-time comparisons.
type Directory interface {
	AgencyByTokenHash(sum [32]byte) (*config.Agency, bool)
	IsAdminTokenHash(sum [32]byte) bool
}

// Authenticator turns a request's credentials into a Principal.
type Authenticator struct {
	dir Directory
	// RequireClientCert: a TLS client certificate must name the same agency
	// as the token (mTLS); set when the HTTP listener verifies client certs.
	RequireClientCert bool
}

// New returns an Authenticator over dir.
func New(dir Directory) *Authenticator { return &Authenticator{dir: dir} }

// Authenticate checks the bearer token (and the client certificate where
// one was presented). Tokens are never logged or echoed.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, string) {
	h := r.Header.Get("Authorization")
	const scheme = "bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return Principal{}, "an Authorization: Bearer <token> header is required"
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(h[len(scheme):])))
	var p Principal
	ag, isAgency := a.dir.AgencyByTokenHash(sum)
	isAdmin := a.dir.IsAdminTokenHash(sum)
	switch {
	case isAgency:
		p = Principal{Agency: ag.Code, Admin: isAdmin}
	case isAdmin:
		p = Principal{Admin: true}
	default:
		return Principal{}, "the bearer token is not valid"
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		if p.Agency != "" && !certNames(r, p.Agency) {
			return Principal{}, "the TLS client certificate does not name the token's agency"
		}
	} else if a.RequireClientCert && p.Agency != "" {
		return Principal{}, "a TLS client certificate naming the agency is required"
	}
	return p, ""
}

// certNames reports whether the verified leaf certificate names the agency
// in its Common Name or a DNS/URI SAN (urn:lienthong:agency:<CODE>).
func certNames(r *http.Request, code string) bool {
	leaf := r.TLS.PeerCertificates[0]
	if leaf.Subject.CommonName == code {
		return true
	}
	for _, n := range leaf.DNSNames {
		if n == code {
			return true
		}
	}
	for _, u := range leaf.URIs {
		if u.String() == "urn:lienthong:agency:"+code {
			return true
		}
	}
	return false
}

// Middleware authenticates every request and answers 401 when it cannot.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, why := a.Authenticate(r)
		if why != "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lienthong"`)
			problem.Send(w, http.StatusUnauthorized, problem.Unauthorized, why)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}
