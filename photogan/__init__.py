"""photogan: photo enhancement with ONNX-exported DCGAN-family generators."""

__version__ = "0.2.0"
