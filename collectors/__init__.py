"""Source collectors: one module per source kind, each turning a wire format into RawItems."""
