package pipeline

// Events hears how a job is going, for a progress display. Progress is
// called from many goroutines whenever something changes, and must not
// block.
type Events interface {
	Progress(Progress)
}

// Progress is a snapshot of a running job.
type Progress struct {
	Rows      int  // input rows read so far
	InputDone bool // every input row has been read: Rows is the total
	Cached    int  // rows answered by an earlier execution
	Kept      int  // rows that need no research
	Sent      int  // distinct rows to send
	Answered  int  // rows this execution answered
	Failed    int  // rows this execution recorded with an error
	InFlight  int  // runs in flight
	Runs      int  // runs created
	Retries   int  // rows sent again
	Refused   int  // creates refused with 429
	SpentUSD  float64
	// ReservedUSD is set aside for runs whose cost is not known yet.
	ReservedUSD float64
	StoppedBy   string // "", StopBudget or StopInterrupt
}

type nopEvents struct{}

func (nopEvents) Progress(Progress) {}
