"""The Qt-free core: loading, the model, maps, scoring, crop search, cache, sidecars, export."""
