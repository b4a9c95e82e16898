package fingerprint

// BlobFrame is the generated test frame (pattern) for the external tests.
var BlobFrame = pattern
