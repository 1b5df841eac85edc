package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"sync"
	"time"
)

type client struct {
	base string
	hc   *http.Client
}

// call sends one request and decodes a JSON reply into out (when given).
func (c *client) call(method, path, token, ctype string, body []byte, out any) (int, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err == nil && out != nil && resp.StatusCode < 300 {
		err = json.Unmarshal(raw, out)
	}
	return resp.StatusCode, err
}

func (c *client) json(method, path, token string, in, out any) (int, error) {
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	return c.call(method, path, token, "application/json", body, out)
}

type account struct {
	token, ws string
}

type features struct{ uploads, chat bool }

// setup signs up the accounts (a few at a time: argon2id is meant to be slow)
// and gives each a workspace; then probes the optional endpoints.
func setup(c *client, o options) ([]account, features, error) {
	accts := make([]account, o.accounts)
	errs := make(chan error, o.accounts)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	run := time.Now().UnixNano()
	for i := range accts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var su struct{ Token string }
			email := fmt.Sprintf("load-%d-%d@example.com", run, i)
			if code, err := c.json("POST", "/api/auth/signup", "", map[string]string{"email": email, "password": "load-test-password", "name": "Load"}, &su); code != 201 {
				errs <- fmt.Errorf("signup %s: HTTP %d %v (is signup open?)", email, code, err)
				return
			}
			var ws struct{ ID string }
			if code, err := c.json("POST", "/api/workspaces", su.Token, map[string]string{"name": fmt.Sprintf("Load %d", i)}, &ws); code != 201 {
				errs <- fmt.Errorf("create workspace: HTTP %d %v", code, err)
				return
			}
			accts[i] = account{token: su.Token, ws: ws.ID}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, features{}, err
	}
	var f features
	// Uploads exist when the route answers anything but 404/405 to an upload.
	if code, _ := upload(c, accts[0]); code == 201 || code == 202 {
		f.uploads = true
	}
	if o.ollamaURL != "" {
		// The first account is the instance admin when the instance was empty.
		code, err := c.json("PATCH", "/api/admin/settings", accts[0].token, map[string]string{"ollama_url": o.ollamaURL, "default_chat_model": o.model}, nil)
		if code != 200 {
			return nil, f, fmt.Errorf("-ollama: setting the chat model needs an empty instance (first account = admin): HTTP %d %v", code, err)
		}
		f.chat = true
	}
	return accts, f, nil
}

func upload(c *client, a account) (int, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", fmt.Sprintf("load-%d.txt", rand.Int()))
	fmt.Fprintf(fw, "# Load test note\n\nThis small note was uploaded by the load test at %s.\n", time.Now().Format(time.RFC3339Nano))
	mw.Close()
	return c.call("POST", "/api/workspaces/"+a.ws+"/documents", a.token, mw.FormDataContentType(), buf.Bytes(), nil)
}

// op is one kind of request in the mix, with its weight.
type op struct {
	name   string
	weight int
	do     func(c *client, u *user) (int, error)
}

// user is one simulated person: an account and what they made so far.
type user struct {
	account
	chats, folders []string
}

func mix(f features) []op {
	ops := []op{
		{"list workspaces", 25, func(c *client, u *user) (int, error) { return c.json("GET", "/api/workspaces", u.token, nil, nil) }},
		{"list members", 15, func(c *client, u *user) (int, error) {
			return c.json("GET", "/api/workspaces/"+u.ws+"/members", u.token, nil, nil)
		}},
		{"list chats", 20, func(c *client, u *user) (int, error) {
			return c.json("GET", "/api/workspaces/"+u.ws+"/chats?limit=20", u.token, nil, nil)
		}},
		{"create chat", 10, func(c *client, u *user) (int, error) {
			var ch struct{ ID string }
			code, err := c.json("POST", "/api/workspaces/"+u.ws+"/chats", u.token, map[string]string{"name": "load chat"}, &ch)
			if code == 201 {
				u.chats = append(u.chats, ch.ID)
			}
			return code, err
		}},
		{"create folder", 8, func(c *client, u *user) (int, error) {
			var fo struct{ ID int64 }
			code, err := c.json("POST", "/api/workspaces/"+u.ws+"/folders", u.token, map[string]string{"name": fmt.Sprintf("folder %d", rand.Int())}, &fo)
			if code == 201 {
				u.folders = append(u.folders, fmt.Sprint(fo.ID))
			}
			return code, err
		}},
		{"rename chat", 7, func(c *client, u *user) (int, error) {
			if len(u.chats) == 0 {
				return c.json("GET", "/api/workspaces", u.token, nil, nil)
			}
			id := u.chats[rand.IntN(len(u.chats))]
			return c.json("PATCH", "/api/workspaces/"+u.ws+"/chats/"+id, u.token, map[string]string{"name": fmt.Sprintf("renamed %d", rand.Int())}, nil)
		}},
		{"rename folder", 5, func(c *client, u *user) (int, error) {
			if len(u.folders) == 0 {
				return c.json("GET", "/api/workspaces/"+u.ws+"/folders", u.token, nil, nil)
			}
			id := u.folders[rand.IntN(len(u.folders))]
			return c.json("PATCH", "/api/workspaces/"+u.ws+"/folders/"+id, u.token, map[string]string{"name": fmt.Sprintf("renamed %d", rand.Int())}, nil)
		}},
	}
	if f.uploads {
		ops = append(ops, op{"upload", 3, func(c *client, u *user) (int, error) { return upload(c, u.account) }})
	}
	if f.chat {
		ops = append(ops, op{"chat turn", 2, func(c *client, u *user) (int, error) {
			if len(u.chats) == 0 {
				return c.json("GET", "/api/workspaces", u.token, nil, nil)
			}
			id := u.chats[rand.IntN(len(u.chats))]
			code, err := c.json("POST", "/api/workspaces/"+u.ws+"/chats/"+id+"/messages", u.token, map[string]string{"content": "Say hello in five words."}, nil)
			if code == 409 { // a reply is still being written in this chat: a user would wait
				code = 200
			}
			return code, err
		}})
	}
	return ops
}

func pick(ops []op) *op {
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	n := rand.IntN(total)
	for i := range ops {
		if n -= ops[i].weight; n < 0 {
			return &ops[i]
		}
	}
	return &ops[0]
}

// drive runs the users until the duration is over.
func drive(c *client, accts []account, f features, o options) *results {
	ops := mix(f)
	res := newResults()
	end := time.Now().Add(o.duration)
	var wg sync.WaitGroup
	stopProgress := make(chan struct{})
	if o.soak > 0 {
		go res.progress(time.Minute, stopProgress)
	}
	res.start = time.Now()
	for i := range o.users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := &user{account: accts[i%len(accts)]}
			local := newResults()
			for time.Now().Before(end) {
				op := pick(ops)
				t0 := time.Now()
				code, err := op.do(c, u)
				local.add(op.name, code, err, time.Since(t0))
				if len(u.chats) > 50 { // keep renames spread over a bounded set
					u.chats = u.chats[25:]
				}
				if len(u.folders) > 50 {
					u.folders = u.folders[25:]
				}
				if o.think > 0 {
					time.Sleep(o.think)
				}
			}
			res.merge(local)
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(res.start)
	close(stopProgress)
	return res
}
