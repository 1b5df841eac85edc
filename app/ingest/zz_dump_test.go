package ingest

import (
	"context"
	"fmt"
	"os"
	"testing"
)

func TestDumpFiles(t *testing.T) {
	for _, name := range splitEnv() {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		k, err := Detect(f, st.Size(), name)
		fmt.Printf("==== %s kind=%s err=%v\n", name, k, err)
		if err != nil {
			continue
		}
		p, err := Parse(context.Background(), k, f, st.Size(), Limits{})
		if err != nil {
			fmt.Println("parse err:", err)
			continue
		}
		fmt.Printf("title=%q\n", p.Title)
		for _, s := range p.Sections {
			fmt.Printf("--- page=%d heading=%q\n%s\n", s.Page, s.Heading, s.Text)
		}
		f.Close()
	}
}

func splitEnv() []string {
	var out []string
	for _, a := range os.Args {
		if len(a) > 5 && a[:5] == "file=" {
			out = append(out, a[5:])
		}
	}
	return out
}
