package auth

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/lienthong/lienthong/problem"
)

// RateLimiter limits requests per authenticated agency (token bucket), so
// one misbehaving department system cannot starve the others. It runs after
// authentication; the admin is not limited.
type RateLimiter struct {
	perSecond rate.Limit
	burst     int
	mu        sync.Mutex
	limiters  map[string]*rate.Limiter
}

// NewRateLimiter returns a limiter of perSecond requests with burst; nil
// when perSecond <= 0 (no limit).
func NewRateLimiter(perSecond float64, burst int) *RateLimiter {
	if perSecond <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = int(math.Ceil(perSecond))
	}
	return &RateLimiter{perSecond: rate.Limit(perSecond), burst: burst, limiters: map[string]*rate.Limiter{}}
}

func (l *RateLimiter) limiter(agency string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.limiters[agency]
	if !ok {
		lim = rate.NewLimiter(l.perSecond, l.burst)
		l.limiters[agency] = lim
	}
	return lim
}

// Middleware answers 429 with Retry-After when the caller's bucket is empty.
// A nil limiter passes everything through.
func (l *RateLimiter) Middleware(next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := FromContext(r.Context())
		if ok && p.Agency != "" {
			res := l.limiter(p.Agency).Reserve()
			if d := res.Delay(); d > 0 {
				res.Cancel()
				secs := int(math.Ceil(d.Seconds()))
				if secs < 1 {
					secs = 1
				}
				w.Header().Set("Retry-After", strconv.Itoa(secs))
				problem.Send(w, http.StatusTooManyRequests, problem.RateLimited,
					"request rate limit for "+p.Agency+" exceeded; retry after "+(time.Duration(secs)*time.Second).String())
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
