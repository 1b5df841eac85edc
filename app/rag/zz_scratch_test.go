package rag

import (
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"
	_ "modernc.org/sqlite/vec"
)

func vecBlob(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func TestScratchVec(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "x.db")+"?_pragma=journal_mode(WAL)&_pragma=mmap_size(268435456)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	var ver string
	db.QueryRow(`select vec_version()`).Scan(&ver)
	t.Log("vec", ver)
	dim := 768
	_, err = db.Exec(fmt.Sprintf(`CREATE VIRTUAL TABLE v USING vec0(workspace_id text partition key, embedding float[%d] distance_metric=cosine, document_id text, embedding_model text, +extra text)`, dim))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	N := 20000
	tx, _ := db.Begin()
	st, err := tx.Prepare(`INSERT INTO v(rowid, workspace_id, embedding, document_id, embedding_model) VALUES (?,?,?,?,?)`)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, dim)
	began := time.Now()
	for i := 1; i <= N; i++ {
		for j := range v {
			v[j] = r.Float32() - 0.5
		}
		if _, err := st.Exec(i, fmt.Sprint("ws", i%2), vecBlob(v), fmt.Sprint("doc", i%1000), "m1"); err != nil {
			t.Fatal(err)
		}
	}
	tx.Commit()
	t.Log("insert", time.Since(began))
	q := vecBlob(v)
	run := func(name, query string, args ...any) {
		began := time.Now()
		rows, err := db.Query(query, args...)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		rows.Close()
		t.Logf("%s: %d rows in %v", name, n, time.Since(began))
	}
	run("plain", `SELECT rowid, distance FROM v WHERE embedding MATCH ? AND k = 20 AND workspace_id = 'ws1'`, q)
	run("model", `SELECT rowid, distance FROM v WHERE embedding MATCH ? AND k = 20 AND workspace_id = 'ws1' AND embedding_model = 'm1'`, q)
	run("in-list", `SELECT rowid, distance FROM v WHERE embedding MATCH ? AND k = 20 AND workspace_id = 'ws1' AND document_id IN ('doc1','doc3','doc5')`, q)
	ids := []string{}
	for i := 0; i < 1000; i += 2 {
		ids = append(ids, fmt.Sprint("doc", i+1))
	}
	js, _ := json.Marshal(ids)
	run("in-json500", `SELECT rowid, distance FROM v WHERE embedding MATCH ? AND k = 20 AND workspace_id = 'ws1' AND embedding_model = 'm1' AND document_id IN (SELECT value FROM json_each(?))`, q, string(js))
	js3, _ := json.Marshal(ids[:3])
	run("in-json3", `SELECT rowid, distance FROM v WHERE embedding MATCH ? AND k = 20 AND workspace_id = 'ws1' AND document_id IN (SELECT value FROM json_each(?))`, q, string(js3))
	run("k200", `SELECT rowid, distance FROM v WHERE embedding MATCH ? AND k = 200 AND workspace_id = 'ws1'`, q)
	run("delete-by-doc", `SELECT rowid FROM v WHERE document_id = 'doc7'`)
	run("update-meta", `UPDATE v SET embedding_model='m2' WHERE rowid = 5`)
}
