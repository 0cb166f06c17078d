"""Reads exa-enrich outputs with pandas (a third-party reader) and prints
what a user would look at, as JSON, for pandas_test.go to check."""
import json
import sys

import pandas as pd

csv, xlsx, jsonl = sys.argv[1:4]
out = {}
c = pd.read_csv(csv, dtype=str, keep_default_na=False)
out["csv"] = {"columns": list(c.columns), "rows": len(c), "status": list(c["_status"]),
              "note": list(c["note"]), "ceo": list(c["ceo"])}
x = pd.read_excel(xlsx, sheet_name=None, dtype=str, keep_default_na=False)
e = x["Enriched"]
out["xlsx"] = {"sheets": list(x.keys()), "columns": list(e.columns), "rows": len(e),
               "status": list(e["_status"]), "sources": list(e["_sources"]), "ceo": list(e["ceo"]),
               "employees": list(e["employees"])}
j = pd.read_json(jsonl, lines=True, dtype=False)
out["jsonl"] = {"columns": list(j.columns), "rows": len(j), "status": list(j["_status"]),
                "city": j["hq"][0]["city"]}
json.dump(out, sys.stdout)
