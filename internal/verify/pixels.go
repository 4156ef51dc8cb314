package verify

import (
	"image"
	"image/color"
)

// Tolerance is the difference per channel (0 to 255) below which two
// pixels are the same: rounding in the rasterizer, never a visible change.
const Tolerance = 8

// PixelDiff is the result of comparing two screenshots.
type PixelDiff struct {
	// Width and Height are those of the union of the two images, both
	// placed at the top left: pixels one image has and the other has not
	// count as different.
	Width     int     `json:"width"`
	Height    int     `json:"height"`
	Differing int     `json:"differing"`
	Percent   float64 `json:"percent"`
}

// Compare compares a and b pixel by pixel over the union of their sizes.
// A pixel differs when a channel (alpha included) differs by more than
// tolerance, or when it lies outside one of the images. It returns the
// counts and a diff image: differing pixels in red over a faded grey copy
// of a (of b where a has no pixel).
func Compare(a, b image.Image, tolerance uint8) (PixelDiff, *image.RGBA) {
	ab, bb := a.Bounds(), b.Bounds()
	w, h := max(ab.Dx(), bb.Dx()), max(ab.Dy(), bb.Dy())
	diff := image.NewRGBA(image.Rect(0, 0, w, h))
	d := PixelDiff{Width: w, Height: h}
	red := color.RGBA{R: 255, A: 255}
	for y := range h {
		for x := range w {
			pa, inA := at(a, x, y)
			pb, inB := at(b, x, y)
			if !inA || !inB || !same(pa, pb, tolerance) {
				d.Differing++
				diff.SetRGBA(x, y, red)
				continue
			}
			diff.SetRGBA(x, y, faded(pa))
		}
	}
	if w*h > 0 {
		d.Percent = 100 * float64(d.Differing) / float64(w*h)
	}
	return d, diff
}

// at returns the pixel of img at (x, y) counted from its top left, as
// non-premultiplied 8-bit RGBA, and whether img has that pixel.
func at(img image.Image, x, y int) (color.NRGBA, bool) {
	b := img.Bounds()
	if x >= b.Dx() || y >= b.Dy() {
		return color.NRGBA{}, false
	}
	return color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA), true
}

// same reports whether every channel of p and q differs by at most tol.
func same(p, q color.NRGBA, tol uint8) bool {
	close := func(a, b uint8) bool { return max(a, b)-min(a, b) <= tol }
	return close(p.R, q.R) && close(p.G, q.G) && close(p.B, q.B) && close(p.A, q.A)
}

// faded returns p as a light grey, so that red stands out over it.
func faded(p color.NRGBA) color.RGBA {
	lum := (299*int(p.R) + 587*int(p.G) + 114*int(p.B)) / 1000
	// Transparent pixels fade to white.
	lum = (lum*int(p.A) + 255*(255-int(p.A))) / 255
	v := uint8(255 - (255-lum)*3/10)
	return color.RGBA{R: v, G: v, B: v, A: 255}
}
