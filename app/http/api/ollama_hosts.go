package api

import (
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/config"
	"quire/app/fault"
	"quire/app/http/request"
	"quire/app/llm"
	"quire/app/ops"
)

// OllamaHostJSON is one host of the pool (GET /api/admin/ollama-hosts).
type OllamaHostJSON struct {
	ID     string `json:"id"`
	URL    string `json:"url"`
	Label  string `json:"label"`
	Weight int    `json:"weight"`
	// Primary is the Ollama URL setting's host (edited in Settings); Editable
	// says whether this API may change or remove the host.
	Primary   bool       `json:"primary"`
	Editable  bool       `json:"editable"`
	Status    string     `json:"status"` // up, down, unknown (not checked yet)
	LastError string     `json:"last_error"`
	CheckedAt *time.Time `json:"checked_at"`
	InFlight  int64      `json:"in_flight"`
	Models    []string   `json:"models"` // as last listed; [] when never listed
	Requests  struct {
		OK      uint64 `json:"ok"`
		Failed  uint64 `json:"failed"`
		Retried uint64 `json:"retried"`
	} `json:"requests"`
}

// OllamaHostViews describes the pool, primary first.
func (s *Handlers) OllamaHostViews() []OllamaHostJSON {
	locked := s.Settings.PoolLocked() != ""
	hosts := s.LLM.Hosts()
	out := make([]OllamaHostJSON, len(hosts))
	for i, h := range hosts {
		v := OllamaHostJSON{ID: h.ID, URL: h.URL, Label: h.Label, Weight: h.Weight, Primary: h.Primary, Editable: !locked && !h.Primary,
			Status: h.State, LastError: h.LastError, InFlight: h.InFlight, Models: h.Models}
		if v.Models == nil {
			v.Models = []string{}
		}
		if !h.CheckedAt.IsZero() {
			at := h.CheckedAt.UTC()
			v.CheckedAt = &at
		}
		v.Requests.OK, v.Requests.Failed, v.Requests.Retried = h.OK, h.Failed, h.Retried
		out[i] = v
	}
	return out
}

func (s *Handlers) ListOllamaHosts(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"items": s.OllamaHostViews(), "locked": s.Settings.PoolLocked()})
}

type ollamaHostIn struct {
	URL    *string `json:"url"`
	Label  *string `json:"label"`
	Weight *int    `json:"weight"`
}

// apply sets the fields given and checks the result.
func (in ollamaHostIn) apply(h *config.OllamaHost) error {
	if in.URL != nil {
		h.URL = *in.URL
	}
	if in.Label != nil {
		h.Label = *in.Label
	}
	if in.Weight != nil {
		h.Weight = *in.Weight
	}
	return llm.CheckHost(llm.HostConfig{URL: h.URL, Weight: h.Weight, Label: h.Label})
}

// AddOllamaHost adds a host to the pool (POST /api/admin/ollama-hosts).
func (s *Handlers) AddOllamaHost(c *fiber.Ctx) error {
	var in ollamaHostIn
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.URL == nil {
		return request.Invalid("url", "Type the Ollama host's URL, such as http://10.0.0.5:11434.")
	}
	var added config.OllamaHost
	err := s.Settings.EditOllamaHosts(c.UserContext(), func(hosts []config.OllamaHost) ([]config.OllamaHost, error) {
		if err := in.apply(&added); err != nil {
			return nil, err
		}
		added.URL = llm.NormalizeURL(added.URL)
		if len(hosts)+1 >= llm.MaxHosts {
			return nil, fault.Field("url", "The pool has %d hosts already, the most Quire checks.", llm.MaxHosts)
		}
		return append(hosts, added), nil
	})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(s.hostView(llm.HostID(added.URL)))
}

// PatchOllamaHost changes a host's URL, label or weight.
func (s *Handlers) PatchOllamaHost(c *fiber.Ctx) error {
	var in ollamaHostIn
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	id := c.Params("id")
	var changed config.OllamaHost
	err := s.Settings.EditOllamaHosts(c.UserContext(), func(hosts []config.OllamaHost) ([]config.OllamaHost, error) {
		i, err := s.storedHost(hosts, id)
		if err != nil {
			return nil, err
		}
		hosts = slices.Clone(hosts)
		if err := in.apply(&hosts[i]); err != nil {
			return nil, err
		}
		changed = hosts[i]
		return hosts, nil
	})
	if err != nil {
		return err
	}
	return c.JSON(s.hostView(llm.HostID(changed.URL)))
}

// DeleteOllamaHost takes a host out of the pool; calls it is serving finish.
func (s *Handlers) DeleteOllamaHost(c *fiber.Ctx) error {
	id := c.Params("id")
	err := s.Settings.EditOllamaHosts(c.UserContext(), func(hosts []config.OllamaHost) ([]config.OllamaHost, error) {
		i, err := s.storedHost(hosts, id)
		if err != nil {
			return nil, err
		}
		return slices.Delete(slices.Clone(hosts), i, i+1), nil
	})
	if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// storedHost finds the admin's host with this id; the primary host is the
// Ollama URL setting, changed in Settings.
func (s *Handlers) storedHost(hosts []config.OllamaHost, id string) (int, error) {
	for i, h := range hosts {
		if llm.HostID(h.URL) == id {
			return i, nil
		}
	}
	if id == llm.HostID(s.LLM.BaseURL()) {
		return 0, &fault.Error{Kind: fault.Conflict, Code: "primary_host",
			Message: "This is the Ollama URL of Administration → Settings: change it there."}
	}
	return 0, request.NotFound("Ollama host")
}

func (s *Handlers) hostView(id string) OllamaHostJSON {
	for _, h := range s.OllamaHostViews() {
		if h.ID == id {
			return h
		}
	}
	return OllamaHostJSON{ID: id}
}

// ollamaHostGauges are the per-host series of /metrics (the request counts
// are ops' quire_ollama_host_requests_total).
func (s *Handlers) ollamaHostGauges() []ops.Gauge {
	up := ops.Gauge{Name: "quire_ollama_host_up", Help: "Whether each Ollama host of the pool answered its last check or call (1), or not (0); unknown hosts are not listed."}
	inFlight := ops.Gauge{Name: "quire_ollama_host_in_flight", Help: "Calls each Ollama host of the pool is serving now."}
	for _, h := range s.LLM.Hosts() {
		labels := []string{"host", h.URL, "label", h.Label}
		switch h.State {
		case llm.StateUp:
			up.Samples = append(up.Samples, ops.Sample{Labels: labels, Value: 1})
		case llm.StateDown:
			up.Samples = append(up.Samples, ops.Sample{Labels: labels, Value: 0})
		}
		inFlight.Samples = append(inFlight.Samples, ops.Sample{Labels: labels, Value: float64(h.InFlight)})
	}
	return []ops.Gauge{up, inFlight}
}
