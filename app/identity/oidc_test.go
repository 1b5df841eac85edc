package identity

import (
	"sync"
	"testing"
	"time"
)

func TestPendingLoginsAreSingleUseBoundedAndExpire(t *testing.T) {
	p := newPendingLogins(2, 50*time.Millisecond)
	if !p.put("a", pendingLogin{state: "sa"}) || !p.put("b", pendingLogin{state: "sb"}) {
		t.Fatal("room for two")
	}
	if p.put("c", pendingLogin{}) {
		t.Fatal("a third sign-in fit in a table of two")
	}
	if pl, ok := p.take("a"); !ok || pl.state != "sa" {
		t.Fatalf("take a: %+v %v", pl, ok)
	}
	if _, ok := p.take("a"); ok {
		t.Fatal("a pending sign-in worked twice")
	}
	if _, ok := p.take(""); ok {
		t.Fatal("no cookie found a sign-in")
	}
	time.Sleep(60 * time.Millisecond)
	if _, ok := p.take("b"); ok {
		t.Fatal("an expired sign-in worked")
	}
	// Expired entries make room again.
	p.put("d", pendingLogin{})
	time.Sleep(60 * time.Millisecond)
	if !p.put("e", pendingLogin{}) || !p.put("f", pendingLogin{}) {
		t.Fatal("expired sign-ins kept their places")
	}
	// Parallel takes of one cookie: exactly one wins.
	p = newPendingLogins(10, time.Minute)
	p.put("x", pendingLogin{})
	var wins sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for range 20 {
		wins.Add(1)
		go func() {
			defer wins.Done()
			if _, ok := p.take("x"); ok {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	wins.Wait()
	if n != 1 {
		t.Fatalf("%d parallel takes won", n)
	}
}

func TestCleanGroupsAndErrorCodes(t *testing.T) {
	in := []string{" eng ", "", "ops\x00", string([]byte{0xff}), "a\nb"}
	for range 2000 {
		in = append(in, "g")
	}
	got := cleanGroups(in)
	if got[0] != "eng" || len(got) != maxGroups {
		t.Fatalf("cleanGroups: %q… (%d)", got[:1], len(got))
	}
	for _, g := range got[1:] {
		if g != "g" {
			t.Fatalf("kept %q", g)
		}
	}
	if c := errorCode("access_denied<script>alert(1)</script>"); c != "access_deniedscriptalertscript" {
		t.Fatalf("errorCode: %q", c)
	}
}
