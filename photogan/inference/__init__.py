"""Running photogan models with onnxruntime: model descriptions, registry, sessions and the enhancer."""
