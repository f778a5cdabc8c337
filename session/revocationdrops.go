package session

import (
	"log/slog"
	"time"
)

// revocationDrops warns that a full budget of a revocation list dropped
// entries before they lapsed, at most once per warningEvery, with
// how many since the last warning: the sessions those logouts ended can
// be used again until they expire, and the limit must be raised. The
// list's lock must be held.
type revocationDrops struct {
	log     *slog.Logger // nil: slog.Default()
	pending [budgets]int
	last    time.Time
}

// budgetNames names the budgets in the warning, with the field of
// RevocationLimits that sets each one's cap.
var budgetNames = [budgets]struct{ budget, limit string }{
	logoutBudget:     {"logouts", "Logouts"},
	providerBudget:   {"provider", "ProviderLogouts"},
	unverifiedBudget: {"unverified", "UnverifiedLogouts"},
}

// note records that n live entries of budget were just dropped; limits
// are the budgets' caps.
func (d *revocationDrops) note(now time.Time, budget, n int, limits [budgets]int) {
	d.pending[budget] += n
	if !d.last.IsZero() && now.Sub(d.last) < warningEvery {
		return
	}
	log := d.log
	if log == nil {
		log = slog.Default()
	}
	for b, dropped := range d.pending {
		if dropped == 0 {
			continue
		}
		log.Warn("revocation list full: logouts dropped before they lapsed, the sessions they ended open again until they expire; raise session.RevocationLimits."+budgetNames[b].limit,
			"event", "session.revocation_drop", "budget", budgetNames[b].budget, "dropped", dropped,
			"limit", budgetNames[b].limit, "cap", limits[b])
		d.pending[b] = 0
	}
	d.last = now
}
