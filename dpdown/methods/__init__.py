"""One module per method; each registers itself in dpdown.methods.registry."""
