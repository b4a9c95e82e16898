package media

// closer releases resources in the reverse order of their creation (LIFO),
// as go-astiav's examples do with astikit.Closer. Close may be called
// twice; the second call does nothing.
type closer struct {
	fns []func()
}

func (c *closer) add(fn func()) { c.fns = append(c.fns, fn) }

// Close runs every release function, newest first. FFmpeg's free
// functions report no errors, so neither does Close; the error result
// keeps the shape of an owner's Close.
func (c *closer) Close() error {
	for i := len(c.fns) - 1; i >= 0; i-- {
		c.fns[i]()
	}
	c.fns = nil
	return nil
}
