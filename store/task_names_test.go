package store

import (
	"context"
	"testing"
)

// The jobs page names a task's workspace and document; a task whose document
// id belongs to another workspace shows no document name, and a deleted
// document's task shows none either.
func TestNamesOfTasks(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, "admin@example.com", "Admin", "x", true)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.CreateWorkspace(ctx, u.ID, "Acme")
	b, _ := s.CreateWorkspace(ctx, u.ID, "Globex")
	docA, _, err := s.CreateDocument(ctx, a.ID, NewDocument{Name: "Handbook.pdf", UploadedBy: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	docB, _, err := s.CreateDocument(ctx, b.ID, NewDocument{Name: "Secret plans.docx", UploadedBy: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	own, _ := s.EnqueueTask(ctx, NewTask{WorkspaceID: a.ID, DocumentID: docA.ID, Kind: TaskEmbed})
	crossed, err := s.EnqueueTask(ctx, NewTask{WorkspaceID: a.ID, DocumentID: docB.ID, Kind: TaskEmbed})
	if err != nil {
		t.Fatal(err)
	}
	instance, _ := s.EnqueueTask(ctx, NewTask{Kind: TaskEmbed})
	tasks, err := s.ListTasks(ctx, TaskFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	names, err := s.NamesOfTasks(ctx, tasks)
	if err != nil {
		t.Fatal(err)
	}
	if n := names[own]; n != (TaskNames{"Acme", "Handbook.pdf"}) {
		t.Errorf("own task: %+v", n)
	}
	if n := names[crossed]; n.Workspace != "Acme" || n.Document != "" {
		t.Errorf("a task of Acme naming Globex's document shows %+v", n)
	}
	if n := names[instance]; n != (TaskNames{}) {
		t.Errorf("instance task: %+v", n)
	}
	if got, err := s.NamesOfTasks(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("no tasks: %v %v", got, err)
	}
}
