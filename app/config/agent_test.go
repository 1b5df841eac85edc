package config

import (
	"strings"
	"testing"
	"time"
)

// The agent loop's limits: zero takes the defaults; a limit that would make
// every reply end at once, or never, is refused at start.
func TestAgentLimits(t *testing.T) {
	for _, tc := range []struct {
		steps   int
		timeout time.Duration
		ok      bool
	}{
		{6, time.Minute, true}, {0, 0, true}, {1, time.Second, true}, {50, time.Hour, true},
		{-1, time.Minute, false}, {51, time.Minute, false}, {6, 500 * time.Millisecond, false}, {6, -time.Second, false},
	} {
		c := Default()
		c.Generation.AgentMaxSteps, c.Generation.AgentTimeout = tc.steps, Duration{tc.timeout}
		err := c.Validate()
		if tc.ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), "agent_max_steps")) {
			t.Errorf("steps %d, timeout %v: %v", tc.steps, tc.timeout, err)
		}
	}
	if d := Default().Generation; d.AgentMaxSteps != 6 || d.AgentTimeout.Duration != time.Minute {
		t.Errorf("defaults %+v", d)
	}
}
