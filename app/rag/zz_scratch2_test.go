package rag

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

func TestScratchInsert(t *testing.T) {
	for _, ddl := range []string{
		`embedding float[768]`,
		`workspace_id text partition key, embedding float[768] distance_metric=cosine`,
		`workspace_id text partition key, embedding float[768] distance_metric=cosine, document_id text, embedding_model text`,
		`workspace_id text partition key, embedding float[768] distance_metric=cosine, +document_id text, +embedding_model text`,
	} {
		db, _ := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "x.db")+"?_pragma=journal_mode(WAL)&_pragma=mmap_size(268435456)&_pragma=synchronous(NORMAL)")
		db.SetMaxOpenConns(1)
		if _, err := db.Exec(`CREATE VIRTUAL TABLE v USING vec0(` + ddl + `)`); err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		v := make([]float32, 768)
		began := time.Now()
		tx, _ := db.Begin()
		N := 3000
		for i := 1; i <= N; i++ {
			for j := range v {
				v[j] = r.Float32() - 0.5
			}
			var err error
			switch {
			case ddl == `embedding float[768]`:
				_, err = tx.Exec(`INSERT INTO v(rowid, embedding) VALUES (?,?)`, i, vecBlob(v))
			case len(ddl) < 80:
				_, err = tx.Exec(`INSERT INTO v(rowid, workspace_id, embedding) VALUES (?,?,?)`, i, fmt.Sprint("ws", i%10), vecBlob(v))
			default:
				_, err = tx.Exec(`INSERT INTO v(rowid, workspace_id, embedding, document_id, embedding_model) VALUES (?,?,?,?,?)`, i, fmt.Sprint("ws", i%10), vecBlob(v), fmt.Sprint("doc", i%100), "m")
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		tx.Commit()
		t.Logf("%v/row  %s", time.Since(began)/time.Duration(N), ddl)
		db.Close()
	}
}
