package verify

import (
	"image"
	"image/color"
	"testing"
)

// fill returns a w×h image of one colour.
func fill(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func TestCompare(t *testing.T) {
	grey := color.RGBA{R: 100, G: 100, B: 100, A: 255}
	onePixel := fill(10, 10, grey)
	onePixel.SetRGBA(3, 4, color.RGBA{R: 200, G: 100, B: 100, A: 255})
	slight := fill(10, 10, color.RGBA{R: 100 + Tolerance, G: 100 - Tolerance, B: 100, A: 255})
	offset := fill(10, 10, grey).SubImage(image.Rect(2, 2, 10, 10)) // bounds not at 0,0: compared from its top left
	for _, tc := range []struct {
		name      string
		a, b      image.Image
		w, h      int
		differing int
		red       []image.Point // pixels the diff image must show in red
	}{
		{name: "identical", a: fill(10, 10, grey), b: fill(10, 10, grey), w: 10, h: 10},
		{name: "within the tolerance", a: fill(10, 10, grey), b: slight, w: 10, h: 10},
		{name: "one pixel", a: fill(10, 10, grey), b: onePixel, w: 10, h: 10, differing: 1, red: []image.Point{{3, 4}}},
		// 10×12 against 12×10: the union is 12×12; the common 10×10 is
		// the same, the rest (144-100 pixels) is in one image only.
		{name: "size mismatch", a: fill(10, 12, grey), b: fill(12, 10, grey), w: 12, h: 12, differing: 144 - 100, red: []image.Point{{11, 0}, {0, 11}, {11, 11}}},
		{name: "sub-image", a: offset, b: fill(8, 8, grey), w: 8, h: 8},
		{name: "empty", a: image.NewRGBA(image.Rect(0, 0, 0, 0)), b: image.NewRGBA(image.Rect(0, 0, 0, 0))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, diff := Compare(tc.a, tc.b, Tolerance)
			if d.Width != tc.w || d.Height != tc.h || d.Differing != tc.differing {
				t.Fatalf("Compare: %+v, want %dx%d with %d differing", d, tc.w, tc.h, tc.differing)
			}
			if want := 100 * float64(tc.differing) / float64(max(tc.w*tc.h, 1)); d.Percent != want {
				t.Errorf("Percent %v, want %v", d.Percent, want)
			}
			if b := diff.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Errorf("diff image %v, want %dx%d", b, tc.w, tc.h)
			}
			red := map[image.Point]bool{}
			for _, p := range tc.red {
				red[p] = true
			}
			n := 0
			for y := range tc.h {
				for x := range tc.w {
					c := diff.RGBAAt(x, y)
					isRed := c == color.RGBA{R: 255, A: 255}
					if isRed {
						n++
					}
					if red[image.Pt(x, y)] && !isRed {
						t.Errorf("diff pixel %d,%d is %v, want red", x, y, c)
					}
					if !isRed && (c.R != c.G || c.G != c.B || c.A != 255) {
						t.Errorf("diff pixel %d,%d is %v, want an opaque grey", x, y, c)
					}
				}
			}
			if n != tc.differing {
				t.Errorf("diff image has %d red pixels, want %d", n, tc.differing)
			}
		})
	}
}
