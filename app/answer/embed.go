package answer

import (
	"context"
	"time"

	"quire/app/chat"
	"quire/app/fault"
	"quire/app/plan"
	"quire/store"
)

// Embed embeds inputs for the caller (/v1/embeddings) under the same
// admission as a reply: a scheduler place, the estimate reserved, the call
// accounted to the workspace. dims > 0 asks for vectors of that many
// dimensions (0: the model's own).
func (s *Service) Embed(ctx context.Context, wsID string, userID int64, model string, inputs []string, dims int) ([][]float32, int, error) {
	tk, err := s.sched.admit(userID, wsID)
	if err != nil {
		return nil, 0, err
	}
	defer tk.release()
	estimate := 0
	for _, text := range inputs {
		estimate += chat.TokenBound(text)
	}
	hold, err := s.plan.Reserve(ctx, wsID, model, estimate, 0)
	if err != nil {
		return nil, 0, err
	}
	if err := tk.wait(ctx); err != nil {
		s.plan.Release(ctx, hold)
		return nil, 0, err
	}
	began := time.Now()
	vecs, tokens, err := s.llm.EmbedDimensions(ctx, model, inputs, dims)
	if err != nil {
		s.plan.Release(ctx, hold)
		if _, ok := fault.As(err); !ok {
			err = fault.Field("model", "%s", err.Error()) // the model server refused these inputs for this model
		}
		return nil, 0, err
	}
	s.plan.Settle(ctx, hold, plan.Call{WorkspaceID: wsID, Kind: store.UsageEmbedding, Model: model, UserID: userID, Input: tokens, Duration: time.Since(began)})
	return vecs, tokens, nil
}
