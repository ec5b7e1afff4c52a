package config

import "crypto/subtle"

// Agency returns the agency with that code.
func (c *Config) Agency(code string) (*Agency, bool) {
	i, ok := c.agencyIdx[code]
	if !ok {
		return nil, false
	}
	return &c.Agencies[i], true
}

// Procedure returns the procedure with that code.
func (c *Config) Procedure(code string) (*Procedure, bool) {
	i, ok := c.procIdx[code]
	if !ok {
		return nil, false
	}
	return &c.Procedures[i], true
}

// Receivers returns the codes of every receiver agency, in config order.
func (c *Config) Receivers() []string {
	var out []string
	for _, a := range c.Agencies {
		if a.Receiver {
			out = append(out, a.Code)
		}
	}
	return out
}

// AgencyByTokenHash returns the agency whose token hashes to sum. It compares
// sum with every configured hash in constant time and does not stop at a
// match, so the time taken tells nothing about which agency, if any, holds
// the token.
func (c *Config) AgencyByTokenHash(sum [32]byte) (*Agency, bool) {
	found, idx := 0, 0
	for i := range c.tokenHash {
		eq := subtle.ConstantTimeCompare(sum[:], c.tokenHash[i][:])
		idx = subtle.ConstantTimeSelect(eq, i, idx)
		found |= eq
	}
	if found == 0 {
		return nil, false
	}
	return &c.Agencies[idx], true
}

// IsAdminTokenHash reports, in constant time, whether sum is the admin
// token's hash. Without admin_token_sha256 there is no admin.
func (c *Config) IsAdminTokenHash(sum [32]byte) bool {
	eq := subtle.ConstantTimeCompare(sum[:], c.adminHash[:])
	return c.adminSet && eq == 1
}

// Step returns the step with that id.
func (p *Procedure) Step(id string) (*Step, bool) {
	i, ok := p.stepIdx[id]
	if !ok {
		return nil, false
	}
	return &p.Steps[i], true
}

// ReceivableBy reports whether agency may submit dossiers of this procedure:
// it is listed in Receivers or, when Receivers is empty, it is any receiver
// agency of the config.
func (p *Procedure) ReceivableBy(agency string) bool {
	for _, r := range p.receivers {
		if r == agency {
			return true
		}
	}
	return false
}

// ReceiverCodes returns the agencies that may submit dossiers of this
// procedure: Receivers, or every receiver agency when Receivers is empty.
func (p *Procedure) ReceiverCodes() []string { return append([]string(nil), p.receivers...) }

// Roots returns the ids of the steps that start at submission (no after),
// in config order.
func (p *Procedure) Roots() []string { return append([]string(nil), p.roots...) }

// Order returns every step id in a topological order of `after` (each step
// after all it waits for), ties in config order.
func (p *Procedure) Order() []string { return append([]string(nil), p.order...) }

// Next returns the ids of the steps that wait for step id, in config order.
func (p *Procedure) Next(id string) []string { return append([]string(nil), p.next[id]...) }
