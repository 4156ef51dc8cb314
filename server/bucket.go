package server

import (
	"math/rand/v2"
	"net/http"
	"strconv"
)

// bucketCookie keeps a browser in its canary bucket, 0..99: a browser
// whose bucket is below a canary's percent gets the canary.
const bucketCookie = "mfshell-bucket"

// bucketOf returns the request's bucket from its cookie, or -1 if it has
// none or a malformed one (anything but a number 0..99 written plainly).
func bucketOf(r *http.Request) int {
	c, err := r.Cookie(bucketCookie)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(c.Value)
	if err != nil || n < 0 || n > 99 || strconv.Itoa(n) != c.Value {
		return -1
	}
	return n
}

// pageBucket returns the bucket of a shell page's request, giving the
// browser a new one, uniformly at random, and its cookie if it had none.
func pageBucket(w http.ResponseWriter, r *http.Request) int {
	if b := bucketOf(r); b >= 0 {
		return b
	}
	b := rand.IntN(100)
	http.SetCookie(w, &http.Cookie{
		Name:     bucketCookie,
		Value:    strconv.Itoa(b),
		Path:     "/",
		MaxAge:   365 * 24 * 3600,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
	return b
}
