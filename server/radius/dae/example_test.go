package dae_test

import (
	"context"
	"fmt"
	"net/netip"

	lr "layeh.com/radius"

	"github.com/gatehouse-vpn/gatehouse/server/radius/dae"
	"github.com/gatehouse-vpn/gatehouse/server/radius/dae/daetest"
)

// sessions is a Handler over the gateway's sessions by Acct-Session-Id.
type sessions map[string]string

func (s sessions) Disconnect(ctx context.Context, r *dae.Request) error {
	if _, ok := s[r.SessionID]; !ok {
		return &dae.Error{Cause: dae.SessionContextNotFound, Msg: "no session " + r.SessionID}
	}
	delete(s, r.SessionID)
	return nil
}

func (s sessions) CoA(ctx context.Context, r *dae.Request) error {
	return &dae.Error{Cause: dae.AdministrativelyProhibited, Msg: "CoA is off"}
}

// The gateway answers a RADIUS server's Disconnect-Requests; a second
// request for the same session finds none.
func Example() {
	srv, err := dae.NewServer(dae.Config{
		Clients: []dae.Client{{Prefix: netip.MustParsePrefix("192.0.2.10/32"), Secret: dae.Secret("testing123")}},
		Handler: sessions{"abc": "bob"},
	})
	if err != nil {
		panic(err)
	}
	// The gateway runs: go srv.ListenAndServe(ctx, ":3799")
	// Here the RADIUS server's packets are handed to Handle directly.
	radiusServer := netip.MustParseAddrPort("192.0.2.10:40000")
	for id := range byte(2) {
		req := daetest.MustEncode(lr.CodeDisconnectRequest, id,
			lr.Attributes{{Type: 44, Attribute: lr.Attribute("abc")}}, // Acct-Session-Id
			[]byte("testing123"), true)
		r, err := daetest.Verify(srv.Handle(context.Background(), req, radiusServer), req, []byte("testing123"))
		if err != nil {
			panic(err)
		}
		if r.ErrorCause == 0 {
			fmt.Println(r.Code)
		} else {
			fmt.Println(r.Code, r.ErrorCause)
		}
	}
	// Output:
	// Disconnect-ACK
	// Disconnect-NAK Session-Context-Not-Found
}
