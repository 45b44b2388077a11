package links

import (
	"context"
	"errors"
	"testing"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
)

type tokens map[string]string

func (t tokens) Token(id string) string { return t[id] }

type issuer struct {
	tok    string
	err    error
	issued int
}

func (i *issuer) Issue(context.Context, followup.Reminder) (string, error) {
	i.issued++
	return i.tok, i.err
}

func TestLinksCarryTheCustomersTokenUnderTheBaseURL(t *testing.T) {
	l := New("https://t.example/", tokens{"c1": "tok en/1"}, nil)
	tests := []struct {
		name, got, want string
	}{
		{"an unsubscribe link names the customer by their token", l.Unsubscribe("c1"), "https://t.example/v1/unsubscribe?t=tok+en%2F1"},
		{"a survey link adds the reminder it answers", l.Survey("rem 1", "c1"), "https://t.example/v1/feedback?t=tok+en%2F1&r=rem+1"},
		{"a customer without a token gets no unsubscribe link", l.Unsubscribe("c2"), ""},
		{"a customer without a token gets no survey link", l.Survey("rem-1", "c2"), ""},
		{"without a base URL there is no link", New("", tokens{"c1": "t"}, nil).Unsubscribe("c1"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestAConfirmationLinkIsIssuedOnlyWhereItCanBeFollowed(t *testing.T) {
	ctx := context.Background()
	r := followup.Reminder{ID: "rem-1", CustomerID: "c1"}

	is := &issuer{tok: "abc"}
	if got, err := New("https://t.example", nil, is).ConsentConfirm(ctx, r); err != nil || got != "https://t.example/v1/consent/confirm?t=abc" {
		t.Fatalf("link %q, err %v", got, err)
	}

	none := &issuer{tok: "abc"}
	if got, err := New("", nil, none).ConsentConfirm(ctx, r); err != nil || got != "" || none.issued != 0 {
		t.Fatalf("without a base URL: link %q, err %v, %d tokens issued; want no link and no token", got, err, none.issued)
	}

	gone := &issuer{err: app.ErrNotFound}
	if _, err := New("https://t.example", nil, gone).ConsentConfirm(ctx, r); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("nothing to confirm: %v, want app.ErrNotFound", err)
	}
}
