"""Image model, file I/O, tiling and progress: numpy and Pillow only, no Qt, no torch, no onnxruntime."""
