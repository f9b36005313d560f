"""photogan: photo enhancement with ONNX-exported DCGAN-family generators."""

import os

# onnxruntime (1.29 and newer) writes a persistent device id and a telemetry database under ~/.cache/Microsoft
# and may upload usage events, unless this is set before it is first imported; every photogan entry point (CLI,
# GUI, training, benchmarks) imports this package first. A user who wants it can set the variable to 0.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.2.0"
