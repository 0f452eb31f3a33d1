package load

import (
	"math"
	"math/rand/v2"
	"time"
)

// pacer yields the open-loop schedule: each call returns the next request's
// offset from the run's start. Offsets come from counting, never from the
// clock, so a slow system cannot shift the schedule.
type pacer interface {
	next() time.Duration
}

// constantPacer spaces requests 1/rate apart; offset i is i/rate computed
// directly, so rounding never accumulates.
type constantPacer struct {
	rate float64
	i    int64
}

func (p *constantPacer) next() time.Duration {
	d := time.Duration(float64(p.i) / p.rate * float64(time.Second))
	p.i++
	return d
}

// poissonPacer draws exponential gaps with mean 1/rate from a seeded source,
// so a run's schedule is repeatable.
type poissonPacer struct {
	rate float64
	rng  *rand.Rand
	t    float64 // seconds
	i    int64
}

func (p *poissonPacer) next() time.Duration {
	if p.i > 0 {
		p.t += p.rng.ExpFloat64() / p.rate
	}
	p.i++
	return time.Duration(math.Round(p.t * float64(time.Second)))
}

// schedulePacer replays a recorded schedule (a trace's timestamps).
type schedulePacer struct {
	at []time.Duration
	i  int
}

func (p *schedulePacer) next() time.Duration {
	if p.i >= len(p.at) {
		return p.at[len(p.at)-1] // Plan.Validate keeps Requests within the schedule
	}
	d := p.at[p.i]
	p.i++
	return d
}

func newPacer(p Plan) pacer {
	if len(p.Schedule) > 0 {
		return &schedulePacer{at: p.Schedule}
	}
	if p.Arrival == Poisson {
		return &poissonPacer{rate: p.Rate, rng: rand.New(rand.NewPCG(p.Seed, p.Seed+1))}
	}
	return &constantPacer{rate: p.Rate}
}
