package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse-vpn/gatehouse/server/console"
)

// The console is mounted on the admin listener's mux under /ui/, outside
// the admin API's token check. Signed out, every page sends the browser
// to sign in, and comes back after.
func Example() {
	backend := console.NewFakeBackend() // cmd/gatehouse passes its own
	c, err := console.New(console.Config{Title: "Gatehouse at the branch"}, backend, nil)
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ui/", c)

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/ui/users", nil))
	fmt.Println(w.Code, w.Header().Get("Location"))
	// Output: 303 /ui/signin?next=%2Fui%2Fusers
}
