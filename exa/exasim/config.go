package exasim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseLatency reads a latency flag: "0" for none, a Go duration such as
// "500ms" for a fixed latency, or "MIN-MAX" such as "300ms-1500ms" for a
// uniform spread.
func ParseLatency(s string) (Latency, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return Latency{}, nil
	}
	lo, hi, spread := strings.Cut(s, "-")
	min, err := time.ParseDuration(lo)
	if err != nil || min < 0 {
		return Latency{}, fmt.Errorf("latency %q: want 0, a duration such as 500ms, or MIN-MAX such as 300ms-1500ms", s)
	}
	if !spread {
		return Latency{Min: min, Max: min}, nil
	}
	max, err := time.ParseDuration(hi)
	if err != nil || max < min {
		return Latency{}, fmt.Errorf("latency %q: MAX must be a duration no smaller than MIN", s)
	}
	return Latency{Min: min, Max: max}, nil
}

// FaultNames maps the names used by ParseFaults (and the sim command's
// --faults) to what they inject.
var FaultNames = []struct{ Name, Help string }{
	{"5xx", "answer any call with a 500, 502 or 503 (a create may still have started its run)"},
	{"reset", "break the connection: before the request, after it took effect (answer lost), or after the answer"},
	{"lost-create", "create the run, then drop the connection before the answer"},
	{"fail", "make the run fail (status failed, error SERVER_ERROR)"},
	{"cut-stream", "cut an SSE stream after a few events, without its terminal event"},
	{"drop", "leave one row out of an answer"},
	{"dup", "repeat one row of an answer"},
	{"reorder", "shuffle the rows of an answer"},
	{"invent", "add a row whose rowId was never sent"},
	{"off-schema", "put a value of the wrong type or outside its enum in one field"},
	{"null", "answer null for fields the schema lets be null"},
}

func (f *Faults) field(name string) *float64 {
	switch name {
	case "5xx":
		return &f.ServerError
	case "reset":
		return &f.Reset
	case "lost-create":
		return &f.LostCreate
	case "fail":
		return &f.Fail
	case "cut-stream":
		return &f.CutStream
	case "drop":
		return &f.Drop
	case "dup":
		return &f.Dup
	case "reorder":
		return &f.Reorder
	case "invent":
		return &f.Invent
	case "off-schema":
		return &f.OffSchema
	case "null":
		return &f.Null
	}
	return nil
}

// ParseFaults reads "name=rate,…" such as "5xx=0.05,reorder=0.5", each
// rate in [0, 1]. The names are those of FaultNames.
func ParseFaults(s string) (Faults, error) {
	var f Faults
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		p := f.field(name)
		if p == nil {
			names := make([]string, len(FaultNames))
			for i, n := range FaultNames {
				names[i] = n.Name
			}
			return Faults{}, fmt.Errorf("fault %q: unknown; known faults: %s", name, strings.Join(names, ", "))
		}
		rate, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if !ok || err != nil || rate < 0 || rate > 1 {
			return Faults{}, fmt.Errorf("fault %q: want %s=RATE with RATE from 0 to 1", part, name)
		}
		*p = rate
	}
	return f, nil
}
