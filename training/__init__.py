"""photogan training: the only package that imports torch. Architectures, data, training loop, ONNX export."""
