package app

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"quire/app/config"
	"quire/app/http/api"
	"quire/app/llm/ollamatest"
)

// The official Go SDK (openai-go) against Quire on a real socket and a real
// Ollama with the project's tiny models. Retries are off so that a status
// clients would retry shows up as itself.

type v1Fixture struct {
	ts      *testServer
	o       *ollamatest.Server
	base    string // http://127.0.0.1:port
	key     string // bound to the workspace
	loose   string // a personal key without a workspace
	client  openai.Client
	owner   user
	ws      api.WorkspaceJSON
	started time.Time
}

func newV1Fixture(t *testing.T, mutate ...func(*config.Config)) *v1Fixture {
	t.Helper()
	o := ollamaForTest(t)
	ts := newTestServer(t, append([]func(*config.Config){func(c *config.Config) { c.OllamaURL = o.URL }}, mutate...)...)
	setModels(t, ts, o)
	f := &v1Fixture{ts: ts, o: o, base: "http://" + ts.listen(), started: time.Now()}
	f.owner = ts.signup("sdk")
	f.ws = ts.createWorkspace(f.owner, "Acme")
	var key, loose api.TokenJSON
	ts.must(201, req{method: "POST", path: "/api/me/tokens", token: f.owner.token, body: map[string]string{"name": "sdk", "workspace_id": f.ws.ID}}).json(&key)
	ts.must(201, req{method: "POST", path: "/api/me/tokens", token: f.owner.token, body: map[string]string{"name": "loose"}}).json(&loose)
	f.key, f.loose = key.Token, loose.Token
	f.client = f.sdk(f.key)
	return f
}

func (f *v1Fixture) sdk(key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(f.base+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
}

// raw posts a JSON body to a /v1 path and returns the status and body.
func (f *v1Fixture) raw(t *testing.T, method, path, key string, body any, header ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	r, _ := http.NewRequest(method, f.base+path, rd)
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// apiErr asserts err is an OpenAI error with that status and code, and returns it.
func apiErr(t *testing.T, err error, status int, code string) *openai.Error {
	t.Helper()
	var ae *openai.Error
	if !errors.As(err, &ae) {
		t.Fatalf("want an *openai.Error %d %s, got %v", status, code, err)
	}
	if ae.StatusCode != status || (code != "" && ae.Code != code) || ae.Message == "" || ae.Type == "" {
		t.Fatalf("want %d %s, got %d code=%q type=%q param=%q: %s", status, code, ae.StatusCode, ae.Code, ae.Type, ae.Param, ae.Message)
	}
	return ae
}

func TestV1SDKChat(t *testing.T) {
	f := newV1Fixture(t)
	ctx := t.Context()
	chatModel := f.o.ChatModel

	// Plain: developer and several system messages, the resolved model, fingerprint, logprobs null.
	res, err := f.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: chatModel, Messages: []openai.ChatCompletionMessageParamUnion{
		openai.SystemMessage("Be brief."), openai.DeveloperMessage("Answer in English."), openai.UserMessage("Hello?")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Choices) != 1 || res.Choices[0].Message.Content != f.o.ChatSentence || res.Choices[0].FinishReason != "stop" ||
		res.Model != chatModel+":latest" || res.SystemFingerprint == "" || res.Usage.CompletionTokens == 0 || res.Choices[0].Logprobs.JSON.Content.Valid() {
		t.Fatalf("completion %s", res.RawJSON())
	}

	// Streamed with include_usage: a last chunk with no choices and the usage; citations on the finishing chunk.
	stream := f.client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: chatModel,
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
	acc := openai.ChatCompletionAccumulator{}
	var last openai.ChatCompletionChunk
	sawCitations := false
	for stream.Next() {
		last = stream.Current()
		acc.AddChunk(last)
		if len(last.Choices) > 0 && last.Choices[0].FinishReason != "" {
			sawCitations = strings.Contains(last.RawJSON(), `"citations":[]`)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content != f.o.ChatSentence || len(last.Choices) != 0 || last.Usage.CompletionTokens == 0 || last.Usage.PromptTokens == 0 || !sawCitations {
		t.Fatalf("stream: %q, last chunk %s, citations %v", acc.Choices[0].Message.Content, last.RawJSON(), sawCitations)
	}

	// stop and seed reach Ollama: the reply ends before the stop word; the same seed gives the same reply.
	res, err = f.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: chatModel, Seed: openai.Int(7),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")},
		Stop:     openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{" documents"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Choices[0].Message.Content; got != "Quire answers from your" {
		t.Fatalf("stop: %q", got)
	}

	// Assistant prefill (the conversation ends with an assistant message) is a request like any other.
	if _, err := f.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: chatModel, Messages: []openai.ChatCompletionMessageParamUnion{
		openai.UserMessage("Hi"), openai.AssistantMessage("Quire")}}); err != nil {
		t.Fatal(err)
	}

	// JSON mode and a JSON schema become Ollama's format (its grammar constrains the tiny model's output).
	for _, rf := range []openai.ChatCompletionNewParamsResponseFormatUnion{
		{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}},
		{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "city",
			Schema: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}}}},
	} {
		res, err := f.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: chatModel, MaxCompletionTokens: openai.Int(40),
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}, ResponseFormat: rf})
		if err != nil {
			t.Fatal(err)
		}
		if c := res.Choices[0].Message.Content; c == f.o.ChatSentence || !strings.HasPrefix(strings.TrimSpace(c), "{") {
			t.Fatalf("json format ignored: %q", c)
		}
	}

	// logprobs pass through.
	res, err = f.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: chatModel, Logprobs: openai.Bool(true),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if lp := res.Choices[0].Logprobs.Content; len(lp) == 0 || lp[0].Token != "Quire" {
		t.Fatalf("logprobs %s", res.Choices[0].Logprobs.RawJSON())
	}

	// What cannot be honoured is a 400 naming the field.
	_, err = f.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: chatModel, N: openai.Int(2),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}})
	if ae := apiErr(t, err, 400, "invalid_request"); ae.Param != "n" {
		t.Fatalf("n: param %q", ae.Param)
	}
	resp, body := f.raw(t, "POST", "/v1/chat/completions", f.key, map[string]any{"model": chatModel, "messages": []map[string]string{{"role": "user", "content": "Hi"}}, "audio": map[string]any{"voice": "alloy"}})
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"param":"audio"`) {
		t.Fatalf("unknown field: %d %s", resp.StatusCode, body)
	}
	_, err = f.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: chatModel, Messages: []openai.ChatCompletionMessageParamUnion{
		openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{openai.TextContentPart("What is this?"),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64,iVBORw0KGgo="})})}})
	if ae := apiErr(t, err, 400, ""); ae.Param != "messages" || !strings.Contains(ae.Message, "cannot read images") {
		t.Fatalf("image to a text model: %s", ae.Message)
	}

	// The client owns the conversation: one that does not fit is refused, not cut.
	long := strings.Repeat("word ", 150_000) // 300k words is over max_body_kb: 413 before it is read
	_, err = f.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: chatModel, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(long)}})
	apiErr(t, err, 400, "context_length_exceeded")
	turns := make([]openai.ChatCompletionMessageParamUnion, 0, 1000)
	for i := range 500 {
		turns = append(turns, openai.UserMessage("question number "+strings.Repeat("x", i%20)), openai.AssistantMessage("an answer of a few words"))
	}
	turns = append(turns, openai.UserMessage("and now?"))
	_, err = f.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: chatModel, Messages: turns})
	apiErr(t, err, 400, "context_length_exceeded")
}

func TestV1SDKTools(t *testing.T) {
	f := newV1Fixture(t)
	ctx := t.Context()
	if err := f.o.CreateToolModel(ctx, ollamatest.ToolModel); err != nil {
		t.Fatal(err)
	}
	weather := openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather", Description: openai.String("The weather in a city"),
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}})
	params := openai.ChatCompletionNewParams{Model: ollamatest.ToolModel, Tools: []openai.ChatCompletionToolUnionParam{weather},
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")}}
	res, err := f.client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	msg := res.Choices[0].Message
	if res.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != "get_weather" ||
		msg.ToolCalls[0].ID == "" || msg.ToolCalls[0].Type != "function" {
		t.Fatalf("tool call %s", res.RawJSON())
	}
	var args map[string]string
	if err := json.Unmarshal([]byte(msg.ToolCalls[0].Function.Arguments), &args); err != nil || args["city"] != "Paris" {
		t.Fatalf("arguments %q", msg.ToolCalls[0].Function.Arguments)
	}

	// The agent loop's second call: the assistant's tool call and the tool's result.
	params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage(`{"temperature_c": 21}`, msg.ToolCalls[0].ID))
	if _, err := f.client.Chat.Completions.New(ctx, params); err != nil {
		t.Fatal(err)
	}

	// Streamed: the tool call arrives in a chunk, the stream finishes with tool_calls.
	stream := f.client.Chat.Completions.NewStreaming(ctx, params)
	acc := openai.ChatCompletionAccumulator{}
	finish := ""
	for stream.Next() {
		ch := stream.Current()
		acc.AddChunk(ch)
		if len(ch.Choices) > 0 && ch.Choices[0].FinishReason != "" {
			finish = ch.Choices[0].FinishReason
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if finish != "tool_calls" || len(acc.Choices[0].Message.ToolCalls) != 1 || acc.Choices[0].Message.ToolCalls[0].Function.Name != "get_weather" {
		t.Fatalf("streamed tool call: finish %q, %+v", finish, acc.Choices[0].Message)
	}

	// tool_choice that cannot be forced, and tools to a model without tool support, are 400s.
	params.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}
	_, err = f.client.Chat.Completions.New(ctx, params)
	if ae := apiErr(t, err, 400, ""); ae.Param != "tool_choice" {
		t.Fatalf("tool_choice param %q", ae.Param)
	}
	params.ToolChoice, params.Model = openai.ChatCompletionToolChoiceOptionUnionParam{}, f.o.ChatModel
	_, err = f.client.Chat.Completions.New(ctx, params)
	if ae := apiErr(t, err, 400, ""); ae.Param != "tools" {
		t.Fatalf("tools to a model without tools: param %q", ae.Param)
	}
}

func TestV1SDKEmbeddings(t *testing.T) {
	f := newV1Fixture(t)
	ctx := t.Context()
	model := f.o.EmbedModel
	res, err := f.client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: model, Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"alpha beta", "gamma"}},
		EncodingFormat: openai.EmbeddingNewParamsEncodingFormatFloat})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Data) != 2 || len(res.Data[1].Embedding) != f.o.EmbedDim || res.Data[1].Index != 1 || res.Usage.PromptTokens == 0 {
		t.Fatalf("embeddings: %d items", len(res.Data))
	}
	// base64 (what the Node SDK and LangChain.js ask for by default): little-endian float32s, the same vector.
	resp, body := f.raw(t, "POST", "/v1/embeddings", f.key, map[string]any{"model": model, "input": "gamma", "encoding_format": "base64"})
	var b64 struct {
		Data []struct{ Embedding string }
	}
	json.Unmarshal(body, &b64)
	if resp.StatusCode != 200 || len(b64.Data) != 1 {
		t.Fatalf("base64: %d %s", resp.StatusCode, body)
	}
	raw, _ := base64.StdEncoding.DecodeString(b64.Data[0].Embedding)
	if len(raw) != 4*f.o.EmbedDim {
		t.Fatalf("base64: %d bytes for %d dimensions", len(raw), f.o.EmbedDim)
	}
	for i := range f.o.EmbedDim {
		got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		if math.Abs(float64(got)-res.Data[1].Embedding[i]) > 1e-6 {
			t.Fatalf("base64 dimension %d: %v, float gave %v", i, got, res.Data[1].Embedding[i])
		}
	}
	// dimensions reach Ollama.
	res, err = f.client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: model, Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("gamma")}, Dimensions: openai.Int(64)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Data[0].Embedding) != 64 {
		t.Fatalf("dimensions 64: got %d", len(res.Data[0].Embedding))
	}
	// Refused: another encoding, token arrays, a chat model.
	resp, body = f.raw(t, "POST", "/v1/embeddings", f.key, map[string]any{"model": model, "input": "gamma", "encoding_format": "int8"})
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"param":"encoding_format"`) {
		t.Fatalf("int8: %d %s", resp.StatusCode, body)
	}
	_, err = f.client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: model, Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokens: []int64{1, 2}}})
	apiErr(t, err, 400, "invalid_request")
	_, err = f.client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: f.o.ChatModel, Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}})
	apiErr(t, err, 400, "invalid_request")
}

func TestV1SDKModelsAndErrors(t *testing.T) {
	f := newV1Fixture(t, func(c *config.Config) { c.V1RequestsPerMinute = 40 })
	ctx := t.Context()
	page, err := f.client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, m := range page.Data {
		var x struct{ Type string }
		json.Unmarshal([]byte(m.RawJSON()), &x)
		types[strings.TrimSuffix(m.ID, ":latest")] = x.Type
	}
	if types[f.o.ChatModel] != "chat" || types[f.o.EmbedModel] != "embedding" {
		t.Fatalf("model types %v", types)
	}
	m, err := f.client.Models.Get(ctx, f.o.ChatModel)
	if err != nil || m.ID != f.o.ChatModel+":latest" || m.Object != "model" {
		t.Fatalf("retrieve: %v %+v", err, m)
	}
	_, err = f.client.Models.Get(ctx, "no-such-model")
	apiErr(t, err, 404, "model_not_found")

	// An unknown model is a 404 clients do not retry; an embedding model sent to chat a 400.
	_, err = f.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "typo-model", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}})
	if ae := apiErr(t, err, 404, "model_not_found"); ae.Param != "model" {
		t.Fatalf("param %q", ae.Param)
	}
	_, err = f.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: f.o.EmbedModel, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}})
	apiErr(t, err, 400, "invalid_request")
	_, err = f.client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "typo-embed", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}})
	apiErr(t, err, 404, "model_not_found")

	// Keys: unknown 401, unbound 403.
	bad := f.sdk("qk_not-a-key")
	_, err = bad.Models.List(ctx)
	if ae := apiErr(t, err, 401, "invalid_api_key"); ae.Type != "authentication_error" {
		t.Fatalf("401 type %q", ae.Type)
	}
	unbound := f.sdk(f.loose)
	_, err = unbound.Models.List(ctx)
	if ae := apiErr(t, err, 403, ""); ae.Type != "permission_error" {
		t.Fatalf("403 type %q", ae.Type)
	}

	// /api keeps its own error shape.
	resp, body := f.raw(t, "GET", "/api/workspaces/"+f.ws.ID+"/chats/nope", f.owner.token, nil)
	if resp.StatusCode != 404 || !strings.Contains(string(body), `"code":"not_found"`) || strings.Contains(string(body), `"type"`) {
		t.Fatalf("/api error shape: %s", body)
	}

	// Every response has a request id; a client's own is kept.
	resp, _ = f.raw(t, "GET", "/v1/models", f.key, nil, "X-Request-Id", "abc-123")
	if resp.Header.Get("X-Request-Id") != "abc-123" {
		t.Fatalf("request id %q", resp.Header.Get("X-Request-Id"))
	}
	if resp, _ := f.raw(t, "GET", "/api/health", "", nil); !strings.HasPrefix(resp.Header.Get("X-Request-Id"), "req_") {
		t.Fatalf("request id %q", resp.Header.Get("X-Request-Id"))
	}

	// Quota spent: 429 insufficient_quota on /v1 (402 quota_exceeded on /api).
	f.ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: f.owner.token, body: map[string]any{"token_limit": 1}})
	f.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: f.o.ChatModel, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}})
	_, err = f.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: f.o.ChatModel, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}})
	if ae := apiErr(t, err, 429, "insufficient_quota"); ae.Type != "insufficient_quota" {
		t.Fatalf("quota type %q", ae.Type)
	}
	f.ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: f.owner.token, body: map[string]any{"token_limit": 0}})

	// Per-key rate limit: 429 with Retry-After.
	var last *http.Response
	for range 50 {
		if last, _ = f.raw(t, "GET", "/v1/models/"+f.o.ChatModel, f.key, nil); last.StatusCode == 429 {
			break
		}
	}
	if last.StatusCode != 429 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("rate limit: %d, Retry-After %q", last.StatusCode, last.Header.Get("Retry-After"))
	}
	_, err = f.client.Models.List(ctx)
	apiErr(t, err, 429, "rate_limited")
}

func TestV1SDKResponses(t *testing.T) {
	f := newV1Fixture(t)
	ctx := t.Context()
	res, err := f.client.Responses.New(ctx, responses.ResponseNewParams{Model: shared.ResponsesModel(f.o.ChatModel),
		Instructions: openai.String("Be brief."), Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hello?")}})
	if err != nil {
		t.Fatal(err)
	}
	if res.OutputText() != f.o.ChatSentence || res.Status != "completed" || res.Usage.OutputTokens == 0 {
		t.Fatalf("response %s", res.RawJSON())
	}
	stream := f.client.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: shared.ResponsesModel(f.o.ChatModel),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hello?")}})
	var text strings.Builder
	completed := ""
	for stream.Next() {
		ev := stream.Current()
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.Delta)
		case "response.completed":
			completed = ev.Response.OutputText()
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != f.o.ChatSentence || completed != f.o.ChatSentence {
		t.Fatalf("streamed response %q, completed %q", text.String(), completed)
	}
	_, err = f.client.Responses.New(ctx, responses.ResponseNewParams{Model: shared.ResponsesModel(f.o.ChatModel),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi")}, PreviousResponseID: openai.String("resp_x")})
	if ae := apiErr(t, err, 400, ""); ae.Param != "previous_response_id" {
		t.Fatalf("previous_response_id: %q", ae.Param)
	}
}

// The browser path: a preflight from any origin is answered (no cookies on
// /v1), the real request carries the CORS headers, and a configured list of
// origins is honoured.
func TestV1CORSPreflight(t *testing.T) {
	f := newV1Fixture(t)
	resp, _ := f.raw(t, "OPTIONS", "/v1/chat/completions", "", nil, "Origin", "https://app.example", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization, content-type, x-stainless-os")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "authorization") ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("preflight %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = f.raw(t, "GET", "/v1/models", f.key, nil, "Origin", "https://app.example")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("CORS on the request: %d %v", resp.StatusCode, resp.Header)
	}
	// /api gets no CORS.
	if resp, _ := f.raw(t, "OPTIONS", "/api/me", "", nil, "Origin", "https://app.example", "Access-Control-Request-Method", "GET"); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("/api answered CORS: %v", resp.Header)
	}

	g := newV1Fixture(t, func(c *config.Config) { c.V1CORSOrigins = "https://allowed.example" })
	if resp, _ := g.raw(t, "OPTIONS", "/v1/models", "", nil, "Origin", "https://other.example", "Access-Control-Request-Method", "GET"); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("a foreign origin was allowed: %v", resp.Header)
	}
	if resp, _ := g.raw(t, "OPTIONS", "/v1/models", "", nil, "Origin", "https://allowed.example", "Access-Control-Request-Method", "GET"); resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://allowed.example" {
		t.Fatalf("the configured origin: %d %v", resp.StatusCode, resp.Header)
	}
}

// max_tokens is honoured or refused: a reply budget that leaves no room for
// the conversation is 400 context_length_exceeded, not a reply silently cut.
func TestV1MaxTokensIsNotCutSilently(t *testing.T) {
	f := newV1Fixture(t)
	_, err := f.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: f.o.ChatModel, MaxTokens: openai.Int(4090),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(strings.Repeat("many words here ", 100))}})
	apiErr(t, err, 400, "context_length_exceeded")
	res, err := f.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: f.o.ChatModel, MaxTokens: openai.Int(3000),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}})
	if err != nil || res.Choices[0].Message.Content != f.o.ChatSentence {
		t.Fatalf("max_tokens 3000 of 4096: %v", err)
	}
}

// Grounded completions carry their citations, streamed or not.
func TestV1SDKCitationsInTheStream(t *testing.T) {
	f := newV1Fixture(t)
	startProcessing(t, f.ts)
	var kb api.KbJSON
	f.ts.must(201, req{method: "POST", path: "/api/workspaces/" + f.ws.ID + "/knowledge-bases", token: f.owner.token, body: map[string]any{"name": "Policies"}}).json(&kb)
	var d api.DocumentJSON
	f.ts.upload(f.owner, f.ws.ID, "travel.md", []byte("# Travel\n\nEconomy class flights are booked through the travel desk."), map[string]string{"knowledge_base_ids": kb.ID}).json(&d)
	f.ts.waitReady(f.owner, f.ws.ID, d.ID)

	params := openai.ChatCompletionNewParams{Model: f.o.ChatModel, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("How are flights booked?")}}
	withKB := option.WithJSONSet("knowledge_base_ids", []string{kb.ID})
	type cited struct {
		Citations []struct {
			N            int    `json:"n"`
			DocumentName string `json:"document_name"`
			Cited        bool   `json:"cited"`
		} `json:"citations"`
	}
	res, err := f.client.Chat.Completions.New(t.Context(), params, withKB)
	if err != nil {
		t.Fatal(err)
	}
	var plain cited
	json.Unmarshal([]byte(res.RawJSON()), &plain)
	if len(plain.Citations) != 1 || plain.Citations[0].DocumentName != "travel.md" || !plain.Citations[0].Cited {
		t.Fatalf("citations %s", res.RawJSON())
	}
	stream := f.client.Chat.Completions.NewStreaming(t.Context(), params, withKB)
	var streamed cited
	for stream.Next() {
		if ch := stream.Current(); len(ch.Choices) > 0 && ch.Choices[0].FinishReason != "" {
			json.Unmarshal([]byte(ch.RawJSON()), &streamed)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(streamed.Citations) != 1 || streamed.Citations[0].DocumentName != "travel.md" || !streamed.Citations[0].Cited {
		t.Fatalf("streamed citations %+v", streamed)
	}
}

// Legacy text completions continue the prompt as raw text through Ollama's
// generate API (no chat template, so far fewer prompt tokens than a chat of
// the same text); the tiny model writes its sentence.
func TestV1SDKTextCompletions(t *testing.T) {
	f := newV1Fixture(t)
	params := openai.CompletionNewParams{Model: openai.CompletionNewParamsModel(f.o.ChatModel), MaxTokens: openai.Int(20),
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Quire answers")}}
	res, err := f.client.Completions.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Choices) != 1 || res.Choices[0].Text != f.o.ChatSentence || res.Choices[0].FinishReason != "stop" || res.Usage.CompletionTokens == 0 || res.Object != "text_completion" {
		t.Fatalf("completion %s", res.RawJSON())
	}
	asChat, err := f.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: f.o.ChatModel, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Quire answers")}})
	if err != nil || res.Usage.PromptTokens >= asChat.Usage.PromptTokens {
		t.Fatalf("raw prompt %d tokens, as a chat %d: %v", res.Usage.PromptTokens, asChat.Usage.PromptTokens, err)
	}
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := f.client.Completions.NewStreaming(t.Context(), params)
	var text strings.Builder
	usage := int64(0)
	for stream.Next() {
		ch := stream.Current()
		if len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Text)
		}
		usage += ch.Usage.CompletionTokens
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != f.o.ChatSentence || usage == 0 {
		t.Fatalf("streamed %q, usage %d", text.String(), usage)
	}
	params.Echo = openai.Bool(true)
	_, err = f.client.Completions.New(t.Context(), params)
	if ae := apiErr(t, err, 400, ""); ae.Param != "echo" {
		t.Fatalf("echo: %q", ae.Param)
	}
}
