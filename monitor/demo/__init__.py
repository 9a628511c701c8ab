"""The offline demo: a bundled scenario replayed through the real collectors and pipeline."""
