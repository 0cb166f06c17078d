package exasim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// call sends one request straight to the handler: no sockets, so it works
// inside a synctest bubble, where the simulator's clock is fake.
func call(t *testing.T, s *Server, method, path, body string, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("x-api-key", "test-key")
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var v map[string]any
	if ct := rec.Header().Get("Content-Type"); ct == "application/json" {
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, rec.Body)
		}
	}
	return rec.Code, rec.Header(), v
}

func create(t *testing.T, s *Server, body string) map[string]any {
	t.Helper()
	code, _, v := call(t, s, "POST", "/agent/runs", body)
	if code != http.StatusOK {
		t.Fatalf("create: %d %v", code, v)
	}
	return v
}

func TestRunLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Config{Latency: Latency{Min: 10 * time.Second, Max: 10 * time.Second}})
		start := time.Now()
		run := create(t, s, `{"query":"q","effort":"low"}`)
		id := run["id"].(string)
		check := func(wantStatus string) map[string]any {
			t.Helper()
			_, _, v := call(t, s, "GET", "/agent/runs/"+id, "")
			if v["status"] != wantStatus {
				t.Fatalf("at %s: status %v, want %s", time.Since(start), v["status"], wantStatus)
			}
			terminal := wantStatus == "completed"
			for _, k := range []string{"stopReason", "completedAt", "usage", "costDollars", "output"} {
				val, present := v[k]
				if !present {
					t.Errorf("%s: %s absent, want it present (null until terminal)", wantStatus, k)
				}
				if (val == nil) == terminal {
					t.Errorf("%s: %s = %v", wantStatus, k, val)
				}
			}
			return v
		}
		if run["status"] != "queued" {
			t.Errorf("create answered %v, want queued", run["status"])
		}
		check("queued")
		time.Sleep(time.Second) // started at a tenth of the latency
		check("running")
		time.Sleep(9 * time.Second)
		v := check("completed")
		if v["stopReason"] != "schema_satisfied" {
			t.Errorf("stopReason %v", v["stopReason"])
		}
		if want := start.Add(10 * time.Second).UTC().Format(time.RFC3339Nano); v["completedAt"] != want {
			t.Errorf("completedAt %v, want %s", v["completedAt"], want)
		}
		if cost := v["costDollars"].(map[string]any); cost["total"] != 0.025 {
			t.Errorf("low effort cost %v, want 0.025", cost["total"])
		}
		st := s.Stats()
		if st.RunsCreated != 1 || st.RunsCompleted != 1 || st.BilledDollars != 0.025 || st.BusyRunSeconds != 10 || st.MaxActive != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestMeteredEffortsBillUsageUpToBudget(t *testing.T) {
	s := New(Config{})
	rows := make([]string, 100)
	for i := range rows {
		rows[i] = fmt.Sprintf(`{"rowId":"%d"}`, i)
	}
	data := `"input":{"data":[` + strings.Join(rows, ",") + `]}`
	tests := []struct {
		name, body string
		total      float64
		reason     string
	}{
		// 1 + 0.25·rows compute units at $0.10, 2·rows searches at $0.005.
		{"auto, 4 rows", `{"query":"q","input":{"data":[{},{},{},{}]}}`, 0.24, "schema_satisfied"},
		{"auto, budget reached", `{"query":"q","effort":"auto","budget":{"maxCostDollars":1},` + data + `}`, 1, "budget_reached"},
		{"max default budget $20", `{"query":"q","effort":"max",` + data + `}`, 3.6, "schema_satisfied"},
		{"fixed ignores budget", `{"query":"q","effort":"xhigh","budget":{"maxCostDollars":0.5}}`, 1, "schema_satisfied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := create(t, s, tt.body)
			if got := run["costDollars"].(map[string]any)["total"]; got != tt.total {
				t.Errorf("total %v, want %v", got, tt.total)
			}
			if run["stopReason"] != tt.reason {
				t.Errorf("stopReason %v, want %s", run["stopReason"], tt.reason)
			}
		})
	}
}

func TestMaxRunTimeFailsWithTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Config{Latency: Latency{Min: 2 * time.Hour, Max: 2 * time.Hour}})
		id := create(t, s, `{"query":"q"}`)["id"].(string)
		time.Sleep(time.Hour - time.Second)
		if _, _, v := call(t, s, "GET", "/agent/runs/"+id, ""); v["status"] != "running" {
			t.Fatalf("before an hour: %v", v["status"])
		}
		time.Sleep(time.Second)
		_, _, v := call(t, s, "GET", "/agent/runs/"+id, "")
		errObj, _ := v["error"].(map[string]any)
		if v["status"] != "failed" || v["stopReason"] != "time_limit_reached" || errObj["code"] != "TIMEOUT" {
			t.Errorf("after an hour: %v", v)
		}
		if st := s.Stats(); st.RunsFailed != 1 || st.BilledDollars != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestCancelIsIdempotent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Config{Latency: Latency{Min: 10 * time.Second, Max: 10 * time.Second}})
		id := create(t, s, `{"query":"q","effort":"high"}`)["id"].(string)
		time.Sleep(5500 * time.Millisecond) // half of the running time
		_, _, first := call(t, s, "POST", "/agent/runs/"+id+"/cancel", "")
		if first["status"] != "cancelled" || first["stopReason"] != "cancelled" || first["completedAt"] == nil {
			t.Fatalf("cancel: %v", first)
		}
		if got := first["costDollars"].(map[string]any)["total"]; got != 0.25 {
			t.Errorf("cancelled halfway through a $0.50 run: billed %v, want 0.25", got)
		}
		time.Sleep(time.Minute)
		code, _, again := call(t, s, "POST", "/agent/runs/"+id+"/cancel", "")
		if code != http.StatusOK || again["status"] != "cancelled" || again["completedAt"] != first["completedAt"] {
			t.Errorf("second cancel: %d %v", code, again)
		}
		done := create(t, s, `{"query":"q"}`)["id"].(string)
		time.Sleep(11 * time.Second)
		if _, _, v := call(t, s, "POST", "/agent/runs/"+done+"/cancel", ""); v["status"] != "completed" {
			t.Errorf("cancelling a completed run changed it: %v", v["status"])
		}
		if st := s.Stats(); st.RunsCancelled != 1 || st.RunsCompleted != 1 || st.BilledDollars != 0.25+0.11 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestValidation(t *testing.T) {
	s := New(Config{RequireBetaHeader: true, APIKey: "right-key", Latency: Latency{Min: time.Hour, Max: time.Hour}})
	beta := []string{"Exa-Beta", "agent-2026-05-07", "x-api-key", "right-key"}
	code, _, running := call(t, s, "POST", "/agent/runs", `{"query":"q"}`, beta...)
	if code != 200 {
		t.Fatal(code, running)
	}
	tests := []struct {
		name, method, path, body string
		header                   []string
		status                   int
		code                     string
	}{
		{"no key", "GET", "/agent/runs", "", []string{"x-api-key", ""}, 401, "TEAM_NOT_FOUND"},
		{"wrong key", "GET", "/agent/runs", "", []string{"x-api-key", "nope"}, 401, "TEAM_NOT_FOUND"},
		{"bearer key", "GET", "/agent/runs", "", []string{"x-api-key", "", "Authorization", "Bearer right-key"}, 200, ""},
		{"no beta header", "GET", "/agent/runs", "", []string{"Exa-Beta", ""}, 400, "MISSING_BETA_HEADER"},
		{"unknown beta", "GET", "/agent/runs", "", []string{"Exa-Beta", "agent-2020-01-01"}, 400, "INVALID_BETA_HEADER"},
		{"several beta tokens", "GET", "/agent/runs", "", []string{"Exa-Beta", "other, agent-2026-05-07"}, 200, ""},
		{"not JSON", "POST", "/agent/runs", `{"query":`, nil, 400, "INVALID_REQUEST"},
		{"empty query", "POST", "/agent/runs", `{"query":"  "}`, nil, 400, "INVALID_REQUEST"},
		{"schema not an object", "POST", "/agent/runs", `{"query":"q","outputSchema":[1]}`, nil, 400, "INVALID_OUTPUT_SCHEMA"},
		{"schema does not compile", "POST", "/agent/runs", `{"query":"q","outputSchema":{"type":"nosuch"}}`, nil, 400, "INVALID_OUTPUT_SCHEMA"},
		{"bad pattern", "POST", "/agent/runs", `{"query":"q","outputSchema":{"type":"string","pattern":"("}}`, nil, 400, "INVALID_OUTPUT_SCHEMA"},
		{"draft-07 schema", "POST", "/agent/runs", `{"query":"q","outputSchema":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"p":{"type":"string","format":"phone"}}}}`, nil, 200, ""},
		{"metadata not strings", "POST", "/agent/runs", `{"query":"q","metadata":{"chunk":7}}`, nil, 400, "INVALID_REQUEST"},
		{"unknown effort", "POST", "/agent/runs", `{"query":"q","effort":"huge"}`, nil, 400, "INVALID_REQUEST"},
		{"budget too small", "POST", "/agent/runs", `{"query":"q","effort":"auto","budget":{"maxCostDollars":0.5}}`, nil, 400, "INVALID_REQUEST"},
		{"data sources not a list", "POST", "/agent/runs", `{"query":"q","dataSources":"web"}`, nil, 400, "INVALID_DATA_SOURCE"},
		{"previous run unknown", "POST", "/agent/runs", `{"query":"q","previousRunId":"agent_run_nope"}`, nil, 404, "PREVIOUS_RUN_NOT_FOUND"},
		{"previous run not completed", "POST", "/agent/runs", `{"query":"q","previousRunId":"` + running["id"].(string) + `"}`, nil, 400, "PREVIOUS_RUN_NOT_COMPLETED"},
		{"run not found", "GET", "/agent/runs/agent_run_nope", "", nil, 404, "RUN_NOT_FOUND"},
		{"limit too big", "GET", "/agent/runs?limit=101", "", nil, 400, "INVALID_REQUEST"},
		{"limit zero", "GET", "/agent/runs?limit=0", "", nil, 400, "INVALID_REQUEST"},
		{"unknown cursor", "GET", "/agent/runs?cursor=zzz", "", nil, 400, "INVALID_REQUEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, h, v := call(t, s, tt.method, tt.path, tt.body, append(append([]string{}, beta...), tt.header...)...)
			if code != tt.status {
				t.Fatalf("status %d, want %d: %v", code, tt.status, v)
			}
			if h.Get("x-request-id") == "" {
				t.Error("no x-request-id")
			}
			if tt.code == "" {
				return
			}
			e, _ := v["error"].(map[string]any)
			if e["code"] != tt.code || e["type"] == "" || e["message"] == "" {
				t.Errorf("error %v, want code %s", v, tt.code)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Config{ConcurrencyLimit: 2, Latency: Latency{Min: 10 * time.Second, Max: 10 * time.Second}})
		create(t, s, `{"query":"q"}`)
		time.Sleep(3 * time.Second)
		create(t, s, `{"query":"q"}`)
		code, h, v := call(t, s, "POST", "/agent/runs", `{"query":"q"}`)
		if e, _ := v["error"].(map[string]any); code != 429 || e["code"] != "CONCURRENCY_LIMIT_REACHED" {
			t.Fatalf("third create: %d %v", code, v)
		}
		if h.Get("Retry-After") != "7" { // the first run ends in 7 s
			t.Errorf("Retry-After %q, want 7", h.Get("Retry-After"))
		}
		time.Sleep(7 * time.Second)
		create(t, s, `{"query":"q"}`)
		if st := s.Stats(); st.Rejected429 != 1 || st.MaxActive != 2 || st.RunsCreated != 3 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestQPSCountsCreatesDouble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Config{QPS: 2}) // a burst of 2: one create
		id := create(t, s, `{"query":"q"}`)["id"].(string)
		for range 5 {
			if code, _, _ := call(t, s, "GET", "/agent/runs/"+id, ""); code != 200 {
				t.Fatalf("GET counted against the rate: %d", code)
			}
		}
		code, h, v := call(t, s, "POST", "/agent/runs", `{"query":"q"}`)
		if code != 429 || v["tag"] != "RATE_LIMIT_EXCEEDED" || h.Get("Retry-After") == "" {
			t.Fatalf("second create: %d %v", code, v)
		}
		time.Sleep(time.Second)
		create(t, s, `{"query":"q"}`)
	})
}

func TestCreditLimitAnswersFlat402(t *testing.T) {
	s := New(Config{CreditDollars: 0.03})
	create(t, s, `{"query":"q","effort":"low"}`)
	create(t, s, `{"query":"q","effort":"low"}`) // $0.025 billed < $0.03
	code, h, v := call(t, s, "POST", "/agent/runs", `{"query":"q","effort":"low"}`)
	if code != 402 || v["tag"] != "NO_MORE_CREDITS" || v["error"] == "" || v["requestId"] != h.Get("x-request-id") {
		t.Errorf("create past the credit: %d %v", code, v)
	}
}

func TestListDeleteAndDuplicates(t *testing.T) {
	s := New(Config{})
	var ids []string
	for i := range 5 {
		ids = append(ids, create(t, s, fmt.Sprintf(`{"query":"q","metadata":{"chunk":"%d"}}`, i%3))["id"].(string))
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		_, _, v := call(t, s, "GET", "/agent/runs?limit=2&cursor="+cursor, "")
		for _, r := range v["data"].([]any) {
			got = append(got, r.(map[string]any)["id"].(string))
		}
		if v["hasMore"] != true {
			if v["nextCursor"] != nil || pages != 2 {
				t.Errorf("last page: nextCursor %v after %d pages", v["nextCursor"], pages)
			}
			break
		}
		cursor = v["nextCursor"].(string)
	}
	want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("listed %v, want newest first %v", got, want)
	}
	_, _, d := call(t, s, "DELETE", "/agent/runs/"+ids[2], "")
	if d["deleted"] != true || d["object"] != "agent_run.deleted" || d["id"] != ids[2] {
		t.Errorf("delete: %v", d)
	}
	if code, _, _ := call(t, s, "GET", "/agent/runs/"+ids[2], ""); code != 404 {
		t.Errorf("deleted run: %d", code)
	}
	if _, _, v := call(t, s, "GET", "/agent/runs", ""); len(v["data"].([]any)) != 4 {
		t.Errorf("list after delete: %d runs", len(v["data"].([]any)))
	}
	if st := s.Stats(); st.DuplicateCreates != 2 || st.RunsCreated != 5 {
		t.Errorf("stats %+v, want 2 duplicate creates of 5", st)
	}
}

// sse serves a streaming request in the bubble and returns its body once
// the handler is done.
func sse(t *testing.T, s *Server, method, path, body string, header ...string) string {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("x-api-key", "k")
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ServeHTTP(rec, req)
	}()
	<-done
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q: %s", ct, rec.Body)
	}
	return rec.Body.String()
}

func eventNames(stream string) (ids, names []string) {
	for line := range strings.Lines(stream) {
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			ids = append(ids, strings.TrimSpace(v))
		}
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			names = append(names, strings.TrimSpace(v))
		}
	}
	return ids, names
}

func TestEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Config{KeepAlive: time.Second, Latency: Latency{Min: 8 * time.Second, Max: 8 * time.Second}})
		stream := sse(t, s, "POST", "/agent/runs", `{"query":"q"}`)
		ids, names := eventNames(stream)
		wantNames := "[agent_run.created agent_run.started agent_run.search_trace agent_run.source.added agent_run.preliminary_list agent_run.completed]"
		if fmt.Sprint(names) != wantNames || fmt.Sprint(ids) != "[1 2 3 4 5 6]" {
			t.Errorf("create stream: ids %v, events %v", ids, names)
		}
		if n := strings.Count(stream, ": keep-alive\n\n"); n < 4 {
			t.Errorf("%d keep-alives over 8 s at 1 s intervals", n)
		}
		if !strings.Contains(stream, `"status":"completed"`) || !strings.Contains(stream, `"costDollars":{"total"`) {
			t.Errorf("the completed event does not carry the full run:\n%s", stream)
		}
		_, _, list := call(t, s, "GET", "/agent/runs", "")
		id := list["data"].([]any)[0].(map[string]any)["id"].(string)

		replay := sse(t, s, "GET", "/agent/runs/"+id+"/events", "", "Last-Event-ID", "3")
		if ids, _ := eventNames(replay); fmt.Sprint(ids) != "[4 5 6]" {
			t.Errorf("replay after 3: ids %v", ids)
		}
		_, _, page := call(t, s, "GET", "/agent/runs/"+id+"/events?limit=4", "")
		data := page["data"].([]any)
		first := data[0].(map[string]any)
		if len(data) != 4 || page["hasMore"] != true || page["nextCursor"] != "4" || first["id"] != "1" || first["event"] != "agent_run.created" || first["createdAt"] == nil {
			t.Errorf("events page: %v", page)
		}
		_, _, rest := call(t, s, "GET", "/agent/runs/"+id+"/events?cursor=4", "")
		if n := len(rest["data"].([]any)); n != 2 || rest["hasMore"] != false {
			t.Errorf("second events page: %v", rest)
		}
	})
}

func TestCancelEndsTheStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Config{Latency: Latency{Min: time.Minute, Max: time.Minute}})
		id := create(t, s, `{"query":"q"}`)["id"].(string)
		go func() {
			time.Sleep(10 * time.Second)
			call(t, s, "POST", "/agent/runs/"+id+"/cancel", "")
		}()
		_, names := eventNames(sse(t, s, "GET", "/agent/runs/"+id+"/events", ""))
		if len(names) == 0 || names[len(names)-1] != "agent_run.cancelled" {
			t.Errorf("events %v, want the stream to end on agent_run.cancelled", names)
		}
	})
}

var enrichSchema = `{"type":"object","properties":{"rows":{"type":"array","minItems":3,"maxItems":3,"items":{
	"type":"object","additionalProperties":false,"required":["rowId","name","ceo","employees","tier","site"],
	"properties":{"rowId":{"type":"string","enum":["2","3","4"]},"name":{"type":"string"},
	"ceo":{"type":["string","null"]},"employees":{"type":["integer","null"],"minimum":1},
	"tier":{"enum":["gold","silver"]},"site":{"type":"string","format":"uri"}}}}}}`

var enrichBody = `{"query":"q","outputSchema":` + enrichSchema + `,"input":{"data":[
	{"rowId":"2","name":"Acme","domain":"acme.com"},{"rowId":"3","name":"Globex","domain":"globex.com"},{"rowId":"4","name":"Initech","domain":"initech.com"}]}}`

func structured(t *testing.T, run map[string]any) []map[string]any {
	t.Helper()
	out := run["output"].(map[string]any)
	var items []map[string]any
	for _, it := range out["structured"].(map[string]any)["rows"].([]any) {
		items = append(items, it.(map[string]any))
	}
	return items
}

func valid(t *testing.T, run map[string]any) error {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(enrichSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("s.json", doc); err != nil {
		t.Fatal(err)
	}
	sch := c.MustCompile("s.json")
	raw, _ := json.Marshal(run["output"].(map[string]any)["structured"])
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	return sch.Validate(inst)
}

func TestEnrichmentAnswers(t *testing.T) {
	s := New(Config{})
	run := create(t, s, enrichBody)
	if err := valid(t, run); err != nil {
		t.Errorf("answer does not follow its schema: %v", err)
	}
	items := structured(t, run)
	names := map[string]string{"2": "Acme", "3": "Globex", "4": "Initech"}
	for i, it := range items {
		if it["name"] != names[it["rowId"].(string)] {
			t.Errorf("item %d: rowId %v with name %v", i, it["rowId"], it["name"])
		}
		if !strings.Contains(it["ceo"].(string), it["name"].(string)) {
			t.Errorf("item %d: ceo %v is not about %v", i, it["ceo"], it["name"])
		}
	}
	again := structured(t, create(t, New(Config{Seed: 99}), enrichBody))
	if fmt.Sprint(again) != fmt.Sprint(items) {
		t.Errorf("answers depend on more than schema and row:\n%v\n%v", items, again)
	}
	grounding := run["output"].(map[string]any)["grounding"].([]any)
	for _, g := range grounding {
		g := g.(map[string]any)
		var i int
		var field string
		if _, err := fmt.Sscanf(strings.ReplaceAll(g["field"].(string), ".", " "), "structured rows[%d] %s", &i, &field); err != nil {
			t.Fatalf("grounding field %v: %v", g["field"], err)
		}
		url := g["citations"].([]any)[0].(map[string]any)["url"].(string)
		host := strings.ToLower(items[i]["name"].(string)) + ".com"
		if !strings.HasPrefix(url, "https://"+host+"/") {
			t.Errorf("%v cites %s, not %s", g["field"], url, host)
		}
	}
	if len(grounding) != 3*5 {
		t.Errorf("%d grounding entries, want 5 fields × 3 rows", len(grounding))
	}
}

func TestAnswerFaults(t *testing.T) {
	rowIDs := func(items []map[string]any) []string {
		var ids []string
		for _, it := range items {
			ids = append(ids, fmt.Sprint(it["rowId"]))
		}
		return ids
	}
	tests := []struct {
		faults Faults
		check  func(t *testing.T, run map[string]any)
	}{
		{Faults{Drop: 1}, func(t *testing.T, run map[string]any) {
			if n := len(structured(t, run)); n != 2 {
				t.Errorf("%d items, want 2", n)
			}
		}},
		{Faults{Dup: 1}, func(t *testing.T, run map[string]any) {
			ids := rowIDs(structured(t, run))
			seen := map[string]bool{}
			dup := false
			for _, id := range ids {
				dup = dup || seen[id]
				seen[id] = true
			}
			if len(ids) != 4 || !dup {
				t.Errorf("ids %v, want one repeated", ids)
			}
		}},
		{Faults{Invent: 1}, func(t *testing.T, run map[string]any) {
			if ids := rowIDs(structured(t, run)); len(ids) != 4 || !strings.Contains(fmt.Sprint(ids), "invented-") {
				t.Errorf("ids %v, want an invented one", ids)
			}
		}},
		{Faults{OffSchema: 1}, func(t *testing.T, run map[string]any) {
			if err := valid(t, run); err == nil {
				t.Error("an off-schema answer validates")
			}
		}},
		{Faults{Null: 1}, func(t *testing.T, run map[string]any) {
			for _, it := range structured(t, run) {
				if it["ceo"] != nil || it["employees"] != nil || it["name"] == nil {
					t.Errorf("item %v: want ceo and employees null, name kept", it)
				}
			}
			if err := valid(t, run); err != nil {
				t.Errorf("nulls where allowed must validate: %v", err)
			}
		}},
		{Faults{Reorder: 1}, func(t *testing.T, run map[string]any) {
			if ids := rowIDs(structured(t, run)); len(ids) != 3 {
				t.Errorf("ids %v", ids)
			}
		}},
		{Faults{Fail: 1}, func(t *testing.T, run map[string]any) {
			e, _ := run["error"].(map[string]any)
			if run["status"] != "failed" || run["stopReason"] != "error" || e["code"] != "SERVER_ERROR" || run["output"] != nil {
				t.Errorf("run %v", run)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.faults), func(t *testing.T) {
			tt.check(t, create(t, New(Config{Faults: tt.faults}), enrichBody))
		})
	}
	// Reordering changes the order for some seed, and only the order.
	moved := false
	for seed := range uint64(20) {
		run := create(t, New(Config{Seed: seed, Faults: Faults{Reorder: 1}}), enrichBody)
		ids := rowIDs(structured(t, run))
		moved = moved || fmt.Sprint(ids) != "[2 3 4]"
		if err := valid(t, run); err != nil {
			t.Errorf("seed %d: %v", seed, err)
		}
	}
	if !moved {
		t.Error("reorder=1 never changed the order in 20 seeds")
	}
}

func TestParseFlags(t *testing.T) {
	lat := []struct {
		in   string
		want Latency
		ok   bool
	}{
		{"0", Latency{}, true},
		{"500ms", Latency{500 * time.Millisecond, 500 * time.Millisecond}, true},
		{"300ms-1500ms", Latency{300 * time.Millisecond, 1500 * time.Millisecond}, true},
		{"2s-1s", Latency{}, false},
		{"fast", Latency{}, false},
	}
	for _, tt := range lat {
		got, err := ParseLatency(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseLatency(%q) = %v, %v", tt.in, got, err)
		}
	}
	f, err := ParseFaults("5xx=0.05,reset=0.02,lost-create=0.01,fail=0.05,cut-stream=0.1,drop=0.05,dup=0.05,reorder=0.5,invent=0.05,off-schema=0.05,null=0.2")
	want := Faults{ServerError: 0.05, Reset: 0.02, LostCreate: 0.01, Fail: 0.05, CutStream: 0.1, Drop: 0.05, Dup: 0.05, Reorder: 0.5, Invent: 0.05, OffSchema: 0.05, Null: 0.2}
	if err != nil || f != want {
		t.Errorf("ParseFaults = %+v, %v", f, err)
	}
	for _, bad := range []string{"boom=0.1", "drop=2", "drop"} {
		if _, err := ParseFaults(bad); err == nil {
			t.Errorf("ParseFaults(%q) accepted", bad)
		}
	}
}

func TestStatsEndpoint(t *testing.T) {
	s := New(Config{})
	create(t, s, `{"query":"q","effort":"minimal"}`)
	req := httptest.NewRequest("GET", "/_sim/stats", nil) // no key needed
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"runs_created", "runs_completed", "runs_failed", "runs_cancelled", "duplicate_creates", "billed_dollars", "rejected_429", "max_active", "busy_run_seconds"} {
		if _, ok := v[k]; !ok {
			t.Errorf("stats lack %s: %v", k, v)
		}
	}
	if v["runs_created"] != 1.0 || v["billed_dollars"] != 0.012 {
		t.Errorf("stats %v", v)
	}
}

func TestGenericSchemasGetValidInstances(t *testing.T) {
	schemas := []string{
		`{"type":"object","required":["a","b","c","d","e","f","g","h"],"properties":{
			"a":{"type":"string","format":"email"},"b":{"type":"integer","minimum":5,"maximum":9},
			"c":{"type":"number","minimum":0.5,"maximum":0.75},"d":{"type":"boolean"},
			"e":{"type":"array","minItems":3,"maxItems":4,"items":{"type":"string","format":"date"}},
			"f":{"type":"object","properties":{"g":{"const":"x"}}},
			"g":{"type":"string","format":"date-time"},"h":{"type":["null","string"],"format":"uri"}}}`,
		`{"$schema":"http://json-schema.org/draft-07/schema#","type":"array","minItems":1,"items":{"enum":[1,2,3]}}`,
		`{"type":"string","format":"phone"}`,
	}
	for i, raw := range schemas {
		run := create(t, New(Config{}), `{"query":"a company","outputSchema":`+raw+`}`)
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		c.RegisterFormat(&jsonschema.Format{Name: "phone", Validate: func(any) error { return nil }})
		if err := c.AddResource("s.json", doc); err != nil {
			t.Fatal(err)
		}
		out, _ := json.Marshal(run["output"].(map[string]any)["structured"])
		inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(out))
		if err := c.MustCompile("s.json").Validate(inst); err != nil {
			t.Errorf("schema %d: %s does not validate: %v", i, out, err)
		}
	}
}

// BenchmarkCreate measures a create straight through the handler; limits
// must not grow with the number of runs already made.
func BenchmarkCreate(b *testing.B) {
	s := New(Config{CreditDollars: 1e9})
	body := `{"query":"q","effort":"low","input":{"data":[{"rowId":"1","name":"Acme"}]}}`
	for b.Loop() {
		req := httptest.NewRequest("POST", "/agent/runs", strings.NewReader(body))
		req.Header.Set("x-api-key", "k")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code, rec.Body)
		}
	}
}
