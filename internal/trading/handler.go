package trading

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
)

// maxActionBytes bounds the body of a trader's action.
const maxActionBytes = 16 << 10

// Handler serves the trader's actions over HTTP.
type Handler struct {
	desk *Desk
	log  *slog.Logger
}

// NewHandler returns a Handler acting through desk; log gets one line per
// failed request (nil: none).
func NewHandler(desk *Desk, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{desk: desk, log: log}
}

// Routes mounts POST /v1/games/{id}/suspend and /v1/games/{id}/resume. The
// caller applies authentication (trader and admin roles).
func (h *Handler) Routes(r chi.Router) {
	r.Post("/v1/games/{id}/suspend", h.serve(feed.ActionSuspend))
	r.Post("/v1/games/{id}/resume", h.serve(feed.ActionResume))
}

// actionIn is the body of a trader's action: every member optional (no
// market: the whole game).
type actionIn struct {
	Market string `json:"market"`
	Period string `json:"period"`
	Reason string `json:"reason"`
	Note   string `json:"note"`
}

// decodeAction decodes the body of a trader's action: empty, or a JSON
// object of strings. The error is a field error (Field "" for the body).
func decodeAction(body []byte) (actionIn, *feed.FieldError) {
	var in actionIn
	if len(bytes.TrimSpace(body)) == 0 {
		return in, nil
	}
	err := json.Unmarshal(body, &in)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil && bytes.TrimSpace(body)[0] == '{':
		return in, nil
	case errors.As(err, &te) && te.Field != "":
		return actionIn{}, &feed.FieldError{Field: te.Field, Reason: "must be a string"}
	}
	return actionIn{}, &feed.FieldError{Reason: `the body must be empty or a JSON object {"market","period","reason","note"}`}
}

type marketsBody struct {
	Markets []feed.MarketStatus `json:"markets"`
}

func (h *Handler) serve(action feed.MarketAction) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.PrincipalFrom(r.Context())
		if !ok {
			httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeUnauthorized, Status: http.StatusUnauthorized,
				Detail: "an API key is required"})
			return
		}
		id := chi.URLParam(r, "id")
		if reason := feed.ValidateID(id); reason != "" {
			httpx.Invalid(w, r, http.StatusBadRequest, "", httpx.ParamError("id", reason))
			return
		}
		body, err := httpx.ReadBody(w, r, maxActionBytes)
		if err != nil {
			httpx.Error(w, r, err)
			return
		}
		in, bad := decodeAction(body)
		if httpx.BadBody(w, r, bad, "nothing was changed") {
			return
		}
		act := h.desk.Suspend
		if action == feed.ActionResume {
			act = h.desk.Resume
		}
		out, err := act(r.Context(), p, id, feed.Market(in.Market), feed.Period(in.Period), in.Reason, in.Note)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, marketsBody{Markets: out})
	}
}

// fail writes an error of the desk.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotTrader):
		httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeForbidden, Status: http.StatusForbidden, Detail: err.Error()})
	default:
		if httpx.StatusOf(err) >= 500 {
			h.log.ErrorContext(r.Context(), "trading: store failed", "path", r.URL.Path, "err", err)
		}
		httpx.Error(w, r, err)
	}
}
