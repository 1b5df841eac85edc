package knowledge_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"strings"
	"testing"

	"quire/app/fault"
	"quire/app/knowledge"
)

// A refused type is told in one sentence that names the file, what it is in
// people's words and, once, what can be uploaded instead.
func TestUnsupportedTypeIsOneClearSentence(t *testing.T) {
	e := newEnv(t, noOllama, "")
	var img bytes.Buffer
	if err := png.Encode(&img, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, says string }{
		{"scan.png", "scan.png: PNG images are not supported; upload PDF"},
		{"data.bin", "data.bin: this type of file is not supported; upload PDF"},
		{"notes.json", "notes.json: .json files are not supported; upload PDF"},
	} {
		content := img.Bytes()
		switch tc.file {
		case "data.bin":
			content = []byte{0, 1, 2, 3, 0xff, 0xfe, 0}
		case "notes.json":
			content = []byte(`{"a": 1}`)
		}
		_, err := e.svc.Add(context.Background(), e.ws.ID, e.admin(), knowledge.NewDocument{Source: e.stage(t, tc.file, content)})
		f, ok := fault.As(err)
		if !ok || f.Kind != fault.Unsupported {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if !strings.HasPrefix(f.Message, tc.says) || strings.Count(f.Message, "PDF") != 1 || strings.Count(f.Message, "Word") != 1 {
			t.Errorf("%s is refused with %q", tc.file, f.Message)
		}
	}
	// Advice that is not about the type adds no list.
	_, err := e.svc.Add(context.Background(), e.ws.ID, e.admin(), knowledge.NewDocument{Source: e.stage(t, "old.txt", []byte("\xff\xfeh\x00i\x00"))})
	if f, ok := fault.As(err); !ok || strings.Contains(f.Message, "PDF") || !strings.Contains(f.Message, "UTF-16") {
		t.Errorf("UTF-16 text is refused with %v", err)
	}
}
