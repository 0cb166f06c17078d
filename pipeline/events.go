package pipeline

// Events hears what the pipeline does, for a progress display. Methods are
// called from many goroutines and must not block.
type Events interface {
	RunStarted(runID string, rows int)
	RunFinished(runID string, results []Entry, costUSD float64)
	Refused()              // a create was refused with 429
	Stopped(reason string) // the job stopped creating: StopBudget
}

type nopEvents struct{}

func (nopEvents) RunStarted(string, int)               {}
func (nopEvents) RunFinished(string, []Entry, float64) {}
func (nopEvents) Refused()                             {}
func (nopEvents) Stopped(string)                       {}
