package store

import "encoding/json"

// jsonIDs encodes ids for `IN (SELECT value FROM json_each(?))`: one bound
// parameter for any number of ids, so no SQL is ever built from values.
func jsonIDs[T int64 | string](ids []T) string {
	if ids == nil {
		return "[]"
	}
	b, _ := json.Marshal(ids)
	return string(b)
}
